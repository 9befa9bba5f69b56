# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What is wrong with a webhook allow-list, checked by the same rules maintenance_notice applies."""

from __future__ import annotations

from ansible_collections.cloudmaint.openstack.plugins.module_utils.notice import AllowList


def webhook_allow_problems(entries, allow_private=False, allow_http=False, name='webhook_allow'):
    """One message per bad entry, each named ``<name>[<index>]``; empty when the list is good."""
    if entries is None:
        entries = []
    if not isinstance(entries, (list, tuple)):
        return ['%s: expected a list of host names and networks, got %s' % (name, type(entries).__name__)]
    try:
        AllowList(entries, allow_private=allow_private, allow_http=allow_http)
    except ValueError as exc:
        return [name + line[len('webhook_allow'):] for line in str(exc).splitlines()]
    return []


class FilterModule(object):
    def filters(self):
        return {'webhook_allow_problems': webhook_allow_problems}

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What is wrong with the matchers of a host's silence, checked by the rules alert_silence applies."""

from __future__ import annotations

from ansible_collections.cloudmaint.openstack.plugins.module_utils.alertmanager import matcher_problems


def silence_matcher_problems(matchers, name='matchers'):
    """One message per bad matcher, each named ``<name>[<index>]...``; empty when the list is good."""
    if not isinstance(matchers, (list, tuple)) or not all(isinstance(m, dict) for m in matchers):
        return ['%s: expected a list of matchers (name, value, is_regex, is_equal)' % name]
    return [name + problem[len('matchers'):] for problem in matcher_problems(list(matchers))]


class FilterModule(object):
    def filters(self):
        return {'silence_matcher_problems': silence_matcher_problems}

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The campaign_html filter: a plan or a campaign report as a self-contained HTML page."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudmaint.openstack.plugins.plugin_utils.campaign_timeline import (
    DEFAULT_BANDWIDTH_GBIT_S,
    DEFAULT_ESTIMATES,
    plan_timeline,
    report_timeline,
)
from ansible_collections.cloudmaint.openstack.plugins.plugin_utils.timeline_html import render

KINDS = ('auto', 'plan', 'report')


def input_kind(data):
    """'plan' for a maintenance_plan result, 'report' for a campaign report, None for anything else."""
    if not isinstance(data, dict):
        return None
    if 'batches' in data and 'moves' in data:
        return 'plan'
    if 'hosts' in data and ('ledger' in data or 'campaign' in data):
        return 'report'
    return None


def campaign_html(data, kind='auto', title=None, bandwidth_gbit_s=DEFAULT_BANDWIDTH_GBIT_S, estimates=None):
    """An HTML page with the timeline and the servers of a plan or of a finished campaign."""
    if kind not in KINDS:
        raise AnsibleFilterError('campaign_html: kind must be one of %s, got %r' % (', '.join(KINDS), kind))
    found = input_kind(data)
    if kind == 'auto':
        kind = found
    if kind is None or found not in (None, kind):
        raise AnsibleFilterError('campaign_html: expects a maintenance_plan result (batches, moves) or a campaign '
                                 'report (campaign, ledger, hosts), got %s'
                                 % (type(data).__name__ if not isinstance(data, dict)
                                    else 'a dict with keys %s' % ', '.join(sorted(map(str, data))[:8])))
    if kind == 'plan':
        unknown = sorted(set(estimates or {}) - set(DEFAULT_ESTIMATES))
        if unknown:
            raise AnsibleFilterError('campaign_html: unknown estimates %s (known: %s)'
                                     % (', '.join(unknown), ', '.join(sorted(DEFAULT_ESTIMATES))))
        try:
            bandwidth = float(bandwidth_gbit_s)
        except (TypeError, ValueError):
            bandwidth = 0
        if bandwidth <= 0:
            raise AnsibleFilterError('campaign_html: bandwidth_gbit_s must be a number > 0, got %r'
                                     % (bandwidth_gbit_s,))
        timeline = plan_timeline(data, bandwidth, estimates, title)
    else:
        timeline = report_timeline(data, title)
    return render(timeline)


class FilterModule(object):
    def filters(self):
        return {'campaign_html': campaign_html}

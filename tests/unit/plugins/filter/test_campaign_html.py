# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os
from html.parser import HTMLParser

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.cloudmaint.openstack.plugins.filter.campaign_html import (
    FilterModule,
    campaign_html,
    input_kind,
)
from ansible_collections.cloudmaint.openstack.plugins.plugin_utils.campaign_timeline import (
    move_seconds,
    parse_time,
    plan_timeline,
)

EVIL = '<script>alert("x")</script>&db'


class Page(HTMLParser):
    """Elements of interest (rows, bars, marks, table rows) with their attributes and the text inside."""

    def __init__(self, text):
        super().__init__()
        self.tags = []
        self.rows = []           # data-host of each timeline row, in order
        self.row_attrs = {}
        self.bars = {}           # host -> [(step, estimated, x, width)]
        self.marks = {}          # host -> [(server, direction, x)]
        self.table = []          # data-server of each table row
        self.cells = []
        self.text = []
        self._host = None
        self._in_td = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == 'g' and attrs.get('class') == 'row':
            self._host = attrs['data-host']
            self.rows.append(self._host)
            self.row_attrs[self._host] = attrs
        elif tag == 'rect' and attrs.get('class') == 'bar':
            self.bars.setdefault(self._host, []).append(
                (attrs['data-step'], attrs['data-estimated'] == 'true', float(attrs['x']), float(attrs['width'])))
        elif attrs.get('class') == 'mark':
            x = float(attrs.get('cx') or attrs['d'].split()[0][1:])
            self.marks.setdefault(self._host, []).append((attrs['data-server'], attrs['data-direction'], x))
        elif tag == 'tr' and 'data-server' in attrs:
            self.table.append(attrs['data-server'])
            self.cells.append([])
        elif tag == 'td':
            self._in_td = True

    def handle_endtag(self, tag):
        if tag == 'td':
            self._in_td = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_td:
            self.cells[-1].append(data)

    def steps(self, host):
        return [b[0] for b in self.bars.get(host, [])]


def _entry(sid, name, action, to, ram=4096, sla='cattle', notice=0):
    return {'id': sid, 'name': name, 'status': 'ACTIVE', 'sla_class': sla, 'action': action, 'to': to,
            'ram_mb': ram, 'downtime_limit_ms': 2000 if sla == 'pets' else 30000, 'notice_s': notice,
            'completion_timeout_s': 120, 'reason': 'x'}


def _move(sid, name, src, dest, batch, ram=4096, action='live_migrate', extra=False):
    return {'server': sid, 'name': name, 'from': src, 'to': dest, 'batch': batch, 'action': action, 'zone': 'az1',
            'ram_mb': ram, 'vcpus': 2, 'disk_gb': 20, 'extra': extra, 'affinity_group': None}


PLAN = {
    'mode': 'campaign', 'batches': [['hv1'], ['hv2']], 'extra_moves': 0,
    'blocked_hosts': [{'host': 'hv9', 'reason': 'down'}],
    'unmovable': [], 'problems': ['hv9 cannot be drained: down'], 'stats': {},
    'moves': [_move('s1', EVIL, 'hv1', 'hv3', 0, ram=8192), _move('s2', 'web-2', 'hv1', 'hv3', 0),
              _move('s3', 'db-3', 'hv2', 'hv1', 1, action='cold_migrate')],
    'hosts': {
        'hv1': {'zone': 'az1', 'batch': 0, 'servers': [_entry('s1', EVIL, 'live_migrate', 'hv3', 8192, 'pets', 60),
                                                       _entry('s2', 'web-2', 'live_migrate', 'hv3'),
                                                       _entry('s4', 'ci-4', 'stop', 'hv1')]},
        'hv2': {'zone': 'az1', 'batch': 1, 'servers': [_entry('s3', 'db-3', 'cold_migrate', 'hv1'),
                                                       _entry('s5', 'shelved-5', 'none', 'hv2')]},
        'hv9': {'zone': 'az1', 'batch': None, 'servers': []}},
}


def test_plan_rows_bars_and_marks_follow_the_plan():
    page = Page(campaign_html(PLAN))
    assert page.rows == ['hv1', 'hv2', 'hv3', 'hv9']
    assert page.steps('hv1') == ['notice', 'drain', 'patch', 'reboot', 'restore']
    assert page.steps('hv2') == ['drain', 'patch', 'reboot', 'restore']     # no server with a notice period
    assert page.steps('hv3') == [] and page.steps('hv9') == []
    assert page.row_attrs['hv3']['data-maintained'] == 'false'
    assert all(estimated for bars in page.bars.values() for _s, estimated, _x, _w in bars)
    assert sorted((s, d) for s, d, _x in page.marks['hv1']) == [('s1', 'out'), ('s2', 'out'), ('s3', 'in')]
    assert sorted((s, d) for s, d, _x in page.marks['hv3']) == [('s1', 'in'), ('s2', 'in')]
    assert [(s, d) for s, d, _x in page.marks['hv2']] == [('s3', 'out')]
    # batch 2 starts after batch 1 ends, and the largest server leaves first
    hv1_end = max(x + w for _s, _e, x, w in page.bars['hv1'])
    assert min(x for _s, _e, x, _w in page.bars['hv2']) == pytest.approx(hv1_end, abs=0.2)
    out = {s: x for s, d, x in page.marks['hv1'] if d == 'out'}
    assert out['s1'] < out['s2']
    assert sorted(page.table) == ['s1', 's2', 's3', 's4', 's5']
    assert 'hv9' in ''.join(page.text) and 'not planned: down' in ''.join(page.text)


def test_servers_of_a_blocked_host_are_listed_as_not_planned():
    plan = dict(PLAN, hosts=dict(PLAN['hosts'], hv9={'zone': 'az1', 'batch': None, 'servers': [
        _entry('s7', 'web-7', 'live_migrate', None), _entry('s6', 'db-6', 'live_migrate', None, sla='pandas')]}))
    page = Page(campaign_html(plan))
    assert sorted(page.table) == ['s1', 's2', 's3', 's4', 's5', 's6', 's7']
    by_id = {s['id']: s for s in plan_timeline(plan)['servers']}
    assert [(by_id[i]['from'], by_id[i]['to'], by_id[i]['start'], by_id[i]['outcome']) for i in ('s6', 's7')] == \
        [('hv9', None, None, 'host not planned')] * 2


def test_plan_table_estimates():
    timeline = plan_timeline(PLAN, bandwidth_gbit_s=8, estimates={'live_overhead_s': 0, 'reboot_s': 100})
    by_id = {s['id']: s for s in timeline['servers']}
    mib_s = 8e9 / 8 / (1 << 20)
    assert by_id['s1']['duration_s'] == pytest.approx(8192 / mib_s)
    assert by_id['s1']['downtime'] == '<= 2000 ms'
    assert by_id['s3']['downtime'] == '%d s' % round(move_seconds(PLAN['moves'][2], mib_s, {'cold_overhead_s': 60}))
    assert by_id['s4']['to'] is None and by_id['s4']['outcome'] == 'stays'
    assert by_id['s5']['downtime'] == '-'
    hv1 = timeline['rows'][0]
    assert [s['end'] - s['start'] for s in hv1['steps'] if s['step'] == 'reboot'] == [100]


def test_user_text_is_escaped_everywhere():
    page = Page(campaign_html(PLAN))
    assert not [t for t, _a in page.tags if t == 'script']
    assert EVIL in ''.join(page.text)      # shown as text, in the table and in the tooltips


def test_page_is_self_contained():
    text = campaign_html(PLAN)
    page = Page(text)
    for tag, attrs in page.tags:
        assert tag not in ('script', 'link', 'img', 'iframe', 'object')
        assert not [v for k, v in attrs.items() if k in ('src', 'href') and v and not v.startswith('#')]
        assert not [k for k in attrs if k.startswith('on')]
    assert 'http' not in text.replace('http://www.w3.org/2000/svg', '')


def _report(**host_extra):
    hv1 = {'drained': True, 'rebooted_at': '2026-11-21T10:05:00Z', 'drain_summary': {},
           'servers': [{'id': 's1', 'name': 'web-1', 'action': 'live_migrate', 'outcome': 'done', 'from': 'hv1',
                        'to': 'hv2', 'duration_s': 20.0, 'sla_class': 'cattle',
                        'progress': {'downtime_estimate_ms': 120.4}},
                       {'id': 's2', 'name': EVIL, 'action': 'stop', 'outcome': 'done', 'from': 'hv1',
                        'to': 'hv1', 'duration_s': 5.0},
                       {'id': 's3', 'name': 'db-3', 'action': 'live_migrate', 'outcome': 'failed', 'from': 'hv1',
                        'to': None, 'duration_s': 60.0, 'error': 'stalled'}],
           'restore': []}
    hv1.update(host_extra)
    hv2 = {'drained': True, 'rebooted_at': '2026-11-21T10:12:00Z', 'servers': [], 'restore': []}
    return {'campaign': 'patch-1', 'started': '2026-11-21T10:00:00Z', 'ended': '2026-11-21T10:15:00Z',
            'ledger': {'hv1': {'state': 'done', 'at': '2026-11-21T10:08:00Z'},
                       'hv2': {'state': 'done', 'at': '2026-11-21T10:14:00Z'}},
            'hosts': {'hv2': hv2, 'hv1': hv1}}


def test_report_without_step_timestamps_is_estimated_and_says_so():
    page = Page(campaign_html(_report()))
    assert page.rows == ['hv1', 'hv2']
    assert page.row_attrs['hv1']['data-batch'] == '0' and page.row_attrs['hv2']['data-batch'] == '1'
    assert page.steps('hv1') == ['drain', 'reboot']
    assert all(estimated for _s, estimated, _x, _w in page.bars['hv1'])
    assert [(s, d) for s, d, _x in page.marks['hv1']] == [('s1', 'out')]
    # hv2's turn starts when hv1 was done
    hv1_end = max(x + w for _s, _e, x, w in page.bars['hv1'])
    assert min(x for _s, _e, x, _w in page.bars['hv2']) == pytest.approx(hv1_end, abs=0.2)
    text = ''.join(page.text)
    assert 'drain_started' in text and 'server started/ended' in text
    assert sorted(page.table) == ['s1', 's2', 's3']
    cells = dict(zip(page.table, page.cells))
    assert '120 ms' in cells['s1'] and 'failed' in cells['s3']
    assert cells['s2'][-2].startswith('~')     # stopped until the end of the restore, estimated


def test_report_with_timestamps_uses_them():
    start = parse_time('2026-11-21T10:00:00Z')
    report = _report(drain_started='2026-11-21T10:01:00Z', drain_ended='2026-11-21T10:03:00Z',
                     patch_started='2026-11-21T10:03:30Z', patch_ended='2026-11-21T10:04:30Z',
                     notice_started='2026-11-21T10:00:00Z', notice_ended='2026-11-21T10:01:00Z',
                     verified_at='2026-11-21T10:06:00Z', restore_ended='2026-11-21T10:07:30Z')
    for server, t in zip(report['hosts']['hv1']['servers'], (100, 70, 110)):
        server.update(started=start + t, ended=start + t + server['duration_s'])
    page = Page(campaign_html(report))
    assert page.steps('hv1') == ['notice', 'drain', 'patch', 'reboot', 'restore']
    assert not any(estimated for _s, estimated, _x, _w in page.bars['hv1'])
    drain = next(b for b in page.bars['hv1'] if b[0] == 'drain')
    (server, direction, x), = page.marks['hv1']
    assert (server, direction) == ('s1', 'out') and drain[2] < x < drain[2] + drain[3]
    assert 'server started/ended' not in ''.join(page.text)     # hv2 has no step timestamps: still noted


def test_input_kind_and_errors():
    assert input_kind(PLAN) == 'plan' and input_kind(_report()) == 'report' and input_kind([]) is None
    with pytest.raises(AnsibleFilterError, match='expects a maintenance_plan result'):
        campaign_html({'foo': 1})
    with pytest.raises(AnsibleFilterError, match='unknown estimates reboot'):
        campaign_html(PLAN, estimates={'reboot': 1})
    with pytest.raises(AnsibleFilterError, match='bandwidth_gbit_s'):
        campaign_html(PLAN, bandwidth_gbit_s=0)
    with pytest.raises(AnsibleFilterError, match='kind must be'):
        campaign_html(PLAN, kind='pdf')
    assert FilterModule().filters()['campaign_html'] is campaign_html


FILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'files')


@pytest.mark.parametrize('name', ['sandbox_plan.json', 'sandbox_report.json'])
def test_sandbox_samples_render_every_host_and_migration(name):
    with open(os.path.join(FILES, name)) as f:
        data = json.load(f)
    page = Page(campaign_html(data))
    assert sorted(page.rows) == ['hv01', 'hv02', 'hv03', 'hv04', 'hv05', 'hv06']
    out = sum(1 for marks in page.marks.values() for _s, d, _x in marks if d == 'out')
    arrived = sum(1 for marks in page.marks.values() for _s, d, _x in marks if d == 'in')
    if name == 'sandbox_plan.json':
        assert out == arrived == len(data['moves'])
    else:
        moved = [s for h in data['hosts'].values() for s in h['servers']
                 if s['action'] in ('live_migrate', 'cold_migrate') and s.get('to') not in (None, s['from'])]
        assert out == arrived == len(moved)

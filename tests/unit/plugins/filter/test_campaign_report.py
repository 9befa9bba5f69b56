# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy
import datetime
import json
import os
import sys

from ansible_collections.cloudmaint.openstack.plugins.filter.campaign_report import (
    FilterModule,
    campaign_summary,
    host_report,
    plan_summary,
)

FAKES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'module_utils')

NOW = datetime.datetime(2026, 11, 21, 12, 0, 0, tzinfo=datetime.timezone.utc)


def _attempt(action, outcome, destination=None, duration=1.0, detail=None, **extra):
    attempt = {'action': action, 'outcome': outcome, 'source': 'hv1', 'destination': destination,
               'started': 1763726400.0, 'ended': 1763726400.0 + duration, 'duration_s': duration,
               'detail': detail}
    attempt.update(extra)
    return attempt


# What host_drain registers for hv1 (as Ansible keeps it: plain JSON data plus changed/failed).
DRAIN_HV1 = {
    'changed': True, 'failed': False, 'host': 'hv1', 'campaign': 'patch-2026-11', 'requests': 212,
    'service': {'id': 'svc-hv1', 'status': 'disabled', 'state': 'up',
                'disabled_reason': 'cloudmaint: campaign patch-2026-11: host maintenance'},
    'servers': [
        {'id': 'srv-1', 'name': 'web-1', 'project_id': 'prj-shop', 'from': 'hv1',
         'status_before': 'ACTIVE', 'sla_class': 'cattle', 'source': 'default',
         'reason': 'SLA class cattle (default_class, server unlabelled): live_migrate, fallbacks '
                   'cold_migrate, stop',
         'notes': [], 'chain': ['live_migrate', 'cold_migrate', 'stop'], 'action': 'live_migrate',
         'requested_destination': None, 'likely_destination': 'hv2',
         'attempts': [_attempt('live_migrate', 'done', 'hv2', 12.5, migration_id=7,
                               migration_status='completed', changed=True)],
         'fallbacks_used': [], 'outcome': 'done', 'to': 'hv2', 'started': 1763726400.0,
         'ended': 1763726412.5, 'duration_s': 12.5, 'migration_id': 7, 'force_completed': False,
         'aborted': False,
         'progress': {'samples': 4, 'memory_total_mb': 4096.0, 'observed_rate_mbps': 880.0}},
        {'id': 'srv-2', 'name': 'db-1', 'project_id': 'prj-shop', 'from': 'hv1',
         'status_before': 'ACTIVE', 'sla_class': 'pets', 'source': 'class',
         'reason': 'SLA class pets: live_migrate, fallbacks cold_migrate', 'notes': [],
         'chain': ['live_migrate', 'cold_migrate'], 'action': 'cold_migrate',
         'attempts': [_attempt('live_migrate', 'failed', None, 30.0, 'migration error: '
                               'No valid host was found.'),
                      _attempt('cold_migrate', 'done', 'hv3', 65.2, changed=True)],
         'fallbacks_used': ['cold_migrate'], 'outcome': 'done', 'to': 'hv3',
         'duration_s': 95.2},
        {'id': 'srv-3', 'name': 'panda-1', 'project_id': 'prj-bank', 'from': 'hv1',
         'status_before': 'ACTIVE', 'sla_class': 'pandas', 'source': 'class',
         'reason': 'SLA class pandas: live_migrate, no fallbacks', 'notes': [],
         'chain': ['live_migrate'], 'action': 'live_migrate',
         'attempts': [_attempt('live_migrate', 'failed', 'hv2', 1801.0,
                               'aborted after 1800s (policy: fallback)', aborted=True)],
         'fallbacks_used': [], 'outcome': 'failed', 'to': None, 'duration_s': 1801.0,
         'aborted': True, 'force_completed': False,
         'error': 'aborted after 1800s (policy: fallback)'},
        {'id': 'srv-4', 'name': 'archive', 'project_id': 'prj-shop', 'from': 'hv1',
         'status_before': 'SHELVED', 'sla_class': 'cattle', 'source': 'default',
         'reason': 'policy default: live_migrate', 'notes': [], 'chain': [], 'action': 'none',
         'outcome': 'at_rest'},
    ],
    'remaining': [],
    'summary': {'servers': 4, 'by_action': {'live_migrate': 2, 'cold_migrate': 1, 'none': 1},
                'by_outcome': {'done': 2, 'failed': 1, 'at_rest': 1}, 'fallbacks_used': 1,
                'remaining': []},
}

RESTORE_HV1 = {
    'changed': True, 'failed': False, 'host': 'hv1', 'move_back': False,
    'servers': [
        {'id': 'srv-1', 'name': 'web-1', 'host_before': 'hv2', 'status_before': 'ACTIVE',
         'steps': [], 'record': {'state': 'moved'}, 'result': 'moving back is off: stays on hv2',
         'outcome': 'done', 'host_after': 'hv2', 'status_after': 'ACTIVE'},
        {'id': 'srv-5', 'name': 'batch-7', 'host_before': 'hv1', 'status_before': 'SHUTOFF',
         'steps': [_attempt('start', 'done', reason='stopped by campaign patch-2026-11')],
         'record': {'state': 'stopped'}, 'result': 'already ACTIVE', 'outcome': 'done',
         'host_after': 'hv1', 'status_after': 'ACTIVE'},
        {'id': 'srv-6', 'name': 'locked', 'host_before': 'hv1', 'status_before': 'SHUTOFF',
         'steps': [_attempt('start', 'failed', detail='Instance is locked')],
         'record': {'state': 'stopped'}, 'result': 'failed: Instance is locked',
         'outcome': 'failed', 'host_after': 'hv1', 'status_after': 'SHUTOFF'},
    ],
}

HOSTVARS_HV1 = {'inventory_hostname': 'hv1', 'cloudmaint_compute_host': 'hv1',
                'cloudmaint_drain_result': DRAIN_HV1, 'cloudmaint_restore_result': RESTORE_HV1,
                'cloudmaint_reboot_started': '2026-11-21T12:31:00Z',
                'cloudmaint_reboot_ended': '2026-11-21T12:33:10Z',
                'cloudmaint_step_times': {'patch_started': '2026-11-21T12:30:00Z', 'unknown_step': 'ignored'}}
HOSTVARS_HV1['cloudmaint_drain_result'] = dict(DRAIN_HV1, started_at='2026-11-21T12:20:00Z',
                                               ended_at='2026-11-21T12:29:40Z')

HOSTVARS_HV2_FAILED = {
    'cloudmaint_drain_result': {
        'changed': True, 'failed': True, 'host': 'hv2',
        'msg': 'drain of hv2 incomplete: 1 server(s) still running on it: pinned',
        'servers': [{'id': 'srv-9', 'name': 'pinned', 'from': 'hv2', 'sla_class': 'pandas',
                     'action': 'live_migrate', 'outcome': 'failed', 'to': None,
                     'duration_s': 3.0, 'fallbacks_used': [], 'error': 'migration error',
                     'attempts': [_attempt('live_migrate', 'failed', detail='migration error')]}],
        'remaining': [{'id': 'srv-9', 'name': 'pinned', 'status': 'ACTIVE', 'task_state': None}],
    },
}


def test_filters_are_registered():
    assert FilterModule().filters()['host_report'] is host_report
    assert FilterModule().filters()['campaign_summary'] is campaign_summary


def test_host_report_of_a_drained_and_restored_host():
    before = copy.deepcopy(HOSTVARS_HV1)
    report = host_report(HOSTVARS_HV1)
    assert HOSTVARS_HV1 == before          # the hostvars are not modified
    assert report['drained'] is True
    assert report['rebooted_at'] == '2026-11-21T12:31:00Z'
    assert report['drain_summary'] == DRAIN_HV1['summary']
    assert 'error' not in report
    web = report['servers'][0]
    assert web == {
        'id': 'srv-1', 'name': 'web-1', 'sla_class': 'cattle', 'action': 'live_migrate',
        'outcome': 'done', 'from': 'hv1', 'to': 'hv2', 'started': 1763726400.0, 'ended': 1763726412.5,
        'duration_s': 12.5, 'fallbacks_used': [], 'requested_destination': None,
        'force_completed': False, 'aborted': False,
        'progress': {'samples': 4, 'memory_total_mb': 4096.0, 'observed_rate_mbps': 880.0},
        'reason': DRAIN_HV1['servers'][0]['reason'],
        'attempts': [{'action': 'live_migrate', 'outcome': 'done', 'detail': None, 'started': 1763726400.0,
                      'duration_s': 12.5, 'destination': 'hv2'}]}
    assert (report['drain_started'], report['drain_ended'], report['reboot_ended']) == (
        '2026-11-21T12:20:00Z', '2026-11-21T12:29:40Z', '2026-11-21T12:33:10Z')
    assert 'unknown_step' not in report and report['patch_started'] == '2026-11-21T12:30:00Z'
    assert 'notice_started' not in report and 'restore_started' not in report
    assert report['planned_destinations_refused'] == 0
    db = report['servers'][1]
    assert [(a['action'], a['outcome'], a['destination']) for a in db['attempts']] == [
        ('live_migrate', 'failed', None), ('cold_migrate', 'done', 'hv3')]
    assert report['servers'][2]['error'] == 'aborted after 1800s (policy: fallback)'
    archive = report['servers'][3]
    assert archive['outcome'] == 'at_rest' and archive['attempts'] == []
    assert 'duration_s' not in archive and 'chain' not in archive
    assert report['restore'] == [
        {'name': 'web-1', 'outcome': 'done', 'result': 'moving back is off: stays on hv2',
         'steps': [], 'host_after': 'hv2', 'status_after': 'ACTIVE'},
        {'name': 'batch-7', 'outcome': 'done', 'result': 'already ACTIVE', 'steps': ['start'],
         'host_after': 'hv1', 'status_after': 'ACTIVE'},
        {'name': 'locked', 'outcome': 'failed', 'result': 'failed: Instance is locked',
         'steps': ['start'], 'host_after': 'hv1', 'status_after': 'SHUTOFF'}]
    json.dumps(report)


def test_host_report_of_a_failed_drain_and_of_a_host_not_reached():
    failed = host_report(HOSTVARS_HV2_FAILED)
    assert failed['drained'] is False
    assert failed['error'] == 'drain of hv2 incomplete: 1 server(s) still running on it: pinned'
    assert failed['servers'][0]['name'] == 'pinned' and failed['restore'] == []
    assert failed['rebooted_at'] is None
    untouched = host_report({'inventory_hostname': 'hv3'})
    assert untouched == {'drained': False, 'rebooted_at': None, 'reboot_ended': None, 'drain_summary': None,
                         'servers': [], 'restore': [], 'planned_destinations_refused': 0}


def _report():
    return {'campaign': 'patch-2026-11', 'started': '2026-11-21T12:00:00Z',
            'ended': '2026-11-21T14:10:00Z',
            'ledger': {'hv1': {'state': 'done'}, 'hv2': {'state': 'failed'}},
            'hosts': {'hv3': host_report({}), 'hv2': host_report(HOSTVARS_HV2_FAILED),
                      'hv1': host_report(HOSTVARS_HV1)}}


def test_campaign_summary_lines():
    lines = campaign_summary(_report())
    assert lines[0] == 'campaign patch-2026-11: 2026-11-21T12:00:00Z -> 2026-11-21T14:10:00Z'
    assert lines[1] == ('hv1: done; 4 servers (cold_migrate 1, live_migrate 2, none 1); '
                        'restored 2; failures: panda-1')
    assert lines[2] == '  web-1            live_migrate   done      hv1 -> hv2 in 12.5s'
    assert lines[3] == ('  db-1             cold_migrate   done      hv1 -> hv3 in 95.2s'
                        ' (fallbacks: cold_migrate)')
    assert lines[4] == '  panda-1          live_migrate   failed    stays on hv1 after 1801.0s'
    assert lines[5] == '  archive          none           at_rest   stays on hv1'
    assert lines[6] == 'hv2: failed; 1 servers (live_migrate 1); restored 0; failures: pinned'
    assert lines[7] == '  pinned           live_migrate   failed    stays on hv2 after 3.0s'
    assert lines[8] == 'hv3: not reached; 0 servers (none); restored 0; failures: none'
    assert len(lines) == 9


def test_campaign_summary_without_ledger_uses_the_drain_and_marks_unknown_start():
    report = _report()
    del report['ledger']
    report['started'] = ''
    lines = campaign_summary(report)
    assert lines[0] == 'campaign patch-2026-11: ? -> 2026-11-21T14:10:00Z'
    assert lines[1].startswith('hv1: done; ')
    assert lines[6].startswith('hv2: not reached; ')


def test_report_of_what_the_engines_really_return():
    """host_report reads the keys drain and restore produce, after Ansible's JSON round trip."""
    # Imported here, not at collection time: tests/unit/plugins/inventory re-imports the
    # collection's modules, and the engines and the fake must come from the same import.
    if FAKES not in sys.path:
        sys.path.insert(0, FAKES)
    from fake_nova import FakeNova, make_waiter  # pylint: disable=import-error
    from ansible_collections.cloudmaint.openstack.plugins.module_utils.drain import HostDrain, summarize
    from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaError
    from ansible_collections.cloudmaint.openstack.plugins.module_utils.policy import Policy
    from ansible_collections.cloudmaint.openstack.plugins.module_utils.restore import HostRestore

    nova = FakeNova(error=NovaError, hosts=['hv1', 'hv2', 'hv3'])
    nova.add_server('web', 'hv1')
    flaky = nova.add_server('flaky', 'hv1')
    nova.script(flaky, live='error')
    drain = HostDrain(nova, make_waiter(), Policy({}), 'hv1', 'c1', now=lambda: NOW)
    entries, remaining = drain.drain()
    nova.scripts.clear()    # the host came back healthy
    restore = HostRestore(nova, make_waiter(), 'hv1', move_back=True, now=lambda: NOW)
    restored = restore.restore()
    hostvars = json.loads(json.dumps({
        'cloudmaint_drain_result': {'changed': True, 'servers': entries, 'remaining': remaining,
                                    'summary': summarize(entries, remaining)},
        'cloudmaint_restore_result': {'changed': True, 'servers': restored}}))
    report = host_report(hostvars)
    servers = {s['name']: s for s in report['servers']}
    assert servers['flaky']['fallbacks_used'] == ['cold_migrate']
    assert [a['action'] for a in servers['flaky']['attempts']] == ['live_migrate', 'cold_migrate']
    assert servers['flaky']['attempts'][-1]['destination'] == servers['flaky']['to']
    assert servers['web']['to'] == servers['web']['attempts'][0]['destination']
    assert [(r['name'], r['steps'], r['host_after']) for r in report['restore']] == [
        ('flaky', ['live_migrate'], 'hv1'), ('web', ['live_migrate'], 'hv1')]
    lines = campaign_summary({'campaign': 'c1', 'ended': 'now', 'hosts': {'hv1': report}})
    assert lines[1] == 'hv1: done; 2 servers (cold_migrate 1, live_migrate 1); restored 2; failures: none'
    assert any(line.endswith('(fallbacks: cold_migrate)') for line in lines)


def test_plan_summary_shows_the_plans_batches_and_planned_destinations():
    results = [{'host': 'hv1', 'servers': [
        {'id': 'srv-1', 'name': 'web-1', 'sla_class': 'cattle', 'action': 'live_migrate',
         'outcome': 'planned', 'likely_destination': 'hv3', 'reason': 'class cattle'},
        {'id': 'srv-2', 'name': 'web-2', 'sla_class': 'cattle', 'action': 'live_migrate',
         'outcome': 'planned', 'likely_destination': 'hv3', 'reason': 'class cattle'}]}]
    plan = {'batches': [['hv2'], ['hv1', 'hv4']], 'extra_moves': 1,
            'destinations_by_host': {'hv1': {'srv-1': 'hv2'}}}
    lines = plan_summary(results, plan)
    assert lines[0] == '3 hosts in 2 batches, 1 extra moves: hv2 | hv1, hv4'
    assert lines[2].split()[:6] == ['web-1', 'cattle', 'live_migrate', 'planned', '->', 'hv2']
    assert lines[3].split()[5] == 'hv3'      # not in the plan: the scheduler's likely choice


def test_summary_counts_planned_destinations_the_scheduler_refused():
    drain = copy.deepcopy(DRAIN_HV1)
    drain['servers'][0]['destination_fallback'] = True
    report = _report()
    report['hosts']['hv1'] = host_report(dict(HOSTVARS_HV1, cloudmaint_drain_result=drain))
    assert report['hosts']['hv1']['planned_destinations_refused'] == 1
    assert campaign_summary(report)[1].endswith('; planned destination refused by the scheduler for 1')
    assert not campaign_summary(_report())[1].endswith('for 1')

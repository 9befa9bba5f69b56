# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.cloudmaint.openstack.plugins.module_utils.policy import Policy
from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_plan as mp

GB = 1024


def _host(name, zone, ram=16 * GB, state='up', status='enabled'):
    return {'host': name, 'zone': zone, 'aggregates': [], 'state': state, 'status': status,
            'forced_down': False, 'servers': [],
            'capacity': {'MEMORY_MB': {'capacity': ram, 'used': 0, 'free': ram},
                         'VCPU': {'capacity': 64, 'used': 0, 'free': 64},
                         'DISK_GB': {'capacity': 1000, 'used': 0, 'free': 1000}}}


def _snapshot(servers):
    """hv1, hv2 in az1 and hv3 (spare) in az1; hv4 alone in az2."""
    layout = (('hv1', 'az1'), ('hv2', 'az1'), ('hv3', 'az1'), ('hv4', 'az2'))
    hyps = {name: _host(name, zone) for name, zone in layout}
    records = {}
    for sid, host, ram, metadata, status in servers:
        records[sid] = {'id': sid, 'name': 'vm-' + sid, 'host': host, 'zone': hyps[host]['zone'],
                        'status': status, 'task_state': None, 'project_id': 'p1', 'project_name': 'shop',
                        'metadata': metadata, 'server_groups': [],
                        'flavor': {'ram': ram, 'vcpus': 1, 'disk': 10, 'ephemeral': 0, 'swap': 0}}
        hyps[host]['servers'].append(sid)
        hyps[host]['capacity']['MEMORY_MB']['used'] += ram
        hyps[host]['capacity']['MEMORY_MB']['free'] -= ram
    return {'hypervisors': hyps, 'servers': records, 'server_groups': {}}


FLEET = [
    ('a', 'hv1', 4 * GB, {'sla': 'cattle'}, 'ACTIVE'),
    ('b', 'hv1', 2 * GB, {'sla': 'pets'}, 'ACTIVE'),
    ('c', 'hv1', 1 * GB, {}, 'SHUTOFF'),
    ('d', 'hv2', 8 * GB, {'sla': 'pandas'}, 'ACTIVE'),
    ('e', 'hv4', 1 * GB, {'cloudmaint:owner_action': 'stop'}, 'ACTIVE'),
]

PARAMS = {'hosts': ['hv1', 'hv2'], 'mode': 'campaign', 'count': None, 'max_batch': None,
          'max_incoming': None, 'max_outgoing': None, 'zones': 'parallel'}


def _decisions(snapshot, hosts, policy=None):
    return mp.resolve_decisions(snapshot, Policy(policy or {}), 'medium', hosts)


def test_unknown_hosts_in_given_order():
    assert mp.unknown_hosts(_snapshot(FLEET), ['hv9', 'hv1', 'hv0']) == ['hv9', 'hv0']


def test_decisions_cover_only_the_servers_on_the_hosts():
    decisions = _decisions(_snapshot(FLEET), ['hv1', 'hv4'])
    assert sorted(decisions) == ['a', 'b', 'c', 'e']
    assert decisions['c'].action == 'cold_migrate'   # SHUTOFF: live migration dropped
    assert decisions['e'].action == 'stop'           # the owner's choice


def test_policy_override_changes_what_the_planner_moves():
    snapshot = _snapshot(FLEET)
    decisions = _decisions(snapshot, ['hv1', 'hv2'], {'servers': {'a': {'action': 'leave'}}})
    plan, violations = mp.make_plan(snapshot, PARAMS, {s: d.action for s, d in decisions.items()})
    assert violations == []
    assert 'a' not in {m['server'] for m in plan['moves']}
    assert {m['server'] for m in plan['moves']} == {'b', 'c', 'd'}


def test_campaign_plan_is_checked_and_moves_once_onto_the_spare_host():
    snapshot = _snapshot(FLEET)
    decisions = _decisions(snapshot, ['hv1', 'hv2'])
    plan, violations = mp.make_plan(snapshot, PARAMS, {s: d.action for s, d in decisions.items()})
    assert violations == []
    assert sorted(h for b in plan['batches'] for h in b) == ['hv1', 'hv2']
    assert plan['extra_moves'] == 0
    assert all(m['zone'] == 'az1' for m in plan['moves'])


def test_consolidation_counts_the_host_already_empty():
    snapshot = _snapshot(FLEET)
    params = dict(PARAMS, mode='consolidation', hosts=['hv1', 'hv2', 'hv3'], count=2)
    decisions = _decisions(snapshot, params['hosts'])
    plan, violations = mp.make_plan(snapshot, params, {s: d.action for s, d in decisions.items()})
    assert violations == []
    assert plan['mode'] == 'consolidation'
    assert len(plan['batches']) == 1 and len(plan['batches'][0]) == 1
    assert 'hv3' in plan['empty_hosts'] and len(plan['empty_hosts']) == 2


def test_destinations_first_move_and_per_host_legs():
    moves = [{'server': 's1', 'from': 'hv2', 'to': 'hv3', 'batch': 1},
             {'server': 's1', 'from': 'hv1', 'to': 'hv2', 'batch': 0},
             {'server': 's2', 'from': 'hv1', 'to': 'hv3', 'batch': 0}]
    first, by_host = mp.destinations(moves)
    assert first == {'s1': 'hv2', 's2': 'hv3'}
    assert by_host == {'hv1': {'s1': 'hv2', 's2': 'hv3'}, 'hv2': {'s1': 'hv3'}}


def test_host_summaries_say_what_happens_to_each_server():
    snapshot = _snapshot(FLEET)
    decisions = _decisions(snapshot, ['hv1', 'hv2'])
    plan, _violations = mp.make_plan(snapshot, PARAMS, {s: d.action for s, d in decisions.items()})
    summary = mp.host_summaries(snapshot, ['hv1', 'hv2'], plan, decisions)
    hv1 = summary['hv1']
    assert hv1['zone'] == 'az1' and hv1['moves_out'] == 3 and hv1['batch'] is not None
    assert [s['name'] for s in hv1['servers']] == ['vm-a', 'vm-b', 'vm-c']
    by_name = {s['name']: s for s in hv1['servers']}
    assert by_name['vm-b']['sla_class'] == 'pets' and by_name['vm-b']['notice_s'] == 60
    assert by_name['vm-b']['downtime_limit_ms'] == 2000
    assert by_name['vm-a']['to'] in ('hv2', 'hv3') and by_name['vm-a']['ram_mb'] == 4 * GB
    assert hv1['free_ram_mb'] == 16 * GB - 7 * GB


def test_option_problems():
    assert mp.option_problems(PARAMS) == []
    assert mp.option_problems(dict(PARAMS, max_batch=0)) == ['max_batch must be 1 or more, got 0']
    assert mp.option_problems(dict(PARAMS, count=2)) == ['count applies to mode=consolidation only']
    assert mp.option_problems(dict(PARAMS, hosts=[])) == ['hosts must name at least one compute host']


def test_extra_moves_message_names_the_servers():
    problems = ['hv9 cannot be drained: x', 'server web-1 moves 2 times: hv1 -> hv2 (batch 0), then ...']
    plan = {'extra_moves': 1, 'problems': problems}
    message = mp.extra_moves_message(plan)
    assert message.startswith('the plan needs 1 extra moves')
    assert 'web-1' in message and 'hv9' not in message


def test_target_version_is_nova_s_integer_form():
    assert mp.version_int('8.2.2') == 8002002
    assert mp.version_int('8002002') == 8002002
    assert mp.version_int(' 1.7 ') == 1007
    assert mp.version_int('8.2-rc1') is None
    assert mp.version_int('') is None
    problems = mp.option_problems({'hosts': ['hv1'], 'mode': 'campaign', 'target_version': 'latest'})
    assert problems == ["target_version must be a version such as 8.2.2 or 8002002, got 'latest'"]


def test_mid_upgrade_plan_with_the_module_s_decisions():
    """hv1 (2001) and hv2 (2002) newer than the spare hv3 (2000): hv2's pandas d cannot go live to an
    older host, so hv2 is blocked and takes nothing (not even a on its way): a and b (pets) go cold,
    their policy's fallback; unless hv1 counts at the release the campaign installs."""
    fleet = [row if row[0] != 'd' else ('d', 'hv2', 12 * GB, {'sla': 'pandas'}, 'ACTIVE') for row in FLEET]
    snapshot = _snapshot(fleet)
    for name, version in (('hv1', 2001), ('hv2', 2002), ('hv3', 2000), ('hv4', 2000)):
        snapshot['hypervisors'][name]['hypervisor_version'] = version
    decisions = _decisions(snapshot, ['hv1', 'hv2'])
    actions = {sid: {'action': d.action, 'chain': list(d.chain)} for sid, d in decisions.items()}
    plan, violations = mp.make_plan(snapshot, PARAMS, actions)
    assert violations == []
    assert mp.planned_actions(plan['moves']) == {'hv1': {'a': 'cold_migrate', 'b': 'cold_migrate'}}
    assert [b['host'] for b in plan['blocked_hosts']] == ['hv2']
    plan, violations = mp.make_plan(snapshot, dict(PARAMS, target_version='2.2'), actions)
    assert violations == []
    assert plan['blocked_hosts'] == []
    assert [(m['to'], m['action']) for m in plan['moves'] if m['server'] == 'd'] == [('hv1', 'live_migrate')]

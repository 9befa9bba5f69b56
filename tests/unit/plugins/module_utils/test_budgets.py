# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Availability budgets: the policy's ``budgets``, the planner cutting batches to keep them, and
the validator replaying a plan against them."""

from __future__ import annotations

import pytest
from test_planner import GB, Fleet, batch_of

from ansible_collections.cloudmaint.openstack.plugins.module_utils.plan_check import check_plan
from ansible_collections.cloudmaint.openstack.plugins.module_utils.planner import plan_campaign
from ansible_collections.cloudmaint.openstack.plugins.module_utils.policy import PolicyError, validate


def budgets(*entries):
    return validate({'budgets': list(entries)})['budgets']


def checked(snapshot, hosts, actions, specs, **options):
    plan = plan_campaign(snapshot, hosts, actions, budgets=specs, **options)
    assert check_plan(snapshot, plan, hosts=hosts, actions=actions, budgets=specs, **options) == []
    return plan


# ---- the policy ---------------------------------------------------------------------------------

def test_a_budget_is_normalized():
    assert budgets({'name': 'db', 'server_group': 'g1', 'max_unavailable': 1},
                   {'project': 'p1', 'metadata': {'app': 'web'}, 'max_unavailable': '25%'}) == [
        {'name': 'db', 'server_group': 'g1', 'project': None, 'metadata': None, 'max_unavailable': 1,
         'max_unavailable_percent': None},
        {'name': 'budgets[1]', 'server_group': None, 'project': 'p1', 'metadata': {'app': 'web'},
         'max_unavailable': None, 'max_unavailable_percent': 25}]
    assert validate({})['budgets'] == []


@pytest.mark.parametrize('entry, path, text', [
    ({'server_group': 'g'}, 'cloudmaint_policy.budgets[0].max_unavailable', 'max_unavailable is required'),
    ({'server_group': 'g', 'max_unavailable': '120%'}, 'cloudmaint_policy.budgets[0].max_unavailable',
     'from "0%" to "100%"'),
    ({'server_group': 'g', 'max_unavailable': -1}, 'cloudmaint_policy.budgets[0].max_unavailable', 'must be >= 0'),
    ({'server_group': 'g', 'max_unavailable': True}, 'cloudmaint_policy.budgets[0].max_unavailable',
     'expected an integer'),
    ({'metadata': {'app': 'db'}, 'max_unavailable': 1}, 'cloudmaint_policy.budgets[0].metadata',
     'tenants write metadata'),
    ({'max_unavailable': 1}, 'cloudmaint_policy.budgets[0]', 'select the servers'),
    ({'server_group': 'g', 'max_unavailable': 1, 'maxUnavailable': 2}, 'cloudmaint_policy.budgets[0].maxUnavailable',
     'unknown key'),
])
def test_a_bad_budget_is_refused_by_path(entry, path, text):
    with pytest.raises(PolicyError) as caught:
        budgets(entry)
    assert any(p == path and text in m for p, m in caught.value.errors), caught.value.errors


def test_two_budgets_may_not_share_a_name():
    with pytest.raises(PolicyError) as caught:
        budgets({'name': 'db', 'project': 'a', 'max_unavailable': 1}, {'name': 'db', 'project': 'b', 'max_unavailable': 1})
    assert caught.value.errors == [('cloudmaint_policy.budgets[1].name', "'db' is the name of budgets[0] too")]


# ---- the planner --------------------------------------------------------------------------------

def replicas(statuses=('ACTIVE', 'ACTIVE', 'ACTIVE')):
    """Three members of group 'db' on hv1-hv3 (stopped during maintenance), cattle moving live next
    to them, and a spare host."""
    fleet = Fleet().group('db', 'anti-affinity').host('hv1').host('hv2').host('hv3').host('spare')
    for i, status in enumerate(statuses, 1):
        fleet.server('db%d' % i, 'hv%d' % i, groups=['db'])
        fleet.servers['db%d' % i]['status'] = status
        fleet.server('web%d' % i, 'hv%d' % i)
    actions = {'db%d' % i: 'stop' for i in (1, 2, 3)}
    return fleet, actions


def test_without_a_budget_the_replicas_stop_together():
    fleet, actions = replicas()
    plan = plan_campaign(fleet.snapshot(), ['hv1', 'hv2', 'hv3'], actions)
    assert plan['batches'] == [['hv1', 'hv2', 'hv3']]


def test_the_planner_cuts_batches_to_keep_a_budget():
    fleet, actions = replicas()
    specs = budgets({'name': 'db', 'server_group': 'db', 'max_unavailable': 1})
    plan = checked(fleet.snapshot(), ['hv1', 'hv2', 'hv3'], actions, specs)
    assert plan['batches'] == [['hv1'], ['hv2'], ['hv3']]
    assert plan['budgets'] == [{'name': 'db', 'members': 3, 'max_unavailable': 1, 'already_unavailable': 0,
                                'most_unavailable': 1}]
    assert sorted(m['server'] for m in plan['moves']) == ['web1', 'web2', 'web3']


def test_a_percentage_is_rounded_up_as_kubernetes_does():
    fleet, actions = replicas()
    plan = checked(fleet.snapshot(), ['hv1', 'hv2', 'hv3'], actions,
                   budgets({'server_group': 'db', 'max_unavailable': '34%'}))
    assert [len(b) for b in plan['batches']] == [2, 1]


def test_members_moving_live_stay_available():
    fleet, _actions = replicas()
    snapshot = fleet.snapshot()
    free = plan_campaign(snapshot, ['hv1', 'hv2', 'hv3'], {})
    plan = checked(snapshot, ['hv1', 'hv2', 'hv3'], {}, budgets({'server_group': 'db', 'max_unavailable': 0}))
    assert plan['batches'] == free['batches'] and plan['moves'] == free['moves']
    assert plan['budgets'][0]['most_unavailable'] == 0 and len(plan['moves']) == 6


def test_a_member_already_down_counts_in_every_batch():
    fleet, actions = replicas(statuses=('SHUTOFF', 'ACTIVE', 'ACTIVE'))
    actions['db1'] = 'leave'
    specs = budgets({'name': 'db', 'server_group': 'db', 'max_unavailable': 1})
    plan = checked(fleet.snapshot(), ['hv1', 'hv2', 'hv3'], actions, specs)
    # hv1 only adds a member already down; hv2 and hv3 would each make it two
    assert plan['batches'] == [['hv1']]
    reasons = {b['host']: b['reason'] for b in plan['blocked_hosts']}
    assert sorted(reasons) == ['hv2', 'hv3']
    assert reasons['hv2'] == ('availability budget db (server group db: 3 members, max_unavailable 1): 2 would be '
                              'unavailable while hv2 is maintained: vm-db1 (db1), vm-db2 (db2)')


def test_a_host_that_alone_breaks_a_budget_is_left_out_and_takes_nothing():
    fleet = Fleet().group('db', 'anti-affinity', max_server_per_host=2).host('hv1').host('hv2').host('spare')
    fleet.server('a', 'hv1', groups=['db']).server('b', 'hv1', groups=['db']).server('web', 'hv2', ram=30 * GB)
    specs = budgets({'name': 'db', 'server_group': 'db', 'max_unavailable': 1})
    plan = checked(fleet.snapshot(), ['hv1', 'hv2'], {'a': 'stop', 'b': 'stop'}, specs)
    assert [b['host'] for b in plan['blocked_hosts']] == ['hv1'] and plan['batches'] == [['hv2']]
    assert 'hv1' not in {m['to'] for m in plan['moves']}


def test_a_member_deleted_stays_unavailable_for_the_rest_of_the_campaign():
    fleet, actions = replicas()
    actions.update(db1='delete', db2='live_migrate', db3='stop')
    specs = budgets({'name': 'db', 'server_group': 'db', 'max_unavailable': 1})
    plan = checked(fleet.snapshot(), ['hv1', 'hv2', 'hv3'], actions, specs, max_batch=1)
    assert [b['host'] for b in plan['blocked_hosts']] == ['hv3']


def test_project_and_metadata_select_members():
    fleet = Fleet().host('hv1').host('hv2').host('spare')
    for sid, host, project, app in (('a', 'hv1', 'p1', 'db'), ('b', 'hv2', 'p1', 'db'), ('c', 'hv2', 'p2', 'db')):
        fleet.server(sid, host)
        fleet.servers[sid].update(project_id=project, metadata={'app': app})
    actions = {'a': 'stop', 'b': 'stop', 'c': 'stop'}
    plan = checked(fleet.snapshot(), ['hv1', 'hv2'], actions,
                   budgets({'project': 'p1', 'metadata': {'app': 'db'}, 'max_unavailable': 1}))
    assert len(plan['batches']) == 2 and plan['budgets'][0]['members'] == 2
    plan = checked(fleet.snapshot(), ['hv1', 'hv2'], actions, budgets({'project': 'p2', 'max_unavailable': 1}))
    assert plan['batches'] == [['hv1', 'hv2']]


def test_a_budget_of_no_server_says_so():
    fleet, actions = replicas()
    plan = checked(fleet.snapshot(), ['hv1'], actions, budgets({'name': 'x', 'project': 'nobody', 'max_unavailable': 0}))
    assert 'availability budget x (project nobody: 0 members, max_unavailable 0) covers no server' in plan['problems']


# ---- the validator ------------------------------------------------------------------------------

def test_the_validator_refuses_a_batch_that_breaks_a_budget():
    fleet, actions = replicas()
    snapshot = fleet.snapshot()
    plan = plan_campaign(snapshot, ['hv1', 'hv2', 'hv3'], actions)
    specs = budgets({'name': 'db', 'server_group': 'db', 'max_unavailable': 1})
    assert check_plan(snapshot, plan, hosts=['hv1', 'hv2', 'hv3'], actions=actions, budgets=specs) == [
        'batch 0: availability budget db (server group db: 3 members, max_unavailable 1): 3 unavailable at once: '
        'vm-db1 (db1), vm-db2 (db2), vm-db3 (db3)']
    assert batch_of(plan) == {'hv1': 0, 'hv2': 0, 'hv3': 0}

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An availability budget on a server group, through a real campaign (playbooks/rolling_patch.yml
on hv04 and hv05, batches as large as the plan finds room for), read back from Nova's records.

The test owns zone az2: it empties hv04, hv05 and hv06 of the seeded servers (the next module starts
from the seeded layout again), then boots two members of an anti-affinity group, one on hv04 and
one on hv05, which the policy stops during their host's maintenance, and a cattle server on each
host that moves live to hv06. Nothing else keeps the two hosts apart: without the budget the plan
drains them together.
"""

from __future__ import annotations

import datetime
import json
import os
import uuid

import pytest
import yaml

from conftest import REPO, run_ansible, wait_until
from modules_support import play, task
from test_rolling_patch import (  # noqa: F401  pylint: disable=unused-import
    PAIR,
    all_servers,
    assert_untouched,
    campaign,
    campaign_argv,
    nova_time,
    pair_ready,
    servers_on_pair,
    services_of_pair,
    utcnow,
)

AZ2 = PAIR + ('hv06',)
SANDBOX_VARS = os.path.join(REPO, 'sandbox', 'inventory', 'group_vars', 'all.yml')


def sandbox_policy():
    with open(SANDBOX_VARS) as handle:
        return yaml.safe_load(handle)['cloudmaint_policy']


def empty_az2(conn):
    """Every server off hv04, hv05 and hv06, and their room back in Placement."""
    for server in conn.compute.servers(all_projects=True, details=True):
        if server.compute_host in AZ2:
            conn.compute.delete_server(server)
    wait_until('hv04, hv05 and hv06 empty', lambda: not [
        s for s in conn.compute.servers(all_projects=True, details=True) if s.compute_host in AZ2],
        timeout=240, interval=2)


def boot(factory, host, group=None, sla='cattle'):
    """A small server on ``host`` in zone az2 (a few seconds to migrate), in ``group`` if given."""
    conn = factory.conn.connect_as_project('web-shop')
    body = {'server': {
        'name': 'budget-%s' % uuid.uuid4().hex[:8],
        'flavorRef': factory.conn.compute.find_flavor('m1.small').id,
        'imageRef': factory.conn.image.find_image('cirros-sim').id,
        'networks': 'none', 'host': host, 'availability_zone': 'az2',
        'metadata': {'sla': sla, 'sim:ram_used_mb': '512', 'sim:dirty_mbps': '10'}}}
    if group:
        body['os:scheduler_hints'] = {'group': group}
    response = conn.compute.post('/servers', json=body, microversion='2.74')
    assert response.status_code < 400, response.text
    server_id = response.json()['server']['id']
    factory.created.append(server_id)
    return factory.wait_status(server_id, 'ACTIVE')


@pytest.fixture
def replicas(conn, servers, pair_ready):  # noqa: F811  pylint: disable=redefined-outer-name,unused-argument
    """(group id, members by host, movers): an anti-affinity group with a member on hv04 and one
    on hv05, and a cattle server next to each; the group is deleted afterwards (after its members)."""
    empty_az2(conn)
    tenant = conn.connect_as_project('web-shop')
    response = tenant.compute.post('/os-server-groups', microversion='2.64', json={
        'server_group': {'name': 'budget-%s' % uuid.uuid4().hex[:8], 'policy': 'anti-affinity'}})
    assert response.status_code < 400, response.text
    group = response.json()['server_group']['id']
    try:
        members = {host: boot(servers, host, group=group) for host in PAIR}
        movers = [boot(servers, host) for host in PAIR]
        yield group, members, movers
    finally:
        servers.cleanup()
        servers.created = []
        tenant.compute.delete('/os-server-groups/%s' % group)


def policy_with(members, budget):
    policy = sandbox_policy()
    policy['servers'] = {m.id: {'action': 'stop'} for m in members.values()}
    if budget is not None:
        policy['budgets'] = [dict(budget)]
    return policy


def plan_batches(cloud_env, tmp_path, policy):
    """The batches maintenance_plan gives hv04 and hv05 with ``policy`` (reads only), and the plan."""
    plan = play(cloud_env, tmp_path, [task('maintenance_plan', 'plan', hosts=list(PAIR), policy=policy,
                                           importance='medium')])['plan']
    return plan['batches'], plan


def actions_of(conn, server_id, since):
    """Nova's instance actions of a server since ``since``: [(action, started, finished)], oldest first."""
    listed = conn.compute.get('/servers/%s/os-instance-actions' % server_id,
                              microversion='2.58').json()['instanceActions']
    found = []
    for action in listed:
        started = nova_time(action['start_time'])
        if started < since:
            continue
        detail = conn.compute.get('/servers/%s/os-instance-actions/%s' % (server_id, action['request_id']),
                                  microversion='2.58').json()['instanceAction']
        ends = [nova_time(e['finish_time']) for e in detail.get('events') or () if e.get('finish_time')]
        found.append((action['action'], started, max(ends) if ends else started))
    return sorted(found, key=lambda a: a[1])


def unavailable_interval(conn, server_id, since):
    """(stopped at, running again at) from the server's stop and start actions since ``since``."""
    actions = actions_of(conn, server_id, since)
    names = [a[0] for a in actions]
    assert names.count('stop') == 1 and names.count('start') == 1, actions
    stop = next(a for a in actions if a[0] == 'stop')
    start = next(a for a in actions if a[0] == 'start')
    assert stop[1] < start[2], actions
    return stop[1], start[2]


def most_at_once(intervals):
    """The most intervals that overlap at any moment."""
    edges = sorted([(begin, 1) for begin, _end in intervals] + [(end, -1) for _begin, end in intervals],
                   key=lambda edge: (edge[0], edge[1]))
    now = most = 0
    for _when, step in edges:
        now += step
        most = max(most, now)
    return most


def test_a_campaign_keeps_the_budget_of_a_server_group(conn, cloud_env, replicas, campaign, tmp_path):  # noqa: F811
    group, members, movers = replicas
    budget = {'name': 'replicas', 'server_group': group, 'max_unavailable': 1}
    free_batches, _plan = plan_batches(cloud_env, tmp_path, policy_with(members, None))
    assert free_batches == [sorted(PAIR)] or free_batches == [list(PAIR)], free_batches
    kept_batches, plan = plan_batches(cloud_env, tmp_path, policy_with(members, budget))
    assert sorted(map(tuple, kept_batches)) == [('hv04',), ('hv05',)], kept_batches
    assert plan['budgets'] == [{'name': 'replicas', 'members': 2, 'max_unavailable': 1,
                                'already_unavailable': 0, 'most_unavailable': 1}]

    since = utcnow() - datetime.timedelta(seconds=2)
    result = run_ansible(cloud_env, campaign_argv(
        campaign, tmp_path, '-e', 'cloudmaint_batch_size=0',
        '-e', json.dumps({'cloudmaint_policy': policy_with(members, budget)})), timeout=1500)
    assert 'replicas: at most 1 of 2 unavailable at once' in result.stdout, result.stdout[-4000:]

    intervals = {host: unavailable_interval(conn, member.id, since) for host, member in members.items()}
    print('unavailable: %s' % {h: (a.isoformat(), b.isoformat()) for h, (a, b) in intervals.items()})
    assert most_at_once(intervals.values()) == 1, intervals
    now = all_servers(conn)
    for host, member in members.items():
        assert now[member.id].status == 'ACTIVE' and now[member.id].compute_host == host
    for mover in movers:
        assert now[mover.id].status == 'ACTIVE'
        assert [a[0] for a in actions_of(conn, mover.id, since)].count('stop') == 0
    assert all(s['status'] == 'enabled' for s in services_of_pair(conn).values())


def test_a_budget_no_batch_can_keep_refuses_the_campaign_before_anything_changes(
        conn, cloud_env, replicas, campaign, tmp_path):  # noqa: F811
    group, members, _movers = replicas
    since = utcnow() - datetime.timedelta(seconds=2)
    services, before = services_of_pair(conn), servers_on_pair(conn)
    budget = {'name': 'no-downtime', 'server_group': group, 'max_unavailable': 0}

    result = run_ansible(cloud_env, campaign_argv(
        campaign, tmp_path, '-e', 'cloudmaint_batch_size=0',
        '-e', json.dumps({'cloudmaint_policy': policy_with(members, budget)})), check=False, timeout=900)

    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-4000:]
    assert 'availability budget no-downtime (server group %s: 2 members, max_unavailable 0)' % group in output, \
        output[-4000:]
    assert 'TASK [Record that work on this host began]' not in output, output[-4000:]
    assert_untouched(conn, campaign, services, before, since)
    for member in members.values():
        assert [a[0] for a in actions_of(conn, member.id, since)] == []

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Mid-upgrade in zone az2: hv04 and hv05 run a newer hypervisor version than hv06.

Real Nova refuses a live migration to an older version (the conductor's check, then "No valid
host"); the campaign plan must not ask for one, and plans the policy's cold fallback where no
host of a good version has room. Read-only but for the versions: nova-compute of the hosts is
restarted with another version (``cloudctl patch --now``), guests keep running; the zone is
brought back to one version afterwards.
"""

from __future__ import annotations

import pytest

from conftest import cloudctl, level_versions, wait_until
from modules_support import play, set_service, task

PAIR = ('hv04', 'hv05')
ZONE = PAIR + ('hv06',)


def versions(conn):
    return {h.name: h.hypervisor_version for h in conn.compute.hypervisors(details=True) if h.name in ZONE}


@pytest.fixture(scope='module')
def pair_newer(conn):
    level_versions(conn, ZONE)
    newest = max(versions(conn).values()) + 1
    for host in PAIR:
        cloudctl('patch', host, '--version', '%d.%d' % divmod(newest, 1000), '--now')
    found = versions(conn)
    assert found['hv04'] == found['hv05'] == newest > found['hv06'], found
    yield found
    level_versions(conn, ZONE)


def test_nova_refuses_a_live_migration_to_the_older_host(conn, pair_newer):
    server = next(s for s in conn.compute.servers(all_projects=True, details=True)
                  if s.compute_host in PAIR and s.status == 'ACTIVE' and not s.task_state)
    source = server.compute_host
    # At 2.34 and later the conductor's checks run after the API answered 202, as for the drain.
    answer = conn.compute.post('/servers/%s/action' % server.id, microversion='2.80',
                               json={'os-migrateLive': {'host': 'hv06', 'block_migration': 'auto'}})
    assert answer.status_code == 202, answer.text

    def ended():
        found = conn.compute.get_server(server.id)
        return found if not found.task_state else None
    after = wait_until('the refused live migration of %s to settle' % server.name, ended, timeout=60)
    assert (after.compute_host, after.status) == (source, 'ACTIVE')
    listed = conn.compute.get('/os-migrations?instance_uuid=%s&migration_type=live-migration' % server.id,
                              microversion='2.80').json()['migrations']
    last = max(listed, key=lambda m: m['id'])
    assert last['status'] == 'error' and last['dest_compute'] in (None, 'hv06'), last


def test_plan_sends_nothing_live_to_the_older_host(conn, cloud_env, tmp_path, pair_newer):
    results = play(cloud_env, tmp_path, [
        task('maintenance_plan', 'plan', hosts=list(PAIR), max_batch=1),
        {'name': 'What the drain of each host would do with the plan',
         'cloudmaint.openstack.host_drain': {
             'host': '{{ item }}', 'campaign': 'it-versions',
             'destinations': '{{ plan.destinations_by_host[item] | default({}) }}',
             'planned_actions': '{{ plan.actions_by_host[item] | default({}) }}'},
         'check_mode': True, 'loop': '{{ plan.batches | flatten }}', 'register': 'drains'},
    ])
    plan = results['plan']
    print('versions %s; batches %s; moves %s; blocked %s' % (
        pair_newer, plan['batches'], ['%s %s->%s %s%s' % (m['name'], m['from'], m['to'], m['action'],
                                                          ' (fallback)' if m['fallback'] else '')
                                      for m in plan['moves']], plan['blocked_hosts']))
    # From the seeded layout every server of the pair can go live within the newer pair (through
    # the host maintained later where it must, an extra move): nothing goes to the older host.
    assert plan['moves'] and plan['blocked_hosts'] == [], plan['problems']
    assert {(m['to'], m['action'], m['fallback']) for m in plan['moves']} <= {
        ('hv04', 'live_migrate', False), ('hv05', 'live_migrate', False)}, plan['moves']
    assert plan['actions_by_host'] == {} or all(a == {} for a in plan['actions_by_host'].values())
    # and the drains, given the plan, ask Nova for live migrations to the newer pair only
    live = [e for run in results['drains']['results'] for e in run['servers'] if e['action'] == 'live_migrate']
    assert live, results['drains']
    assert {e['requested_destination'] for e in live} <= set(PAIR), live


def plan_with_only_hv06_left(conn, cloud_env, tmp_path, policy=None):
    """The plan for hv05 while hv04 is disabled: what leaves hv05 can only go to hv06 (older)."""
    set_service(conn, 'hv04', False, 'it-versions: only hv06 is left')
    try:
        params = {'policy': policy} if policy else {}
        plan = play(cloud_env, tmp_path, [task('maintenance_plan', 'plan', hosts=['hv05'], **params)])['plan']
    finally:
        set_service(conn, 'hv04', True)
    print('moves %s; blocked %s' % (['%s %s->%s %s' % (m['name'], m['from'], m['to'], m['action'])
                                     for m in plan['moves']], plan['blocked_hosts']))
    return plan


def test_only_an_older_host_without_room_blocks_the_host_saying_why(conn, cloud_env, tmp_path, pair_newer):
    """From the seeded layout hv05's servers (18 GiB) do not all fit on hv06: the host is blocked,
    nothing is planned live to the older host, and each server's reason is given.  No class falls
    back to a stop here (a server that fits nowhere would stay, stopped, and its host be drained)."""
    no_stop = {'classes': {'cattle': {'fallbacks': ['cold_migrate']}},
               'default': {'action': 'live_migrate', 'fallbacks': ['cold_migrate']}}
    plan = plan_with_only_hv06_left(conn, cloud_env, tmp_path, no_stop)
    movers = [s for s in plan['hosts']['hv05']['servers'] if s['action'] in ('live_migrate', 'cold_migrate')]
    assert len(movers) >= 2, 'hv05 has nothing to move: %s' % plan['hosts']['hv05']
    assert plan['moves'] == [], plan['moves']
    [blocked] = plan['blocked_hosts']
    assert blocked['host'] == 'hv05'
    # the first three servers that fit nowhere, each with its reason; then how many more
    reasons = [r for r in blocked['reason'].split('; ') if not r.startswith('and ')]
    assert 1 <= len(reasons) <= 3, blocked['reason']
    for why in reasons:
        assert 'fits on no host of zone az2: 1 are disabled, 1 ' in why, why
        assert why.split(': 1 are disabled, 1 ')[1] in (
            'run an older hypervisor version or another type (Nova refuses to live-migrate there)',
            'lack room', 'have room for it, not for all that must leave hv05'), why


def test_only_an_older_host_with_room_gets_the_cold_fallbacks(conn, cloud_env, tmp_path, pair_newer):
    """Every server of hv05 but two small cattle ones is left in place by an operator override (by
    id): those two fit on hv06 and go there only as the cold migration their policy falls back to,
    planned as such, never live."""
    on_hv05 = [s for s in conn.compute.servers(all_projects=True, details=True) if s.compute_host == 'hv05']
    small = sorted((s for s in on_hv05 if s.status == 'ACTIVE' and s.flavor['original_name'] == 'm1.small'
                    and (s.metadata or {}).get('sla') == 'cattle'), key=lambda s: s.name)[:2]
    assert len(small) == 2, [(s.name, s.flavor['original_name']) for s in on_hv05]
    moving = {s.id for s in small}
    policy = {'sla_key': 'sla',
              'classes': {'cattle': {'action': 'live_migrate', 'fallbacks': ['cold_migrate', 'stop']}},
              'servers': {s.id: {'action': 'leave'} for s in on_hv05 if s.id not in moving}}
    plan = plan_with_only_hv06_left(conn, cloud_env, tmp_path, policy)
    assert plan['blocked_hosts'] == [], plan['blocked_hosts']
    assert sorted((m['server'], m['to'], m['action'], m['fallback']) for m in plan['moves']) == \
        sorted((s.id, 'hv06', 'cold_migrate', True) for s in small), plan['moves']
    assert plan['actions_by_host']['hv05'] == {s.id: 'cold_migrate' for s in small}

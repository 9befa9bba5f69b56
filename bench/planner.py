# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Times the planner on a synthetic 1,000 hypervisor / 20,000 server fleet and compares it with a
naive scheduler-like drain (what `nova host-evacuate-live` host after host does); then, on a tight
fleet of the same hosts, counts what the retry of blocked hosts plans.

    .venv/bin/python bench/planner.py [--hosts 1000] [--servers 20000] [--seed 7]

Pure computation, no cloud.  Every plan is checked by plan_check.check_plan.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, '.collections'))

import planner_fleet  # noqa: E402

from ansible_collections.cloudmaint.openstack.plugins.module_utils.plan_check import check_plan  # noqa: E402
from ansible_collections.cloudmaint.openstack.plugins.module_utils.planner import (  # noqa: E402
    plan_campaign,
    plan_consolidation,
)

MOVES = ('live_migrate', 'cold_migrate')


def naive_drain(snapshot, actions, seed=1, refused=None):
    """Each host drained in turn (name order); each server to a random host of its zone with room
    (patched or not, the drained host excepted), hard anti-affinity honoured as Nova's filter
    would.  Returns (moves, servers moved, servers that found no host); ``refused`` (a list) gets
    the live moves to an older hypervisor version, which Nova would refuse."""
    rng = random.Random(seed)
    hyps = snapshot['hypervisors']
    free = {n: [h['capacity'][rc]['free'] for rc in ('MEMORY_MB', 'VCPU', 'DISK_GB')] for n, h in hyps.items()}
    by_zone = {}
    for name in sorted(hyps):
        by_zone.setdefault(hyps[name]['zone'], []).append(name)
    on_host = {n: [] for n in hyps}
    where = {}
    for sid, server in snapshot['servers'].items():
        on_host[server['host']].append(sid)
        where[sid] = server['host']
    anti = {gid: g['members'] for gid, g in snapshot['server_groups'].items() if g['policy'] == 'anti-affinity'}
    group_of = {m: gid for gid, members in anti.items() for m in members}
    moves = 0
    moved = set()
    stuck = 0
    for host in sorted(hyps):
        for sid in list(on_host[host]):
            server = snapshot['servers'][sid]
            action = actions.get(sid, 'live_migrate')
            if action not in MOVES:
                continue
            flavor = server['flavor']
            need = (flavor['ram'], flavor['vcpus'], flavor['disk'])
            taken = {where[m] for m in anti.get(group_of.get(sid), ()) if m != sid}

            def fits(name):
                f = free[name]
                return name != host and name not in taken and f[0] >= need[0] and f[1] >= need[1] and f[2] >= need[2]

            zone = by_zone[hyps[host]['zone']]
            dest = None
            for dummy in range(40):
                candidate = zone[rng.randrange(len(zone))]
                if fits(candidate):
                    dest = candidate
                    break
            if dest is None:
                room = [n for n in zone if fits(n)]
                dest = rng.choice(room) if room else None
            if dest is None:
                stuck += 1
                continue
            if refused is not None and action == 'live_migrate' and \
                    hyps[dest].get('hypervisor_version', 0) < hyps[host].get('hypervisor_version', 0):
                refused.append(sid)
            for k in range(3):
                free[dest][k] -= need[k]
                free[host][k] += need[k]
            on_host[host].remove(sid)
            on_host[dest].append(sid)
            where[sid] = dest
            moves += 1
            moved.add(sid)
    return moves, len(moved), stuck


def mid_upgrade(snapshot, actions, seed=3, patched=0.4, live_only=0.3):
    """The fleet halfway through an upgrade: ``patched`` of each zone's hosts run a newer
    hypervisor version; a live-migrating server's policy falls back to a cold migration, except
    ``live_only`` of them (pandas)."""
    rng = random.Random(seed)
    snapshot = copy.deepcopy(snapshot)
    for name in sorted(snapshot['hypervisors']):
        snapshot['hypervisors'][name]['hypervisor_version'] = 9000000 if rng.random() < patched else 8002000
    chains = {}
    for sid in sorted(snapshot['servers']):
        action = actions.get(sid, 'live_migrate')
        chain = [action]
        if action == 'live_migrate' and rng.random() >= live_only:
            chain += ['cold_migrate', 'stop']
        chains[sid] = {'action': action, 'chain': chain,
                       'sla_class': (snapshot['servers'][sid].get('metadata') or {}).get('sla', 'cattle')}
    return snapshot, chains


def report(title, plan, seconds, verdict):
    stats = plan['stats']
    print('%s' % title)
    print('  wall time            %.2f s' % seconds)
    print('  batches              %d (largest %d hosts)' % (stats['batches'], stats['largest_batch']))
    if plan['mode'] == 'campaign':
        print('  hosts planned        %d, blocked %d' % (stats['planned_hosts'], len(plan['blocked_hosts'])))
    print('  moves                %d for %d servers' % (stats['moves'], stats['servers_moved']))
    print('  migrations/server    %.4f' % stats['migrations_per_drained_server'])
    print('  extra moves          %d' % plan['extra_moves'])
    fallbacks = sum(1 for move in plan['moves'] if move.get('fallback'))
    if fallbacks:
        print('  planned cold fallbacks %d' % fallbacks)
    print('  validator            %s' % validity(verdict))


def validity(verdict):
    return 'OK' if not verdict else '%d violations, first: %s' % (len(verdict), verdict[0])


def classed(snapshot, actions):
    """The actions as the module gives them to the planner: with each server's SLA class (metadata
    ``sla``; unlabelled servers are cattle), which weighs its extra moves."""
    return {sid: {'action': actions.get(sid, 'live_migrate'), 'chain': [actions.get(sid, 'live_migrate')],
                  'sla_class': (server.get('metadata') or {}).get('sla', 'cattle')}
            for sid, server in snapshot['servers'].items()}


def extra_by_class(snapshot, plan):
    counts = {'cattle': 0, 'pets': 0, 'pandas': 0}
    for move in plan['moves']:
        if move['extra']:
            sla = (snapshot['servers'][move['server']].get('metadata') or {}).get('sla', 'cattle')
            counts[sla] = counts.get(sla, 0) + 1
    return ', '.join('%s %d' % item for item in counts.items())


def unplanned(snapshot, plan, actions):
    """Servers on the blocked hosts that had to move: the plan leaves them where they are."""
    blocked = {b['host'] for b in plan['blocked_hosts']}
    return sum(1 for sid, server in snapshot['servers'].items()
               if server['host'] in blocked and actions[sid]['action'] in MOVES)


def tight_fleet(worst):
    """The same hosts nearly full (29,500 servers, 98% of RAM, every host filled alike, no spare,
    3% of hosts disabled by an operator): with no maintained or spare host, each zone starts with a
    host emptied onto hosts maintained later.  The planner tries the 30 hosts with least to move;
    when none can be emptied (each holds a server larger than the free RAM of any other host) it
    sets the first aside and tries the next 30.  Blocked hosts and unplanned servers without and
    with the retry of the hosts set aside."""
    snapshot, actions = planner_fleet.generate(servers=29500, fill=0.85, spread=0.02, disabled=0.03)
    actions = classed(snapshot, actions)
    hosts = sorted(snapshot['hypervisors'])
    hyps = snapshot['hypervisors'].values()
    print('tight fleet: %d hypervisors in %d zones (%d disabled, none spare), %d servers, RAM %.0f%% used'
          % (len(hosts), len({h['zone'] for h in hyps}), sum(1 for h in hyps if h['status'] != 'enabled'),
             len(snapshot['servers']), 100 * planner_fleet.fill_ratio(snapshot)))
    for title, retry in (('before the retry (retry_blocked=False: a host set aside is never tried again)', False),
                         ('after the retry (hosts set aside tried again after each later batch)', True)):
        t0 = time.perf_counter()
        plan = plan_campaign(snapshot, hosts, actions, retry_blocked=retry)
        seconds = time.perf_counter() - t0
        worst = max(worst, seconds)
        verdict = check_plan(snapshot, plan, hosts=hosts, actions=actions)
        print('  %s' % title)
        print('    wall time          %.2f s' % seconds)
        print('    blocked hosts      %d' % len(plan['blocked_hosts']))
        print('    unplanned servers  %d to move on blocked hosts (%d found no host)'
              % (unplanned(snapshot, plan, actions), len(plan['unmovable'])))
        print('    batches            %d, %d moves, extra moves %d (%s)'
              % (len(plan['batches']), len(plan['moves']), plan['extra_moves'], extra_by_class(snapshot, plan)))
        print('    validator          %s' % validity(verdict))
    return worst


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=1000)
    parser.add_argument('--servers', type=int, default=20000)
    parser.add_argument('--zones', type=int, default=4)
    parser.add_argument('--seed', type=int, default=7)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    snapshot, actions = planner_fleet.generate(hosts=args.hosts, servers=args.servers, zones=args.zones,
                                               seed=args.seed)
    print('fleet: %d hypervisors in %d zones, %d servers, %d server groups, RAM %.0f%% used (generated in %.2f s)'
          % (len(snapshot['hypervisors']), args.zones, len(snapshot['servers']), len(snapshot['server_groups']),
             100 * planner_fleet.fill_ratio(snapshot), time.perf_counter() - started))
    hosts = sorted(snapshot['hypervisors'])
    with_class = classed(snapshot, actions)
    worst = 0.0
    results = {}
    for title, options in (('campaign, all hosts, no limits', {}),
                           ('campaign, all hosts, max_batch=40, max_incoming=4',
                            {'max_batch': 40, 'max_incoming': 4})):
        t0 = time.perf_counter()
        plan = plan_campaign(snapshot, hosts, with_class, **options)
        seconds = time.perf_counter() - t0
        worst = max(worst, seconds)
        verdict = check_plan(snapshot, plan, hosts=hosts, actions=with_class, **options)
        report(title, plan, seconds, verdict)
        t0 = time.perf_counter()
        unweighted = plan_campaign(snapshot, hosts, actions, **options)
        worst = max(worst, time.perf_counter() - t0)
        print('  extra moves by class %s (actions without sla_class, every move weighed the same: %d, %s)'
              % (extra_by_class(snapshot, plan), unweighted['extra_moves'], extra_by_class(snapshot, unweighted)))
        results[title] = plan

    t0 = time.perf_counter()
    plan = plan_consolidation(snapshot, actions=actions, max_incoming=4)
    seconds = time.perf_counter() - t0
    worst = max(worst, seconds)
    verdict = check_plan(snapshot, plan, actions=actions, max_incoming=4)
    report('consolidation, as many hosts as possible, max_incoming=4', plan, seconds, verdict)
    print('  hosts emptied        %d (%d already empty, %d not emptiable)'
          % (plan['stats']['emptied'], plan['stats']['already_empty'], plan['stats']['not_emptiable']))

    t0 = time.perf_counter()
    moves, moved, stuck = naive_drain(snapshot, actions)
    seconds = time.perf_counter() - t0
    naive = moves / moved if moved else 0.0
    planned = results['campaign, all hosts, no limits']['stats']['migrations_per_drained_server']
    print('baseline: hosts drained one by one, each server to a random host of its zone with room')
    print('  wall time            %.2f s' % seconds)
    print('  moves                %d for %d servers (%d found no host)' % (moves, moved, stuck))
    print('  migrations/server    %.4f' % naive)
    print('  baseline / planner   %.2fx the migrations' % (naive / planned if planned else 0.0))

    upgrade, chains = mid_upgrade(snapshot, actions)
    t0 = time.perf_counter()
    plan = plan_campaign(upgrade, hosts, chains)
    seconds = time.perf_counter() - t0
    worst = max(worst, seconds)
    verdict = check_plan(upgrade, plan, hosts=hosts, actions=chains)
    report('campaign mid-upgrade (40% of hosts on a newer hypervisor), all hosts, no limits', plan, seconds, verdict)
    versions = {n: h['hypervisor_version'] for n, h in upgrade['hypervisors'].items()}
    older = sum(1 for m in plan['moves'] if m['action'] == 'live_migrate' and versions[m['to']] < versions[m['from']])
    print('  live moves to older  %d' % older)
    t0 = time.perf_counter()
    plan = plan_campaign(upgrade, hosts, chains, target_version=9000000)
    seconds = time.perf_counter() - t0
    worst = max(worst, seconds)
    verdict = check_plan(upgrade, plan, hosts=hosts, actions=chains, target_version=9000000)
    report('campaign mid-upgrade, the same, target_version (every host ends on the newer version)', plan, seconds,
           verdict)
    refused = []
    moves, moved, stuck = naive_drain(upgrade, actions, refused=refused)
    print('baseline mid-upgrade: live moves Nova would refuse  %d of %d (%.1f%%), planner %d'
          % (len(refused), moves, 100.0 * len(refused) / moves if moves else 0.0, older))
    worst = tight_fleet(worst)
    print('slowest planner run %.2f s (target <= 10 s): %s' % (worst, 'OK' if worst <= 10 else 'TOO SLOW'))
    return 0


if __name__ == '__main__':
    sys.exit(main())

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A seeded synthetic fleet in the shape of cloud_snapshot.build_snapshot, for the planner benchmark.

Zones of hypervisors, each zone split into two aggregates (general and high-memory hosts), flavors
from 1 to 16 vCPUs, hosts filled unevenly (some nearly empty, some nearly full) to ``fill`` of
their RAM on average, anti-affinity groups of 2-5 members on distinct hosts, a few affinity and
soft-anti-affinity groups, and a mix of policy actions.
"""

from __future__ import annotations

import random

FLAVORS = (  # name, vcpus, ram MiB, disk GiB, weight
    ('m1.small', 1, 2048, 20, 20), ('m1.medium', 2, 4096, 40, 25), ('m1.large', 4, 8192, 80, 25),
    ('m1.xlarge', 8, 16384, 160, 15), ('r1.large', 4, 32768, 80, 8), ('r1.xlarge', 8, 65536, 160, 5),
    ('c1.4xlarge', 16, 32768, 200, 2),
)
HOST_KINDS = (  # aggregate suffix, RAM MiB, vCPUs (after allocation ratio), disk GiB, weight
    ('general', 262144, 128, 2500, 3), ('general', 393216, 192, 3000, 4), ('highmem', 524288, 256, 4000, 2),
)
ACTIONS = (('live_migrate', 86), ('cold_migrate', 5), ('stop', 5), ('shelve_partial', 2), ('leave', 1),
           ('delete', 1))


def _capacity(cap, used, max_unit):
    return {'capacity': cap, 'used': used, 'free': cap - used, 'max_unit': max_unit}


def _pick(rng, table, weight_index):
    return rng.choices(table, weights=[row[weight_index] for row in table])[0]


def generate(hosts=1000, servers=20000, zones=4, fill=0.68, anti_affinity=600, affinity=40,
             soft_anti_affinity=100, seed=7, spare_per_zone=0, spread=0.2, disabled=0.0):
    """(snapshot, actions) of a synthetic fleet.  ``spare_per_zone`` hosts per zone are left empty;
    hosts are filled to ``fill`` of their RAM on average, with a standard deviation of ``spread``;
    ``disabled`` of the hosts are disabled by an operator.  Every host reports Placement's max_unit
    (its whole RAM and disk, its cores: a quarter of its vCPUs at ratio 4); every server carries its
    SLA class in its metadata (``sla``: cattle, pets or pandas; a few unlabelled, cattle by default)."""
    rng = random.Random(seed)
    # Classes and disabled hosts from their own generator: the fleet's layout does not depend on them.
    labels = random.Random(seed + 1)
    hyps = {}
    room = {}
    for i in range(hosts):
        zone = 'az%d' % (i % zones + 1)
        kind = _pick(rng, HOST_KINDS, 4)
        name = 'hv%04d' % i
        off = labels.random() < disabled
        hyps[name] = {'host': name, 'zone': zone, 'aggregates': ['%s-%s' % (zone, kind[0])], 'state': 'up',
                      'status': 'disabled' if off else 'enabled', 'disabled_reason': 'RMA ticket' if off else None,
                      'forced_down': False, 'hypervisor_type': 'QEMU',
                      'capacity': {'MEMORY_MB': _capacity(kind[1], 0, kind[1]),
                                   'VCPU': _capacity(kind[2], 0, kind[2] // 4),
                                   'DISK_GB': _capacity(kind[3], 0, kind[3])},
                      'servers': [], 'server_count': 0}
        room[name] = None
    names = sorted(hyps)
    spare = set()
    for z in range(zones):
        spare.update([n for n in names if hyps[n]['zone'] == 'az%d' % (z + 1)][:spare_per_zone])
    # Uneven targets around ``fill``: the planner should find the emptiest hosts.
    for name in names:
        room[name] = 0.0 if name in spare else min(0.97, max(0.05, rng.gauss(fill, spread)))
    flavors = [_pick(rng, FLAVORS, 4) for dummy in range(servers)]
    total_ram = sum(f[2] for f in flavors)
    capacity_ram = sum(hyps[n]['capacity']['MEMORY_MB']['capacity'] * room[n] for n in names)
    scale = total_ram / capacity_ram if capacity_ram else 1.0
    budget = {n: hyps[n]['capacity']['MEMORY_MB']['capacity'] * room[n] * scale for n in names}

    group_specs = ([('anti-affinity', rng.randint(2, 5)) for dummy in range(anti_affinity)]
                   + [('affinity', 2) for dummy in range(affinity)]
                   + [('soft-anti-affinity', rng.randint(2, 4)) for dummy in range(soft_anti_affinity)])
    order = list(range(servers))
    rng.shuffle(order)
    membership = {}
    groups = {}
    cursor = 0
    for g, (policy, size) in enumerate(group_specs):
        gid = 'sg-%04d' % g
        members = order[cursor:cursor + size]
        cursor += size
        groups[gid] = {'id': gid, 'name': '%s-%d' % (policy, g), 'policy': policy, 'rules': {},
                       'members': ['srv-%05d' % m for m in members], 'project_id': 'p-%d' % (g % 40)}
        for m in members:
            membership[m] = gid

    records = {}
    actions = {}
    group_hosts = {}
    placed_order = sorted(range(servers), key=lambda k: -flavors[k][2])
    for k in placed_order:
        flavor = flavors[k]
        gid = membership.get(k)
        policy = groups[gid]['policy'] if gid else None
        host = None
        if policy == 'affinity' and group_hosts.get(gid):
            cap = hyps[group_hosts[gid][0]]['capacity']
            if cap['MEMORY_MB']['free'] >= flavor[2] and cap['VCPU']['free'] >= flavor[1] \
                    and cap['DISK_GB']['free'] >= flavor[3]:
                host = group_hosts[gid][0]
        tries = 0
        while host is None:
            candidate = names[rng.randrange(len(names))] if tries < 200 else names[(tries - 200) % len(names)]
            tries += 1
            if tries > 200 + len(names):
                raise RuntimeError('fleet too full to place server %d' % k)
            cap = hyps[candidate]['capacity']
            if candidate in spare or cap['MEMORY_MB']['free'] < flavor[2] or cap['VCPU']['free'] < flavor[1] \
                    or cap['DISK_GB']['free'] < flavor[3]:
                continue
            if tries < 200 and budget[candidate] < flavor[2]:
                continue
            if policy in ('anti-affinity', 'soft-anti-affinity') and candidate in group_hosts.get(gid, ()):
                continue
            host = candidate
        cap = hyps[host]['capacity']
        for rc, amount in (('MEMORY_MB', flavor[2]), ('VCPU', flavor[1]), ('DISK_GB', flavor[3])):
            cap[rc]['used'] += amount
            cap[rc]['free'] -= amount
        budget[host] -= flavor[2]
        sid = 'srv-%05d' % k
        if gid:
            group_hosts.setdefault(gid, []).append(host)
        records[sid] = {'id': sid, 'name': 'vm-%05d' % k, 'project_id': 'p-%d' % (k % 40), 'host': host,
                        'zone': hyps[host]['zone'], 'status': 'ACTIVE',
                        'flavor': {'name': flavor[0], 'vcpus': flavor[1], 'ram': flavor[2], 'disk': flavor[3],
                                   'ephemeral': 0, 'swap': 0},
                        'server_groups': [gid] if gid else [],
                        'metadata': _labels(labels)}
        hyps[host]['servers'].append(sid)
        hyps[host]['server_count'] += 1
        actions[sid] = 'live_migrate' if policy == 'affinity' else _pick(rng, ACTIONS, 1)[0]
    snapshot = {'format': 1, 'hypervisors': hyps, 'servers': dict(sorted(records.items())),
                'server_groups': groups, 'aggregates': {}, 'projects': None, 'warnings': []}
    return snapshot, actions


def _labels(rng):
    roll = rng.random()
    if roll < 0.05:
        return {}
    return {'sla': 'cattle' if roll < 0.65 else 'pets' if roll < 0.9 else 'pandas'}


def fill_ratio(snapshot):
    used = sum(h['capacity']['MEMORY_MB']['used'] for h in snapshot['hypervisors'].values())
    cap = sum(h['capacity']['MEMORY_MB']['capacity'] for h in snapshot['hypervisors'].values())
    return used / cap if cap else 0.0

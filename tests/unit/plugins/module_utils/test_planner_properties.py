# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Properties of every plan, on seeded random fleets of the shapes that broke the planner: tight
capacity, hosts disabled (by an operator or held by a campaign, in the campaign or not), Placement
max_unit below a host's size, two hypervisor types and several versions, policies that fall back to a
cold migration or to a stop (the server stays), and zones with no spare host.  Each plan is held to the independent validator and to
the rules stated again here, plainly."""

from __future__ import annotations

import random

import pytest
from test_planner import GB, Fleet

from ansible_collections.cloudmaint.openstack.plugins.module_utils.plan_check import check_plan
from ansible_collections.cloudmaint.openstack.plugins.module_utils.planner import (
    plan_campaign,
    plan_consolidation,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.policy import validate
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import disabled_reason

CLASSES = ('MEMORY_MB', 'VCPU', 'DISK_GB')
OPTIONS = ({}, {'max_batch': 2}, {'max_incoming': 2}, {'max_outgoing': 5, 'max_batch': 3}, {'zones': 'serial'},
           {'match_aggregates': True}, {'target_version': 3002})


def hard_fleet(rng):
    """(snapshot, campaign hosts, actions): 1-2 zones of 3-10 hosts filled to 20-75 %, one host in
    four disabled, a third with a VCPU max_unit of 8 (ratio 4), QEMU and Xen hosts mixed in a zone;
    half of the fleets put every host in the campaign (no spare)."""
    fleet = Fleet()
    zones = ['az%d' % (z + 1) for z in range(rng.randint(1, 2))]
    names = []
    for zone in zones:
        xen_share = rng.choice((0.0, 0.0, 0.3))
        for i in range(rng.randint(3, 10)):
            name = '%s-hv%d' % (zone, i)
            extra = {'hypervisor_type': 'Xen' if rng.random() < xen_share else 'QEMU',
                     'hypervisor_version': rng.choice((3000, 3001, 3002)),
                     'aggregates': [rng.choice(('%s-a' % zone, '%s-b' % zone))]}
            if rng.random() < 0.25:
                extra['status'] = 'disabled'
                extra['disabled_reason'] = rng.choice(('bad DIMM', None, disabled_reason('older-run')))
            vcpus = rng.choice((16, 32, 64))
            fleet.host(name, zone, ram=rng.choice((32, 48, 64)) * GB, vcpus=vcpus, disk=rng.choice((400, 800)),
                       max_unit={'VCPU': 8 if rng.random() < 0.35 else rng.choice((vcpus, None))}, **extra)
            names.append(name)
    groups = ['aa%d' % g for g in range(rng.randint(0, 3))]
    for gid in groups:
        fleet.group(gid, 'anti-affinity')
    actions = {}
    n = 0
    for name in names:
        cap = fleet.hypervisors[name]['capacity']
        target = rng.uniform(0.2, 0.75)
        while cap['MEMORY_MB']['used'] < target * cap['MEMORY_MB']['capacity']:
            ram = rng.choice((1, 2, 4, 8, 16)) * GB
            vcpus = rng.choice((1, 2, 4, 8, 12, 16)) if rng.random() < 0.3 else max(1, ram // (2 * GB))
            unit = cap['VCPU'].get('max_unit')
            if cap['MEMORY_MB']['free'] < ram or cap['VCPU']['free'] < vcpus or (unit and vcpus > unit):
                break
            member = []
            if groups and rng.random() < 0.15:
                gid = rng.choice(groups)
                if not any(fleet.servers[m]['host'] == name for m in fleet.groups[gid]['members']):
                    member = [gid]
            sid = 's%d' % n
            n += 1
            fleet.server(sid, name, ram=ram, vcpus=vcpus, disk=rng.choice((10, 20, 40)), groups=member)
            action = rng.choice(('live_migrate',) * 8 + ('cold_migrate', 'stop', 'delete', 'leave'))
            chain = [action] + (['cold_migrate'] if action == 'live_migrate' and rng.random() < 0.5 else [])
            chain += ['stop'] if action == 'live_migrate' and rng.random() < 0.3 else []
            actions[sid] = {'action': action, 'chain': chain}
    campaign = list(names) if rng.random() < 0.5 else [h for h in names if rng.random() < 0.7]
    return fleet.snapshot(), campaign, actions


def assert_plain_rules(snapshot, plan, campaign):
    hyps = snapshot['hypervisors']
    batch_of = {host: i for i, batch in enumerate(plan['batches']) for host in batch}
    blocked = {b['host'] for b in plan['blocked_hosts']}
    assert set(batch_of) | blocked == set(campaign) and not set(batch_of) & blocked
    for move in plan['moves']:
        source, dest = hyps[move['from']], hyps[move['to']]
        server = snapshot['servers'][move['server']]
        assert move['to'] not in blocked
        assert source['hypervisor_type'] == dest['hypervisor_type']
        if dest['status'] != 'enabled':
            assert batch_of.get(move['to'], len(plan['batches'])) < move['batch']
        for rc, need in zip(CLASSES, (server['flavor']['ram'], server['flavor']['vcpus'])):
            unit = dest['capacity'][rc].get('max_unit')
            assert unit is None or need <= unit
    assert {u['host'] for u in plan['unmovable']} <= blocked


@pytest.mark.parametrize('seed', range(300))
def test_random_hard_fleets_give_valid_plans(seed):
    rng = random.Random(90000 + seed)
    snapshot, campaign, actions = hard_fleet(rng)
    options = rng.choice(OPTIONS)
    limits = {k: v for k, v in options.items() if k != 'zones'}
    plan = plan_campaign(snapshot, campaign, actions, **options)
    assert check_plan(snapshot, plan, hosts=campaign, actions=actions, **limits) == []
    assert_plain_rules(snapshot, plan, campaign)
    once = plan_campaign(snapshot, campaign, actions, retry_blocked=False, **options)
    assert check_plan(snapshot, once, hosts=campaign, actions=actions, **limits) == []
    assert_plain_rules(snapshot, once, campaign)
    limits.pop('target_version', None)
    consolidation = plan_consolidation(snapshot, count=rng.choice((None, 2)), actions=actions, **limits)
    assert check_plan(snapshot, consolidation, actions=actions, **limits) == []


@pytest.mark.parametrize('seed', range(150))
def test_random_hard_fleets_keep_availability_budgets(seed):
    """Budgets of 0 to 2 members (or a percentage) on the anti-affinity groups, whose members stop,
    stay or move; every plan keeps them (the validator replays each batch), and a host left out for
    a budget takes nothing."""
    rng = random.Random(70000 + seed)
    snapshot, campaign, actions = hard_fleet(rng)
    specs = []
    for gid in sorted(snapshot['server_groups']):
        limit = rng.choice((0, 1, 1, 2, '50%'))
        specs.append({'name': gid, 'server_group': gid, 'max_unavailable': limit})
        for sid in snapshot['server_groups'][gid]['members']:
            if rng.random() < 0.5:
                actions[sid] = {'action': 'stop', 'chain': ['stop']}
    specs = validate({'budgets': specs})['budgets']
    options = rng.choice(OPTIONS)
    limits = {k: v for k, v in options.items() if k != 'zones'}
    plan = plan_campaign(snapshot, campaign, actions, budgets=specs, **options)
    assert check_plan(snapshot, plan, hosts=campaign, actions=actions, budgets=specs, **limits) == []
    assert_plain_rules(snapshot, plan, campaign)
    for spent in plan['budgets']:
        assert spent['most_unavailable'] <= max(spent['max_unavailable'], spent['already_unavailable'])
    for entry in plan['blocked_hosts']:
        if 'availability budget' in entry['reason']:
            assert entry['host'] not in {m['to'] for m in plan['moves']}

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy
import random

import pytest

from ansible_collections.cloudmaint.openstack.plugins.module_utils.plan_check import check_plan
from ansible_collections.cloudmaint.openstack.plugins.module_utils.planner import (
    plan_campaign,
    plan_consolidation,
)

GB = 1024


class Fleet(object):
    """A snapshot (cloud_snapshot.build_snapshot shape) built host by host, server by server."""

    def __init__(self):
        self.hypervisors = {}
        self.servers = {}
        self.groups = {}

    def host(self, name, zone='az1', ram=64 * GB, vcpus=32, disk=1000, max_unit=None, **extra):
        """``max_unit``: per resource class, as the snapshot carries it (default: the whole host, what
        Nova's libvirt driver reports; None for a class: absent, no limit)."""
        units = dict({'MEMORY_MB': ram, 'VCPU': vcpus, 'DISK_GB': disk}, **(max_unit or {}))
        record = {'host': name, 'zone': zone, 'aggregates': extra.pop('aggregates', ['agg-%s' % zone]),
                  'state': 'up', 'status': 'enabled', 'forced_down': False, 'servers': [],
                  'capacity': {'MEMORY_MB': {'capacity': ram, 'used': 0, 'free': ram},
                               'VCPU': {'capacity': vcpus, 'used': 0, 'free': vcpus},
                               'DISK_GB': {'capacity': disk, 'used': 0, 'free': disk}}}
        for rc, unit in units.items():
            if unit is not None:
                record['capacity'][rc]['max_unit'] = unit
        record.update(extra)
        self.hypervisors[name] = record
        return self

    def server(self, sid, host, ram=4 * GB, vcpus=2, disk=20, groups=()):
        hyp = self.hypervisors[host]
        self.servers[sid] = {'id': sid, 'name': 'vm-%s' % sid, 'host': host, 'zone': hyp['zone'],
                             'status': 'ACTIVE', 'server_groups': list(groups),
                             'flavor': {'vcpus': vcpus, 'ram': ram, 'disk': disk, 'ephemeral': 0, 'swap': 0}}
        hyp['servers'].append(sid)
        for rc, amount in (('MEMORY_MB', ram), ('VCPU', vcpus), ('DISK_GB', disk)):
            hyp['capacity'][rc]['used'] += amount
            hyp['capacity'][rc]['free'] -= amount
        for gid in groups:
            self.groups[gid]['members'].append(sid)
        return self

    def group(self, gid, policy, **rules):
        self.groups[gid] = {'id': gid, 'name': gid, 'policy': policy, 'rules': rules, 'members': []}
        return self

    def snapshot(self):
        return {'hypervisors': self.hypervisors, 'servers': self.servers, 'server_groups': self.groups}


def checked(snapshot, hosts, actions=None, **options):
    plan = plan_campaign(snapshot, hosts, actions, **options)
    limits = {k: v for k, v in options.items() if k not in ('zones', 'retry_blocked')}
    assert check_plan(snapshot, plan, hosts=hosts, actions=actions, **limits) == []
    return plan


def batch_of(plan):
    return {host: i for i, batch in enumerate(plan['batches']) for host in batch}


def destination(plan, sid):
    return [m['to'] for m in plan['moves'] if m['server'] == sid]


# ---- campaigns ----------------------------------------------------------------------------------

def test_spare_host_outside_the_campaign_gives_one_move_per_server():
    fleet = Fleet().host('hv1').host('hv2').host('hv3').host('spare')
    for i in range(4):
        fleet.server('a%d' % i, 'hv1', ram=8 * GB)
        fleet.server('b%d' % i, 'hv2', ram=6 * GB)
        fleet.server('c%d' % i, 'hv3', ram=4 * GB)
    plan = checked(fleet.snapshot(), ['hv1', 'hv2', 'hv3'])
    assert plan['extra_moves'] == 0 and plan['problems'] == []
    assert plan['stats']['migrations_per_drained_server'] == 1.0
    assert len(plan['moves']) == 12
    # least to move first: hv3 and hv2 fill the spare, hv1 then goes onto them
    assert plan['batches'] == [['hv3', 'hv2'], ['hv1']]


def test_tight_capacity_makes_small_batches():
    fleet = Fleet()
    for name in ('hv1', 'hv2', 'hv3', 'hv4'):
        fleet.host(name, ram=16 * GB)
        fleet.server(name + '-a', name, ram=8 * GB)
    fleet.host('spare', ram=16 * GB)
    plan = checked(fleet.snapshot(), ['hv1', 'hv2', 'hv3', 'hv4'])
    assert plan['extra_moves'] == 0
    # room for 2 hosts' worth at first (spare), then grows with every maintained host
    assert [len(b) for b in plan['batches']] == [2, 2]


def test_anti_affinity_forces_an_order():
    fleet = Fleet().group('web', 'anti-affinity').host('hv1').host('hv2').host('spare')
    fleet.server('w1', 'hv1', groups=['web']).server('w2', 'hv2', groups=['web'])
    plan = checked(fleet.snapshot(), ['hv1', 'hv2'])
    order = batch_of(plan)
    assert order['hv1'] != order['hv2']            # both cannot go to the spare in one batch
    assert sorted(destination(plan, 'w1') + destination(plan, 'w2')) == ['hv1', 'spare'] or \
        sorted(destination(plan, 'w1') + destination(plan, 'w2')) == ['hv2', 'spare']
    assert plan['extra_moves'] == 0


def test_anti_affinity_max_server_per_host_rule():
    fleet = Fleet().group('db', 'anti-affinity', max_server_per_host=2).host('hv1').host('spare')
    fleet.server('d1', 'hv1', groups=['db']).server('d2', 'hv1', groups=['db'])
    plan = checked(fleet.snapshot(), ['hv1'])
    assert destination(plan, 'd1') == destination(plan, 'd2') == ['spare']


def test_host_too_full_to_drain_is_blocked_and_said_why():
    fleet = Fleet().host('hv1', ram=128 * GB).host('hv2').host('hv3')
    fleet.server('huge', 'hv1', ram=96 * GB, vcpus=16)
    fleet.server('small', 'hv2', ram=4 * GB)
    plan = checked(fleet.snapshot(), ['hv1', 'hv2', 'hv3'])
    assert [b['host'] for b in plan['blocked_hosts']] == ['hv1']
    assert [u['server'] for u in plan['unmovable']] == ['huge']
    reason = plan['unmovable'][0]['reason']
    assert 'server vm-huge (98304 MiB RAM, 16 vCPUs, 20 GB disk) fits on no host of zone az1' in reason
    assert 'lack room' in reason
    assert 'hv1' not in batch_of(plan)
    assert sorted(batch_of(plan)) == ['hv2', 'hv3']
    assert any(p.startswith('hv1 cannot be drained') for p in plan['problems'])


def test_servers_stay_in_their_zone():
    fleet = Fleet().host('a1', 'az1', ram=16 * GB).host('a2', 'az1', ram=16 * GB).host('b1', 'az2', ram=256 * GB)
    fleet.server('x', 'a1', ram=12 * GB).server('y', 'a2', ram=12 * GB)
    plan = checked(fleet.snapshot(), ['a1', 'a2'])
    assert all(m['to'] in ('a1', 'a2') for m in plan['moves'])
    # neither fits beside the other, and az2's room is out of reach: neither can be drained
    assert plan['moves'] == [] and sorted(b['host'] for b in plan['blocked_hosts']) == ['a1', 'a2']
    assert 'fits on no host of zone az1: 1 lack room' in plan['blocked_hosts'][0]['reason']


def test_two_zones_are_planned_side_by_side():
    fleet = Fleet()
    for zone in ('az1', 'az2'):
        for i in range(4):
            fleet.host('%s-hv%d' % (zone, i), zone)
            for k in range(i + 1):
                fleet.server('%s-%d-%d' % (zone, i, k), '%s-hv%d' % (zone, i), ram=8 * GB)
        fleet.host('%s-spare' % zone, zone)
    hosts = ['%s-hv%d' % (z, i) for z in ('az1', 'az2') for i in range(4)]
    parallel = checked(fleet.snapshot(), hosts)
    serial = checked(fleet.snapshot(), hosts, zones='serial')
    assert parallel['extra_moves'] == serial['extra_moves'] == 0
    assert len(serial['batches']) == 2 * len(parallel['batches'])
    assert all({h.split('-')[0] for h in b} == {'az1', 'az2'} for b in parallel['batches'])
    assert all(len({h.split('-')[0] for h in b}) == 1 for b in serial['batches'])


def test_affinity_group_moves_to_one_host():
    fleet = Fleet().group('pair', 'affinity').host('hv1').host('s1', ram=8 * GB).host('s2', ram=24 * GB)
    fleet.server('p1', 'hv1', ram=6 * GB, groups=['pair']).server('p2', 'hv1', ram=6 * GB, groups=['pair'])
    plan = checked(fleet.snapshot(), ['hv1'])
    assert destination(plan, 'p1') == destination(plan, 'p2') == ['s2']
    assert {m['affinity_group'] for m in plan['moves']} == {'pair'}


def test_affinity_group_split_by_its_actions_is_blocked():
    fleet = Fleet().group('pair', 'affinity').host('hv1').host('spare')
    fleet.server('p1', 'hv1', groups=['pair']).server('p2', 'hv1', groups=['pair'])
    plan = checked(fleet.snapshot(), ['hv1'], actions={'p2': 'stop'})
    assert plan['batches'] == [] and plan['blocked_hosts'][0]['host'] == 'hv1'
    assert 'affinity group pair: vm-p1 would move, vm-p2 (stop) stay' in plan['blocked_hosts'][0]['reason']


def test_every_host_of_the_zone_in_the_campaign_costs_the_fewest_extra_moves():
    fleet = Fleet()
    for i, count in enumerate((5, 2, 4, 6)):
        fleet.host('hv%d' % i)
        for k in range(count):
            fleet.server('s%d-%d' % (i, k), 'hv%d' % i, ram=4 * GB)
    hosts = ['hv0', 'hv1', 'hv2', 'hv3']
    plan = checked(fleet.snapshot(), hosts)
    assert plan['extra_moves'] == 2                   # hv1's two servers move twice
    assert plan['batches'][0] == ['hv1']
    assert len([p for p in plan['problems'] if 'moves 2 times' in p]) == 2
    assert plan['stats']['servers_moved'] == 17


def test_an_empty_host_is_the_seed():
    fleet = Fleet()
    for i in range(4):
        fleet.host('hv%d' % i)
        for k in range(i * 3):
            fleet.server('s%d-%d' % (i, k), 'hv%d' % i, ram=4 * GB)
    plan = checked(fleet.snapshot(), ['hv0', 'hv1', 'hv2', 'hv3'])
    assert plan['batches'][0][0] == 'hv0' and plan['extra_moves'] == 0


def test_actions_that_stay_keep_their_room_and_delete_frees_it():
    fleet = Fleet().host('hv1', ram=16 * GB).host('hv2', ram=16 * GB).host('spare', ram=8 * GB)
    fleet.server('keep', 'hv1', ram=8 * GB).server('m1', 'hv1', ram=8 * GB)
    fleet.server('gone', 'hv2', ram=8 * GB).server('m2', 'hv2', ram=8 * GB)
    actions = {'keep': 'stop', 'gone': 'delete'}
    plan = checked(fleet.snapshot(), ['hv1', 'hv2'], actions)
    assert plan['extra_moves'] == 0
    # hv2, once maintained, has room for m1 (gone was deleted); hv1 keeps 'keep'
    assert plan['stats']['servers_staying'] == 1 and plan['stats']['servers_freed'] == 1
    assert plan['stats']['by_action'] == {'delete': 1, 'live_migrate': 2, 'stop': 1}


def test_incoming_limit_spreads_migrations():
    fleet = Fleet().host('hv1').host('s1').host('s2')
    for k in range(4):
        fleet.server('v%d' % k, 'hv1')
    plan = checked(fleet.snapshot(), ['hv1'], max_incoming=2)
    assert sorted(m['to'] for m in plan['moves']) == ['s1', 's1', 's2', 's2']
    blocked = checked(fleet.snapshot(), ['hv1'], max_incoming=1)
    assert blocked['blocked_hosts'] and blocked['batches'] == []


def test_outgoing_limit_and_max_batch():
    fleet = Fleet().host('hv1').host('hv2').host('hv3').host('spare', ram=256 * GB)
    for k in range(3):
        fleet.server('a%d' % k, 'hv1').server('b%d' % k, 'hv2')
    fleet.server('c0', 'hv3')
    plan = checked(fleet.snapshot(), ['hv1', 'hv2', 'hv3'], max_outgoing=2, max_batch=1)
    assert sorted(b['host'] for b in plan['blocked_hosts']) == ['hv1', 'hv2']
    assert 'max_outgoing=2' in plan['blocked_hosts'][0]['reason']
    plan = checked(fleet.snapshot(), ['hv1', 'hv2', 'hv3'], max_batch=1)
    assert [len(b) for b in plan['batches']] == [1, 1, 1]


def test_down_and_unknown_hosts():
    fleet = Fleet().host('hv1', state='down').host('hv2', state='down').host('spare')
    fleet.server('x', 'hv1')
    plan = checked(fleet.snapshot(), ['hv1', 'hv2', 'nope'])
    assert plan['batches'] == [['hv2']]
    assert 'nope: not a known compute host: left out' in plan['problems']
    assert 'compute service is down' in plan['blocked_hosts'][0]['reason']


def test_disabled_hosts_outside_the_campaign_take_nothing():
    fleet = Fleet().host('hv1').host('off', status='disabled').host('on', ram=8 * GB)
    fleet.server('x', 'hv1', ram=6 * GB).server('y', 'hv1', ram=6 * GB)
    plan = checked(fleet.snapshot(), ['hv1'])
    assert plan['blocked_hosts'] and '1 are disabled' in plan['unmovable'][0]['reason']


def test_soft_anti_affinity_is_a_preference():
    fleet = Fleet().group('soft', 'soft-anti-affinity').host('hv1').host('s1').host('s2', ram=128 * GB)
    fleet.server('a', 'hv1', groups=['soft']).server('b', 'hv1', groups=['soft'])
    plan = checked(fleet.snapshot(), ['hv1'])
    assert sorted(destination(plan, 'a') + destination(plan, 'b')) == ['s1', 's2']
    crowded = Fleet().group('soft', 'soft-anti-affinity').host('hv1').host('s1')
    crowded.server('a', 'hv1', groups=['soft']).server('b', 'hv1', groups=['soft'])
    assert destination(checked(crowded.snapshot(), ['hv1']), 'b') == ['s1']


def test_match_aggregates_keeps_servers_in_their_aggregate():
    fleet = Fleet().host('g1', aggregates=['gpu']).host('g2', aggregates=['gpu'], ram=8 * GB)
    fleet.host('c1', aggregates=['cpu'], ram=256 * GB)
    fleet.server('x', 'g1', ram=6 * GB).server('y', 'g1', ram=6 * GB)
    loose = checked(fleet.snapshot(), ['g1'])
    assert loose['blocked_hosts'] == []
    strict = checked(fleet.snapshot(), ['g1'], match_aggregates=True)
    assert strict['blocked_hosts'] and 'aggregates gpu' in strict['blocked_hosts'][0]['reason']


def test_decisions_are_accepted_as_actions():
    fleet = Fleet().host('hv1').host('spare')
    fleet.server('x', 'hv1').server('y', 'hv1')
    plan = checked(fleet.snapshot(), ['hv1'], {'x': {'action': 'cold_migrate'}, 'y': {'action': 'leave'}})
    assert [(m['server'], m['action']) for m in plan['moves']] == [('x', 'cold_migrate')]


def test_unknown_zone_order_is_refused():
    with pytest.raises(ValueError, match='parallel, serial'):
        plan_campaign(Fleet().snapshot(), [], zones='random')


# ---- consolidation ------------------------------------------------------------------------------

def consolidation_fleet():
    fleet = Fleet()
    for i, count in enumerate((1, 3, 2, 6, 8, 0)):
        fleet.host('hv%d' % i)
        for k in range(count):
            fleet.server('s%d-%d' % (i, k), 'hv%d' % i, ram=4 * GB)
    return fleet


def test_consolidation_empties_the_cheapest_hosts():
    snapshot = consolidation_fleet().snapshot()
    plan = plan_consolidation(snapshot, count=3)
    assert check_plan(snapshot, plan) == []
    assert plan['empty_hosts'] == ['hv0', 'hv2', 'hv5']      # hv5 already empty, then 1 and 2 servers
    assert plan['stats']['moves'] == 3 and plan['extra_moves'] == 0
    assert not {m['to'] for m in plan['moves']} & set(plan['empty_hosts'])


def test_consolidation_as_many_as_possible_and_shortfall():
    snapshot = consolidation_fleet().snapshot()
    plan = plan_consolidation(snapshot)
    assert check_plan(snapshot, plan) == []
    assert len(plan['empty_hosts']) >= 4
    short = plan_consolidation(snapshot, count=6)
    assert check_plan(snapshot, short) == []
    assert short['problems'] and short['problems'][0].startswith('only ')


def test_consolidation_skips_hosts_with_servers_that_stay():
    snapshot = consolidation_fleet().snapshot()
    plan = plan_consolidation(snapshot, count=2, actions={'s0-0': 'leave'})
    assert check_plan(snapshot, plan, actions={'s0-0': 'leave'}) == []
    assert 'hv0' not in plan['empty_hosts']
    assert plan['blocked_hosts'] == [{'host': 'hv0', 'reason': 'holds servers that stay (vm-s0-0: leave)'}]


def test_consolidation_honours_incoming_limit_with_batches():
    snapshot = consolidation_fleet().snapshot()
    plan = plan_consolidation(snapshot, count=4, max_incoming=1, max_batch=2)
    assert check_plan(snapshot, plan, max_incoming=1, max_batch=2) == []
    assert all(len(b) <= 2 for b in plan['batches'])


# ---- the validator catches bad plans ------------------------------------------------------------

def good_plan():
    fleet = Fleet().group('aa', 'anti-affinity').group('pair', 'affinity')
    fleet.host('hv1', ram=32 * GB).host('hv2', ram=32 * GB).host('hv3', ram=32 * GB)
    fleet.host('spare', ram=32 * GB).host('other', 'az2').host('off', status='disabled')
    fleet.server('a1', 'hv1', groups=['aa']).server('a2', 'hv2', groups=['aa'])
    fleet.server('p1', 'hv3', groups=['pair']).server('p2', 'hv3', groups=['pair'])
    fleet.server('x', 'hv1').server('stay', 'hv2')
    snapshot = fleet.snapshot()
    actions = {'stay': 'stop'}
    hosts = ['hv1', 'hv2', 'hv3']
    plan = plan_campaign(snapshot, hosts, actions)
    assert check_plan(snapshot, plan, hosts=hosts, actions=actions) == []
    assert plan['extra_moves'] == 0 and len(plan['batches']) >= 2
    return snapshot, plan, hosts, actions


def violations(mutate, **limits):
    snapshot, plan, hosts, actions = good_plan()
    bad = copy.deepcopy(plan)
    mutate(bad, batch_of(plan))
    return check_plan(snapshot, bad, hosts=hosts, actions=actions, **limits)


def the_move(plan, sid):
    return next(m for m in plan['moves'] if m['server'] == sid)


def test_validator_missing_destination():
    def drop(plan, _order):
        plan['moves'] = [m for m in plan['moves'] if m['server'] != 'x']
    assert any('server vm-x (x) must leave hv1 but has no destination' in v for v in violations(drop))


def test_validator_destination_maintained_later():
    def later(plan, order):
        move = the_move(plan, 'x')
        move['to'] = max((h for h in order if h != 'hv1'), key=lambda h: order[h])
        if order[move['to']] <= move['batch']:
            move['to'], move['batch'] = 'hv1', move['batch']
    found = violations(later)
    assert any('maintained later' in v or 'same batch' in v for v in found)


def test_validator_same_batch_zone_disabled_and_unknown_destinations():
    def same_batch(plan, order):
        move = the_move(plan, 'x')
        plan['batches'][move['batch']].append('spare')
        move['to'] = 'spare'
    assert any('drained in the same batch' in v for v in violations(same_batch))
    assert any('is not one of the hosts to maintain' in v for v in violations(same_batch))

    def other_zone(plan, _order):
        the_move(plan, 'x')['to'] = 'other'
    assert any('leaves zone az1 for other in zone az2' in v for v in violations(other_zone))

    def disabled(plan, _order):
        the_move(plan, 'x')['to'] = 'off'
    assert any('goes to off, which is disabled' in v for v in violations(disabled))

    def unknown(plan, _order):
        the_move(plan, 'x')['to'] = 'hv99'
    assert any('not a known host' in v for v in violations(unknown))


def test_validator_capacity():
    def pile(plan, order):
        for move in plan['moves']:
            move['to'] = 'spare'
        plan['moves'].append({'server': 'stay', 'from': 'hv2', 'to': 'spare', 'batch': order['hv2']})
    found = violations(pile)
    assert any('moved but its action is stop' in v for v in found)
    assert any('anti-affinity group aa has 2 members on spare' in v for v in found)

    def squeeze(plan, _order):
        plan['moves'][0]['ram_mb'] = 1  # the plan's own figures are not trusted
    assert violations(squeeze) == []


def test_validator_capacity_overflow():
    fleet = Fleet().host('hv1').host('small', ram=8 * GB)
    fleet.server('a', 'hv1', ram=6 * GB).server('b', 'hv1', ram=6 * GB)
    snapshot = fleet.snapshot()
    plan = {'batches': [['hv1']], 'extra_moves': 0, 'moves': [
        {'server': 'a', 'from': 'hv1', 'to': 'small', 'batch': 0},
        {'server': 'b', 'from': 'hv1', 'to': 'small', 'batch': 0}]}
    assert check_plan(snapshot, plan) == ['batch 0: small is short of 4096 MEMORY_MB']


def test_validator_affinity_split():
    def split(plan, _order):
        move = the_move(plan, 'p2')
        move['to'] = next(h for h in ('spare', 'hv1', 'hv2') if h != the_move(plan, 'p1')['to'])
    found = violations(split)
    assert any('affinity group pair is spread over' in v for v in found)


def test_validator_double_move_and_extra_count():
    def twice(plan, order):
        move = the_move(plan, 'x')
        dest = move['to']
        if dest in order:
            plan['moves'].append(dict(move, **{'from': dest, 'to': 'spare', 'batch': order[dest]}))
        else:
            plan['moves'].append(dict(move, batch=move['batch']))
    found = violations(twice)
    assert any('moves 2 times' in v and 'not marked extra' in v for v in found)
    assert any('extra_moves is 0, the moves make 1' in v for v in found)


def test_validator_concurrency_and_batch_size():
    def noop(_plan, _order):
        pass
    assert violations(noop, max_incoming=1, max_batch=1) != []
    found = violations(noop, max_outgoing=1)
    assert any('migrations out of hv1, more than 1' in v for v in found)


def test_validator_wrong_source_and_batch():
    def wrong_from(plan, _order):
        the_move(plan, 'x')['from'] = 'hv2'
    assert any('moves from hv2 but is on hv1' in v for v in violations(wrong_from))

    def no_batch(plan, _order):
        the_move(plan, 'x')['batch'] = 42
    assert any('batch 42, which does not exist' in v for v in violations(no_batch))


def test_validator_consolidation_rules():
    snapshot = consolidation_fleet().snapshot()
    plan = plan_consolidation(snapshot, count=3)
    bad = copy.deepcopy(plan)
    bad['moves'][0]['to'] = 'hv5'
    assert any('which is emptied' in v for v in check_plan(snapshot, bad))
    bad = copy.deepcopy(plan)
    bad['batches'][0].append('hv3')
    found = check_plan(snapshot, bad)
    assert any('must leave hv3 but has no destination' in v for v in found)


# ---- random fleets ------------------------------------------------------------------------------

def random_fleet(rng, spare):
    """2 zones of 4-9 hosts; ``spare``: one empty host per zone outside the campaign."""
    fleet = Fleet()
    zones = ('az1', 'az2')
    hosts = {z: [] for z in zones}
    for z in zones:
        for i in range(rng.randint(4, 9)):
            name = '%s-hv%d' % (z, i)
            fleet.host(name, z, ram=rng.choice((32, 48, 64)) * GB, vcpus=rng.choice((16, 32)), disk=800)
            hosts[z].append(name)
    for g in range(rng.randint(0, 4)):
        fleet.group('aa%d' % g, 'anti-affinity')
    for g in range(rng.randint(0, 2)):
        fleet.group('af%d' % g, 'affinity')
    fleet.group('soft', 'soft-anti-affinity')
    actions = {}
    n = 0
    for z in zones:
        for name in hosts[z]:
            target = rng.uniform(0.1, 0.7)
            cap = fleet.hypervisors[name]['capacity']
            while cap['MEMORY_MB']['used'] < target * cap['MEMORY_MB']['capacity']:
                ram = rng.choice((1, 2, 4, 8)) * GB
                vcpus = max(1, ram // (2 * GB))
                if cap['MEMORY_MB']['free'] < ram or cap['VCPU']['free'] < vcpus:
                    break
                groups = []
                roll = rng.random()
                aa = [g for g in fleet.groups if g.startswith('aa')]
                if roll < 0.2 and aa:
                    gid = rng.choice(aa)
                    if not any(fleet.servers[m]['host'] == name for m in fleet.groups[gid]['members']):
                        groups = [gid]
                elif roll < 0.25:
                    groups = ['soft']
                sid = 's%d' % n
                n += 1
                fleet.server(sid, name, ram=ram, vcpus=vcpus, disk=rng.choice((10, 20, 40)), groups=groups)
                actions[sid] = rng.choice(('live_migrate',) * 8 + ('cold_migrate', 'stop', 'delete', 'leave'))
    # an affinity pair on one host
    for gid in [g for g in fleet.groups if g.startswith('af')]:
        name = rng.choice(hosts[rng.choice(zones)])
        for k in range(2):
            sid = 's%d' % n
            n += 1
            fleet.server(sid, name, ram=GB, vcpus=1, groups=[gid])
            actions[sid] = 'live_migrate'
    campaign = [h for z in zones for h in hosts[z]]
    if spare:
        for z in zones:
            fleet.host('%s-spare' % z, z, ram=64 * GB, vcpus=32, disk=800)
    else:
        campaign = [h for h in campaign if rng.random() < 0.8]
    return fleet.snapshot(), campaign, actions


@pytest.mark.parametrize('seed', range(60))
def test_random_fleets_give_valid_plans(seed):
    rng = random.Random(seed)
    snapshot, campaign, actions = random_fleet(rng, spare=False)
    options = rng.choice(({}, {'max_batch': 2}, {'max_incoming': 2}, {'max_outgoing': 6, 'max_batch': 3},
                          {'zones': 'serial'}, {'match_aggregates': True}))
    plan = checked(snapshot, campaign, actions, **options)
    planned = sum(len(b) for b in plan['batches'])
    assert planned + len(plan['blocked_hosts']) == len(campaign)
    moved = {m['server'] for m in plan['moves']}
    assert len(plan['moves']) == len(moved) + plan['extra_moves']
    limits = {k: v for k, v in options.items() if k != 'zones'}
    consolidation = plan_consolidation(snapshot, count=rng.choice((None, 2, 5)), actions=actions, **limits)
    assert check_plan(snapshot, consolidation, actions=actions, **limits) == []


@pytest.mark.parametrize('seed', range(60))
def test_random_fleets_with_slack_move_each_server_once(seed):
    rng = random.Random(1000 + seed)
    snapshot, campaign, actions = random_fleet(rng, spare=True)
    plan = checked(snapshot, campaign, actions)
    assert plan['blocked_hosts'] == [] and plan['unmovable'] == []
    assert plan['extra_moves'] == 0
    assert plan['stats']['migrations_per_drained_server'] in (0.0, 1.0)


# ---- hypervisor versions ----------------------------------------------------------------------

def versioned_fleet():
    """hv1 and hv2 patched (version 2001) and in the campaign, spare not (2000)."""
    fleet = Fleet().host('hv1', hypervisor_version=2001).host('hv2', hypervisor_version=2001)
    fleet.host('spare', hypervisor_version=2000)
    return fleet


def test_live_migration_never_planned_to_an_older_hypervisor():
    fleet = versioned_fleet().host('newer', hypervisor_version=2002)
    fleet.server('a', 'hv1').server('b', 'hv1', ram=8 * GB).server('c', 'hv2', ram=62 * GB)
    plan = checked(fleet.snapshot(), ['hv1'])
    # spare has the most free room but runs 2000; hv2 (2001) is too full, newer (2002) takes both
    assert destination(plan, 'a') == destination(plan, 'b') == ['newer']
    assert plan['problems'] == []


def test_no_newer_host_with_room_plans_the_policys_cold_fallback():
    fleet = versioned_fleet()
    fleet.server('web', 'hv1').server('db', 'hv2')
    fleet.server('filler', 'hv2', ram=60 * GB)
    actions = {'web': {'action': 'live_migrate', 'chain': ['live_migrate', 'cold_migrate', 'stop']},
               'db': {'action': 'live_migrate', 'chain': ['live_migrate']},
               'filler': {'action': 'leave', 'chain': ['leave']}}
    plan = checked(fleet.snapshot(), ['hv1'], actions)
    (move,) = plan['moves']
    assert (move['server'], move['to'], move['action'], move['fallback']) == ('web', 'spare', 'cold_migrate', True)
    assert any('vm-web is planned as cold_migrate' in p and 'version 2001 or newer' in p for p in plan['problems'])
    # db has no fallback: live only, and the one other host of its version is full
    fleet = versioned_fleet()
    fleet.server('db', 'hv2').server('filler', 'hv1', ram=62 * GB)
    plan = checked(fleet.snapshot(), ['hv2'], actions)
    assert [b['host'] for b in plan['blocked_hosts']] == ['hv2']
    assert 'run an older hypervisor version' in plan['blocked_hosts'][0]['reason']


def test_a_patched_pair_goes_through_each_other_live_rather_than_cold():
    fleet = versioned_fleet()
    fleet.server('a', 'hv1').server('b', 'hv2')
    chain = {'action': 'live_migrate', 'chain': ['live_migrate', 'cold_migrate']}
    plan = checked(fleet.snapshot(), ['hv1', 'hv2'], {'a': chain, 'b': chain})
    assert all(m['action'] == 'live_migrate' and m['to'] != 'spare' for m in plan['moves'])
    assert plan['extra_moves'] == 1


def test_other_hypervisor_type_is_refused_too():
    fleet = Fleet().host('kvm1', hypervisor_type='QEMU').host('vmw', hypervisor_type='VMware vCenter Server')
    fleet.server('a', 'kvm1')
    plan = checked(fleet.snapshot(), ['kvm1'])
    assert plan['moves'] == [] and plan['blocked_hosts'][0]['host'] == 'kvm1'


def test_validator_live_move_to_an_older_host_and_unplanned_fallback():
    fleet = versioned_fleet()
    fleet.server('web', 'hv1')
    snapshot = fleet.snapshot()
    move = {'server': 'web', 'name': 'vm-web', 'from': 'hv1', 'to': 'spare', 'batch': 0, 'action': 'live_migrate',
            'extra': False}
    plan = {'mode': 'campaign', 'batches': [['hv1']], 'moves': [move], 'extra_moves': 0}
    assert check_plan(snapshot, plan, hosts=['hv1']) == [
        'batch 0: server vm-web (web) is live-migrated from hv1 to spare, an older hypervisor or another type']
    move['action'] = 'cold_migrate'
    violations = check_plan(snapshot, plan, hosts=['hv1'], actions={'web': {'action': 'live_migrate',
                                                                            'chain': ['live_migrate']}})
    assert violations == ['batch 0: server vm-web (web) is planned as cold_migrate, neither its action live_migrate '
                          'nor a cold migration its policy falls back to']
    assert check_plan(snapshot, plan, hosts=['hv1'], actions={'web': {'action': 'live_migrate', 'chain': [
        'live_migrate', 'cold_migrate']}}) == []


@pytest.mark.parametrize('seed', range(30))
def test_random_fleets_with_mixed_versions_give_valid_plans(seed):
    rng = random.Random(5000 + seed)
    snapshot, campaign, actions = random_fleet(rng, spare=rng.random() < 0.5)
    for record in snapshot['hypervisors'].values():
        record['hypervisor_version'] = rng.choice((3000, 3001, 3002))
    chains = {}
    for sid, action in actions.items():
        chain = [action] + (['cold_migrate', 'stop'] if action == 'live_migrate' and rng.random() < 0.6 else [])
        chains[sid] = {'action': action, 'chain': chain}
    plan = checked(snapshot, campaign, chains)
    versions = {name: h['hypervisor_version'] for name, h in snapshot['hypervisors'].items()}
    for move in plan['moves']:
        if move['action'] == 'live_migrate':
            assert versions[move['to']] >= versions[move['from']]
        if move['fallback']:
            assert 'cold_migrate' in chains[move['server']]['chain']


def test_target_version_lets_patched_hosts_take_servers_of_newer_ones():
    fleet = Fleet().host('old1', hypervisor_version=2000).host('new1', hypervisor_version=2001)
    fleet.server('a', 'new1', ram=60 * GB)
    snapshot = fleet.snapshot()
    # only old1 could take a, and it is older: a reboot-only campaign cannot move it live
    plan = checked(snapshot, ['old1', 'new1'])
    assert [b['host'] for b in plan['blocked_hosts']] == ['new1']
    # installing 2001 everywhere: once old1 is patched, a goes there live
    plan = plan_campaign(snapshot, ['old1', 'new1'], target_version=2001)
    assert check_plan(snapshot, plan, hosts=['old1', 'new1'], target_version=2001) == []
    assert plan['batches'] == [['old1'], ['new1']]
    assert [(m['server'], m['to'], m['action']) for m in plan['moves']] == [('a', 'old1', 'live_migrate')]
    # the validator replays the same rule: without the target, that plan breaks it
    assert check_plan(snapshot, plan, hosts=['old1', 'new1']) == [
        'batch 1: server vm-a (a) is live-migrated from new1 to old1, an older hypervisor or another type']


def test_blocked_reason_of_a_server_that_may_go_cold_is_the_room():
    fleet = Fleet().host('hv1', hypervisor_version=2001).host('spare', hypervisor_version=2000, ram=8 * GB)
    fleet.server('web', 'hv1', ram=16 * GB).server('db', 'hv1', ram=16 * GB)
    actions = {'web': {'action': 'live_migrate', 'chain': ['live_migrate', 'cold_migrate']},
               'db': {'action': 'live_migrate', 'chain': ['live_migrate']}}
    plan = checked(fleet.snapshot(), ['hv1'], actions)
    (blocked,) = plan['blocked_hosts']
    assert 'server vm-db (16384 MiB RAM, 2 vCPUs, 20 GB disk) fits on no host of zone az1: 1 run an older ' \
        'hypervisor version' in blocked['reason']
    # web was tried cold at last, so what stopped it is the room
    assert 'server vm-web (16384 MiB RAM, 2 vCPUs, 20 GB disk) fits on no host of zone az1: 1 lack room' \
        in blocked['reason']


def test_consolidation_never_plans_a_cold_fallback():
    fleet = Fleet().host('new1', hypervisor_version=2001).host('old1', hypervisor_version=2000)
    fleet.server('web', 'new1')
    actions = {'web': {'action': 'live_migrate', 'chain': ['live_migrate', 'cold_migrate']}}
    snapshot = fleet.snapshot()
    plan = plan_consolidation(snapshot, hosts=['new1'], actions=actions)
    assert check_plan(snapshot, plan, actions=actions) == []
    assert plan['moves'] == [] and plan['empty_hosts'] == []

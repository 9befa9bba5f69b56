# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The planner's defects of issue 15, each reproduced on the smallest fleet that shows it, and the
validator (plan_check) refusing a hand-made plan that has it."""

from __future__ import annotations

from test_planner import GB, Fleet, batch_of, checked, destination

from ansible_collections.cloudmaint.openstack.plugins.module_utils.plan_check import check_plan
from ansible_collections.cloudmaint.openstack.plugins.module_utils.planner import plan_campaign
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import disabled_reason


def move(sid, source, dest, batch, extra=False, action='live_migrate'):
    return {'server': sid, 'name': 'vm-%s' % sid, 'from': source, 'to': dest, 'batch': batch,
            'action': action, 'extra': extra}


# ---- 1. an extra move never lands on a disabled host not yet maintained -------------------------

def stuck_zone_with_a_disabled_host(**disabled):
    """Three hosts of one zone, all in the campaign, none empty; hv1 is disabled and the tightest."""
    fleet = Fleet().host('hv0').host('hv1', status='disabled', **disabled).host('hv2')
    fleet.server('a', 'hv0', ram=8 * GB).server('b', 'hv1', ram=54 * GB).server('c', 'hv2', ram=34 * GB)
    return fleet.snapshot(), ['hv0', 'hv1', 'hv2']


def test_extra_move_never_lands_on_a_disabled_host_not_yet_maintained():
    snapshot, hosts = stuck_zone_with_a_disabled_host(disabled_reason='bad DIMM')
    plan = checked(snapshot, hosts)
    assert destination(plan, 'a')[0] == 'hv2'
    assert plan['blocked_hosts'] == [] and plan['extra_moves'] == 1
    order = batch_of(plan)
    # once maintained (and re-enabled by restore), hv1 takes servers like any other host
    assert all(order[m['to']] < m['batch'] for m in plan['moves'] if m['to'] == 'hv1')


def test_a_host_held_by_a_campaign_is_no_destination_before_its_maintenance_either():
    snapshot, hosts = stuck_zone_with_a_disabled_host(disabled_reason=disabled_reason('patch-1'))
    plan = checked(snapshot, hosts)
    assert destination(plan, 'a')[0] == 'hv2'


def test_blocked_reason_names_the_hosts_disabled_until_maintained():
    fleet = Fleet().host('hv0').host('hv1', status='disabled', disabled_reason='bad DIMM')
    fleet.server('a', 'hv0', ram=40 * GB).server('b', 'hv1', ram=40 * GB)
    plan = checked(fleet.snapshot(), ['hv0', 'hv1'])
    assert len(plan['blocked_hosts']) == 2
    reason = dict((b['host'], b['reason']) for b in plan['blocked_hosts'])['hv0']
    assert '1 are disabled until maintained' in reason


def test_validator_refuses_an_extra_move_onto_a_disabled_host_not_yet_maintained():
    snapshot, hosts = stuck_zone_with_a_disabled_host(disabled_reason='bad DIMM')
    plan = {'mode': 'campaign', 'batches': [['hv0'], ['hv2'], ['hv1']], 'extra_moves': 1, 'moves': [
        move('a', 'hv0', 'hv1', 0, extra=True), move('a', 'hv1', 'hv0', 2),
        move('c', 'hv2', 'hv0', 1), move('b', 'hv1', 'hv2', 2)]}
    assert check_plan(snapshot, plan, hosts=hosts) == ['batch 0: server vm-a (a) goes to hv1, which is disabled']


# ---- 2. Placement's max_unit: no server larger than one unit of the destination -----------------

def max_unit_fleet(vcpu_unit=8):
    """'small': 8 cores at ratio 4 (32 vCPUs, max_unit 8), the tightest host; 'big' has room too."""
    fleet = Fleet().host('hv1').host('small', ram=48 * GB, vcpus=32, max_unit={'VCPU': vcpu_unit})
    fleet.host('big', ram=128 * GB, vcpus=64)
    fleet.server('wide', 'hv1', ram=16 * GB, vcpus=16)
    return fleet.snapshot()


def test_a_server_larger_than_the_max_unit_of_a_host_never_goes_there():
    plan = checked(max_unit_fleet(), ['hv1'])
    assert destination(plan, 'wide') == ['big']


def test_no_max_unit_is_no_limit():
    plan = checked(max_unit_fleet(vcpu_unit=None), ['hv1'])
    assert destination(plan, 'wide') == ['small']


def test_max_unit_everywhere_blocks_and_says_so():
    fleet = Fleet().host('hv1').host('small', vcpus=32, max_unit={'VCPU': 8})
    fleet.server('wide', 'hv1', ram=16 * GB, vcpus=16)
    plan = checked(fleet.snapshot(), ['hv1'])
    (blocked,) = plan['blocked_hosts']
    assert 'fits on no host of zone az1: 1 allow less VCPU per server (Placement max_unit)' \
        in blocked['reason']


def test_validator_refuses_a_server_larger_than_the_max_unit():
    snapshot = max_unit_fleet()
    plan = {'mode': 'campaign', 'batches': [['hv1']], 'extra_moves': 0, 'moves': [move('wide', 'hv1', 'small', 0)]}
    assert check_plan(snapshot, plan, hosts=['hv1']) == [
        'batch 0: server vm-wide (wide) needs 16 VCPU, more than max_unit 8 of small (Placement refuses it)']
    assert check_plan(max_unit_fleet(vcpu_unit=None), plan, hosts=['hv1']) == []


# ---- 4. a blocked host is never a destination -------------------------------------------------

def test_a_host_blocked_before_planning_takes_nothing():
    fleet = Fleet().group('pair', 'affinity').host('hv1').host('hv2').host('hvb')
    fleet.server('x', 'hv1', ram=8 * GB)
    fleet.server('p1', 'hvb', groups=['pair']).server('p2', 'hvb', groups=['pair'])
    plan = checked(fleet.snapshot(), ['hv1', 'hv2', 'hvb'], actions={'p2': 'stop'})
    assert [b['host'] for b in plan['blocked_hosts']] == ['hvb']
    assert destination(plan, 'x') == ['hv2'] and plan['batches'] == [['hv2'], ['hv1']]


def never_drained_fleet():
    """hvA holds a 40-vCPU server no other host's max_unit (16 cores) allows: it can never be drained."""
    fleet = Fleet().host('hvA', vcpus=64)
    fleet.host('hv1', vcpus=64, max_unit={'VCPU': 16}).host('hv2', vcpus=64, max_unit={'VCPU': 16})
    fleet.server('wide', 'hvA', ram=16 * GB, vcpus=40)
    fleet.server('a', 'hv1', ram=8 * GB).server('b', 'hv2', ram=8 * GB)
    return fleet.snapshot(), ['hvA', 'hv1', 'hv2']


def test_a_host_blocked_while_planning_takes_nothing_not_even_an_extra_move():
    snapshot, hosts = never_drained_fleet()
    plan = checked(snapshot, hosts)
    assert [b['host'] for b in plan['blocked_hosts']] == ['hvA']
    assert 'allow less VCPU per server (Placement max_unit)' in plan['blocked_hosts'][0]['reason']
    assert 'hvA' not in {m['to'] for m in plan['moves']}
    assert plan['extra_moves'] == 1 and sorted(batch_of(plan)) == ['hv1', 'hv2']


def test_validator_refuses_a_destination_in_the_campaign_that_is_never_maintained():
    snapshot, hosts = never_drained_fleet()
    plan = {'mode': 'campaign', 'batches': [['hv1'], ['hv2']], 'extra_moves': 0,
            'blocked_hosts': [{'host': 'hvA', 'reason': '...'}],
            'moves': [move('a', 'hv1', 'hvA', 0), move('b', 'hv2', 'hv1', 1)]}
    expected = ['batch 0: server vm-a (a) goes to hvA, a host of the campaign that no batch maintains (blocked): '
                'it would move again when that host is maintained']
    assert check_plan(snapshot, plan, hosts=hosts) == expected
    # without the campaign's hosts, the plan's own blocked hosts say it
    assert check_plan(snapshot, plan) == expected


# ---- 5. no move crosses hypervisor types, not even a cold one -------------------------------------

def mixed_types_fleet():
    fleet = Fleet().host('kvm1', hypervisor_type='QEMU').host('xen1', hypervisor_type='Xen')
    fleet.server('web', 'kvm1').server('batch', 'kvm1')
    actions = {'web': {'action': 'live_migrate', 'chain': ['live_migrate', 'cold_migrate']},
               'batch': {'action': 'cold_migrate', 'chain': ['cold_migrate']}}
    return fleet.snapshot(), actions


def test_a_cold_fallback_never_crosses_hypervisor_types():
    snapshot, actions = mixed_types_fleet()
    plan = checked(snapshot, ['kvm1'], actions)
    assert plan['moves'] == [] and [b['host'] for b in plan['blocked_hosts']] == ['kvm1']
    assert 'fits on no host of zone az1: 1 run another hypervisor type' in plan['blocked_hosts'][0]['reason']
    # an older host of its type takes the fallback; the Xen host with more room takes nothing
    fleet = Fleet().host('kvm1', hypervisor_type='QEMU', hypervisor_version=2)
    fleet.host('xen1', hypervisor_type='Xen', ram=256 * GB).host('kvm2', hypervisor_type='QEMU', hypervisor_version=1)
    fleet.server('web', 'kvm1').server('batch', 'kvm1')
    plan = checked(fleet.snapshot(), ['kvm1'], actions)
    assert sorted((m['server'], m['to'], m['action'], m['fallback']) for m in plan['moves']) == [
        ('batch', 'kvm2', 'cold_migrate', False), ('web', 'kvm2', 'cold_migrate', True)]


def test_validator_refuses_a_cold_move_to_another_hypervisor_type():
    snapshot, actions = mixed_types_fleet()
    plan = {'mode': 'campaign', 'batches': [['kvm1']], 'extra_moves': 0, 'moves': [
        move('web', 'kvm1', 'xen1', 0, action='cold_migrate'), move('batch', 'kvm1', 'xen1', 0, action='cold_migrate')]}
    assert check_plan(snapshot, plan, hosts=['kvm1'], actions=actions) == [
        'batch 0: server vm-web (web) goes from kvm1 (QEMU) to xen1 (Xen), another hypervisor type',
        'batch 0: server vm-batch (batch) goes from kvm1 (QEMU) to xen1 (Xen), another hypervisor type']


# ---- 3. a host blocked for want of room is tried again after every later batch -------------------

def crowded_zone():
    """31 hosts each with a 40 GiB server that fits nowhere yet (24 GiB free everywhere), and 'z', the
    host with most to move (6 x 8 GiB), which the hosts maintained later can take: the planner tries
    seeds among the 30 hosts with least to move, so it gives up on one host before it gets to z."""
    fleet = Fleet()
    for i in range(31):
        fleet.host('h%02d' % i).server('big%02d' % i, 'h%02d' % i, ram=40 * GB)
    fleet.host('z')
    for k in range(6):
        fleet.server('z%d' % k, 'z', ram=8 * GB)
    return fleet.snapshot(), sorted(fleet.hypervisors)


def test_a_host_blocked_for_want_of_room_is_planned_once_later_batches_make_room():
    snapshot, hosts = crowded_zone()
    plan = checked(snapshot, hosts)
    assert plan['blocked_hosts'] == [] and plan['unmovable'] == []
    assert sorted(batch_of(plan)) == hosts
    before = checked(snapshot, hosts, retry_blocked=False)
    assert [b['host'] for b in before['blocked_hosts']] == ['h00']
    assert batch_of(plan)['h00'] > batch_of(plan)['z']


def test_a_host_still_blocked_at_the_end_names_what_still_holds():
    fleet = Fleet().group('pair', 'affinity').host('hv1').host('hvb').host('full', ram=8 * GB)
    fleet.server('x', 'hv1', ram=8 * GB).server('filler', 'full', ram=8 * GB)
    fleet.server('p1', 'hvb', groups=['pair']).server('p2', 'hvb', groups=['pair'])
    plan = checked(fleet.snapshot(), ['hv1', 'hvb'], actions={'p2': 'stop', 'filler': 'leave'})
    reasons = dict((b['host'], b['reason']) for b in plan['blocked_hosts'])
    assert 'affinity group pair' in reasons['hvb']
    assert reasons['hv1'] == ('server vm-x (8192 MiB RAM, 2 vCPUs, 20 GB disk) fits on no host of zone az1: '
                              '1 cannot be drained either (never maintained), 1 lack room')


# ---- 6. extra moves fall on the servers whose class minds least -----------------------------------

def classed(**classes):
    return {sid: {'action': 'live_migrate', 'chain': ['live_migrate'], 'sla_class': cls}
            for sid, cls in classes.items()}


def test_the_first_batch_empties_the_host_whose_extra_moves_cost_least():
    """Every host of the zone in the campaign, none empty: one host must go first onto hosts
    maintained later.  hv-a (the lightest by name) holds a panda, hv-b cattle of the same size."""
    fleet = Fleet().host('hv-a').host('hv-b').host('hv-c')
    fleet.server('panda', 'hv-a', ram=8 * GB).server('cow', 'hv-b', ram=8 * GB).server('big', 'hv-c', ram=30 * GB)
    actions = classed(panda='pandas', cow='cattle', big='pets')
    plan = checked(fleet.snapshot(), ['hv-a', 'hv-b', 'hv-c'], actions)
    assert plan['batches'][0] == ['hv-b'] and plan['extra_moves'] == 1
    assert len(destination(plan, 'cow')) == 2 and len(destination(plan, 'panda')) == 1
    (why,) = [p for p in plan['problems'] if 'moves 2 times' in p]
    assert why.startswith('server vm-cow moves 2 times: hv-b -> ') and '(this server: 1;' in why


def test_on_the_host_emptied_first_the_panda_takes_the_room_of_the_maintained_hosts():
    """The spare host 'sp' has room for one of hv1's two servers.  Largest first would give it the
    (larger) cow and move the panda twice; the cost model gives it to the panda."""
    fleet = Fleet().host('sp', ram=20 * GB).host('hv1').host('hv2')
    fleet.server('filler', 'sp', ram=10 * GB)
    fleet.server('panda', 'hv1', ram=8 * GB).server('cow', 'hv1', ram=9 * GB).server('calf', 'hv2', ram=20 * GB)
    actions = classed(panda='pandas', cow='cattle', calf='cattle')
    plan = checked(fleet.snapshot(), ['hv1', 'hv2'], actions)
    assert destination(plan, 'panda') == ['sp']
    assert len(destination(plan, 'cow')) == 2 and plan['extra_moves'] == 1


def test_without_classes_every_extra_move_costs_the_same():
    fleet = Fleet().host('hv-a').host('hv-b').host('hv-c')
    fleet.server('panda', 'hv-a', ram=8 * GB).server('cow', 'hv-b', ram=8 * GB).server('big', 'hv-c', ram=30 * GB)
    plan = checked(fleet.snapshot(), ['hv-a', 'hv-b', 'hv-c'])
    assert plan['batches'][0] == ['hv-a']


# ---- a server that fits nowhere stays, when its policy falls back to an action that keeps it ------

def nowhere_fleet():
    """'big' (40 GiB) fits on no other host of the zone, now or later; 'small' does."""
    fleet = Fleet().host('hv1').host('hv2', ram=48 * GB).host('spare', ram=16 * GB)
    fleet.server('big', 'hv1', ram=40 * GB).server('small', 'hv1', ram=4 * GB).server('other', 'hv2', ram=40 * GB)
    return fleet.snapshot()


CATTLE = {'action': 'live_migrate', 'chain': ['live_migrate', 'cold_migrate', 'stop'], 'sla_class': 'cattle'}
PETS = {'action': 'live_migrate', 'chain': ['live_migrate', 'cold_migrate'], 'sla_class': 'pets'}


def test_a_server_that_fits_nowhere_stays_stopped_when_its_policy_falls_back_to_stop():
    snapshot = nowhere_fleet()
    plan = checked(snapshot, ['hv1'], {'big': CATTLE, 'small': CATTLE})
    assert plan['blocked_hosts'] == [] and plan['batches'] == [['hv1']]
    (stay,) = plan['stays']
    assert (stay['server'], stay['host'], stay['batch'], stay['action']) == ('big', 'hv1', 0, 'stop')
    assert 'fits on no host of zone az1' in stay['reason']
    assert destination(plan, 'small') == ['hv2']
    assert any(p.startswith('server vm-big stays on hv1, planned as stop') for p in plan['problems'])


def test_without_a_fallback_that_keeps_it_the_host_is_blocked():
    plan = checked(nowhere_fleet(), ['hv1'], {'big': PETS, 'small': PETS})
    assert plan['stays'] == [] and [b['host'] for b in plan['blocked_hosts']] == ['hv1']


def test_a_server_moves_twice_rather_than_stop():
    snapshot, hosts = stuck_zone_with_a_disabled_host(disabled_reason='bad DIMM')
    actions = {sid: CATTLE for sid in snapshot['servers']}
    plan = checked(snapshot, hosts, actions)
    assert plan['stays'] == [] and plan['extra_moves'] == 1


def test_validator_refuses_a_stay_the_policy_does_not_allow_or_in_another_batch():
    snapshot = nowhere_fleet()
    plan = plan_campaign(snapshot, ['hv1'], {'big': CATTLE, 'small': CATTLE})
    assert check_plan(snapshot, plan, hosts=['hv1'], actions={'big': PETS, 'small': PETS}) == [
        'server vm-big (big) is planned to stop, which is not a fallback of its policy that keeps it on its host',
        'batch 0: server vm-big (big) must leave hv1 but has no destination']
    moved = dict(plan, stays=[dict(plan['stays'][0], batch=1)])
    assert check_plan(snapshot, moved, hosts=['hv1'], actions={'big': CATTLE, 'small': CATTLE})[0] == (
        'server vm-big (big) is planned to stay on hv1 in batch 1, but hv1 is maintained in batch 0')
    elsewhere = dict(plan, stays=[dict(plan['stays'][0], host='hv2')])
    assert 'batch 0: server vm-big (big) must leave hv1 but has no destination' in check_plan(
        snapshot, elsewhere, hosts=['hv1'], actions={'big': CATTLE, 'small': CATTLE})


def test_a_blocked_host_names_three_servers_and_counts_the_rest():
    fleet = Fleet().host('hv1').host('full', ram=8 * GB)
    for k in range(5):
        fleet.server('big%d' % k, 'hv1', ram=10 * GB)
    fleet.server('filler', 'full', ram=8 * GB)
    plan = checked(fleet.snapshot(), ['hv1'], {'filler': 'leave'})
    (blocked,) = plan['blocked_hosts']
    reasons = blocked['reason'].split('; ')
    assert len(reasons) == 4 and reasons[3] == 'and 2 more servers that fit nowhere', reasons
    assert all('fits on no host of zone az1' in r for r in reasons[:3])
    assert len(plan['unmovable']) == 5

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


from ansible_collections.cloudmaint.openstack.plugins.module_utils import capacity


def host(zone, free_ram_mb, usable=True, **extra):
    info = {'zone': zone, 'free_ram_mb': free_ram_mb, 'usable': usable}
    info.update(extra)
    return info


def srv(server_id, zone, ram, vcpus=1):
    return {'id': server_id, 'name': server_id, 'zone': zone, 'ram': ram, 'vcpus': vcpus}


# ---------------------------------------------------------------- RAM and vCPUs per zone

def test_batch_fits_when_the_zone_has_room():
    hosts = {'a1': host('az1', 0), 'a2': host('az1', 8192)}
    moving = {'a1': [srv('s1', 'az1', 4096), srv('s2', 'az1', 4096)]}
    assert capacity.check_batch(['a1'], hosts, moving, [], {}) == []


def test_batch_short_of_ram_names_the_zone_and_the_numbers():
    hosts = {'a1': host('az1', 0), 'a2': host('az1', 6000), 'a3': host('az1', 2000)}
    moving = {'a1': [srv('s1', 'az1', 4096), srv('s2', 'az1', 6144)]}
    assert capacity.check_batch(['a1'], hosts, moving, [], {}) == [
        'zone az1: 2 servers need 10240 MiB RAM, the other usable hosts have 8000 MiB free']


def test_free_ram_in_another_zone_does_not_count():
    hosts = {'a1': host('az1', 0), 'a2': host('az1', 1024), 'b1': host('az2', 100000)}
    moving = {'a1': [srv('s1', 'az1', 2048)]}
    problems = capacity.check_batch(['a1'], hosts, moving, [], {})
    assert problems == ['zone az1: 1 servers need 2048 MiB RAM, the other usable hosts have 1024 MiB free']


def test_each_zone_is_checked_on_its_own():
    hosts = {'a1': host('az1', 0), 'a2': host('az1', 4096),
             'b1': host('az2', 0), 'b2': host('az2', 1024)}
    moving = {'a1': [srv('s1', 'az1', 4096)], 'b1': [srv('s2', 'az2', 2048)]}
    problems = capacity.check_batch(['a1', 'b1'], hosts, moving, [], {})
    assert len(problems) == 1
    assert problems[0].startswith('zone az2: 1 servers need 2048 MiB')


def test_server_without_zone_may_go_anywhere_and_is_labelled_the_cloud():
    hosts = {'a1': host('az1', 0), 'a2': host('az1', 1000), 'b1': host('az2', 1000)}
    moving = {'a1': [srv('s1', None, 2000)]}
    assert capacity.check_batch(['a1'], hosts, moving, [], {}) == []
    moving = {'a1': [srv('s1', None, 2001)]}
    assert capacity.check_batch(['a1'], hosts, moving, [], {}) == [
        'the cloud: 1 servers need 2001 MiB RAM, the other usable hosts have 2000 MiB free']


def test_hosts_of_the_batch_are_not_receivers():
    hosts = {'a1': host('az1', 50000), 'a2': host('az1', 50000), 'a3': host('az1', 1000)}
    moving = {'a1': [srv('s1', 'az1', 2000)], 'a2': [srv('s2', 'az1', 2000)]}
    assert capacity.check_batch(['a1'], hosts, moving, [], {}) == []
    problems = capacity.check_batch(['a1', 'a2'], hosts, moving, [], {})
    assert problems == ['zone az1: 2 servers need 4000 MiB RAM, the other usable hosts have 1000 MiB free']


def test_unusable_hosts_are_excluded_from_the_receivers():
    hosts = {'a1': host('az1', 0), 'a2': host('az1', 1000),
             'a3': host('az1', 64000, usable=False)}
    moving = {'a1': [srv('s1', 'az1', 4000)]}
    assert capacity.check_batch(['a1'], hosts, moving, [], {}) == [
        'zone az1: 1 servers need 4000 MiB RAM, the other usable hosts have 1000 MiB free']
    hosts['a3']['usable'] = True
    assert capacity.check_batch(['a1'], hosts, moving, [], {}) == []


def test_vcpus_checked_only_when_every_receiver_knows_its_free_vcpus():
    moving = {'a1': [srv('s1', 'az1', 512, vcpus=8)]}
    known = {'a1': host('az1', 0), 'a2': host('az1', 4096, free_vcpus=4)}
    assert capacity.check_batch(['a1'], known, moving, [], {}) == [
        'zone az1: 1 servers need 8 vCPUs, the other usable hosts have 4 free']
    partly_known = {'a1': host('az1', 0), 'a2': host('az1', 4096, free_vcpus=4),
                    'a3': host('az1', 4096)}
    assert capacity.check_batch(['a1'], partly_known, moving, [], {}) == []


def test_empty_batch_or_nothing_to_move_fits():
    hosts = {'a1': host('az1', 0)}
    assert capacity.check_batch([], hosts, {}, [], {}) == []
    assert capacity.check_batch(['a1'], hosts, {'a1': []}, [], {}) == []


# ---------------------------------------------------------------- anti-affinity

def _affinity_cloud():
    hosts = {name: host('az1', 100000) for name in ('h1', 'h2', 'h3', 'h4')}
    moving = {'h1': [srv('m1', 'az1', 1024)], 'h2': [srv('m2', 'az1', 1024)]}
    placement = {'m1': 'h1', 'm2': 'h2', 'm3': 'h3'}
    return hosts, moving, placement


def test_anti_affinity_fits_when_enough_hosts_hold_no_member():
    hosts, moving, placement = _affinity_cloud()
    groups = [{'name': 'web', 'members': ['m1', 'm2', 'm3']}]
    # m1 leaves h1; receivers h2, h3, h4; h2 and h3 hold members, h4 is free: 1 >= 1.
    assert capacity.check_batch(['h1'], hosts, moving, groups, placement) == []


def test_anti_affinity_counts_members_leaving_against_member_free_hosts():
    hosts, moving, placement = _affinity_cloud()
    groups = [{'name': 'web', 'members': ['m1', 'm2', 'm3']}]
    # m1 and m2 leave; receivers h3 (holds m3) and h4: one free host for two members.
    assert capacity.check_batch(['h1', 'h2'], hosts, moving, groups, placement) == [
        'anti-affinity group web: 2 members must move but only 1 usable hosts hold no member']


def test_anti_affinity_ignores_unusable_hosts():
    hosts, moving, placement = _affinity_cloud()
    hosts['h4']['usable'] = False
    groups = [{'name': 'web', 'members': ['m1', 'm2', 'm3']}]
    assert capacity.check_batch(['h1'], hosts, moving, groups, placement) == [
        'anti-affinity group web: 1 members must move but only 0 usable hosts hold no member']


def test_anti_affinity_group_with_nobody_leaving_is_not_a_problem():
    hosts, moving, placement = _affinity_cloud()
    hosts['h4']['usable'] = False
    groups = [{'name': 'db', 'members': ['m3', 'elsewhere']}]
    assert capacity.check_batch(['h1'], hosts, moving, groups, placement) == []


# ---------------------------------------------------------------- batch size

def _uneven_cloud():
    """Size 2 fails ([c, d] empties zone z2) while size 3 would fit: the search must stop."""
    hosts = {'a': host('z1', 0), 'b': host('z1', 0), 'f': host('z1', 10000),
             'c': host('z2', 3000), 'd': host('z2', 3000), 'e': host('z2', 1000)}
    moving = {'a': [srv('sa', 'z1', 1000)], 'b': [srv('sb', 'z1', 1000)],
              'c': [srv('sc', 'z2', 2000)], 'd': [srv('sd', 'z2', 2000)]}
    return ['a', 'b', 'c', 'd'], hosts, moving


def test_largest_batch_size_stops_at_the_first_size_that_fails():
    order, hosts, moving = _uneven_cloud()
    assert capacity.check_batch(['c', 'd'], hosts, moving, [], {})
    assert all(not capacity.check_batch(b, hosts, moving, [], {})
               for b in capacity.batches(order, 3))
    assert capacity.largest_batch_size(order, hosts, moving, [], {}) == 1


def test_largest_batch_size_grows_while_everything_fits_and_honours_the_limit():
    hosts = {name: host('z1', 8000) for name in ('h1', 'h2', 'h3', 'r1')}
    hosts['r1']['free_ram_mb'] = 100000
    moving = {name: [srv('s-' + name, 'z1', 1000)] for name in ('h1', 'h2', 'h3')}
    order = ['h1', 'h2', 'h3']
    assert capacity.largest_batch_size(order, hosts, moving, [], {}) == 3
    assert capacity.largest_batch_size(order, hosts, moving, [], {}, limit=2) == 2


def test_largest_batch_size_is_at_least_one():
    hosts = {'h1': host('z1', 0), 'h2': host('z1', 0)}
    moving = {'h1': [srv('s1', 'z1', 1000)]}
    assert capacity.largest_batch_size(['h1', 'h2'], hosts, moving, [], {}) == 1
    assert capacity.largest_batch_size([], hosts, moving, [], {}) == 1


def test_batches_split_in_order_with_a_short_last_batch():
    assert capacity.batches(['a', 'b', 'c', 'd', 'e'], 2) == [['a', 'b'], ['c', 'd'], ['e']]
    assert capacity.batches(['a', 'b', 'c'], 5) == [['a', 'b', 'c']]


def test_batches_treat_a_size_below_one_as_one():
    assert capacity.batches(['a', 'b'], 0) == [['a'], ['b']]
    assert capacity.batches(['a', 'b', 'c'], -1) == [['a'], ['b'], ['c']]


# ---------------------------------------------------------------- zone interleaving

def test_interleave_zones_alternates_between_zones():
    hosts = {'a1': {'zone': 'A'}, 'a2': {'zone': 'A'}, 'a3': {'zone': 'A'},
             'b1': {'zone': 'B'}, 'b2': {'zone': 'B'}, 'c1': {'zone': 'C'}}
    order = ['a1', 'a2', 'a3', 'b1', 'b2', 'c1']
    assert capacity.interleave_zones(order, hosts) == ['a1', 'b1', 'c1', 'a2', 'b2', 'a3']


def test_interleave_zones_is_stable_within_a_zone_and_follows_first_appearance():
    hosts = {'a1': {'zone': 'A'}, 'a2': {'zone': 'A'}, 'b1': {'zone': 'B'}, 'b2': {'zone': 'B'}}
    order = ['b2', 'a2', 'b1', 'a1']
    result = capacity.interleave_zones(order, hosts)
    assert result == ['b2', 'a2', 'b1', 'a1']
    assert capacity.interleave_zones(order, hosts) == result
    assert sorted(result) == sorted(order)


def test_interleave_zones_groups_unknown_hosts_under_no_zone():
    hosts = {'a1': {'zone': 'A'}, 'a2': {'zone': 'A'}}
    assert capacity.interleave_zones(['x', 'a1', 'a2', 'y'], hosts) == ['x', 'a1', 'y', 'a2']
    assert capacity.interleave_zones([], hosts) == []

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""bench/fleet.py and fleet_views.py: the generated fleet is deterministic, plausible and self-consistent."""

from __future__ import annotations

import collections
import json

import pytest

import fleet
import fleet_views


@pytest.fixture(scope='module')
def big():
    return fleet.generate_fleet(100, 2000, seed=11)


def test_same_seed_same_fleet_other_seed_other_fleet():
    first = fleet.generate_fleet(20, 300, seed=5)
    again = fleet.generate_fleet(20, 300, seed=5)
    other = fleet.generate_fleet(20, 300, seed=6)

    def dump(servers):
        return json.dumps(servers, sort_keys=True, default=str)

    assert dump(first.servers) == dump(again.servers)
    assert [s['id'] for s in first.servers] != [s['id'] for s in other.servers]


def test_sizes_and_unique_ids(big):
    assert len(big.hypervisors) == 100
    assert len(big.servers) == 2000
    assert len({h['id'] for h in big.hypervisors}) == 100
    assert len({h['name'] for h in big.hypervisors}) == 100
    assert len({s['id'] for s in big.servers}) == 2000
    assert len(big.zones) >= 2


def test_statuses_mostly_active_some_stopped_and_offloaded(big):
    counts = collections.Counter(s['status'] for s in big.servers)
    assert set(counts) == {'ACTIVE', 'SHUTOFF', 'SHELVED_OFFLOADED'}
    assert counts['ACTIVE'] > 0.8 * len(big.servers)
    for server in big.servers:
        assert (server['host'] is None) == (server['status'] == 'SHELVED_OFFLOADED')


def test_sla_classes_and_owner_metadata(big):
    classes = collections.Counter(s['metadata'].get('sla') for s in big.servers)
    assert {'cattle', 'pets', 'pandas', None} <= set(classes)
    assert classes['cattle'] > classes['pets'] > classes['pandas']
    assert all(isinstance(value, str) for s in big.servers for value in s['metadata'].values())


def test_no_host_is_overcommitted(big):
    usage = fleet.usage_by_host(big)
    for hyp in big.hypervisors:
        inventories = fleet_views.inventories(hyp)
        for rc, used in usage[hyp['name']].items():
            assert used <= fleet_views.capacity(inventories[rc]), (hyp['name'], rc)


def test_zone_aggregates_cover_every_host_once(big):
    zone_aggregates = [a for a in big.aggregates if a['zone']]
    hosts = [host for aggregate in zone_aggregates for host in aggregate['hosts']]
    assert sorted(hosts) == sorted(h['name'] for h in big.hypervisors)
    for aggregate in zone_aggregates:
        assert aggregate['metadata'] == {'availability_zone': aggregate['zone']}


def test_server_groups_have_members_of_their_project(big):
    project_of = {s['id']: s['project_id'] for s in big.servers}
    assert big.server_groups
    for group in big.server_groups:
        assert group['policy'] in ('anti-affinity', 'soft-anti-affinity', 'affinity')
        assert all(project_of[member] == group['project_id'] for member in group['members'])


def test_servers_newest_first(big):
    created = [s['created'] for s in big.servers]
    assert created == sorted(created, reverse=True)


def test_too_small_a_fleet_is_refused():
    with pytest.raises(ValueError):
        fleet.generate_fleet(1, 2000)


def test_server_view_embeds_the_flavor_and_hides_a_missing_host(big):
    offloaded = next(s for s in big.servers if s['status'] == 'SHELVED_OFFLOADED')
    body = fleet_views.server(offloaded, 'http://127.0.0.1:1')
    assert body['flavor']['original_name'] == offloaded['flavor']['name']
    assert body['OS-EXT-SRV-ATTR:host'] is None and body['hostId'] == '' and body['host_status'] == ''
    assert 'progress' not in body
    active = fleet_views.server(next(s for s in big.servers if s['status'] == 'ACTIVE'), 'http://127.0.0.1:1')
    assert active['progress'] == 0 and active['hostId']


def test_allocation_candidates_leave_out_full_providers(big):
    usage = fleet.usage_by_host(big)
    full = big.hypervisors[0]
    usage = dict(usage, **{full['name']: dict(usage[full['name']],
                                              MEMORY_MB=fleet_views.capacity(fleet_views.inventories(full)['MEMORY_MB']))})
    answer = fleet_views.allocation_candidates(big.hypervisors, usage, {'MEMORY_MB': 1})
    assert full['id'] not in answer['provider_summaries']
    assert len(answer['provider_summaries']) == len(answer['allocation_requests']) == len(big.hypervisors) - 1
    assert full['id'] in fleet_views.allocation_candidates(big.hypervisors, usage, {'VCPU': 1})['provider_summaries']

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

import campaign_metrics as m  # pylint: disable=import-error


def test_migrations_per_server_counts_completed_moves_only():
    records = [{'instance_uuid': 'a', 'status': 'completed'}, {'instance_uuid': 'a', 'status': 'confirmed'},
               {'instance_uuid': 'b', 'status': 'completed'}, {'instance_uuid': 'c', 'status': 'error'}]
    assert m.migrations_per_server(records) == (3, 2, 1.5)
    assert m.migrations_per_server([]) == (0, 0, 0.0)


def test_lower_bound_is_the_larger_of_batches_and_total_memory():
    memory = {'h1': 10000.0, 'h2': 5000.0, 'h3': 0.0, 'h4': 5000.0}
    # 4 hosts in batches of 2: 2 batches of (10000/1000 + 10) s = 40 s; all memory through 2 links: 10 s.
    assert m.lower_bound_s(list(memory), 2, memory, 1000.0, 10.0) == pytest.approx(40.0)
    # Batches of 1 without reboot time: 4 batches of the fullest host's 10 s beat the 20 s of memory.
    assert m.lower_bound_s(list(memory), 1, memory, 1000.0, 0.0) == pytest.approx(40.0)
    # All memory through one link when the hosts hold the same: 3 x 10 s either way.
    assert m.lower_bound_s(['h1', 'h2', 'h3'], 3, {'h1': 10000.0, 'h2': 10000.0, 'h3': 10000.0},
                           1000.0, 0.0) == pytest.approx(10.0)
    assert m.lower_bound_s(['h1'], 4, {'h1': 8000.0}, 1000.0, 0.0) == pytest.approx(8.0)


def test_downtime_adds_live_downtime_cold_moves_and_stopped_spells():
    events = [{'event': 'live_migration', 'outcome': 'completed', 'instance': 'a', 'downtime_ms': 300},
              {'event': 'live_migration', 'outcome': 'error', 'instance': 'a', 'downtime_ms': 900},
              {'event': 'cold_migration', 'outcome': 'completed', 'instance': 'b', 'seconds': 42.0},
              {'event': 'snapshot', 'instance': 'c', 'seconds': 5}]
    down = m.downtime_by_server(events, {'c': [(100.0, 130.0), (200.0, 201.5)]})
    assert down == {'a': pytest.approx(0.3), 'b': pytest.approx(42.0), 'c': pytest.approx(31.5)}
    over = m.over_limit(down, {'a': 'pandas', 'b': 'cattle', 'c': 'pets'},
                        {'pandas': 500, 'cattle': 30000, 'pets': 2000})
    assert over == [('b', 'cattle', 42.0, 30.0), ('c', 'pets', 31.5, 2.0)]


def test_overhead_is_the_time_no_interval_covers():
    assert m.union_s([(0, 10), (5, 15), (20, 25), (30, 30)]) == 20
    assert m.controller_overhead_s(0, 100, [(-5, 10), (50, 60), (55, 200)]) == pytest.approx(40.0)
    assert m.controller_overhead_s(0, 10, []) == 10

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


def test_fair_lower_bound_takes_each_batch_busiest_link_then_its_reboot():
    batches = [['a', 'b'], ['c']]
    # batch 0: a sends 1000 + 500 MiB, b 300 MiB; 1000 go into c and 800 into d: a's link is the
    # busiest, 1500 MiB at 100 MiB/s = 15 s. batch 1: c sends 200 into a and 200 into b, 400 MiB
    # out of c: 4 s.
    moves = [('a', 'c', 1000.0), ('a', 'd', 500.0), ('b', 'd', 300.0), ('c', 'a', 200.0), ('c', 'b', 200.0)]
    assert m.fair_lower_bound_s(batches, moves, 100.0, reboot_s=60.0) == 15 + 60 + 4 + 60


def test_fair_lower_bound_counts_a_destination_busier_than_any_source():
    # three sources of one batch, 400 MiB each, all into x: x's link takes 1200 MiB, 12 s
    moves = [(h, 'x', 400.0) for h in ('a', 'b', 'c')]
    assert m.fair_lower_bound_s([['a', 'b', 'c']], moves, 100.0, reboot_s=10.0) == 12 + 10


def test_fair_lower_bound_adds_the_notice_that_cannot_overlap_earlier_work():
    batches = [['a'], ['b'], ['c']]
    # the first notice waits for nothing; the second (30 s) hides in the 60 s reboot before it;
    # the third (100 s) sticks out of it by 40 s
    total = m.fair_lower_bound_s(batches, [], 100.0, reboot_s=60.0, notice_s=[20.0, 30.0, 100.0])
    assert total == 20 + 60 + 60 + (100 - 60) + 60


def test_fair_lower_bound_ignores_moves_from_hosts_outside_the_batches():
    assert m.fair_lower_bound_s([['a']], [('z', 'a', 10000.0)], 100.0, reboot_s=5.0) == 5.0

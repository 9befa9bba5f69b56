# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The campaign forecast against numbers worked by hand."""

from __future__ import annotations

import pytest

from ansible_collections.cloudmaint.openstack.plugins.module_utils.forecast import forecast, settings

QUICK = {'link_mbps': 1000, 'precopy_factor': 1.5, 'per_migration_s': 4, 'shutdown_s': 2, 'boot_s': 3,
         'patch_s': 10, 'reboot_s': 60, 'verify_s': 5}


def move(server, source, dest, batch, ram_mb=0, disk_gb=0, action='live_migrate'):
    return {'server': server, 'from': source, 'to': dest, 'batch': batch, 'ram_mb': ram_mb, 'disk_gb': disk_gb,
            'action': action}


def summary(*servers):
    return {'servers': [{'id': sid, 'action': action, 'notice_s': notice} for sid, action, notice in servers]}


def test_a_batch_lasts_as_long_as_its_slowest_host():
    plan = {'batches': [['hv1', 'hv2']], 'moves': [
        move('a', 'hv1', 'hv9', 0, ram_mb=4000), move('b', 'hv1', 'hv8', 0, ram_mb=2000),
        move('c', 'hv2', 'hv9', 0, ram_mb=1000)]}
    hosts = {'hv1': summary(('a', 'live_migrate', 0), ('b', 'live_migrate', 10)),
             'hv2': summary(('c', 'live_migrate', 60), ('d', 'leave', 300))}
    result = forecast(plan, hosts, QUICK)
    # hv1: (4000 + 2000) MiB x 1.5 / 1000 MiB/s = 9 s on its link, + 2 x 4 s = 17 s; hv2: 1.5 + 4 = 5.5 s;
    # hv9 receives 6000 + 1500 = 7.5 s: the drain takes 17 s. The notice: 60 s ('leave' gets none).
    assert result['batches'] == [{'batch': 0, 'hosts': ['hv1', 'hv2'], 'seconds': 152.0, 'notice_s': 60.0,
                                  'drain_s': 17.0, 'restore_s': 0.0}]
    assert result['seconds'] == 152.0   # 60 + 17 + 10 + 60 + 5


def test_the_busiest_destination_can_be_the_bottleneck():
    plan = {'batches': [['hv1', 'hv2', 'hv3']], 'moves': [
        move(s, h, 'hv9', 0, ram_mb=2000) for s, h in (('a', 'hv1'), ('b', 'hv2'), ('c', 'hv3'))]}
    result = forecast(plan, {}, QUICK)
    # each source: 3 s + 4 s = 7 s; hv9 takes 3 x 3 s = 9 s
    assert result['batches'][0]['drain_s'] == 9.0


def test_cold_moves_copy_the_disk_between_a_shutdown_and_a_boot_and_stops_cost_both_ends():
    plan = {'batches': [['hv1'], ['hv2']], 'moves': [move('a', 'hv1', 'hv9', 0, disk_gb=10, action='cold_migrate')]}
    hosts = {'hv1': summary(('a', 'cold_migrate', 0)), 'hv2': summary(('b', 'stop', 0))}
    first, second = forecast(plan, hosts, QUICK)['batches']
    # 10 GiB = 10240 MiB at 1000 MiB/s = 10.24 s, + 4 s + 2 s shutdown + 3 s boot
    assert first['drain_s'] == 19.2 and first['seconds'] == 94.2
    # nothing moves; a 2 s shutdown before the reboot, a 3 s boot in the restore
    assert (second['drain_s'], second['restore_s'], second['seconds']) == (2.0, 3.0, 80.0)


def test_an_empty_plan_takes_no_time():
    assert forecast({'batches': [], 'moves': []}, {}) == {'seconds': 0.0, 'batches': [], 'settings': settings()}


@pytest.mark.parametrize('overrides, message', [
    ({'reboot': 3}, "unknown forecast setting 'reboot'"),
    ({'reboot_s': 'soon'}, "forecast setting reboot_s must be a number, got 'soon'"),
    ({'link_mbps': 0}, 'forecast setting link_mbps must be > 0, got 0'),
    ({'patch_s': -1}, 'forecast setting patch_s must be >= 0, got -1'),
])
def test_bad_settings_are_named(overrides, message):
    with pytest.raises(ValueError) as caught:
        settings(overrides)
    assert str(caught.value).startswith(message)

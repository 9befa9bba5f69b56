# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The sandbox's hypervisor physics (sandbox/cmsandbox/physics.py): pure arithmetic."""

from __future__ import annotations

import math

import pytest

from cmsandbox import physics


def geometric_precopy_s(memory, dirty, bandwidth, downtime_ms):
    """Pre-copy time written as the geometric series it is (rho < 1, no cap by memory)."""
    rho = dirty / bandwidth
    elapsed, size = 0.0, float(memory)
    while size / bandwidth > downtime_ms / 1000.0:
        elapsed += size / bandwidth
        size *= rho
    return elapsed + size / bandwidth


# ---------------------------------------------------------------- Precopy

def test_precopy_rounds_shrink_by_rho_until_the_rest_fits_the_downtime():
    model = physics.Precopy(1000, 100, 1000, 50)   # rho 0.1; 1000 MiB take 1 s
    assert model.rho == pytest.approx(0.1)
    assert not model.converged

    assert model.advance(0.5) is False
    assert (model.round, model.processed, model.remaining) == (0, pytest.approx(500), pytest.approx(500))

    assert model.advance(0.5) is False              # round 0 done: 1 s of dirtying at 100 MiB/s
    assert model.round == 1
    assert model.remaining == pytest.approx(100)    # 0.1 s to send: more than the 50 ms budget

    assert model.advance(0.1) is True               # round 1 dirtied 10 MiB: 10 ms, fits
    assert model.round == 2
    assert model.processed == pytest.approx(1100)
    assert model.remaining == pytest.approx(10)
    assert model.stop_and_copy_s() == pytest.approx(0.01)


def test_converged_model_does_not_send_more():
    model = physics.Precopy(1000, 100, 1000, 50)
    model.advance(5.0)
    processed = model.processed
    assert model.advance(10.0) is True
    assert model.processed == processed


def test_memory_that_fits_the_downtime_budget_converges_at_once():
    model = physics.Precopy(400, 5000, 1000, 500)   # 0.4 s of memory, budget 0.5 s
    assert model.converged
    assert model.advance(1.0) is True
    assert model.processed == 0
    assert model.stop_and_copy_s() == pytest.approx(0.4)
    assert physics.precopy_duration(400, 5000, 1000, 500) == pytest.approx(0.4)


def test_small_steps_reach_the_same_state_as_one_big_step():
    coarse = physics.Precopy(6000, 40, 1250, 500)
    fine = physics.Precopy(6000, 40, 1250, 500)
    coarse.advance(4.0)
    for _step in range(400):
        fine.advance(0.01)
    assert fine.round == coarse.round
    assert fine.processed == pytest.approx(coarse.processed)
    assert fine.remaining == pytest.approx(coarse.remaining)


@pytest.mark.parametrize('memory, dirty, bandwidth, downtime_ms', [
    (1000, 100, 1000, 50),
    (6000, 40, 1250, 500),
    (6000, 600, 1250, 500),
    (8192, 1000, 1250, 300),
    (2048, 40, 125, 500),
])
def test_precopy_duration_is_the_geometric_series(memory, dirty, bandwidth, downtime_ms):
    expected = geometric_precopy_s(memory, dirty, bandwidth, downtime_ms)
    assert physics.precopy_duration(memory, dirty, bandwidth, downtime_ms) == pytest.approx(expected)


def test_precopy_duration_of_the_integration_tests_large_guest():
    # 6000 MiB at 1250 MiB/s take 4.8 s, which dirty 192 MiB: 0.1536 s, within the 500 ms budget.
    assert physics.precopy_duration(6000, 40, 1250, 500) == pytest.approx(4.8 + 0.1536)


def test_precopy_duration_grows_with_dirty_rate_and_shrinks_with_bandwidth():
    durations = [physics.precopy_duration(4096, d, 1250, 500) for d in (0, 10, 100, 500, 1000)]
    assert durations == sorted(durations)
    assert len(set(durations)) == len(durations)
    assert physics.precopy_duration(4096, 40, 125, 500) > 9 * physics.precopy_duration(4096, 40, 1250, 500)


@pytest.mark.parametrize('dirty', [1250, 1800, 5000])
def test_rho_of_one_or_more_never_converges(dirty):
    model = physics.Precopy(1024, dirty, 1250, 500)
    assert model.rho >= 1
    for _step in range(200):
        assert model.advance(0.5) is False
    assert model.processed == pytest.approx(1250 * 100)   # the link was busy all the time
    assert 0 < model.remaining <= model.total
    assert physics.precopy_duration(1024, dirty, 1250, 500) is None


def test_dirtied_memory_is_capped_by_memory_in_use():
    model = physics.Precopy(1024, 5000, 1250, 500)      # rho 4
    model.advance(1024 / 1250.0)
    assert model.round == 1
    assert model.remaining == pytest.approx(1024)       # not 4096: a guest cannot dirty more


def test_precopy_duration_gives_up_after_max_rounds():
    # rho 0.99 converges, but only after hundreds of rounds.
    assert physics.precopy_duration(8192, 1237.5, 1250, 500) is not None
    assert physics.precopy_duration(8192, 1237.5, 1250, 500, max_rounds=10) is None


def test_bandwidth_can_change_during_a_migration():
    model = physics.Precopy(1000, 0, 1000, 10)
    model.advance(0.5)
    model.set_bandwidth(100)
    model.advance(1.0)
    assert model.processed == pytest.approx(600)
    model.set_bandwidth(0)                      # ignored: a link does not go to zero
    model.set_bandwidth(-5)
    assert model.bandwidth == 100


@pytest.mark.parametrize('bandwidth', [0, -1])
def test_bandwidth_must_be_positive(bandwidth):
    with pytest.raises(ValueError):
        physics.Precopy(1024, 40, bandwidth, 500)


# ---------------------------------------------------------------- post-copy

def test_post_copy_sends_what_is_left_once():
    model = physics.Precopy(1024, 1800, 1250, 500)
    model.advance(2.0)      # 2500 MiB sent: rounds 0 and 1 (1024 each, capped) and 452 of round 2
    assert model.round == 2
    assert model.remaining == pytest.approx(572)
    assert model.post_copy_s() == pytest.approx(572 / 1250.0)
    assert model.post_copy_s() <= model.total / model.bandwidth


def test_post_copy_ends_a_migration_that_pre_copy_cannot():
    model = physics.Precopy(8192, 3000, 1250, 500)
    for _step in range(100):
        model.advance(0.5)
        # at any moment a switch to post-copy finishes within one pass over memory
        assert model.post_copy_s() <= 8192 / 1250.0 + 1e-9
    assert not model.converged


# ---------------------------------------------------------------- guest_profile

@pytest.mark.parametrize('flavor_ram, expected_ram', [
    (512, 512),          # below min_ram_used_mb: cannot use more than the flavor has
    (2048, 1024),        # half is 1024 = min
    (4096, 2048),
    (8192, 4096),
    (32768, 8192),       # half would be 16384: clamped to max_ram_used_mb
])
def test_profile_defaults_follow_the_flavor(flavor_ram, expected_ram):
    profile = physics.guest_profile(flavor_ram, 40, {})
    assert profile == {'ram_used_mb': expected_ram, 'dirty_mbps': 40.0, 'disk_used_gb': 4.0,
                       'working_set_mb': expected_ram}   # by default every page in use is hot


def test_profile_takes_metadata_values():
    meta = {physics.META_RAM_USED: '6000', physics.META_DIRTY_RATE: '1800',
            physics.META_DISK_USED: '12.5', 'sla': 'pets'}
    profile = physics.guest_profile(8192, 80, meta)
    assert profile == {'ram_used_mb': 6000.0, 'dirty_mbps': 1800.0, 'disk_used_gb': 12.5,
                       'working_set_mb': 6000.0}


def test_profile_ram_in_use_is_clamped_to_the_flavor():
    assert physics.guest_profile(2048, 20, {physics.META_RAM_USED: '99999'})['ram_used_mb'] == 2048
    # explicit values below min_ram_used_mb are honoured: the minimum only shapes the default
    assert physics.guest_profile(2048, 20, {physics.META_RAM_USED: '300'})['ram_used_mb'] == 300


# 'inf' would make the driver sleep forever (time.sleep raises OverflowError): garbage too.
@pytest.mark.parametrize('garbled', ['lots', '', '12 GB', '-5', 'nan', 'inf', '-inf', '1e400', None,
                                     [1], {'a': 1}])
def test_profile_falls_back_to_defaults_on_garbled_metadata(garbled):
    meta = {physics.META_RAM_USED: garbled, physics.META_DIRTY_RATE: garbled,
            physics.META_DISK_USED: garbled, physics.META_WORKING_SET: garbled}
    profile = physics.guest_profile(4096, 40, meta)
    assert profile == {'ram_used_mb': 2048.0, 'dirty_mbps': 40.0, 'disk_used_gb': 4.0,
                       'working_set_mb': 2048.0}
    assert all(isinstance(v, float) and math.isfinite(v) for v in profile.values())


def test_profile_zero_is_a_value_not_garbage():
    meta = {physics.META_DIRTY_RATE: '0', physics.META_DISK_USED: '0'}
    profile = physics.guest_profile(4096, 40, meta)
    assert profile['dirty_mbps'] == 0.0
    assert profile['disk_used_gb'] == 0.0


def test_profile_without_metadata():
    assert physics.guest_profile(4096, 40, None) == physics.guest_profile(4096, 40, {})


def test_profile_uses_overridden_physics():
    tuned = {'default_dirty_mbps': 5.0, 'ram_used_fraction': 0.25, 'min_ram_used_mb': 256,
             'disk_used_fraction': 0.5}
    profile = physics.guest_profile(4096, 40, {}, tuned)
    assert profile == {'ram_used_mb': 1024.0, 'dirty_mbps': 5.0, 'disk_used_gb': 20.0,
                       'working_set_mb': 1024.0}
    assert physics.DEFAULT_PHYSICS['default_dirty_mbps'] == 40.0   # defaults are not mutated


# ---------------------------------------------------------------- transfers

def test_transfer_time():
    assert physics.transfer_s(2, 1024) == pytest.approx(2.0)
    assert physics.transfer_s(8, 400) == pytest.approx(20.48)
    assert physics.transfer_s(8, 0) == 0.0


# ---------------------------------------------------------------- Nova's downtime ramp
# Source: nova/virt/libvirt/migration.py downtime_steps and update_downtime, driver.py
# _live_migration_data_gb. Expected values below are worked by hand.

def test_data_counts_flavor_ram_and_block_migrated_disks_each_at_least_two_gib():
    assert physics.migration_data_gb(1024) == 2.0                 # 1 GiB of RAM counts as 2
    assert physics.migration_data_gb(4096) == 4.0
    assert physics.migration_data_gb(4096, [0.5]) == 6.0          # 4 + a small disk counted as 2
    assert physics.migration_data_gb(8192, [20.0]) == 28.0


def test_downtime_steps_with_nova_defaults_for_a_two_gib_guest():
    # 500 ms in 10 steps from 500/10 = 50 ms, +45 ms each, one every int(75 s * 2) = 150 s
    assert physics.downtime_steps(2.0) == [
        (0, 50), (150, 95), (300, 140), (450, 185), (600, 230), (750, 275),
        (900, 320), (1050, 365), (1200, 410), (1350, 455), (1500, 500)]


def test_downtime_steps_reproduce_novas_own_docstring_example():
    # migration.py: 10 steps, 30 s delay, 3 GB, 400 ms -> every 90 s, 40, 76, 112 ... 400 ms
    steps = physics.downtime_steps(3.0, downtime_ms=400, steps=10, delay_s=30)
    assert steps[:3] == [(0, 40), (90, 76), (180, 112)]
    assert steps[-1] == (900, 400)
    assert len(steps) == 11


def test_a_four_gib_guest_reaches_500_ms_only_after_50_minutes():
    steps = physics.downtime_steps(physics.migration_data_gb(4096))
    assert steps[1] == (300, 95)
    assert steps[-1] == (3000, 500)


def test_allowed_downtime_follows_the_last_step_whose_time_has_passed():
    steps = physics.downtime_steps(2.0)
    assert physics.allowed_downtime_ms(steps, 0.0) == 50
    assert physics.allowed_downtime_ms(steps, 150.0) == 50      # Nova: elapsed > step time
    assert physics.allowed_downtime_ms(steps, 150.5) == 95
    assert physics.allowed_downtime_ms(steps, 1499.0) == 455
    assert physics.allowed_downtime_ms(steps, 9999.0) == 500


def test_completion_timeout_is_per_gib_of_the_same_data():
    assert physics.completion_timeout_s(2.0) == 1600
    assert physics.completion_timeout_s(physics.migration_data_gb(4096, [10])) == 11200


def test_a_busy_guest_converges_only_once_the_ramp_allows_its_working_set():
    # 1024 MiB in use, 100 MiB hot pages dirtied at 2000 MiB/s (rho 1.6), link 1250 MiB/s.
    # Round 0: 1024/1250 = 0.8192 s. Every later round resends the 100 MiB hot set: 0.08 s = 80 ms,
    # more than step 0's 50 ms; step 1 (95 ms) is in force after 150 s: the first round ending
    # after that, at 0.8192 + 0.08 * 1865 = 150.0192 s, converges.
    ramp = physics.downtime_steps(2.0)
    model = physics.Precopy(1024, 2000, 1250, 500, schedule=ramp, working_set_mb=100)
    assert model.advance(149.0) is False
    assert model.max_downtime_s == pytest.approx(0.050)
    assert model.remaining <= 100
    assert model.advance(2.0) is True
    assert model.elapsed == pytest.approx(150.0192)
    assert model.round == 1866
    assert model.max_downtime_s == pytest.approx(0.095)
    assert model.stop_and_copy_s() == pytest.approx(0.08)


def test_without_the_ramp_the_same_guest_converges_after_round_zero():
    model = physics.Precopy(1024, 2000, 1250, 500, working_set_mb=100)
    assert model.advance(0.9) is True
    assert model.elapsed == pytest.approx(0.8192)
    assert model.round == 1


def test_working_set_cannot_exceed_memory_in_use():
    meta = {physics.META_WORKING_SET: '5000'}
    assert physics.guest_profile(4096, 40, meta)['working_set_mb'] == 2048.0
    meta = {physics.META_WORKING_SET: '100'}
    assert physics.guest_profile(4096, 40, meta)['working_set_mb'] == 100.0


# ---------------------------------------------------------------- block migration

def test_block_migration_copies_the_disk_before_the_first_memory_round():
    # 10 GiB allocated = 10240 MiB at 1250 MiB/s = 8.192 s, then 1024 MiB of RAM = 0.8192 s
    model = physics.Precopy(1024, 0, 1250, 500, disk_mb=10240)
    assert not model.converged
    assert model.advance(8.0) is False
    assert model.disk_pending == pytest.approx(240)
    assert model.processed == 0                       # no memory sent yet
    assert model.advance(0.192) is False
    assert model.disk_seconds == pytest.approx(8.192)
    assert model.remaining == pytest.approx(1024)
    assert model.advance(5.0) is True                 # the idle guest dirtied nothing
    assert model.elapsed == pytest.approx(9.0112)


def test_block_migration_of_a_small_guest_fits_the_downtime_only_after_the_disk():
    # 400 MiB of RAM fits 500 ms (0.32 s) but the 1250 MiB disk (1 s) must go first
    model = physics.Precopy(400, 0, 1250, 500, disk_mb=1250)
    assert not model.converged
    assert model.advance(1.0) is True
    assert model.elapsed == pytest.approx(1.0)
    assert model.stop_and_copy_s() == pytest.approx(0.32)


def test_storage_decides_block_migration_and_what_an_offload_keeps():
    assert physics.block_migration(shared_storage=False) is True
    assert physics.block_migration(shared_storage=True) is False
    assert physics.offload_keeps_disk(shared_storage=False) is False
    assert physics.offload_keeps_disk(shared_storage=True) is True


# ---------------------------------------------------------------- force-complete

def test_force_complete_pauses_unless_post_copy_is_permitted():
    assert physics.force_complete_mode(permit_post_copy=False) == 'paused'
    assert physics.force_complete_mode(permit_post_copy=True) == 'postcopy'


def test_a_paused_guest_is_down_while_the_rest_goes_at_link_speed():
    model = physics.Precopy(1024, 3000, 1250, 500)    # rho 2.4: never converges by itself
    model.advance(2.0)      # rounds 0 and 1 (1024 each, capped) and 452 of round 2: 572 left
    assert model.remaining == pytest.approx(572)
    # In the 0.3616 s of round 2 the guest dirtied 3000 * 0.3616 = 1085 MiB: all 452 MiB it
    # already sent of the round go again. 572 + 452 = 1024 MiB at 1250 MiB/s: 0.8192 s.
    model.pause()
    assert model.rest_mb == pytest.approx(1024)
    assert physics.paused_downtime_s(model.rest_mb, 1250) == pytest.approx(0.8192)
    before = model.elapsed
    assert model.advance(10.0) is True
    assert model.elapsed - before == pytest.approx(0.8192)   # the pause lasts exactly that
    assert model.remaining == 0


def test_a_pause_resends_only_the_pages_dirtied_since_the_round_began():
    model = physics.Precopy(1000, 100, 1000, 10)    # rho 0.1; 10 ms allows 10 MiB at the end
    model.advance(1.0)      # round 0 sent (1 s, 100 MiB dirtied): round 1 of 100 MiB begins
    model.advance(0.05)     # 50 of round 1 sent, 5 MiB dirtied meanwhile
    model.pause()
    assert model.rest_mb == pytest.approx(50 + 5)


def test_a_guest_paused_during_its_block_copy_waits_for_the_disk_too():
    model = physics.Precopy(1024, 100, 1250, 500, disk_mb=2500)
    model.advance(1.0)                       # 1250 of 2500 MiB of disk sent
    model.pause()
    assert model.rest_mb == pytest.approx(1250 + 1024)
    assert physics.paused_downtime_s(model.rest_mb, 1250) == pytest.approx(1.8192)
    before = model.elapsed
    model.advance(10.0)
    # disk rest 1 s, then 1024 MiB RAM: 1024/1250 = 0.8192 > 0.5 s so one round, dirtying nothing
    assert model.elapsed - before == pytest.approx(1.8192)


def test_post_copy_slows_the_guest_for_the_time_the_rest_takes():
    out = physics.post_copy_slowdown(572, 1024, 1250)
    assert out['slowdown_s'] == pytest.approx(0.4576)
    assert out['remote_fraction_at_switch'] == pytest.approx(0.55859375)
    assert out['mean_remote_fraction'] == pytest.approx(0.279296875)
    assert physics.post_copy_slowdown(0, 1024, 1250)['slowdown_s'] == 0


# ---------------------------------------------------------------- link sharing

def test_two_migrations_out_of_one_host_each_get_half_the_link():
    assert physics.fair_share_mbps(1250, out_count=2, in_count=1) == pytest.approx(625)


def test_the_busier_end_of_a_transfer_decides_its_share():
    assert physics.fair_share_mbps(1250, out_count=1, in_count=3) == pytest.approx(416.6667, rel=1e-4)
    assert physics.fair_share_mbps(1250, out_count=4, in_count=2) == pytest.approx(312.5)
    assert physics.fair_share_mbps(1250, out_count=1, in_count=1) == 1250
    assert physics.fair_share_mbps(1250, out_count=0, in_count=0) == 1250


def test_two_migrations_into_a_slower_host_each_get_half_of_its_link():
    # sources at 1250 MiB/s each, one transfer out of each; the destination's 400 MiB/s link in
    # is shared by both: 200 each
    assert physics.fair_share_mbps(1250, 1, 2, dst_link_mbps=400) == pytest.approx(200)
    assert physics.fair_share_mbps(1250, 1, 1, dst_link_mbps=400) == pytest.approx(400)


def test_a_shared_link_doubles_the_time_of_a_migration():
    alone = physics.Precopy(2500, 0, 1250, 500)
    shared = physics.Precopy(2500, 0, 625, 500)
    alone.advance(100)
    shared.advance(100)
    assert alone.elapsed == pytest.approx(2.0)
    assert shared.elapsed == pytest.approx(4.0)


# ---------------------------------------------------------------- profiles

def test_profiles_differ_in_durations_only():
    quick, production = physics.profile_settings('quick'), physics.profile_settings('production')
    assert set(quick) == set(production) == {'reboot_s', 'boot_s', 'shutdown_s', 'report_interval',
                                             'service_down_time', 'graceful_shutdown_timeout',
                                             'sync_power_state_interval'}
    assert production['graceful_shutdown_timeout'] == 60            # Nova's defaults
    assert production['sync_power_state_interval'] == 600
    assert production['report_interval'] == 10 and production['service_down_time'] == 60
    assert 180 <= production['reboot_s'] <= 300
    assert production['boot_s'] == 30 and production['shutdown_s'] <= 60
    assert quick == {'reboot_s': 10.0, 'boot_s': 3.0, 'shutdown_s': 2.0, 'report_interval': 5,
                     'service_down_time': 20, 'graceful_shutdown_timeout': 5,
                     'sync_power_state_interval': 15}
    assert physics.DEFAULT_PROFILE == 'quick'


def test_quick_names_every_shortcut_and_production_takes_none():
    assert [key for key, _mine, _real in physics.shortcuts('quick')] == [
        'boot_s', 'graceful_shutdown_timeout', 'reboot_s', 'report_interval', 'service_down_time',
        'shutdown_s', 'sync_power_state_interval']
    assert ('boot_s', 3.0, 30.0) in physics.shortcuts('quick')
    assert physics.shortcuts('production') == []
    with pytest.raises(ValueError):
        physics.profile_settings('turbo')


def test_nova_libvirt_defaults():
    d = physics.NOVA_LIBVIRT_DEFAULTS
    assert (d['live_migration_downtime'], d['live_migration_downtime_steps'],
            d['live_migration_downtime_delay']) == (500, 10, 75)
    assert d['live_migration_permit_post_copy'] is False

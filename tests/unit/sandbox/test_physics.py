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
    assert profile == {'ram_used_mb': expected_ram, 'dirty_mbps': 40.0, 'disk_used_gb': 4.0}


def test_profile_takes_metadata_values():
    meta = {physics.META_RAM_USED: '6000', physics.META_DIRTY_RATE: '1800',
            physics.META_DISK_USED: '12.5', 'sla': 'pets'}
    profile = physics.guest_profile(8192, 80, meta)
    assert profile == {'ram_used_mb': 6000.0, 'dirty_mbps': 1800.0, 'disk_used_gb': 12.5}


def test_profile_ram_in_use_is_clamped_to_the_flavor():
    assert physics.guest_profile(2048, 20, {physics.META_RAM_USED: '99999'})['ram_used_mb'] == 2048
    # explicit values below min_ram_used_mb are honoured: the minimum only shapes the default
    assert physics.guest_profile(2048, 20, {physics.META_RAM_USED: '300'})['ram_used_mb'] == 300


# 'inf' would make the driver sleep forever (time.sleep raises OverflowError): garbage too.
@pytest.mark.parametrize('garbled', ['lots', '', '12 GB', '-5', 'nan', 'inf', '-inf', '1e400', None,
                                     [1], {'a': 1}])
def test_profile_falls_back_to_defaults_on_garbled_metadata(garbled):
    meta = {physics.META_RAM_USED: garbled, physics.META_DIRTY_RATE: garbled,
            physics.META_DISK_USED: garbled}
    profile = physics.guest_profile(4096, 40, meta)
    assert profile == {'ram_used_mb': 2048.0, 'dirty_mbps': 40.0, 'disk_used_gb': 4.0}
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
    assert profile == {'ram_used_mb': 1024.0, 'dirty_mbps': 5.0, 'disk_used_gb': 20.0}
    assert physics.DEFAULT_PHYSICS['default_dirty_mbps'] == 40.0   # defaults are not mutated


# ---------------------------------------------------------------- transfers

def test_transfer_time():
    assert physics.transfer_s(2, 1024) == pytest.approx(2.0)
    assert physics.transfer_s(8, 400) == pytest.approx(20.48)
    assert physics.transfer_s(8, 0) == 0.0

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from fake_nova import HOST, TASK, FakeNova, make_waiter as fake_waiter  # pylint: disable=import-error

from ansible_collections.cloudmaint.openstack.plugins.module_utils import nova_api
from ansible_collections.cloudmaint.openstack.plugins.module_utils import server_actions as sa
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaError

MIB = 1024 * 1024
GIB = 1024 * MIB


def cloud(**kwargs):
    nova = FakeNova(error=NovaError, hosts=['hv1', 'hv2', 'hv3'], **kwargs)
    return nova


def force(limit=3):
    return {'completion_timeout_s': limit, 'on_timeout': 'force_complete'}


def abort(limit=3, how='abort'):
    return {'completion_timeout_s': limit, 'on_timeout': how}


# ---------------------------------------------------------------- live migration

def test_live_migration_that_converges_is_done(waiter):
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    attempt = sa.live_migrate(nova, waiter, nova.server(sid), completion=force(60))
    assert attempt.ok, attempt
    assert attempt['source'] == 'hv1'
    assert attempt['destination'] == 'hv2'
    assert attempt['migration_status'] == 'completed'
    assert attempt['force_completed'] is False and attempt['aborted'] is False
    assert attempt['changed'] is True
    assert nova.servers[sid][HOST] == 'hv2'
    assert nova.servers[sid]['status'] == 'ACTIVE' and nova.servers[sid][TASK] is None
    assert 'force_complete' not in nova.writes() and 'abort_migration' not in nova.writes()
    assert attempt['progress']['samples'] >= 2
    assert attempt['progress']['memory_total_mb'] == 4096.0


def test_live_migration_to_a_named_host(waiter):
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    attempt = sa.live_migrate(nova, waiter, nova.server(sid), destination='hv3')
    assert attempt.ok
    assert attempt['requested_destination'] == 'hv3'
    assert attempt['destination'] == 'hv3' and nova.servers[sid][HOST] == 'hv3'
    assert nova.calls_for(sid, 'live_migrate') == [('live_migrate', sid, 'hv3')]


def test_hot_live_migration_is_force_completed_after_the_completion_timeout(waiter, clock):
    nova = cloud()
    sid = nova.add_server('db', 'hv1')
    nova.script(sid, live='hot')
    start = clock()
    attempt = sa.live_migrate(nova, waiter, nova.server(sid), completion=dict(force(3), post_copy=True))
    assert attempt.ok, attempt
    assert attempt['force_completed'] is True and attempt['aborted'] is False
    assert nova.servers[sid][HOST] == 'hv2'
    assert len(nova.calls_for(sid, 'force_complete')) == 1
    # Not before the completion timeout.
    assert clock() - start > 3
    # The guest ran on the destination during the post-copy: no pause estimate.
    assert 'downtime_estimate_ms' not in attempt['progress']
    assert 'pause_estimate_ms' not in attempt


def _hot_force(waiter, limit_ms):
    nova = cloud()
    sid = nova.add_server('db', 'hv1')
    nova.script(sid, live='hot')
    completion = dict(force(3), post_copy=False, downtime_limit_ms=limit_ms)
    return nova, sid, sa.live_migrate(nova, waiter, nova.server(sid), completion=completion)


def test_without_post_copy_force_complete_pauses_when_the_pause_fits_the_class_limit(waiter):
    nova, sid, attempt = _hot_force(waiter, 60000)
    assert attempt.ok, attempt
    assert attempt['force_completed'] is True and attempt['aborted'] is False
    # The fake's hot guest, sampled once a second: 0 of 4096 MiB sent, then 1024, then 2048 more
    # each second with 1536 MiB always left. Forced at the fifth sample (4 s, past the 3 s
    # timeout): 7168 MiB in 4 s is 1792 MiB/s; the round seen between the last samples is
    # 1536 left + (2048 sent - 1536 left before) = 2048 MiB; 2048 / 1792 = 1.1429 s.
    progress = attempt['progress']
    assert attempt['pause_estimate_ms'] == pytest.approx(2048 / 1792.0 * 1000.0, abs=0.1)
    # the downtime was the pause
    assert progress['downtime_estimate_ms'] == attempt['pause_estimate_ms']
    assert nova.servers[sid][HOST] == 'hv2'


def test_without_post_copy_a_pause_over_the_class_limit_is_cancelled_instead(waiter, clock):
    pause_ms = _hot_force(waiter, 60000)[2]['pause_estimate_ms']
    nova, sid, attempt = _hot_force(fake_waiter(), int(pause_ms) - 1)
    assert attempt['outcome'] == 'failed'
    assert attempt['force_completed'] is False and attempt['aborted'] is True
    assert nova.calls_for(sid, 'force_complete') == []
    assert len(nova.calls_for(sid, 'abort_migration')) == 1
    assert attempt['migration_status'] == 'cancelled'
    assert attempt['detail'] == (
        'cancelled after 3s: force-complete would pause the guest about %d ms (post-copy not '
        'permitted), over its class\'s %d ms' % (pause_ms, int(pause_ms) - 1))
    assert nova.servers[sid][HOST] == 'hv1' and nova.servers[sid]['status'] == 'ACTIVE'


def test_with_post_copy_the_class_limit_does_not_stop_force_complete(waiter):
    nova = cloud()
    sid = nova.add_server('db', 'hv1')
    nova.script(sid, live='hot')
    completion = dict(force(3), post_copy=True, downtime_limit_ms=1)
    attempt = sa.live_migrate(nova, waiter, nova.server(sid), completion=completion)
    assert attempt.ok and attempt['force_completed'] is True


def test_pause_estimate_counts_the_disk_still_to_copy():
    progress = sa.Progress()
    entry = {'memory_total_bytes': 1024 * MIB, 'memory_processed_bytes': 0, 'memory_remaining_bytes': 1024 * MIB,
             'disk_total_bytes': 4096 * MIB, 'disk_processed_bytes': 0, 'disk_remaining_bytes': 4096 * MIB}
    progress.add(0.0, entry)
    assert progress.pause_estimate_ms() is None       # no rate yet
    progress.add(2.0, dict(entry, disk_processed_bytes=2048 * MIB, disk_remaining_bytes=2048 * MIB))
    # 2048 MiB of disk in 2 s: 1024 MiB/s; left: 2048 MiB of disk + 1024 MiB of memory = 3 s
    assert progress.pause_estimate_ms() == 3000.0
    assert progress.summary()['disk_total_mb'] == 4096.0


def test_pause_estimate_is_the_whole_current_round_not_what_is_left_of_it():
    # 1000 MiB/s. Round 0: 4096 MiB, sent by 4.096 s; round 1: the 800 MiB dirtied meanwhile.
    # At 4.5 s 404 MiB of it are sent, 396 left: the pages already sent may be dirty again, so
    # a pause sends up to the whole round, 800 MiB: 0.8 s, not 0.396 s.
    progress2 = sa.Progress()
    progress2.add(0.0, _entry(4096, 0, 4096))
    assert progress2.round_mb() == 4096                     # round 0: all of it
    progress2.add(4.0, _entry(4096, 4000, 96))
    assert progress2.round_mb() == 4096                     # still round 0
    progress2.add(4.5, _entry(4096, 4500, 396))             # round 1 of 800 began at 4.096 s
    assert progress2.round_mb() == 396 + (500 - 96) == 800
    assert progress2.pause_estimate_ms() == pytest.approx(800 / 1000.0 * 1000.0)


def test_force_complete_refused_while_queued_is_reported(waiter):
    nova = cloud()
    sid = nova.add_server('db', 'hv1')
    nova.script(sid, queued=10)
    attempt = sa.live_migrate(nova, waiter, nova.server(sid), completion=force(3))
    # Refused while queued, asked again at the next polls until Nova accepts it.
    assert attempt.ok
    assert attempt['force_completed'] is True
    assert 'Cannot force_complete' in attempt['completion_error']


def test_hot_migration_that_started_late_is_still_force_completed(waiter):
    nova = cloud()
    sid = nova.add_server('db', 'hv1')
    nova.script(sid, live='hot', queued=10)
    attempt = sa.live_migrate(nova, waiter, nova.server(sid), completion=force(3), timeout=60)
    assert attempt.ok
    assert attempt['force_completed'] is True


def test_hot_live_migration_is_aborted_and_the_server_stays(waiter):
    nova = cloud()
    sid = nova.add_server('db', 'hv1')
    nova.script(sid, live='hot')
    attempt = sa.live_migrate(nova, waiter, nova.server(sid), completion=abort(3))
    assert attempt['outcome'] == 'failed'
    assert attempt['aborted'] is True and attempt['force_completed'] is False
    assert attempt['migration_status'] == 'cancelled'
    assert attempt['detail'] == 'aborted after 3s (policy: abort)'
    assert len(nova.calls_for(sid, 'abort_migration')) == 1
    assert nova.servers[sid][HOST] == 'hv1'
    assert nova.servers[sid]['status'] == 'ACTIVE' and nova.servers[sid][TASK] is None


def test_on_timeout_fallback_cancels_the_migration_too(waiter):
    nova = cloud()
    sid = nova.add_server('panda', 'hv1')
    nova.script(sid, live='hot')
    attempt = sa.live_migrate(nova, waiter, nova.server(sid), completion=abort(3, 'fallback'))
    assert attempt['outcome'] == 'failed' and attempt['aborted'] is True
    assert attempt['detail'] == 'aborted after 3s (policy: fallback)'
    assert nova.servers[sid][HOST] == 'hv1'


def test_refused_live_migration_fails_at_once_with_refused(waiter):
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    nova.script(sid, live='refuse')
    attempt = sa.live_migrate(nova, waiter, nova.server(sid), completion=force())
    assert attempt['outcome'] == 'failed'
    assert attempt['refused'] is True and attempt['status_code'] == 400
    assert 'scripted refusal' in attempt['detail']
    assert nova.migration_records == []
    assert nova.servers[sid][HOST] == 'hv1'


def test_unknown_destination_is_refused(waiter):
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    attempt = sa.live_migrate(nova, waiter, nova.server(sid), destination='hv9')
    assert attempt['refused'] is True
    assert attempt['detail'] == 'Compute host hv9 could not be found.'


def test_live_migration_that_errors_is_failed_without_refused(waiter):
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    nova.script(sid, live='error')
    attempt = sa.live_migrate(nova, waiter, nova.server(sid), completion=force())
    assert attempt['outcome'] == 'failed'
    # Why, from the instance action events of the request that started it.
    assert attempt['detail'] == 'migration error: live migration failed (scripted)'
    assert attempt['migration_status'] == 'error'
    assert 'refused' not in attempt
    assert nova.servers[sid][HOST] == 'hv1'


def test_live_migration_the_scheduler_rejects_later_fails_with_its_reason(waiter):
    nova = cloud()
    nova.services['hv3']['status'] = 'disabled'
    sid = nova.add_server('web', 'hv1')
    attempt = sa.live_migrate(nova, waiter, nova.server(sid), destination='hv3')
    # Accepted (202) then failed: not a refusal at the API.
    assert 'refused' not in attempt
    assert attempt['outcome'] == 'failed'
    assert attempt['detail'].startswith('migration error: No valid host was found.')
    assert nova.servers[sid][HOST] == 'hv1'


def test_live_migration_wait_is_bounded_by_the_overall_timeout(waiter, clock):
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    nova.script(sid, live='hot')
    start = clock()
    attempt = sa.live_migrate(nova, waiter, nova.server(sid), completion={}, timeout=10)
    assert attempt['outcome'] == 'failed'
    assert attempt['detail'].endswith('still running after 10s; abort asked')
    assert attempt['still_running'] is True
    assert nova.calls_for(sid, 'abort_migration')
    assert attempt['progress']['samples'] >= 1
    assert 10 < clock() - start < 20


# ---------------------------------------------------------------- progress

def _entry(total_mb, processed_mb, remaining_mb):
    return {'memory_total_bytes': total_mb * MIB, 'memory_processed_bytes': processed_mb * MIB,
            'memory_remaining_bytes': remaining_mb * MIB}


def test_progress_summary_rate_and_downtime_from_the_last_non_zero_remainder():
    progress = sa.Progress()
    progress.add(0.0, _entry(1024, 0, 1024))
    progress.add(10.0, _entry(1024, 500, 600))
    progress.add(15.0, _entry(1024, 800, 40))
    progress.add(20.0, _entry(1024, 1000, 0))
    summary = progress.summary()
    assert summary == {
        'samples': 4,
        'memory_total_mb': 1024.0,
        'memory_processed_mb': 1000.0,
        'memory_remaining_mb': 0.0,
        'observed_rate_mbps': 50.0,              # 1000 MiB in 20 s
        'downtime_estimate_ms': 800.0,           # 40 MiB at 50 MiB/s
    }


def test_progress_ignores_repeated_samples_and_entries_without_memory_figures():
    progress = sa.Progress()
    progress.add(0.0, {'id': 1, 'status': 'preparing'})
    progress.add(1.0, _entry(2048, 0, 2048))
    progress.add(2.0, _entry(2048, 0, 2048))
    progress.add(3.0, _entry(2048, 1024, 1024))
    summary = progress.summary()
    assert summary['samples'] == 2
    # Rate over the span of the kept samples: 1024 MiB in 2 s.
    assert summary['observed_rate_mbps'] == 512.0
    assert summary['downtime_estimate_ms'] == 2000.0


def test_progress_without_movement_has_no_rate_nor_estimate():
    assert sa.Progress().summary() == {'samples': 0}
    progress = sa.Progress()
    progress.add(5.0, _entry(512, 0, 512))
    summary = progress.summary()
    assert summary['samples'] == 1
    assert summary['observed_rate_mbps'] is None
    assert 'downtime_estimate_ms' not in summary


# ---------------------------------------------------------------- waiting for a status

def test_wait_status_reaches_the_status_once_no_task_runs(waiter):
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='SHUTOFF', task='powering-on',
                          pending={'status': 'ACTIVE'})
    server, problem = sa.wait_status(nova, waiter, sid, ('ACTIVE',), 60)
    assert problem is None
    assert server['status'] == 'ACTIVE' and server[TASK] is None


def test_wait_status_detects_nova_giving_up_only_once_the_task_ended(waiter):
    nova = cloud()
    sid = nova.add_server('web', None, status='SHELVED_OFFLOADED', task='unshelving',
                          pending={'status': 'SHELVED_OFFLOADED', 'fault': 'No valid host was found.'})
    server, problem = sa.wait_status(nova, waiter, sid, ('ACTIVE',), 60,
                                     back_to=('SHELVED_OFFLOADED',))
    # Seen while the task still ran, the first poll would have had no fault to tell.
    assert problem == 'Nova gave up; server is SHELVED_OFFLOADED again: No valid host was found.'
    assert server['status'] == 'SHELVED_OFFLOADED'


def test_wait_status_reports_error_with_its_fault(waiter):
    nova = cloud()
    sid = nova.add_server('web', 'hv1', task='powering-off',
                          pending={'status': 'ERROR', 'fault': 'libvirt said no'})
    server, problem = sa.wait_status(nova, waiter, sid, ('SHUTOFF',), 60)
    assert problem == 'server went to ERROR: libvirt said no'
    assert server['status'] == 'ERROR'


def test_wait_status_reports_a_server_that_disappeared(waiter):
    nova = cloud()
    assert sa.wait_status(nova, waiter, 'srv-none', ('ACTIVE',), 60) == (None, 'server disappeared')


def test_wait_status_times_out_on_the_fake_clock(waiter, clock):
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='SHUTOFF', task='powering-on')
    start = clock()
    server, problem = sa.wait_status(nova, waiter, sid, ('ACTIVE',), 5)
    assert problem == 'timed out after 5s waiting for ACTIVE (status SHUTOFF, task powering-on)'
    assert server['status'] == 'SHUTOFF'
    assert 5 <= clock() - start <= 6


# ---------------------------------------------------------------- in place, cold, delete

def test_stop_waits_for_shutoff(waiter):
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    attempt = sa.in_place(nova, waiter, nova.server(sid), 'stop', 60)
    assert attempt.ok and attempt['changed'] is True and attempt['status'] == 'SHUTOFF'
    assert nova.calls_for(sid) == [('action', sid, 'os-stop')]


def test_in_place_action_already_done_changes_nothing(waiter):
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='SHUTOFF')
    attempt = sa.in_place(nova, waiter, nova.server(sid), 'stop', 60)
    assert attempt.ok and attempt['changed'] is False
    assert attempt['detail'] == 'already SHUTOFF'
    assert nova.calls == []


def test_shelve_reaches_shelved(waiter):
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    attempt = sa.in_place(nova, waiter, nova.server(sid), 'shelve', 60)
    assert attempt.ok and attempt['status'] == 'SHELVED'


def test_refused_in_place_action_keeps_the_status_code(waiter):
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    nova.script(sid, refuse={'suspend': (409, 'Instance is locked')})
    attempt = sa.in_place(nova, waiter, nova.server(sid), 'suspend', 60)
    assert attempt['outcome'] == 'failed'
    assert attempt['status_code'] == 409 and attempt['detail'] == 'Instance is locked'


def test_in_place_action_that_ends_in_error_fails(waiter):
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    nova.script(sid, error_on={'os-stop'})
    attempt = sa.in_place(nova, waiter, nova.server(sid), 'stop', 60)
    assert attempt['outcome'] == 'failed'
    assert attempt['detail'] == 'server went to ERROR: os-stop failed on the hypervisor'


@pytest.mark.parametrize('status', ['ACTIVE', 'SHUTOFF'])
def test_cold_migration_is_confirmed_and_keeps_the_status(waiter, status):
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status=status)
    attempt = sa.cold_migrate(nova, waiter, nova.server(sid))
    assert attempt.ok, attempt
    assert attempt['destination'] == 'hv2' and attempt['status'] == status
    assert nova.servers[sid][HOST] == 'hv2'
    assert [c[0] for c in nova.calls_for(sid)] == ['cold_migrate', 'confirm_resize']
    assert nova.migration_records[-1]['status'] == 'confirmed'


def test_cold_migration_to_a_disabled_host_is_refused(waiter):
    nova = cloud()
    nova.services['hv3']['status'] = 'disabled'
    sid = nova.add_server('web', 'hv1')
    attempt = sa.cold_migrate(nova, waiter, nova.server(sid), destination='hv3')
    assert attempt['outcome'] == 'failed' and attempt['refused'] is True
    assert attempt['status_code'] == 400


def test_cold_migration_that_errors_fails(waiter):
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    nova.script(sid, cold='error')
    attempt = sa.cold_migrate(nova, waiter, nova.server(sid))
    assert attempt['outcome'] == 'failed'
    assert attempt['detail'] == 'migration error: cold migration failed (scripted)'
    assert nova.servers[sid][HOST] == 'hv1'
    assert 'confirm_resize' not in nova.writes()


# ---------------------------------------------------------------- 5xx answers to actions

def test_live_migration_answered_503_is_sent_again(waiter, clock):
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    nova.script(sid, unavailable={'os-migrateLive': 2})
    start = clock()
    attempt = sa.live_migrate(nova, waiter, nova.server(sid))
    assert attempt.ok, attempt
    assert nova.servers[sid][HOST] == 'hv2'
    assert clock() - start >= 1 + 2


@pytest.mark.parametrize('action, body', [('live', 'os-migrateLive'), ('cold', 'migrate')])
def test_migration_carried_out_despite_a_503_is_waited_for_not_sent_again(waiter, action, body):
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    nova.script(sid, lost_answer={body: 1})
    if action == 'live':
        attempt = sa.live_migrate(nova, waiter, nova.server(sid))
    else:
        attempt = sa.cold_migrate(nova, waiter, nova.server(sid))
    assert attempt.ok, attempt
    assert len(nova.migration_records) == 1
    assert len(nova.calls_for(sid, '%s_migrate' % action)) == 1
    assert nova.servers[sid][HOST] == 'hv2'


def test_stop_carried_out_despite_a_503_is_waited_for(waiter):
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    nova.script(sid, lost_answer={'os-stop': 1})
    attempt = sa.in_place(nova, waiter, nova.server(sid), 'stop', 60)
    assert attempt.ok and attempt['status'] == 'SHUTOFF'
    assert nova.calls_for(sid) == [('action', sid, 'os-stop')]


@pytest.mark.parametrize('action', ['live', 'cold', 'stop'])
def test_action_the_api_never_takes_is_an_api_error_not_a_refusal(waiter, action):
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    nova.script(sid, unavailable={'os-migrateLive': 9, 'migrate': 9, 'os-stop': 9})
    server = nova.server(sid)
    if action == 'live':
        attempt = sa.live_migrate(nova, waiter, server)
    elif action == 'cold':
        attempt = sa.cold_migrate(nova, waiter, server)
    else:
        attempt = sa.in_place(nova, waiter, server, 'stop', 60)
    assert attempt['outcome'] == 'failed'
    assert attempt['api_error'] is True and 'refused' not in attempt
    assert attempt['status_code'] == 503
    assert attempt['detail'] == ('POST /servers/%s/action: Service Unavailable '
                                 '(HTTP 503, 4 attempts)' % sid)
    assert nova.calls == [] and nova.servers[sid][HOST] == 'hv1'


def test_delete_waits_until_the_server_is_gone(waiter):
    nova = cloud()
    sid = nova.add_server('scratch', 'hv1')
    attempt = sa.delete(nova, waiter, nova.server(sid))
    assert attempt.ok
    assert sid not in nova.servers


# ---------------------------------------------------------------- unshelve

def _offloaded(nova, zone='nova'):
    return nova.add_server('web', None, status='SHELVED_OFFLOADED', zone=zone)


def test_unshelve_of_a_shelved_server_is_in_place(waiter):
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='SHELVED')
    attempt = sa.unshelve(nova, waiter, nova.server(sid), prefer_host='hv2',
                          availability_zone='nova')
    assert attempt.ok
    assert attempt['path'] == 'in_place' and attempt['tried'] == []
    assert attempt['destination'] == 'hv1'
    assert nova.calls_for(sid) == [('unshelve', sid, {'host': None, 'availability_zone': None})]


def test_unshelve_of_an_offloaded_server_prefers_its_origin_host(waiter):
    nova = cloud()
    sid = _offloaded(nova)
    attempt = sa.unshelve(nova, waiter, nova.server(sid), prefer_host='hv3',
                          availability_zone='nova')
    assert attempt.ok
    assert attempt['path'] == 'origin_host' and attempt['destination'] == 'hv3'
    assert nova.servers[sid][HOST] == 'hv3'


def test_unshelve_falls_back_to_the_zone_then_the_scheduler_when_refused(waiter):
    nova = cloud()
    sid = _offloaded(nova)
    nova.script(sid, refuse={'unshelve:host': (400, 'origin refused'),
                             'unshelve:availability_zone': (400, 'zone refused')})
    attempt = sa.unshelve(nova, waiter, nova.server(sid), prefer_host='hv3',
                          availability_zone='nova')
    assert attempt.ok
    assert attempt['path'] == 'scheduler'
    assert attempt['tried'] == [{'path': 'origin_host', 'error': 'origin refused'},
                                {'path': 'availability_zone', 'error': 'zone refused'}]
    assert nova.calls_for(sid, 'unshelve') == [
        ('unshelve', sid, {'host': None, 'availability_zone': None})]


def test_unshelve_tries_the_zone_when_nova_gives_up_on_the_origin_host(waiter):
    nova = cloud()
    sid = _offloaded(nova)
    nova.script(sid, give_up={'host'})
    attempt = sa.unshelve(nova, waiter, nova.server(sid), prefer_host='hv3',
                          availability_zone='nova')
    assert attempt.ok and attempt['path'] == 'availability_zone'
    assert attempt['tried'][0]['path'] == 'origin_host'
    assert attempt['tried'][0]['error'].startswith('Nova gave up; server is SHELVED_OFFLOADED')
    assert [c[2] for c in nova.calls_for(sid, 'unshelve')] == [
        {'host': 'hv3', 'availability_zone': None}, {'host': None, 'availability_zone': 'nova'}]


@pytest.mark.parametrize('microversion, first_path', [('2.90', 'availability_zone'),
                                                      ('2.76', 'scheduler')])
def test_unshelve_skips_paths_the_cloud_cannot_do(waiter, microversion, first_path):
    nova = cloud(max_microversion=microversion)
    sid = _offloaded(nova)
    attempt = sa.unshelve(nova, waiter, nova.server(sid), prefer_host='hv3',
                          availability_zone='nova')
    assert attempt.ok and attempt['path'] == first_path
    assert len(nova.calls_for(sid, 'unshelve')) == 1


def test_unshelve_that_fails_everywhere_reports_every_path(waiter):
    nova = cloud()
    sid = _offloaded(nova)
    nova.script(sid, give_up={'host', 'availability_zone', 'scheduler'})
    attempt = sa.unshelve(nova, waiter, nova.server(sid), prefer_host='hv3',
                          availability_zone='nova')
    assert attempt['outcome'] == 'failed'
    assert [t['path'] for t in attempt['tried']] == ['origin_host', 'availability_zone', 'scheduler']
    assert attempt['detail'].startswith('origin_host: Nova gave up')
    assert nova.servers[sid]['status'] == 'SHELVED_OFFLOADED'


# ---------------------------------------------------------------- NovaClient: retries and microversions
# (NovaClient is what the functions above call in production; here it talks to a fake proxy.)

class Answer(object):
    def __init__(self, status, body=None, headers=None, text=''):
        self.status_code = status
        self.body = body
        self.headers = headers or {}
        self.text = text
        self.reason = ''

    def json(self):
        if self.body is None:
            raise ValueError('no JSON')
        return self.body


class Proxy(object):
    """Answers in turn; the last answer repeats."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def request(self, url, method, json=None, params=None, microversion=None, raise_exc=False):
        assert raise_exc is False
        self.calls.append({'method': method, 'url': url, 'json': json, 'params': params,
                           'microversion': microversion})
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Conn(object):
    def __init__(self, proxy):
        self.compute = proxy


def client(*answers, max_microversion='2.96'):
    proxy = Proxy(*answers)
    sleeps = []
    return nova_api.NovaClient(Conn(proxy), max_microversion, sleep=sleeps.append), proxy, sleeps


def fault(status, message='boom'):
    return Answer(status, {'computeFault': {'message': message}},
                  headers={'x-openstack-request-id': 'req-42'})


def test_get_is_retried_on_5xx_up_to_read_retries_then_raises():
    nova, proxy, sleeps = client(fault(503, 'Service Unavailable'))
    with pytest.raises(NovaError) as info:
        nova.compute_services()
    assert info.value.status == 503
    assert info.value.message == 'Service Unavailable'
    assert info.value.details == {'status_code': 503, 'method': 'GET', 'url': '/os-services',
                                  'request_id': 'req-42', 'attempts': 4}
    assert str(info.value) == 'GET /os-services: Service Unavailable (HTTP 503, 4 attempts)'
    assert len(proxy.calls) == nova_api.READ_RETRIES == nova.requests
    assert sleeps == [2, 4, 8]


def test_get_recovers_when_a_retry_succeeds():
    nova, proxy, _sleeps = client(fault(502), Answer(200, {'services': [{'host': 'hv1'}]}))
    assert nova.compute_services() == [{'host': 'hv1'}]
    assert len(proxy.calls) == 2


def test_get_is_retried_when_the_connection_fails_but_an_action_is_not():
    nova, proxy, _sleeps = client(ConnectionError('reset'), Answer(200, {'services': []}))
    assert nova.compute_services() == []
    assert len(proxy.calls) == 2
    nova, proxy, _sleeps = client(ConnectionError('reset'), Answer(202))
    with pytest.raises(NovaError) as info:
        nova.action('srv-1', {'os-stop': None})
    assert info.value.status == 0 and 'reset' in info.value.message
    assert len(proxy.calls) == 1


def test_post_is_not_retried_on_5xx():
    nova, proxy, sleeps = client(fault(500), Answer(202))
    with pytest.raises(NovaError) as info:
        nova.action('srv-1', {'os-stop': None})
    assert info.value.status == 500
    assert len(proxy.calls) == 1 and sleeps == []


BUSY = "Cannot 'os-stop' instance srv-1 while it is in task_state migrating"


def test_busy_409_is_retried_for_actions_only():
    nova, proxy, sleeps = client(fault(409, BUSY), fault(409, BUSY), Answer(202))
    assert nova.action('srv-1', {'os-stop': None}).status_code == 202
    assert len(proxy.calls) == 3 and sleeps == [3, 3]
    nova, proxy, sleeps = client(fault(409, BUSY), Answer(200, {}))
    with pytest.raises(NovaError) as info:
        nova.set_metadata('srv-1', {'a': 'b'})
    assert info.value.status == 409
    assert len(proxy.calls) == 1 and sleeps == []


def test_busy_409_retries_are_bounded():
    nova, proxy, _sleeps = client(fault(409, BUSY))
    with pytest.raises(NovaError) as info:
        nova.action('srv-1', {'os-start': None})
    assert info.value.message == BUSY
    assert len(proxy.calls) == nova_api.BUSY_RETRIES
    assert str(info.value) == 'POST /servers/srv-1/action: %s (HTTP 409, 10 attempts)' % BUSY


@pytest.mark.parametrize('message', [
    "Cannot 'os-migrateLive' instance srv-1 while it is in vm_state error",
    'Instance srv-1 is locked'])
def test_a_409_that_waiting_cannot_cure_fails_at_once(message):
    nova, proxy, sleeps = client(fault(409, message), Answer(202))
    with pytest.raises(NovaError) as info:
        nova.live_migrate('srv-1')
    assert info.value.status == 409 and info.value.attempts == 1
    assert len(proxy.calls) == 1 and sleeps == []


# ---------------------------------------------------------------- retry_action

def _retried(nova, applied=lambda: False):
    slept = []
    result = nova_api.retry_action(lambda: nova.action('srv-1', {'os-stop': None}), applied,
                                   slept.append)
    return result, slept


def test_action_answered_5xx_is_sent_again_with_backoff():
    nova, proxy, sleeps = client(fault(503), fault(504), Answer(202))
    checks = []
    result, slept = _retried(nova, lambda: checks.append(1))
    assert result.status_code == 202
    assert len(proxy.calls) == 3 and slept == [1, 2] and len(checks) == 2
    # The client itself resends nothing: the check comes first.
    assert sleeps == []


def test_action_without_answer_is_sent_again():
    nova, proxy, _sleeps = client(TimeoutError('read timed out'), Answer(202))
    result, slept = _retried(nova)
    assert result.status_code == 202 and slept == [1] and len(proxy.calls) == 2


def test_action_nova_carried_out_despite_the_error_is_not_sent_again():
    nova, proxy, _sleeps = client(fault(503), Answer(202))
    result, slept = _retried(nova, lambda: True)
    assert result is None
    assert len(proxy.calls) == 1 and slept == [1]


def test_action_retries_are_bounded_and_the_error_says_what_failed():
    nova, proxy, _sleeps = client(fault(503, 'Service Unavailable'))
    with pytest.raises(NovaError) as info:
        _retried(nova)
    assert len(proxy.calls) == 4 and info.value.attempts == 4
    assert info.value.transient
    assert str(info.value) == ('POST /servers/srv-1/action: Service Unavailable '
                               '(HTTP 503, 4 attempts)')
    assert info.value.details['attempts'] == 4


def test_action_refused_is_not_sent_again():
    nova, proxy, _sleeps = client(fault(400, 'No valid host'), Answer(202))
    with pytest.raises(NovaError) as info:
        _retried(nova)
    assert info.value.status == 400 and not info.value.transient
    assert len(proxy.calls) == 1


def test_client_errors_are_not_retried_and_404_reads_as_absent():
    nova, proxy, _sleeps = client(fault(404, 'Instance could not be found'))
    assert nova.server('srv-1') is None
    assert len(proxy.calls) == 1
    nova, proxy, _sleeps = client(Answer(400, text='<html>Bad Request</html>'))
    with pytest.raises(NovaError) as info:
        nova.server('srv-1')
    assert info.value.message == '<html>Bad Request</html>'


def test_mv_caps_at_the_clouds_highest_microversion():
    nova, proxy, _sleeps = client(Answer(200, {'server': {'id': 'srv-1'}}), max_microversion='2.79')
    assert nova.mv('2.96') == '2.79'
    assert nova.mv('2.53') == '2.53'
    assert nova.mv('2.100') == '2.79'
    assert nova.supports('2.77') and not nova.supports('2.91')
    nova.server('srv-1')
    assert proxy.calls[0]['microversion'] == '2.79'
    uncapped, _proxy, _sleeps = client(Answer(200, {}), max_microversion=None)
    assert uncapped.mv('2.96') == '2.96' and uncapped.supports('2.96')


def test_live_migrate_uses_the_checked_microversion_unless_forced():
    nova, proxy, _sleeps = client(Answer(202))
    nova.live_migrate('srv-1', 'hv2')
    assert proxy.calls[0]['microversion'] == nova_api.MV_LIVE_CHECKED
    assert proxy.calls[0]['json'] == {'os-migrateLive': {'host': 'hv2', 'block_migration': 'auto'}}
    nova.live_migrate('srv-1', 'hv2', force=True)
    assert proxy.calls[1]['microversion'] == nova_api.MV_LIVE_FORCED
    assert proxy.calls[1]['json']['os-migrateLive']['force'] is True
    with pytest.raises(ValueError):
        nova.live_migrate('srv-1', None, force=True)


def _servers(*names):
    return Answer(200, {'servers': [{'id': 'id-%d' % i, 'name': n} for i, n in enumerate(names)]})


def test_find_server_by_name_must_be_unambiguous():
    nova, proxy, _sleeps = client(_servers('web', 'web', 'web-2'))
    with pytest.raises(NovaError) as info:
        nova.find_server('web')
    assert info.value.status == 409
    assert info.value.message == "server name 'web' is ambiguous (2 servers): use its id"
    assert proxy.calls[0]['params']['name'] == '^web$'
    assert proxy.calls[0]['params']['all_tenants'] == 'True'


def test_find_server_escapes_the_name_and_matches_it_exactly():
    nova, proxy, _sleeps = client(_servers('db.1', 'db.12'))
    assert nova.find_server('db.1') == {'id': 'id-0', 'name': 'db.1'}
    assert proxy.calls[0]['params']['name'] == '^db\\.1$'


def test_find_server_by_id_falls_back_to_the_name():
    uuid = '11111111-2222-3333-4444-555555555555'
    nova, proxy, _sleeps = client(fault(404), _servers())
    assert nova.find_server(uuid) is None
    assert [c['url'] for c in proxy.calls] == ['/servers/%s' % uuid, '/servers/detail']


def servers_page(first, count, more):
    body = {'servers': [{'id': 'srv-%03d' % n} for n in range(first, first + count)]}
    if more:
        body['servers_links'] = [{'rel': 'next', 'href': 'http://internal:8774/v2.1/servers/detail?marker=x'}]
    return Answer(200, body)


def test_server_lists_follow_next_links_when_nova_caps_the_page_below_the_limit():
    # [api]max_limit = 2 while 1000 were asked for: pages of 2, each announcing the next.
    nova, proxy, _sleeps = client(servers_page(0, 2, True), servers_page(2, 2, True), servers_page(4, 1, False))
    found = nova.list_servers({'host': 'hv1'})
    assert [s['id'] for s in found] == ['srv-000', 'srv-001', 'srv-002', 'srv-003', 'srv-004']
    assert [c['params'].get('marker') for c in proxy.calls] == [None, 'srv-001', 'srv-003']
    assert all(c['params']['limit'] == 1000 and c['params']['host'] == 'hv1' for c in proxy.calls)


def test_a_list_ends_on_a_page_without_a_next_link():
    nova, proxy, _sleeps = client(servers_page(0, 3, False))
    assert len(nova.list_servers()) == 3 and len(proxy.calls) == 1


def groups_page(first, count):
    return Answer(200, {'server_groups': [{'id': 'sg-%d' % n, 'policy': 'anti-affinity'}
                                          for n in range(first, first + count)]})


def test_server_groups_page_by_offset_until_an_empty_page():
    # Nova caps the page at its max_limit (2 here) and sends no links: a short page is not the end.
    nova, proxy, _sleeps = client(groups_page(0, 2), groups_page(2, 2), groups_page(4, 1), groups_page(5, 0))
    assert [g['id'] for g in nova.server_groups()] == ['sg-0', 'sg-1', 'sg-2', 'sg-3', 'sg-4']
    assert [c['params'].get('offset') for c in proxy.calls] == [None, 2, 4, 5]
    assert all(c['params']['all_projects'] == 'True' and c['microversion'] == '2.64' for c in proxy.calls)


def test_hypervisor_of_a_host_is_the_one_its_service_runs_on():
    listing = Answer(200, {'hypervisors': [{'id': 'a', 'service': {'host': 'hv1x'}},
                                           {'id': 'b', 'service': {'host': 'hv1'}}]})
    nova, proxy, _sleeps = client(listing)
    assert nova.hypervisor_of('hv1')['id'] == 'b'
    # Nova answers 400 to a pattern with limit or marker.
    assert proxy.calls[0]['params'] == {'hypervisor_hostname_pattern': 'hv1'}
    nova, _proxy, _sleeps = client(fault(404, 'No hypervisor matching hv9 could be found.'))
    assert nova.hypervisor_of('hv9') is None


class Placement(object):
    def __init__(self, answers):
        self.answers = answers
        self.paths = []

    def request(self, url, method, json=None, params=None, microversion=None, raise_exc=False):
        assert raise_exc is False and method == 'GET'
        self.paths.append(url)
        return self.answers[url.rsplit('/', 1)[1]]


def test_provider_inventory_reads_inventories_and_usages_from_placement():
    nova, _proxy, _sleeps = client(Answer(200, {}))
    nova.conn.placement = Placement({'inventories': Answer(200, {'inventories': {'VCPU': {'total': 8}}}),
                                     'usages': Answer(200, {'usages': {'VCPU': 2}})})
    assert nova.provider_inventory('rp-1') == {'inventories': {'VCPU': {'total': 8}}, 'usages': {'VCPU': 2}}
    assert nova.conn.placement.paths == ['/resource_providers/rp-1/inventories', '/resource_providers/rp-1/usages']


def test_provider_inventory_of_an_unknown_provider_is_none_and_an_error_says_where():
    nova, _proxy, _sleeps = client(Answer(200, {}))
    nova.conn.placement = Placement({'inventories': Answer(404, {})})
    assert nova.provider_inventory('rp-1') is None
    nova.conn.placement = Placement({'inventories': fault(503, 'Placement is down')})
    with pytest.raises(NovaError) as info:
        nova.provider_inventory('rp-1')
    assert str(info.value).startswith('GET /resource_providers/rp-1/inventories: Placement is down (HTTP 503')
    assert info.value.service == 'Placement'


class Identity(object):
    def __init__(self, answer):
        self.answer = answer
        self.paths = []

    def request(self, url, method, json=None, params=None, microversion=None, raise_exc=False):
        assert raise_exc is False and method == 'GET'
        self.paths.append((url, params))
        return self.answer


def test_projects_are_found_by_name_through_identity():
    nova, _proxy, _sleeps = client(Answer(200, {}))
    nova.conn.identity = Identity(Answer(200, {'projects': [{'id': 'p1', 'name': 'web shop'}]}))
    assert nova.projects_named('web shop') == [{'id': 'p1', 'name': 'web shop'}]
    assert nova.conn.identity.paths == [('/projects', {'name': 'web shop'})]
    nova.conn.identity = Identity(fault(403, 'You are not authorized'))
    with pytest.raises(NovaError) as info:
        nova.projects_named('web shop')
    assert info.value.status == 403

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime

import pytest

from fake_nova import HOST, TASK, FakeNova, make_waiter  # pylint: disable=import-error

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils.drain import HostDrain
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaError
from ansible_collections.cloudmaint.openstack.plugins.module_utils.policy import Policy
from ansible_collections.cloudmaint.openstack.plugins.module_utils.restore import HostRestore
from ansible_collections.cloudmaint.openstack.plugins.module_utils.server_records import RecordStore

NOW = datetime.datetime(2026, 11, 21, 13, 0, 0, tzinfo=datetime.timezone.utc)


def cloud():
    return FakeNova(error=NovaError, hosts=['hv1', 'hv2', 'hv3'])


OWNER = {'sla': 'pets'}    # the owner's own metadata, never touched


def server(nova, name, host, action, prior='ACTIVE', campaign='c1', origin='hv1', locked=False, at=NOW, **kwargs):
    """A server with the record a drain of ``campaign`` kept of it."""
    sid = nova.add_server(name, host, metadata=OWNER, locked=locked, **kwargs)
    keep(nova, sid, action, prior, campaign, origin, locked, at)
    return sid


def keep(nova, sid, action, prior='ACTIVE', campaign='c1', origin='hv1', locked=False, at=NOW):
    rec = cm.new_record(action, origin, campaign, at, prior_status=prior)
    RecordStore(nova).put(sid, cm.with_lock(rec) if locked else rec)


def moved_away(nova, sid, to='hv2'):
    """Moves ``sid`` as the drain did (Nova keeps its migration record), then forgets the calls."""
    if nova.servers[sid]['status'] == 'SHUTOFF':
        nova.cold_migrate(sid, to)
        settle(nova, sid)
        nova.confirm_resize(sid)
    else:
        nova.live_migrate(sid, to)
    settle(nova, sid)
    assert nova.servers[sid][HOST] == to
    nova.calls.clear()


def settle(nova, sid):
    for _poll in range(20):
        if not nova.server(sid)[TASK]:
            return


def restorer(nova, move_back=True, **kwargs):
    return HostRestore(nova, make_waiter(), 'hv1', move_back, now=lambda: NOW, **kwargs)


def records_of(nova, sid):
    return RecordStore(nova).records()[0].get(sid, [])


def restore_one(nova, sid, move_back=True, **kwargs):
    return restorer(nova, move_back, **kwargs).restore_one((sid, records_of(nova, sid)[0]))


def steps(entry):
    return [s.get('action') or s.get('step') for s in entry['steps']]


# ---------------------------------------------------------------- one step per state

def test_stopped_server_is_started_and_its_record_cleared():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'stop', status='SHUTOFF')
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'done'
    assert steps(entry) == ['start']
    assert entry['steps'][0]['reason'] == 'stopped by campaign c1'
    assert entry['result'] == 'already ACTIVE'
    assert (entry['status_before'], entry['status_after']) == ('SHUTOFF', 'ACTIVE')
    assert nova.servers[sid]['status'] == 'ACTIVE'
    assert records_of(nova, sid) == []
    assert nova.servers[sid]['metadata'] == {'sla': 'pets'}
    assert entry['record']['state'] == 'stopped'


def test_offloaded_server_is_unshelved_on_its_origin_host_first():
    nova = cloud()
    sid = server(nova, 'web', None, 'shelve_partial', status='SHELVED_OFFLOADED', zone='nova')
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'done' and steps(entry) == ['unshelve']
    assert entry['steps'][0]['path'] == 'origin_host'
    assert entry['host_after'] == 'hv1' and entry['status_after'] == 'ACTIVE'
    assert nova.calls_for(sid, 'unshelve')[0][2] == {'host': 'hv1', 'availability_zone': None}


def test_unshelve_goes_elsewhere_when_the_origin_host_is_refused():
    nova = cloud()
    sid = server(nova, 'web', None, 'shelve_partial', status='SHELVED_OFFLOADED', zone='nova')
    nova.script(sid, refuse={'unshelve:host': (400, 'origin host is full')})
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'done'
    assert entry['steps'][0]['path'] == 'availability_zone'
    assert entry['steps'][0]['tried'] == [{'path': 'origin_host', 'error': 'origin host is full'}]
    assert entry['host_after'] and entry['status_after'] == 'ACTIVE'


def test_shelved_server_still_on_its_host_is_unshelved_in_place():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'shelve_partial', status='SHELVED')
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'done'
    assert entry['steps'][0]['path'] == 'in_place'
    assert entry['host_after'] == 'hv1'


def test_moved_server_is_live_migrated_back_when_move_back_is_on():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'live_migrate')
    moved_away(nova, sid)
    entry = restore_one(nova, sid, move_back=True)
    assert entry['outcome'] == 'done'
    assert steps(entry) == ['live_migrate']
    assert entry['steps'][0]['reason'] == 'live-migrate back to hv1'
    assert nova.calls_for(sid, 'live_migrate') == [('live_migrate', sid, 'hv1')]
    assert (entry['host_before'], entry['host_after']) == ('hv2', 'hv1')
    assert entry['result'] == 'already on its origin host hv1'
    assert records_of(nova, sid) == []


def test_moved_shutoff_server_is_cold_migrated_back():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'cold_migrate', 'SHUTOFF', status='SHUTOFF')
    moved_away(nova, sid)
    entry = restore_one(nova, sid, move_back=True)
    assert entry['outcome'] == 'done' and steps(entry) == ['cold_migrate']
    assert nova.servers[sid][HOST] == 'hv1' and nova.servers[sid]['status'] == 'SHUTOFF'
    assert 'confirm_resize' in nova.writes()


def test_moved_server_stays_when_move_back_is_off():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'live_migrate')
    moved_away(nova, sid)
    entry = restore_one(nova, sid, move_back=False)
    assert entry['outcome'] == 'done' and entry['steps'] == []
    assert entry['result'] == 'moving back is off: stays on hv2'
    assert nova.servers[sid][HOST] == 'hv2'
    assert nova.calls == [('set_aggregate_metadata', sid, None)]


def test_left_server_that_was_running_is_started():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'leave', 'ACTIVE', status='SHUTOFF')
    entry = restore_one(nova, sid)
    assert steps(entry) == ['start']
    assert nova.servers[sid]['status'] == 'ACTIVE'


def test_left_server_that_was_stopped_stays_stopped():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'leave', 'SHUTOFF', status='SHUTOFF')
    entry = restore_one(nova, sid)
    assert entry['steps'] == [] and entry['outcome'] == 'done'
    assert entry['result'] == 'was SHUTOFF before the campaign: stays SHUTOFF'
    assert nova.servers[sid]['status'] == 'SHUTOFF'


def test_suspended_server_is_resumed():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'suspend', status='SUSPENDED')
    entry = restore_one(nova, sid)
    assert steps(entry) == ['resume'] and nova.servers[sid]['status'] == 'ACTIVE'


# ---------------------------------------------------------------- several steps

def test_busy_server_is_waited_for_then_moved_back():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'live_migrate')
    moved_away(nova, sid)
    # Someone else's move, still under way.
    nova.live_migrate(sid, 'hv3')
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'done'
    assert steps(entry) == ['wait', 'live_migrate']
    assert entry['steps'][0]['changed'] is False
    assert nova.servers[sid][HOST] == 'hv1'


def test_unconfirmed_cold_migration_is_confirmed_then_moved_back():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'cold_migrate')
    nova.cold_migrate(sid)
    for _poll in range(10):
        if nova.server(sid)['status'] == 'VERIFY_RESIZE':
            break
    assert nova.servers[sid][HOST] == 'hv2'
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'done'
    assert steps(entry) == ['confirm_resize', 'live_migrate']
    assert nova.servers[sid][HOST] == 'hv1' and nova.servers[sid]['status'] == 'ACTIVE'


# ---------------------------------------------------------------- rebuild

DRAINED_AT = NOW - datetime.timedelta(minutes=20)


def uptime(minutes):
    return ' 13:00:00 up %d min,  0 users,  load average: 0.00, 0.00, 0.00\n' % minutes


def restore_rebuild(nova, sid, up_min=10):
    """Restore of ``sid`` on hv1, drained at DRAINED_AT, its host up ``up_min`` minutes at NOW."""
    nova.uptimes['hv1'] = uptime(up_min)
    [entry] = restorer(nova).restore()
    assert entry['id'] == sid
    return entry


def test_rebuild_pending_server_that_was_stopped_is_rebuilt_and_stays_stopped():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'rebuild', 'SHUTOFF', status='SHUTOFF', at=DRAINED_AT)
    entry = restore_rebuild(nova, sid)
    assert entry['outcome'] == 'done' and steps(entry) == ['rebuild']
    assert nova.calls_for(sid, 'rebuild') == [('rebuild', sid, 'img-1')]
    assert nova.servers[sid]['status'] == 'SHUTOFF'
    assert entry['result'] == 'already restored'
    assert records_of(nova, sid) == []


def test_rebuild_pending_server_found_running_is_stopped_again_when_it_was_not_running():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'rebuild', 'SHUTOFF', status='ACTIVE', at=DRAINED_AT)
    entry = restore_rebuild(nova, sid)
    assert entry['outcome'] == 'done'
    assert nova.servers[sid]['status'] == 'SHUTOFF'
    assert ('action', sid, 'os-stop') in nova.calls


def test_rebuild_pending_server_that_was_running_is_started_after_the_rebuild():
    nova = cloud()
    # The drain stopped it (rebuild keeps a server here, stopped cleanly before the reboot).
    sid = server(nova, 'web', 'hv1', 'rebuild', 'ACTIVE', status='SHUTOFF', at=DRAINED_AT)
    entry = restore_rebuild(nova, sid)
    assert entry['outcome'] == 'done' and steps(entry) == ['rebuild']
    assert nova.servers[sid]['status'] == 'ACTIVE'


@pytest.mark.parametrize('up_min, why', [(30, 'its host has not rebooted since campaign c1 stopped it'),
                                         (None, 'Nova cannot tell whether its host rebooted')])
def test_without_a_reboot_of_its_host_a_rebuild_pending_server_is_started_not_rebuilt(up_min, why):
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'rebuild', 'ACTIVE', status='SHUTOFF', at=DRAINED_AT)
    nova.uptimes['hv1'] = uptime(up_min) if up_min is not None else None
    [entry] = restorer(nova).restore()
    assert entry['outcome'] == 'done' and steps(entry) == ['start'], entry
    assert why in entry['steps'][0]['reason'] and 'not rebuilt' in entry['result']
    assert nova.calls_for(sid, 'rebuild') == []
    assert nova.servers[sid]['status'] == 'ACTIVE' and records_of(nova, sid) == []


def test_a_reboot_just_after_the_drain_is_told_apart_by_reading_the_uptime_again():
    # Drained at 12:59:30, booted at 12:59:45: at 13:00:00 the host is up "0 min" (booted after
    # 12:59:00), which does not settle it; readings go on until the minute turns.
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'rebuild', 'ACTIVE', status='SHUTOFF',
                 at=NOW - datetime.timedelta(seconds=30))
    clock = [NOW]

    def now():
        return clock[0]

    def up(_nova):
        clock[0] += datetime.timedelta(seconds=5)
        return uptime(int((clock[0] - (NOW - datetime.timedelta(seconds=15))).total_seconds()) // 60)

    nova.uptimes['hv1'] = up
    [entry] = HostRestore(nova, make_waiter(), 'hv1', True, now=now).restore()
    assert steps(entry) == ['rebuild'], entry


def test_boot_from_volume_server_cannot_be_rebuilt():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'rebuild', 'ACTIVE', status='SHUTOFF', image=None, at=DRAINED_AT)
    entry = restore_rebuild(nova, sid)
    assert entry['outcome'] == 'failed'
    assert entry['result'] == 'failed: boot-from-volume server: no image to rebuild from'
    assert [r.state for r in records_of(nova, sid)] == ['rebuild_pending']


# ---------------------------------------------------------------- failures, records, check mode

def test_failed_step_is_reported_and_the_record_kept():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'stop', status='SHUTOFF')
    nova.script(sid, refuse={'os-start': (409, 'Instance web is locked')})
    nova.calls.clear()
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'failed'
    assert entry['result'] == 'failed: Instance web is locked'
    assert entry['steps'][0]['outcome'] == 'failed' and entry['steps'][0]['status_code'] == 409
    assert entry['status_after'] == 'SHUTOFF'
    assert [r.state for r in records_of(nova, sid)] == ['stopped']
    assert 'set_aggregate_metadata' not in nova.writes()


def test_keep_records_keeps_the_records_and_their_ledger():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'stop', status='SHUTOFF')
    nova.calls.clear()
    entries = restorer(nova, keep_records=True).restore()
    assert entries[0]['outcome'] == 'done' and nova.servers[sid]['status'] == 'ACTIVE'
    assert [r.state for r in records_of(nova, sid)] == ['stopped']
    assert [w for w in nova.writes() if 'aggregate' in w] == []


def test_server_in_error_keeps_its_record_for_the_operator():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'live_migrate')
    moved_away(nova, sid)
    nova.servers[sid]['status'] = 'ERROR'
    entry = restore_one(nova, sid)
    assert entry['result'] == 'server in ERROR: left for the operator'
    assert entry['outcome'] == 'left_in_error'
    assert [r.state for r in records_of(nova, sid)] == ['moved']


def test_check_mode_plans_the_first_step_without_acting():
    nova = cloud()
    stopped = server(nova, 'a-stopped', 'hv1', 'stop', status='SHUTOFF')
    moved = server(nova, 'b-moved', 'hv2', 'live_migrate')
    nova.calls.clear()
    restore = restorer(nova, move_back=False, check_mode=True)
    entries = restore.restore()
    assert [e['name'] for e in entries] == ['a-stopped', 'b-moved']
    assert entries[0]['outcome'] == 'planned'
    assert entries[0]['steps'] == [{'step': 'start', 'reason': 'stopped by campaign c1',
                                    'outcome': 'planned'}]
    assert entries[1]['outcome'] == 'nothing_to_do'
    assert restore.changed is True
    assert nova.calls == []
    assert nova.servers[stopped]['status'] == 'SHUTOFF'
    assert [r.state for r in records_of(nova, moved)] == ['moved']


def test_restore_takes_only_this_hosts_records_of_this_campaign():
    nova = cloud()
    server(nova, 'b-mine', 'hv1', 'stop', status='SHUTOFF')
    server(nova, 'a-mine-too', 'hv1', 'stop', status='SHUTOFF')
    other_campaign = server(nova, 'c-other', 'hv1', 'stop', campaign='c0', status='SHUTOFF')
    other_host = server(nova, 'd-other-host', 'hv2', 'stop', origin='hv2', status='SHUTOFF')
    untouched = nova.add_server('e-untouched', 'hv1', status='SHUTOFF')
    assert sorted(RecordStore(nova).records('hv1')[0]) == ['srv-a-mine-too', 'srv-b-mine', 'srv-c-other']
    restore = restorer(nova, campaign='c1', max_parallel=2)
    entries = restore.restore()
    assert [e['name'] for e in entries] == ['a-mine-too', 'b-mine']
    assert all(e['outcome'] == 'done' for e in entries)
    assert restore.changed is True
    assert nova.servers[other_campaign]['status'] == 'SHUTOFF'
    assert nova.servers[other_host]['status'] == 'SHUTOFF'
    assert nova.servers[untouched]['status'] == 'SHUTOFF'
    assert sorted(RecordStore(nova).records()[0]) == [other_campaign, other_host]


def test_nothing_to_restore_changes_nothing():
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    RecordStore(nova).put(sid, cm.mark_restored(cm.new_record('stop', 'hv1', 'c1', NOW), NOW))
    nova.calls.clear()
    restore = restorer(nova, keep_records=True)
    entry = restore.restore_one((sid, records_of(nova, sid)[0]))
    assert entry['result'] == 'already restored' and entry['steps'] == []
    assert restore.changed is False
    assert nova.calls == []


# ---------------------------------------------------------------- locks, Nova's witness, the ledger

def test_restore_undoes_the_drain_unlocks_what_it_locked_and_drops_the_ledger():
    nova = cloud()
    web = nova.add_server('web', 'hv1')
    db = nova.add_server('db', 'hv1')
    off = nova.add_server('off', 'hv1', status='SHUTOFF')
    policy = Policy({'servers': {db: {'action': 'stop'}, off: {'action': 'leave'}}})
    HostDrain(nova, make_waiter(), policy, 'hv1', 'c1', now=lambda: NOW).drain()
    assert nova.servers[web][HOST] != 'hv1' and not nova.servers[web]['locked']
    assert nova.servers[db]['locked'] and nova.servers[off]['locked']
    nova.calls.clear()
    restore = restorer(nova, campaign='c1')
    entries = {e['name']: e for e in restore.restore()}
    assert {name: e['outcome'] for name, e in entries.items()} == {'db': 'done', 'off': 'done', 'web': 'done'}
    assert entries['db']['unlocked'] is True and entries['off']['unlocked'] is True
    assert 'unlocked' not in entries['web']
    assert sorted(c[1] for c in nova.calls if c[0] == 'unlock') == [db, off]
    assert [(s[HOST], s['status'], s['locked']) for s in (nova.servers[sid] for sid in (web, db, off))] == [
        ('hv1', 'ACTIVE', False), ('hv1', 'ACTIVE', False), ('hv1', 'SHUTOFF', False)]
    assert RecordStore(nova).records()[0] == {}
    assert nova.aggregate_store == {}
    assert nova.calls[-1][0] == 'delete_aggregate'


def test_a_lock_someone_else_set_is_neither_taken_nor_released():
    nova = cloud()
    theirs = nova.add_server('theirs', 'hv1', locked=True)
    nova.servers[theirs]['locked_reason'] = 'legal hold'
    policy = Policy({'servers': {theirs: {'action': 'stop'}}})
    HostDrain(nova, make_waiter(), policy, 'hv1', 'c1', now=lambda: NOW).drain()
    assert nova.calls_for(theirs, 'lock') == []
    assert records_of(nova, theirs)[0].locked is False
    entries = restorer(nova, campaign='c1').restore()
    assert entries[0]['outcome'] == 'done' and 'unlocked' not in entries[0]
    assert nova.calls_for(theirs, 'unlock') == []
    assert (nova.servers[theirs]['locked'], nova.servers[theirs]['locked_reason']) == (True, 'legal hold')


def test_a_record_says_locked_but_someone_unlocked_it_since():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'stop', locked=True, status='SHUTOFF')
    nova.unlock(sid)
    nova.calls.clear()
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'done' and 'unlocked' not in entry
    assert nova.calls_for(sid, 'unlock') == []


@pytest.mark.parametrize('history', ['none', 'from another host', 'failed'])
def test_no_move_back_without_nova_s_record_of_the_server_leaving_its_origin(history):
    nova = cloud()
    sid = server(nova, 'web', 'hv1' if history == 'failed' else 'hv2', 'live_migrate', locked=True)
    if history == 'from another host':
        moved_away(nova, sid, to='hv3')
    elif history == 'failed':
        nova.script(sid, live='error')
        nova.live_migrate(sid, 'hv2')
        settle(nova, sid)
        nova.servers[sid][HOST] = 'hv3'
    nova.calls.clear()
    entries = restorer(nova, campaign='c1').restore()
    assert entries[0]['outcome'] == 'unconfirmed'
    assert entries[0]['result'] == 'Nova has no completed migration of it from hv1: not moved, record kept'
    assert nova.calls == []
    assert nova.servers[sid][HOST] != 'hv1' and nova.servers[sid]['locked'] is True
    assert [r.state for r in records_of(nova, sid)] == ['moved']


def test_record_of_a_server_that_no_longer_exists_is_dropped():
    nova = cloud()
    keep(nova, 'srv-gone', 'stop')
    restore = restorer(nova, campaign='c1')
    entries = restore.restore()
    assert entries == [{'id': 'srv-gone', 'name': None, 'record': entries[0]['record'], 'steps': [],
                        'outcome': 'gone', 'result': 'server no longer exists: record dropped'}]
    assert entries[0]['record']['state'] == 'stopped'
    assert nova.aggregate_store == {}


def test_server_in_error_before_the_campaign_is_released():
    nova = cloud()
    sid = server(nova, 'broken', 'hv1', 'leave', prior='ERROR', locked=True, status='ERROR')
    entry = restorer(nova, campaign='c1').restore()[0]
    assert entry['outcome'] == 'done' and entry['unlocked'] is True
    assert nova.servers[sid]['locked'] is False
    assert records_of(nova, sid) == [] and nova.aggregate_store == {}


def test_server_the_campaign_left_in_error_keeps_its_record_and_lock():
    nova = cloud()
    sid = server(nova, 'web', 'hv1', 'stop', locked=True, status='ERROR')
    entry = restorer(nova, campaign='c1').restore()[0]
    assert entry['outcome'] == 'left_in_error'
    assert nova.servers[sid]['locked'] is True
    assert [r.state for r in records_of(nova, sid)] == ['stopped']
    assert len(nova.aggregate_store) == 1


def test_restore_of_every_campaign_releases_the_older_records_with_the_newest():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='SHUTOFF')
    RecordStore(nova).put(sid, cm.new_record('leave', 'hv1', 'c0', NOW - datetime.timedelta(days=7),
                                             prior_status='SHUTOFF'))
    keep(nova, sid, 'stop', campaign='c1')
    entries = restorer(nova).restore()
    assert [(e['outcome'], e['record']['campaign']) for e in entries] == [('done', 'c1')]
    assert nova.servers[sid]['status'] == 'ACTIVE'
    assert nova.aggregate_store == {}

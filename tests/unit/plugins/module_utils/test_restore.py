# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime


from fake_nova import HOST, FakeNova, make_waiter  # pylint: disable=import-error

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaError
from ansible_collections.cloudmaint.openstack.plugins.module_utils.restore import (
    HostRestore,
    campaign_servers,
)

NOW = datetime.datetime(2026, 11, 21, 13, 0, 0, tzinfo=datetime.timezone.utc)


def cloud():
    return FakeNova(error=NovaError, hosts=['hv1', 'hv2', 'hv3'])


def record(action, prior='ACTIVE', campaign='c1', origin='hv1'):
    meta = cm.record(action, origin, campaign, NOW, prior_status=prior)
    meta['sla'] = 'pets'    # the owner's own metadata, never touched
    return meta


def restorer(nova, move_back=True, **kwargs):
    return HostRestore(nova, make_waiter(), 'hv1', move_back, now=lambda: NOW, **kwargs)


def restore_one(nova, sid, move_back=True, **kwargs):
    return restorer(nova, move_back, **kwargs).restore_one(nova.server(sid))


def campaign_keys(nova, sid):
    return sorted(k for k in nova.servers[sid]['metadata'] if k.startswith(cm.PREFIX))


def steps(entry):
    return [s.get('action') or s.get('step') for s in entry['steps']]


# ---------------------------------------------------------------- one step per state

def test_stopped_server_is_started_and_its_record_cleared():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='SHUTOFF', metadata=record('stop'))
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'done'
    assert steps(entry) == ['start']
    assert entry['steps'][0]['reason'] == 'stopped by campaign c1'
    assert entry['result'] == 'already ACTIVE'
    assert (entry['status_before'], entry['status_after']) == ('SHUTOFF', 'ACTIVE')
    assert nova.servers[sid]['status'] == 'ACTIVE'
    assert campaign_keys(nova, sid) == []
    assert nova.servers[sid]['metadata'] == {'sla': 'pets'}
    assert entry['record']['state'] == 'stopped'


def test_offloaded_server_is_unshelved_on_its_origin_host_first():
    nova = cloud()
    sid = nova.add_server('web', None, status='SHELVED_OFFLOADED', zone='nova',
                          metadata=record('shelve_partial'))
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'done' and steps(entry) == ['unshelve']
    assert entry['steps'][0]['path'] == 'origin_host'
    assert entry['host_after'] == 'hv1' and entry['status_after'] == 'ACTIVE'
    assert nova.calls_for(sid, 'unshelve')[0][2] == {'host': 'hv1', 'availability_zone': None}


def test_unshelve_goes_elsewhere_when_the_origin_host_is_refused():
    nova = cloud()
    sid = nova.add_server('web', None, status='SHELVED_OFFLOADED', zone='nova',
                          metadata=record('shelve_partial'))
    nova.script(sid, refuse={'unshelve:host': (400, 'origin host is full')})
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'done'
    assert entry['steps'][0]['path'] == 'availability_zone'
    assert entry['steps'][0]['tried'] == [{'path': 'origin_host', 'error': 'origin host is full'}]
    assert entry['host_after'] and entry['status_after'] == 'ACTIVE'


def test_shelved_server_still_on_its_host_is_unshelved_in_place():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='SHELVED', metadata=record('shelve_partial'))
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'done'
    assert entry['steps'][0]['path'] == 'in_place'
    assert entry['host_after'] == 'hv1'


def test_moved_server_is_live_migrated_back_when_move_back_is_on():
    nova = cloud()
    sid = nova.add_server('web', 'hv2', metadata=record('live_migrate'))
    entry = restore_one(nova, sid, move_back=True)
    assert entry['outcome'] == 'done'
    assert steps(entry) == ['live_migrate']
    assert entry['steps'][0]['reason'] == 'live-migrate back to hv1'
    assert nova.calls_for(sid, 'live_migrate') == [('live_migrate', sid, 'hv1')]
    assert (entry['host_before'], entry['host_after']) == ('hv2', 'hv1')
    assert entry['result'] == 'already on its origin host hv1'
    assert campaign_keys(nova, sid) == []


def test_moved_shutoff_server_is_cold_migrated_back():
    nova = cloud()
    sid = nova.add_server('web', 'hv2', status='SHUTOFF', metadata=record('cold_migrate', 'SHUTOFF'))
    entry = restore_one(nova, sid, move_back=True)
    assert entry['outcome'] == 'done' and steps(entry) == ['cold_migrate']
    assert nova.servers[sid][HOST] == 'hv1' and nova.servers[sid]['status'] == 'SHUTOFF'
    assert 'confirm_resize' in nova.writes()


def test_moved_server_stays_when_move_back_is_off():
    nova = cloud()
    sid = nova.add_server('web', 'hv2', metadata=record('live_migrate'))
    entry = restore_one(nova, sid, move_back=False)
    assert entry['outcome'] == 'done' and entry['steps'] == []
    assert entry['result'] == 'moving back is off: stays on hv2'
    assert nova.servers[sid][HOST] == 'hv2'
    assert nova.writes() == ['delete_metadata'] * 6


def test_left_server_that_was_running_is_started():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='SHUTOFF', metadata=record('leave', 'ACTIVE'))
    entry = restore_one(nova, sid)
    assert steps(entry) == ['start']
    assert nova.servers[sid]['status'] == 'ACTIVE'


def test_left_server_that_was_stopped_stays_stopped():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='SHUTOFF', metadata=record('leave', 'SHUTOFF'))
    entry = restore_one(nova, sid)
    assert entry['steps'] == [] and entry['outcome'] == 'done'
    assert entry['result'] == 'was SHUTOFF before the campaign: stays SHUTOFF'
    assert nova.servers[sid]['status'] == 'SHUTOFF'


def test_suspended_server_is_resumed():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='SUSPENDED', metadata=record('suspend'))
    entry = restore_one(nova, sid)
    assert steps(entry) == ['resume'] and nova.servers[sid]['status'] == 'ACTIVE'


# ---------------------------------------------------------------- several steps

def test_busy_server_is_waited_for_then_moved_back():
    nova = cloud()
    sid = nova.add_server('web', 'hv2', status='MIGRATING', task='migrating',
                          pending={'status': 'ACTIVE', 'host': 'hv3'},
                          metadata=record('live_migrate'))
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'done'
    assert steps(entry) == ['wait', 'live_migrate']
    assert entry['steps'][0]['changed'] is False
    assert nova.servers[sid][HOST] == 'hv1'


def test_unconfirmed_cold_migration_is_confirmed_then_moved_back():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', metadata=record('cold_migrate'))
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

def test_rebuild_pending_server_that_was_stopped_is_rebuilt_and_stays_stopped():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='SHUTOFF', metadata=record('rebuild', 'SHUTOFF'))
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'done' and steps(entry) == ['rebuild']
    assert nova.calls_for(sid, 'rebuild') == [('rebuild', sid, 'img-1')]
    assert nova.servers[sid]['status'] == 'SHUTOFF'
    assert entry['result'] == 'already restored'


def test_rebuild_pending_server_found_running_is_stopped_again_when_it_was_not_running():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='ACTIVE', metadata=record('rebuild', 'SHUTOFF'))
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'done'
    assert nova.servers[sid]['status'] == 'SHUTOFF'
    assert ('action', sid, 'os-stop') in nova.calls


def test_rebuild_pending_server_that_was_running_is_started_after_the_rebuild():
    nova = cloud()
    # The drain stopped it (rebuild keeps a server here, stopped cleanly before the reboot).
    sid = nova.add_server('web', 'hv1', status='SHUTOFF', metadata=record('rebuild', 'ACTIVE'))
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'done'
    assert nova.servers[sid]['status'] == 'ACTIVE'


def test_boot_from_volume_server_cannot_be_rebuilt():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='SHUTOFF', image=None,
                          metadata=record('rebuild', 'ACTIVE'))
    entry = restore_one(nova, sid)
    assert entry['outcome'] == 'failed'
    assert entry['result'] == 'failed: boot-from-volume server: no image to rebuild from'
    assert campaign_keys(nova, sid) != []


# ---------------------------------------------------------------- failures, records, check mode

def test_failed_step_is_reported_and_the_record_kept():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='SHUTOFF', metadata=record('stop'))
    nova.script(sid, refuse={'os-start': (409, 'Instance web is locked')})
    restore = restorer(nova)
    entry = restore.restore_one(nova.server(sid))
    assert entry['outcome'] == 'failed'
    assert entry['result'] == 'failed: Instance web is locked'
    assert entry['steps'][0]['outcome'] == 'failed' and entry['steps'][0]['status_code'] == 409
    assert entry['status_after'] == 'SHUTOFF'
    assert len(campaign_keys(nova, sid)) == 6
    assert 'delete_metadata' not in nova.writes()


def test_keep_records_keeps_the_campaign_keys():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='SHUTOFF', metadata=record('stop'))
    entry = restore_one(nova, sid, keep_records=True)
    assert entry['outcome'] == 'done' and nova.servers[sid]['status'] == 'ACTIVE'
    assert len(campaign_keys(nova, sid)) == 6
    assert 'delete_metadata' not in nova.writes()


def test_server_in_error_keeps_its_record_for_the_operator():
    nova = cloud()
    sid = nova.add_server('web', 'hv2', status='ERROR', metadata=record('live_migrate'))
    entry = restore_one(nova, sid)
    assert entry['result'] == 'server in ERROR: left for the operator'
    assert len(campaign_keys(nova, sid)) == 6


def test_check_mode_plans_the_first_step_without_acting():
    nova = cloud()
    stopped = nova.add_server('a-stopped', 'hv1', status='SHUTOFF', metadata=record('stop'))
    moved = nova.add_server('b-moved', 'hv2', metadata=record('live_migrate'))
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
    assert len(campaign_keys(nova, moved)) == 6


def test_restore_takes_only_this_hosts_records_of_this_campaign():
    nova = cloud()
    nova.add_server('b-mine', 'hv1', status='SHUTOFF', metadata=record('stop'))
    nova.add_server('a-mine-too', 'hv1', status='SHUTOFF', metadata=record('stop'))
    other_campaign = nova.add_server('c-other', 'hv1', status='SHUTOFF',
                                     metadata=record('stop', campaign='c0'))
    other_host = nova.add_server('d-other-host', 'hv2', status='SHUTOFF',
                                 metadata=record('stop', origin='hv2'))
    nova.add_server('e-untouched', 'hv1', status='SHUTOFF')
    assert sorted(s['name'] for s in campaign_servers(nova, 'hv1')) == [
        'a-mine-too', 'b-mine', 'c-other']
    restore = restorer(nova, campaign='c1', max_parallel=2)
    entries = restore.restore()
    assert [e['name'] for e in entries] == ['a-mine-too', 'b-mine']
    assert all(e['outcome'] == 'done' for e in entries)
    assert restore.changed is True
    assert nova.servers[other_campaign]['status'] == 'SHUTOFF'
    assert nova.servers[other_host]['status'] == 'SHUTOFF'


def test_nothing_to_restore_changes_nothing():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', metadata=dict(record('stop'), **cm.mark_restored(NOW)))
    restore = restorer(nova, keep_records=True)
    entry = restore.restore_one(nova.server(sid))
    assert entry['result'] == 'already restored' and entry['steps'] == []
    assert restore.changed is False
    assert nova.calls == []

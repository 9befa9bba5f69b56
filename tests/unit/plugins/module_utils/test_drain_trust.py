# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a tenant can write (server names and metadata) must not steer the drain, the restore
or the reboot interlock; what stays on the host is locked; ERROR stops the chain."""

from __future__ import annotations

import datetime

import pytest

from fake_nova import HOST, FakeClock, FakeNova, make_waiter  # pylint: disable=import-error

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils.drain import HostDrain, reboot_blocker
from ansible_collections.cloudmaint.openstack.plugins.module_utils.openstack_module import CloudmaintModule
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaClient, NovaError
from ansible_collections.cloudmaint.openstack.plugins.module_utils.policy import Policy
from ansible_collections.cloudmaint.openstack.plugins.module_utils.restore import HostRestore
from ansible_collections.cloudmaint.openstack.plugins.module_utils.server_records import RecordStore
from ansible_collections.cloudmaint.openstack.plugins.module_utils import host_state

NOW = datetime.datetime(2026, 11, 21, 12, 0, 0, tzinfo=datetime.timezone.utc)
LOCK_REASON = 'cloudmaint: campaign c1: hv1 in maintenance'


def cloud():
    return FakeNova(error=NovaError, hosts=['hv1', 'hv2', 'hv3'])


def drainer(nova, policy=None, **kwargs):
    if not isinstance(policy, Policy):
        policy = Policy(policy or {})
    return HostDrain(nova, make_waiter(FakeClock()), policy, 'hv1', 'c1', now=lambda: NOW, **kwargs)


def restorer(nova, host='hv1', campaign='c1'):
    return HostRestore(nova, make_waiter(), host, True, campaign=campaign, now=lambda: NOW)


def forged(action, state, origin='hv1', campaign='c1', prior='ACTIVE'):
    """Campaign keys as the first versions wrote them into server metadata, here by a tenant."""
    return {'cloudmaint:action': action, 'cloudmaint:state': state, 'cloudmaint:origin_host': origin,
            'cloudmaint:campaign': campaign, 'cloudmaint:at': '2026-11-21T11:00:00Z',
            'cloudmaint:prior_status': prior}


def keep(nova, sid, action, prior='ACTIVE', campaign='c1'):
    RecordStore(nova).put(sid, cm.new_record(action, 'hv1', campaign, NOW, prior_status=prior))


def kept(nova, sid):
    return RecordStore(nova).records('hv1', 'c1')[0][sid][0]


def by_name(entries):
    return {e['name']: e for e in entries}


def module(nova):
    """The module layer over the fake: load_policy asks Nova which server names are unique."""
    nova.find_server = lambda name: NovaClient.find_server(nova, name)
    found = CloudmaintModule.__new__(CloudmaintModule)
    found._nova = nova
    return found


# ---------------------------------------------------------------- forged records in server metadata

def test_drain_does_not_take_a_forged_record_for_work_already_done():
    nova = cloud()
    sid = nova.add_server('off', 'hv1', status='SHUTOFF', metadata=forged('stop', 'stopped', prior='SHUTOFF'))
    drain = drainer(nova)
    entries, remaining = drain.drain()
    assert entries[0]['outcome'] == 'done' and entries[0]['action'] == 'cold_migrate'
    assert nova.servers[sid][HOST] != 'hv1'
    assert remaining == []


def test_forged_left_record_does_not_hide_a_paused_server_from_the_reboot_check():
    nova = cloud()
    forged_sid = nova.add_server('tenant', 'hv1', status='PAUSED',
                                 metadata=forged('leave', 'left', prior='PAUSED'))
    real_sid = nova.add_server('left-by-us', 'hv1', status='PAUSED')
    keep(nova, real_sid, 'leave', prior='PAUSED')
    drain = drainer(nova)
    drain.load_records()
    assert [(r['id'], r['why']) for r in drain.remaining()] == [(forged_sid, 'still PAUSED')]


def test_forged_moved_record_does_not_make_restore_move_a_server_where_the_tenant_wants():
    nova = cloud()
    sid = nova.add_server('tenant', 'hv2', metadata=forged('live_migrate', 'moved', origin='hv3'))
    nova.calls.clear()
    for host, campaign in (('hv3', 'c1'), ('hv3', None), ('hv2', None)):
        assert restorer(nova, host, campaign).restore() == []
    assert nova.calls == []
    assert nova.servers[sid][HOST] == 'hv2'


def test_restore_follows_the_kept_record_not_the_metadata():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', status='SHUTOFF', image=None,
                          metadata=forged('rebuild', 'rebuild_pending', prior='ACTIVE'))
    tenant = nova.add_server('tenant', 'hv1', status='SHUTOFF', image=None,
                             metadata=forged('rebuild', 'rebuild_pending', prior='ACTIVE'))
    keep(nova, sid, 'stop')
    entries = restorer(nova).restore()
    assert [(e['name'], e['outcome'], [s['action'] for s in e['steps']]) for e in entries] == [
        ('web', 'done', ['start'])]
    assert nova.calls_for(sid, 'rebuild') == [] and nova.calls_for(tenant) == []
    assert nova.servers[tenant]['status'] == 'SHUTOFF'


def host_info(nova, campaign='c1', reboot_in_error=()):
    return host_state.look(nova, 'hv1', campaign, None, list(reboot_in_error))


@pytest.mark.parametrize('campaign', ['c1', None])
def test_compute_host_info_ignores_forged_records_too(campaign):
    nova = cloud()
    tenant = nova.add_server('tenant', 'hv1', status='PAUSED', metadata=forged('leave', 'left', prior='PAUSED'))
    ours = nova.add_server('ours', 'hv1', status='PAUSED')
    keep(nova, ours, 'leave', prior='PAUSED')
    result = host_info(nova, campaign)
    assert [(b['id'], b['why']) for b in result['reboot_blockers']] == [(tenant, 'still PAUSED')]
    assert {s['id']: s['campaign_state'] for s in result['servers']} == {tenant: None, ours: 'left'}


def test_compute_host_info_blocks_on_a_running_guest_in_error_unless_the_operator_allows_it():
    nova = cloud()
    running = nova.add_server('running', 'hv1', status='ERROR', power=1)
    nova.add_server('dead', 'hv1', status='ERROR', power=4)
    assert [(b['id'], b['why']) for b in host_info(nova)['reboot_blockers']] == [
        (running, 'in ERROR with its guest still running')]
    assert host_info(nova, reboot_in_error=[running])['reboot_blockers'] == []


# ---------------------------------------------------------------- records first, then locks

def test_each_action_is_recorded_before_it_is_done():
    nova = cloud()
    web = nova.add_server('web', 'hv1')
    stop = nova.add_server('stop', 'hv1')
    suspend = nova.add_server('suspend', 'hv1')
    shelve = nova.add_server('shelve', 'hv1')
    policy = {'servers': {stop: {'action': 'stop'}, suspend: {'action': 'suspend'},
                          shelve: {'action': 'shelve_partial'}}}
    entries, remaining = drainer(nova, policy, max_parallel=1).drain()
    assert [e['outcome'] for e in entries] == ['done'] * 4 and remaining == []
    assert nova.call_index('set_aggregate_metadata', web) < nova.call_index('live_migrate', web)
    for sid, body in ((stop, 'os-stop'), (suspend, 'suspend'), (shelve, 'shelve')):
        recorded = nova.call_index('set_aggregate_metadata', sid)
        locked = nova.call_index('lock', sid)
        acted = nova.calls.index(('action', sid, body))
        assert recorded < locked < acted, (sid, nova.calls)
    assert [kept(nova, sid).state for sid in (web, stop, suspend, shelve)] == [
        'moved', 'stopped', 'suspended', 'shelved']


def test_servers_staying_on_the_host_are_locked_in_the_name_of_the_campaign():
    nova = cloud()
    moved = nova.add_server('moved', 'hv1')
    stopped = nova.add_server('stopped', 'hv1')
    left = nova.add_server('left', 'hv1', status='PAUSED')
    shelved = nova.add_server('shelved', 'hv1', status='SHELVED')
    broken = nova.add_server('broken', 'hv1', status='ERROR')
    policy = {'servers': {stopped: {'action': 'stop'}, left: {'action': 'leave'}}}
    entries, remaining = drainer(nova, policy).drain()
    got = by_name(entries)
    assert remaining == []
    assert {name: got[name]['outcome'] for name in got} == {
        'broken': 'left_in_error', 'left': 'done', 'moved': 'done', 'shelved': 'at_rest', 'stopped': 'done'}
    staying = (stopped, left, shelved, broken)
    assert [(nova.servers[sid]['locked'], nova.servers[sid]['locked_reason']) for sid in staying] == [
        (True, LOCK_REASON)] * 4
    assert all(got[nova.servers[sid]['name']]['locked'] is True for sid in staying)
    assert [kept(nova, sid).locked for sid in staying] == [True] * 4
    # At rest and untouched by the policy: recorded as left in place, for restore to unlock.
    assert (kept(nova, shelved).action, kept(nova, shelved).prior_status) == ('leave', 'SHELVED')
    assert (kept(nova, broken).action, kept(nova, broken).prior_status) == ('leave', 'ERROR')
    assert nova.servers[moved][HOST] != 'hv1' and nova.servers[moved]['locked'] is False
    assert kept(nova, moved).locked is False and 'locked' not in got['moved']
    assert nova.calls_for(moved, 'lock') == []


def test_a_server_locked_by_someone_else_is_left_as_it_is():
    nova = cloud()
    stopped = nova.add_server('stopped', 'hv1', locked=True)
    at_rest = nova.add_server('at-rest', 'hv1', status='SHELVED', locked=True)
    for sid in (stopped, at_rest):
        nova.servers[sid]['locked_reason'] = 'legal hold'
    entries, _remaining = drainer(nova, {'servers': {stopped: {'action': 'stop'}}}).drain()
    assert nova.servers[stopped]['status'] == 'SHUTOFF'
    assert [w for w in nova.writes() if w in ('lock', 'unlock')] == []
    assert kept(nova, stopped).locked is False
    assert at_rest not in RecordStore(nova).records('hv1', 'c1')[0]
    assert all('locked' not in e for e in entries)
    assert [nova.servers[sid]['locked_reason'] for sid in (stopped, at_rest)] == ['legal hold'] * 2


def test_a_lock_refused_is_reported_and_does_not_stop_the_drain():
    nova = cloud()
    sid = nova.add_server('shelved', 'hv1', status='SHELVED')

    def refuse(server_id, reason):
        raise NovaError(403, 'Policy does not allow os_compute_api:os-lock-server:lock', 'POST')
    nova.lock = refuse
    drain = drainer(nova)
    entries, remaining = drain.drain()
    assert entries[0]['outcome'] == 'at_rest' and 'locked' not in entries[0] and remaining == []
    assert drain.lock_failures == ['shelved: Policy does not allow os_compute_api:os-lock-server:lock']
    assert nova.servers[sid]['locked'] is False


# ---------------------------------------------------------------- ERROR

def test_the_chain_stops_when_a_failed_action_leaves_the_server_in_error():
    nova = cloud()
    sid = nova.add_server('scratch', 'hv1')
    nova.script(sid, error_on={'os-stop'})
    policy = {'allow_delete': True, 'servers': {sid: {'action': 'stop', 'fallbacks': ['delete']}}}
    entries, remaining = drainer(nova, policy).drain()
    entry = entries[0]
    assert entry['chain'] == ['stop', 'delete']
    assert entry['outcome'] == 'left_in_error'
    assert entry['error'].endswith('; server now in ERROR, not tried: delete')
    assert [a['action'] for a in entry['attempts']] == ['stop']
    assert nova.calls_for(sid, 'delete_server') == []
    assert nova.servers[sid]['status'] == 'ERROR'
    assert nova.servers[sid]['locked'] is True
    assert remaining == []


def test_the_chain_goes_on_after_a_failure_that_leaves_no_error():
    nova = cloud()
    sid = nova.add_server('scratch', 'hv1')
    nova.script(sid, live='error')
    policy = {'allow_delete': True, 'servers': {sid: {'action': 'live_migrate', 'fallbacks': ['delete']}}}
    entries, _remaining = drainer(nova, policy).drain()
    assert entries[0]['outcome'] == 'done' and entries[0]['action'] == 'delete'
    assert sid not in nova.servers


@pytest.mark.parametrize('status, power, allowed, record, why', [
    ('ERROR', 1, (), None, 'in ERROR with its guest still running'),
    ('ERROR', 3, (), None, 'in ERROR with its guest still running'),
    ('ERROR', 1, ('srv-x',), None, None),
    ('ERROR', 1, ('srv-other',), None, 'in ERROR with its guest still running'),
    ('ERROR', 4, (), None, None),
    ('ERROR', 0, (), None, None),
    ('ERROR', None, (), None, None),
    ('SHUTOFF', 4, (), None, None),
    ('SHELVED', 4, (), None, None),
    ('SUSPENDED', 7, (), None, None),
    ('ACTIVE', 1, ('srv-x',), None, 'still ACTIVE'),
    ('PAUSED', 3, (), None, 'still PAUSED'),
    ('PAUSED', 3, (), 'leave', None),
    ('PAUSED', 3, (), 'stop', 'still PAUSED'),
    ('ACTIVE', 1, (), 'leave', 'still ACTIVE'),
])
def test_reboot_blocker(status, power, allowed, record, why):
    server = {'id': 'srv-x', 'status': status, 'OS-EXT-STS:power_state': power}
    rec = cm.new_record(record, 'hv1', 'c1', NOW) if record else None
    assert reboot_blocker(server, rec, allowed) == why


def test_a_running_guest_in_error_blocks_the_drain_unless_the_operator_allows_it():
    nova = cloud()
    running = nova.add_server('running', 'hv1', status='ERROR', power=1)
    paused = nova.add_server('paused', 'hv1', status='ERROR', power=3)
    nova.add_server('dead', 'hv1', status='ERROR', power=4)
    entries, remaining = drainer(nova).drain()
    assert {e['outcome'] for e in entries} == {'left_in_error'}
    assert [(r['id'], r['why']) for r in remaining] == [
        (paused, 'in ERROR with its guest still running'), (running, 'in ERROR with its guest still running')]
    assert [r['id'] for r in drainer(nova, reboot_in_error=[running]).drain()[1]] == [paused]


# ---------------------------------------------------------------- names are the tenants'

def test_a_name_two_projects_use_deletes_neither_server():
    nova = cloud()
    first = nova.add_server('scratch-1', 'hv1', server_id='srv-a', tenant='prj-1')
    second = nova.add_server('scratch-1', 'hv1', server_id='srv-b', tenant='prj-2')
    raw = {'allow_delete': True, 'servers': {'scratch-1': {'action': 'delete'}}}
    policy = module(nova).load_policy(raw)
    entries, _remaining = drainer(nova, policy).drain()
    assert [e['action'] for e in entries] == ['live_migrate'] * 2
    assert all(any("server name 'scratch-1' ignored" in note for note in e['notes']) for e in entries)
    assert nova.calls_for(first, 'delete_server') == [] and nova.calls_for(second, 'delete_server') == []
    assert first in nova.servers and second in nova.servers


def test_a_delete_by_name_is_refused_even_for_a_unique_name():
    nova = cloud()
    sid = nova.add_server('scratch-1', 'hv1')
    policy = module(nova).load_policy({'allow_delete': True, 'servers': {'scratch-1': {'action': 'delete'}}})
    entries, _remaining = drainer(nova, policy).drain()
    assert entries[0]['action'] == 'live_migrate'
    assert "delete and rebuild overrides need the server id" in ' '.join(entries[0]['notes'])
    assert sid in nova.servers


def test_a_unique_name_override_applies():
    nova = cloud()
    sid = nova.add_server('db-1', 'hv1')
    nova.add_server('db-2', 'hv2')
    policy = module(nova).load_policy({'servers': {'db-1': {'action': 'stop'}}})
    entries, _remaining = drainer(nova, policy).drain()
    assert (entries[0]['action'], entries[0]['source'], entries[0]['outcome']) == ('stop', 'override', 'done')
    assert nova.servers[sid]['status'] == 'SHUTOFF' and nova.servers[sid][HOST] == 'hv1'


def test_a_name_used_elsewhere_in_the_cloud_is_not_unique():
    nova = cloud()
    sid = nova.add_server('db-1', 'hv1', tenant='prj-1')
    nova.add_server('db-1', 'hv3', server_id='srv-elsewhere', tenant='prj-2')
    policy = module(nova).load_policy({'servers': {'db-1': {'action': 'stop'}}})
    entries, _remaining = drainer(nova, policy).drain()
    assert entries[0]['action'] == 'live_migrate'
    assert nova.servers[sid][HOST] != 'hv1'


def test_an_id_override_deletes():
    nova = cloud()
    sid = nova.add_server('scratch-1', 'hv1', server_id='0e9d2a9c-6c55-4b8e-9d55-0f3f4c2b1a10')
    other = nova.add_server('scratch-1', 'hv1', server_id='srv-other', tenant='prj-2')
    policy = module(nova).load_policy({'allow_delete': True, 'servers': {sid: {'action': 'delete'}}})
    entries, _remaining = drainer(nova, policy).drain()
    assert [(e['id'], e['action'], e['outcome']) for e in sorted(entries, key=lambda e: e['id'])] == [
        (sid, 'delete', 'done'), (other, 'live_migrate', 'done')]
    assert sid not in nova.servers and other in nova.servers


def test_destinations_and_planned_actions_match_server_ids_only():
    nova = cloud()
    web = nova.add_server('web', 'hv1')
    # A tenant names their server after another server's id.
    mimic = nova.add_server(web, 'hv1', server_id='srv-mimic')
    drain = drainer(nova, destinations={'web': 'hv3', web: 'hv2'},
                    planned_actions={'web': 'cold_migrate', web: 'cold_migrate'})
    plan = {e['id']: e for e in drain.plan(nova.servers_on_host('hv1'))}
    assert (plan[web]['action'], plan[web]['requested_destination']) == ('cold_migrate', 'hv2')
    assert (plan[mimic]['action'], plan[mimic]['requested_destination']) == ('live_migrate', None)

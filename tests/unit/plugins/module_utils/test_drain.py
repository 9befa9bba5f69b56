# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime
import json

import pytest

from fake_nova import HOST, TASK, FakeClock, FakeNova, make_waiter  # pylint: disable=import-error

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils.drain import HostDrain, summarize
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaError
from ansible_collections.cloudmaint.openstack.plugins.module_utils.policy import Policy
from ansible_collections.cloudmaint.openstack.plugins.module_utils.server_records import RecordStore

NOW = datetime.datetime(2026, 11, 21, 12, 0, 0, tzinfo=datetime.timezone.utc)


def cloud():
    return FakeNova(error=NovaError, hosts=['hv1', 'hv2', 'hv3'])


def drainer(nova, policy=None, campaign='c1', clock=None, **kwargs):
    return HostDrain(nova, make_waiter(clock or FakeClock()), Policy(policy or {}), 'hv1', campaign,
                     now=lambda: NOW, **kwargs)


def by_name(entries):
    return {e['name']: e for e in entries}


def keep(nova, sid, action, campaign='c1', prior='ACTIVE'):
    """A record an earlier run of ``campaign`` kept of ``sid`` (origin hv1)."""
    RecordStore(nova).put(sid, cm.new_record(action, 'hv1', campaign, NOW, prior_status=prior))


def kept(nova, sid, campaign='c1'):
    return RecordStore(nova).records('hv1', campaign)[0][sid][0]


RECORD_KEEPING = ('create_aggregate', 'set_aggregate_metadata', 'delete_aggregate')


def actions(nova):
    """What was done to servers and services, without the writes that keep the records."""
    return [w for w in nova.writes() if w not in RECORD_KEEPING]


# ---------------------------------------------------------------- planning

def test_plan_gives_each_server_its_outcome():
    nova = cloud()
    keep(nova, nova.add_server('a-done', 'hv1', status='SHUTOFF'), 'stop')
    keep(nova, nova.add_server('b-other-campaign', 'hv1', status='SHUTOFF'), 'stop', 'c0')
    nova.add_server('c-error', 'hv1', status='ERROR')
    nova.add_server('d-shelved', 'hv1', status='SHELVED')
    nova.add_server('e-busy', 'hv1', task='rebooting')
    nova.add_server('f-web', 'hv1')
    nova.calls.clear()
    drain = drainer(nova)
    drain.load_records()
    entries = drain.plan(nova.servers_on_host('hv1'))
    assert [e['name'] for e in entries] == ['a-done', 'b-other-campaign', 'c-error', 'd-shelved',
                                            'e-busy', 'f-web']
    plan = by_name(entries)
    assert plan['a-done']['outcome'] == 'already_done'
    assert plan['a-done']['action'] == 'none'
    assert plan['a-done']['reason'] == 'campaign c1 already stopped this server'
    # Another campaign's record does not count.
    assert plan['b-other-campaign'].get('outcome') is None
    assert plan['b-other-campaign']['chain'] == ['cold_migrate', 'leave']
    assert plan['c-error']['outcome'] == 'left_in_error'
    assert plan['c-error']['action'] == 'leave'
    assert plan['d-shelved']['outcome'] == 'at_rest'
    assert plan['d-shelved']['action'] == 'none'
    assert plan['e-busy']['outcome'] == 'busy'
    assert plan['f-web'].get('outcome') is None
    assert plan['f-web']['action'] == 'live_migrate'
    assert plan['f-web']['chain'] == ['live_migrate', 'cold_migrate', 'stop']
    assert plan['f-web']['sla_class'] == 'cattle' and plan['f-web']['from'] == 'hv1'
    assert nova.calls == []


def test_plan_uses_the_operator_destination_or_hints_the_roomiest_host():
    nova = cloud()
    nova.add_server('web-1', 'hv1', ram=2048)
    nova.add_server('web-2', 'hv1', ram=2048)
    nova.add_server('web-3', 'hv1', ram=2048)
    hints = [{'name': 'hv1', 'usable': True, 'free_ram_mb': 99999, 'zone': 'nova'},
             {'name': 'hv2', 'usable': True, 'free_ram_mb': 3000, 'zone': 'nova'},
             {'name': 'hv3', 'usable': True, 'free_ram_mb': 4000, 'zone': 'nova'},
             {'name': 'hv4', 'usable': False, 'free_ram_mb': 99999, 'zone': 'nova'}]
    drain = drainer(nova, destinations={'srv-web-1': 'hv2'})
    plan = by_name(drain.plan(nova.servers_on_host('hv1'), hint_hosts=hints))
    assert plan['web-1']['requested_destination'] == 'hv2'
    assert plan['web-1']['likely_destination'] == 'hv2'
    # hv3 has most room (4000), then hv2 (3000) once hv3 is down to 1952.
    assert plan['web-2']['requested_destination'] is None
    assert plan['web-2']['likely_destination'] == 'hv3'
    assert plan['web-3']['likely_destination'] == 'hv2'


# ---------------------------------------------------------------- check mode

def test_check_mode_plans_and_changes_nothing():
    nova = cloud()
    nova.add_server('web', 'hv1')
    nova.add_server('off', 'hv1', status='SHUTOFF')
    nova.add_server('busy', 'hv1', task='migrating', pending={'status': 'ACTIVE'})
    drain = drainer(nova, check_mode=True)
    service = drain.set_enabled(False)
    entries, remaining = drain.drain()
    assert service['status'] == 'disabled'
    assert service['disabled_reason'] == 'cloudmaint: campaign c1: host maintenance'
    assert nova.services['hv1']['status'] == 'enabled'
    plan = by_name(entries)
    assert plan['web']['outcome'] == 'planned' and plan['web']['action'] == 'live_migrate'
    assert plan['off']['outcome'] == 'planned' and plan['off']['action'] == 'cold_migrate'
    assert plan['busy']['outcome'] == 'busy'
    assert remaining == []
    assert drain.changed is True
    assert nova.calls == []
    assert all(not k.startswith(cm.PREFIX) for s in nova.servers.values() for k in s['metadata'])
    assert nova.aggregate_store == {}
    assert all(not s['locked'] for s in nova.servers.values())
    json.dumps(entries)   # plain data, fit for a module result


def test_check_mode_with_nothing_to_do_reports_no_change():
    nova = cloud()
    nova.add_server('shelved', 'hv1', status='SHELVED')
    drain = drainer(nova, check_mode=True)
    entries, _remaining = drain.drain()
    assert entries[0]['outcome'] == 'at_rest'
    assert drain.changed is False


# ---------------------------------------------------------------- draining

def test_drain_handles_every_server_by_its_policy_chain():
    nova = cloud()
    web = nova.add_server('web', 'hv1')
    flaky = nova.add_server('flaky', 'hv1')
    nova.script(flaky, live='error')
    off = nova.add_server('off', 'hv1', status='SHUTOFF')
    drain = drainer(nova)
    entries, remaining = drain.drain()
    result = by_name(entries)
    assert remaining == []
    assert nova.servers_on_host('hv1') == []
    assert all(e['outcome'] == 'done' for e in entries), entries
    assert result['web']['action'] == 'live_migrate' and result['web']['fallbacks_used'] == []
    assert result['web']['to'] == nova.servers[web][HOST] != 'hv1'
    # live failed -> its first fallback.
    assert result['flaky']['action'] == 'cold_migrate'
    assert result['flaky']['fallbacks_used'] == ['cold_migrate']
    assert [(a['action'], a['outcome']) for a in result['flaky']['attempts']] == [
        ('live_migrate', 'failed'), ('cold_migrate', 'done')]
    assert result['flaky']['to'] == nova.servers[flaky][HOST] != 'hv1'
    assert nova.servers[flaky]['status'] == 'ACTIVE'
    assert result['off']['action'] == 'cold_migrate'
    assert nova.servers[off]['status'] == 'SHUTOFF'
    assert drain.changed is True
    summary = summarize(entries, remaining)
    assert summary == {'servers': 3, 'by_action': {'live_migrate': 1, 'cold_migrate': 2},
                       'by_outcome': {'done': 3}, 'fallbacks_used': 1, 'remaining': []}


def test_drain_writes_the_record_before_each_action():
    nova = cloud()
    web = nova.add_server('web', 'hv1')
    flaky = nova.add_server('flaky', 'hv1')
    nova.script(flaky, live='error')
    drainer(nova, max_parallel=1).drain()
    live = nova.call_index('live_migrate', web)
    assert nova.call_index('set_aggregate_metadata', web) < live
    assert nova.calls_for(web, 'set_aggregate_metadata') == [
        ('set_aggregate_metadata', web, 'live_migrate|moved|ACTIVE|2026-11-21T12:00:00Z|')]
    assert kept(nova, web) == cm.CampaignRecord(action='live_migrate', state='moved', origin_host='hv1',
                                                campaign='c1', at=NOW, prior_status='ACTIVE')
    # The fallback is recorded too, after the failed action and before its own.
    first_live = nova.call_index('live_migrate', flaky)
    second_record = nova.call_index('set_aggregate_metadata', flaky, start=first_live)
    assert second_record < nova.call_index('cold_migrate', flaky)
    assert (kept(nova, flaky).action, kept(nova, flaky).state) == ('cold_migrate', 'moved')
    assert all(not k.startswith(cm.PREFIX) for s in nova.servers.values() for k in s['metadata'])


def test_last_fallback_stop_keeps_the_server_on_the_host_stopped():
    nova = cloud()
    sid = nova.add_server('stuck', 'hv1')
    nova.script(sid, live='error', cold='refuse')
    entries, remaining = drainer(nova).drain()
    entry = entries[0]
    assert entry['outcome'] == 'done' and entry['action'] == 'stop'
    assert entry['fallbacks_used'] == ['cold_migrate', 'stop']
    assert entry['to'] == 'hv1'
    assert nova.servers[sid]['status'] == 'SHUTOFF'
    assert (kept(nova, sid).state, kept(nova, sid).prior_status, kept(nova, sid).locked) == (
        'stopped', 'ACTIVE', True)
    assert nova.servers[sid]['locked'] is True
    assert remaining == []


def test_server_whose_chain_fails_is_reported_and_remains():
    nova = cloud()
    sid = nova.add_server('panda', 'hv1', metadata={'sla': 'pandas'})
    nova.script(sid, live='error')
    entries, remaining = drainer(nova).drain()
    entry = entries[0]
    assert entry['outcome'] == 'failed'
    assert entry['error'] == 'migration error: live migration failed (scripted)'
    assert entry['fallbacks_used'] == []
    assert remaining == [{'id': sid, 'name': 'panda', 'status': 'ACTIVE', 'task_state': None,
                          'why': 'still ACTIVE'}]
    assert summarize(entries, remaining)['remaining'] == ['panda']


def test_operator_destination_refused_falls_back_to_the_scheduler():
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    entries, _remaining = drainer(nova, destinations={sid: 'hv9'}).drain()
    entry = entries[0]
    assert entry['outcome'] == 'done' and entry['action'] == 'live_migrate'
    assert entry['destination_fallback'] is True
    assert entry['fallbacks_used'] == []
    assert entry['attempts'][0]['refused_destination'] == {
        'host': 'hv9', 'error': 'Compute host hv9 could not be found.'}
    assert entry['to'] == nova.servers[sid][HOST]
    assert entry['to'] in ('hv2', 'hv3')
    assert [c[2] for c in nova.calls_for(sid, 'live_migrate')] == [None]


def test_operator_destination_the_scheduler_rejects_falls_back_to_a_live_migration():
    nova = cloud()
    nova.services['hv3']['status'] = 'disabled'
    sid = nova.add_server('web', 'hv1')
    entries, _remaining = drainer(nova, destinations={sid: 'hv3'}).drain()
    entry = entries[0]
    assert entry['outcome'] == 'done'
    assert entry['action'] == 'live_migrate'
    assert entry.get('destination_fallback') is True


def test_shelve_partial_shelves_the_server_on_the_host():
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    policy = {'servers': {sid: {'action': 'shelve_partial'}}}
    entries, remaining = drainer(nova, policy=policy).drain()
    assert entries[0]['outcome'] == 'done' and entries[0]['to'] == 'hv1'
    assert nova.servers[sid]['status'] == 'SHELVED'
    assert kept(nova, sid).action == 'shelve_partial'
    assert remaining == []


def test_shelve_partial_is_reported_under_its_policy_name():
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    policy = {'servers': {sid: {'action': 'shelve_partial'}}}
    entries, remaining = drainer(nova, policy=policy).drain()
    assert entries[0]['chain'] == ['shelve_partial']
    assert entries[0]['action'] == 'shelve_partial'
    assert summarize(entries, remaining)['by_action'] == {'shelve_partial': 1}


def test_delete_is_not_recorded():
    nova = cloud()
    sid = nova.add_server('scratch', 'hv1')
    policy = {'allow_delete': True, 'servers': {sid: {'action': 'delete'}}}
    entries, remaining = drainer(nova, policy=policy).drain()
    assert entries[0]['outcome'] == 'done' and entries[0]['action'] == 'delete'
    assert entries[0]['to'] is None
    assert sid not in nova.servers
    assert nova.calls_for(sid, 'set_aggregate_metadata') == [] and nova.aggregate_store == {}
    assert remaining == []


def test_a_rerun_resumes_instead_of_acting_again():
    nova = cloud()
    stays = nova.add_server('kept', 'hv1')
    paused = nova.add_server('paused', 'hv1', status='PAUSED')
    policy = {'servers': {stays: {'action': 'leave'}, paused: {'action': 'leave'}}}
    entries, remaining = drainer(nova, policy=policy).drain()
    first = by_name(entries)
    assert first['kept']['outcome'] == 'done' and nova.servers[stays]['status'] == 'SHUTOFF'
    assert first['paused']['attempts'][0]['detail'] == 'kept as PAUSED'
    assert kept(nova, paused).state == 'left'
    assert remaining == []
    writes = len(nova.calls)
    again, remaining = drainer(nova, policy=policy).drain()
    assert [e['outcome'] for e in again] == ['already_done', 'already_done']
    assert len(nova.calls) == writes
    assert remaining == []


def test_drain_waits_for_tasks_already_running_before_planning():
    nova = cloud()
    # A migration an interrupted run started: it lands on hv2 once it settles.
    moving = nova.add_server('moving', 'hv1', status='MIGRATING', task='migrating',
                             pending={'status': 'ACTIVE', 'host': 'hv2'})
    nova.add_server('web', 'hv1')
    entries, remaining = drainer(nova).drain()
    assert [e['name'] for e in entries] == ['web']
    assert nova.calls_for(moving) == []
    assert remaining == []


def test_progress_is_called_once_per_server_handled():
    nova = cloud()
    for name in ('a', 'b', 'c'):
        nova.add_server(name, 'hv1')
    nova.add_server('shelved', 'hv1', status='SHELVED')
    ticks = []
    drainer(nova).drain(progress=lambda: ticks.append(1))
    assert len(ticks) == 3


def test_remaining_lists_what_would_not_survive_the_reboot():
    nova = cloud()
    active = nova.add_server('active', 'hv1')
    nova.add_server('off', 'hv1', status='SHUTOFF')
    keep(nova, nova.add_server('left-paused', 'hv1', status='PAUSED'), 'leave', prior='PAUSED')
    other = nova.add_server('other-campaign-paused', 'hv1', status='PAUSED')
    keep(nova, other, 'leave', campaign='c0', prior='PAUSED')
    nova.add_server('elsewhere', 'hv2')
    drain = drainer(nova)
    drain.load_records()
    assert drain.remaining() == [
        {'id': active, 'name': 'active', 'status': 'ACTIVE', 'task_state': None, 'why': 'still ACTIVE'},
        {'id': other, 'name': 'other-campaign-paused', 'status': 'PAUSED', 'task_state': None,
         'why': 'still PAUSED'}]


# ---------------------------------------------------------------- the compute service

def test_set_enabled_disables_once_then_leaves_it():
    nova = cloud()
    drain = drainer(nova, reason='kernel 6.1')
    result = drain.set_enabled(False)
    assert result['status'] == 'disabled'
    assert result['disabled_reason'] == 'cloudmaint: campaign c1: kernel 6.1'
    assert drain.changed is True
    assert nova.writes() == ['update_service']
    again = drainer(nova, reason='kernel 6.1')
    result = again.set_enabled(False)
    assert result['status'] == 'disabled' and 'note' not in result
    assert again.changed is False
    assert nova.writes() == ['update_service']


@pytest.mark.parametrize('reason, shown', [('RMA ticket 4242', 'RMA ticket 4242'),
                                           (None, 'no reason given')])
def test_set_enabled_leaves_a_host_disabled_by_someone_else(reason, shown):
    nova = FakeNova(error=NovaError, hosts=[{'name': 'hv1', 'status': 'disabled', 'disabled_reason': reason}])
    drain = drainer(nova)
    result = drain.set_enabled(False)
    assert result['note'] == 'disabled by someone else (%s): left as it is' % shown
    assert result['disabled_reason'] == reason
    assert drain.changed is False
    assert nova.calls == []


def test_set_enabled_enables_a_host_this_collection_disabled():
    nova = FakeNova(error=NovaError,
                    hosts=[{'name': 'hv1', 'status': 'disabled',
                            'disabled_reason': 'cloudmaint: campaign c1: host maintenance'}])
    drain = drainer(nova)
    result = drain.set_enabled(True)
    assert result['status'] == 'enabled' and result['disabled_reason'] is None
    assert nova.calls == [('update_service', 'svc-hv1', {'status': 'enabled'})]
    assert drainer(nova).set_enabled(True)['status'] == 'enabled'
    assert len(nova.calls) == 1


def test_unknown_host_names_the_known_ones():
    nova = FakeNova(error=NovaError, hosts=['hv3', 'hv2'])
    with pytest.raises(LookupError) as info:
        drainer(nova).set_enabled(False)
    assert str(info.value) == ("unknown host 'hv1': no nova-compute service by that name "
                               "(known: hv2, hv3)")


# ---------------------------------------------------------------- concurrency

def _busy_host(count=4):
    nova = cloud()
    for index in range(count):
        nova.add_server('web-%d' % index, 'hv1')
    return nova


def test_live_migrations_per_host_are_limited():
    nova = _busy_host()
    clock = FakeClock(real_sleep=0.003)
    entries, remaining = drainer(nova, clock=clock, max_parallel=4,
                                 max_parallel_per_host=1).drain()
    assert [e['outcome'] for e in entries] == ['done'] * 4
    assert remaining == []
    assert nova.max_live_in_flight['hv1'] == 1


def test_live_migrations_per_host_run_side_by_side_up_to_the_limit():
    nova = _busy_host()
    clock = FakeClock(real_sleep=0.003)
    drainer(nova, clock=clock, max_parallel=4, max_parallel_per_host=2).drain()
    assert nova.max_live_in_flight['hv1'] == 2
    assert nova.live_in_flight['hv1'] == 0


def test_per_host_limit_comes_from_the_policy_when_not_given():
    nova = _busy_host()
    clock = FakeClock(real_sleep=0.003)
    policy = {'live_migration': {'medium': {'cattle': {'max_parallel_per_host': 3}}}}
    drainer(nova, policy=policy, clock=clock).drain()
    assert 2 <= nova.max_live_in_flight['hv1'] <= 3
    nova = _busy_host()
    drainer(nova, clock=FakeClock(real_sleep=0.003)).drain()
    assert nova.max_live_in_flight['hv1'] == 1


def test_no_server_is_left_with_a_task():
    nova = _busy_host(6)
    drainer(nova, clock=FakeClock(real_sleep=0.001), max_parallel=3,
            max_parallel_per_host=3).drain()
    assert all(s[TASK] is None and s['status'] == 'ACTIVE' for s in nova.servers.values())


# ---------------------------------------------------------------- the Compute API failing

def test_an_action_the_api_never_takes_fails_without_a_fallback():
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    nova.script(sid, unavailable={'os-migrateLive': 9})
    entries, remaining = drainer(nova).drain()
    entry = entries[0]
    assert entry['outcome'] == 'failed' and entry['api_error'] is True
    assert entry['fallbacks_used'] == []
    assert entry['error'] == ('POST /servers/%s/action: Service Unavailable (HTTP 503, '
                              '4 attempts); not tried after this API failure: cold_migrate, stop'
                              % sid)
    # Neither migrated cold nor stopped for an outage of the API; locked, as it stays on the host.
    assert actions(nova) == ['lock']
    assert nova.servers[sid]['status'] == 'ACTIVE'
    assert [r['name'] for r in remaining] == ['web']


def test_a_passing_503_does_not_change_the_action():
    nova = cloud()
    flaky = nova.add_server('flaky', 'hv1')
    lost = nova.add_server('lost', 'hv1')
    nova.script(flaky, unavailable={'os-migrateLive': 2})
    nova.script(lost, lost_answer={'os-migrateLive': 1})
    entries, remaining = drainer(nova).drain()
    assert [(e['action'], e['outcome'], e['fallbacks_used']) for e in entries] == [
        ('live_migrate', 'done', [])] * 2
    assert len(nova.calls_for(lost, 'live_migrate')) == 1
    assert remaining == []


# ---------------------------------------------------------------- the host going down

def test_nothing_more_is_started_or_waited_for_once_the_compute_service_is_down():
    nova = cloud()
    for name in ('a', 'b', 'c'):
        nova.script(nova.add_server(name, 'hv1'), live='hot')
    # Up for the checks before a's migration and for its first poll, then down: the migration
    # stays where it is (nothing progresses on a dead host).
    nova.service_down_after('hv1', 3)
    clock = FakeClock()
    drain = drainer(nova, clock=clock, max_parallel=1, service_check_s=0)
    entries, _remaining = drain.drain()
    assert [(e['name'], e['outcome'], e['error'], e['service_down']) for e in entries] == [
        (name, 'failed', 'compute service down', True) for name in ('a', 'b', 'c')]
    a, b, c = ('srv-%s' % name for name in 'abc')
    assert actions(nova) == ['live_migrate']
    assert nova.call_index('set_aggregate_metadata', a) < nova.call_index('live_migrate', a)
    assert nova.calls_for(a)[1] == ('live_migrate', a, None)
    # The migration under way is left to Nova: no abort, no fallback.
    assert nova.migration_records[0]['status'] not in ('completed', 'error', 'cancelled')
    assert entries[0]['fallbacks_used'] == []
    assert clock() - 1000 < 10
    assert drain.outage_message(entries) == (
        'compute service of hv1 went down during the drain; still on it: a, b, c (state down; '
        'nothing more was started, migrations under way are left to Nova)')


def test_a_host_forced_down_gets_no_action_at_all():
    nova = cloud()
    nova.add_server('web', 'hv1')
    nova.service_down_after('hv1', 0, forced=True)
    drain = drainer(nova)
    entries, _remaining = drain.drain()
    assert entries[0]['outcome'] == 'failed' and entries[0]['error'] == 'compute service down'
    assert nova.calls == [] and drain.changed is False
    assert '(forced down;' in drain.outage_message(entries)


def test_the_compute_service_is_checked_at_most_every_10s_whatever_the_workers():
    nova = _busy_host(4)
    for sid in nova.servers:
        nova.script(sid, live='hot')   # forced to complete after the class's 120 s
    clock = FakeClock(real_sleep=0.001)
    start = clock()
    entries, remaining = drainer(nova, clock=clock, max_parallel=4,
                                 max_parallel_per_host=4).drain()
    assert [e['outcome'] for e in entries] == ['done'] * 4 and remaining == []
    # Over a hundred polls in all; one look at the service per 10 s of them.
    assert clock.sleeps > 100
    assert 1 <= nova.service_reads['hv1'] <= (clock() - start) / 10 + 1


def test_each_server_waits_for_its_own_class_not_the_longest_one():
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    nova.script(sid, queued=10 ** 6)   # never starts: waited for until the timeout
    # medium cattle: 120 s to complete, plus 600 s; the policy's longest (pandas) is 1800 s.
    entries, _remaining = drainer(nova, action_timeout=2400, timeout_slack=600).drain()
    assert entries[0]['sla_class'] == 'cattle'
    assert entries[0]['error'] == 'live migration %d still queued after 720s; abort asked' % (
        nova.migration_records[0]['id'])


def test_planned_cold_migration_skips_the_live_attempt_nova_would_refuse():
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    other = nova.add_server('db', 'hv1')
    policy = {'servers': {other: {'action': 'live_migrate', 'fallbacks': []}}}
    drain = drainer(nova, policy=policy, destinations={sid: 'hv2'},
                    planned_actions={sid: 'cold_migrate', other: 'cold_migrate'})
    plan = by_name(drain.plan(nova.servers_on_host('hv1')))
    assert plan['web']['action'] == 'cold_migrate'
    assert plan['web']['chain'] == ['cold_migrate', 'stop']
    assert any('campaign plan starts at cold_migrate' in note for note in plan['web']['notes'])
    # db has no cold fallback: the planned action is not its to take
    assert plan['db']['action'] == 'live_migrate' and plan['db']['chain'] == ['live_migrate']
    entries, remaining = drain.drain()
    assert remaining == []
    assert nova.calls_for(sid, 'live_migrate') == []
    assert [c[2] for c in nova.calls_for(sid, 'cold_migrate')] == ['hv2']
    assert by_name(entries)['web']['to'] == 'hv2'


def test_group_member_refused_by_every_host_is_tried_again_while_the_scheduler_catches_up():
    nova = cloud()
    member = nova.add_server('db-1', 'hv1')
    nova.servers[member]['server_groups'] = ['grp-db']
    loner = nova.add_server('web', 'hv1')
    # planned host refused, then the scheduler's pick, then one more time: the view catches up
    nova.script(member, rejected=3)
    nova.script(loner, rejected=2)
    clock = FakeClock()
    policy = {'servers': {member: {'action': 'live_migrate', 'fallbacks': []},
                          loner: {'action': 'live_migrate', 'fallbacks': []}}}
    entries, remaining = drainer(nova, policy=policy, clock=clock,
                                 destinations={member: 'hv2', loner: 'hv2'}).drain()
    got = by_name(entries)
    assert got['db-1']['outcome'] == 'done' and got['db-1']['group_retries'] == 2
    assert nova.servers[member][HOST] == 'hv2'
    assert [c[2] for c in nova.calls_for(member, 'live_migrate')] == ['hv2', None, 'hv2', 'hv2']
    # not in a group: no reason to think the scheduler will change its mind
    assert got['web']['outcome'] == 'failed' and 'group_retries' not in got['web']
    assert [r['name'] for r in remaining] == ['web']

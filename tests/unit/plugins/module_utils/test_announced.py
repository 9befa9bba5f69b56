# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One decision per server: what the notice announced is recorded where only administrators
write, and the drain does that, not what the server's labels say after the notice."""

from __future__ import annotations

import datetime

import pytest

from fake_nova import FakeClock, FakeNova, make_waiter  # pylint: disable=import-error

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils import notice as n
from ansible_collections.cloudmaint.openstack.plugins.module_utils import notice_run as nr
from ansible_collections.cloudmaint.openstack.plugins.module_utils.drain import HostDrain
from ansible_collections.cloudmaint.openstack.plugins.module_utils.policy import Policy, as_announced
from ansible_collections.cloudmaint.openstack.plugins.module_utils.server_records import RecordStore

NOW = datetime.datetime(2026, 12, 5, 12, 0, 0, tzinfo=datetime.timezone.utc)
# Owners may choose among live_migrate, shelve_partial and stop.
POLICY = {'owner_choice': {'enabled': True, 'actions': ['live_migrate', 'shelve_partial', 'stop']}}


def cloud():
    return FakeNova(error=nr.NovaError, hosts=['hv1', 'hv2'])


def notice(nova, campaign='c1', **kwargs):
    run = nr.NoticeRun(nova, campaign=campaign, allow=n.AllowList(), utcnow=lambda: NOW, deliver=None,
                       new_event_id=lambda: 'abcdef012345', **kwargs)
    entries = run.plan(nova.servers_on_host('hv1'), Policy(POLICY))
    run.post(entries)
    run.finish_webhooks()
    return entries


def drain(nova, policy=None):
    engine = HostDrain(nova, make_waiter(FakeClock()), Policy(policy or POLICY), 'hv1', 'c1', now=lambda: NOW)
    engine.set_enabled(False)
    entries, _remaining = engine.drain()
    return {e['name']: e for e in entries}


def announced(nova, sid):
    records = RecordStore(nova).records('hv1', 'c1')[0].get(sid) or []
    return [r.chain for r in records if r.state == cm.STATE_ANNOUNCED]


# ---------------------------------------------------------------- the record

def test_an_announcement_keeps_the_whole_chain_in_one_value():
    rec = cm.announcement(('live_migrate', 'cold_migrate', 'stop'), 'hv1', 'c1', NOW, prior_status='ACTIVE')
    value = cm.encode(rec)
    assert value == 'live_migrate>cold_migrate>stop|announced|ACTIVE|2026-12-05T12:00:00Z|'
    back, note = cm.decode(value, 'hv1', 'c1')
    assert note is None and back == rec and back.action == 'live_migrate'
    assert back.to_dict()['chain'] == ['live_migrate', 'cold_migrate', 'stop']


@pytest.mark.parametrize('value', ['live_migrate>teleport|announced|ACTIVE|2026-12-05T12:00:00Z|',
                                   '|announced|ACTIVE|2026-12-05T12:00:00Z|'])
def test_a_garbled_announcement_is_ignored(value):
    rec, note = cm.decode(value, 'hv1', 'c1')
    assert rec is None and 'garbled' in note


def test_restore_has_nothing_to_do_for_a_server_only_announced():
    rec = cm.announcement(('stop',), 'hv1', 'c1', NOW)
    assert cm.restore_step(rec, 'ACTIVE', 'hv1', True) == ('none', 'announced by the notice, never acted on')


# ---------------------------------------------------------------- the decision

def decision(metadata, status='ACTIVE', policy=None):
    return Policy(policy or POLICY).resolve({'id': 's1', 'name': 'web', 'status': status, 'metadata': metadata}, 'medium')


def test_the_announced_chain_wins_over_a_later_owner_choice():
    later = decision({'cloudmaint:owner_action': 'stop'})
    done = as_announced(later, ('live_migrate', 'cold_migrate'), Policy(POLICY))
    assert (done.action, done.chain, done.source) == ('live_migrate', ['live_migrate', 'cold_migrate'], 'announced')
    assert 'needs a new notice' in done.notes[-1]


def test_the_same_chain_leaves_the_decision_as_it_is():
    now = decision({})
    assert as_announced(now, tuple(now.chain), Policy(POLICY)) is now


def test_the_announced_chain_is_adjusted_to_the_status_now():
    stopped = decision({'cloudmaint:owner_action': 'stop'}, status='SHUTOFF')
    done = as_announced(stopped, ('live_migrate', 'cold_migrate'), Policy(POLICY))
    assert done.chain == ['cold_migrate']


def test_an_announced_delete_the_policy_no_longer_allows_is_dropped():
    now = decision({})
    done = as_announced(now, ('delete',), Policy(POLICY))
    assert done is now


# ---------------------------------------------------------------- notice, then drain

def test_the_drain_does_what_the_notice_announced_though_the_owner_changed_their_mind():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', metadata={'cloudmaint:owner_action': 'shelve_partial'})
    [entry] = notice(nova, announce=True)
    assert entry['announced'][0] == 'shelve_partial'
    assert announced(nova, sid) == [tuple(entry['announced'])]
    nova.servers[sid]['metadata']['cloudmaint:owner_action'] = 'stop'    # after the notice
    got = drain(nova)['web']
    assert (got['action'], got['source'], got['outcome']) == ('shelve_partial', 'announced', 'done'), got
    assert [r.state for r in RecordStore(nova).records('hv1', 'c1')[0][sid]] == ['shelved']


def test_a_new_notice_is_what_makes_a_changed_choice_count():
    nova = cloud()
    sid = nova.add_server('web', 'hv1', metadata={'cloudmaint:owner_action': 'shelve_partial'})
    notice(nova, announce=True)
    nova.servers[sid]['metadata']['cloudmaint:owner_action'] = 'stop'
    [entry] = notice(nova, announce=True)      # a re-run of the notice: another action, a new notice
    assert entry['notified']['metadata'] == 'replaced' and entry['announced'][0] == 'stop'
    assert drain(nova)['web']['action'] == 'stop'


def test_a_kept_notice_keeps_its_announcement():
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    notice(nova, announce=True)
    first = announced(nova, sid)
    [entry] = notice(nova, announce=True)
    assert entry['notified']['metadata'] == 'unchanged' and 'announced' not in entry
    assert announced(nova, sid) == first


def test_without_a_campaign_or_in_check_mode_nothing_is_recorded():
    # The module announces only when it was given a campaign (a manual notice is not one).
    nova = cloud()
    sid = nova.add_server('web', 'hv1')
    notice(nova, announce=False)
    notice(nova, check_mode=True, announce=True)
    assert announced(nova, sid) == []


def test_announcements_alone_do_not_make_a_campaign_one_to_restore():
    nova = cloud()
    a, b = nova.add_server('a', 'hv1'), nova.add_server('b', 'hv1')
    store = RecordStore(nova)
    store.put(a, cm.announcement(('live_migrate',), 'hv1', 'noticed-only', NOW))
    store.put(b, cm.new_record('stop', 'hv1', 'drained', NOW, prior_status='ACTIVE'))
    assert store.campaigns('hv1') == {'drained'}


def test_a_new_announcement_keeps_the_lock_the_drain_set():
    # A server in ERROR gets no guest notice (Nova does not change its metadata), so every re-run
    # of the notice announces it again; the drain's lock must survive for restore to release it.
    nova = cloud()
    sid = nova.add_server('broken', 'hv1', status='ERROR')
    notice(nova, announce=True)
    store = RecordStore(nova)
    [first] = store.records('hv1', 'c1')[0][sid]
    store.put(sid, cm.with_lock(first))
    [entry] = notice(nova, announce=True)
    assert entry['notified']['metadata'] == 'not_writable' and entry['announced'] == ['leave']
    [again] = RecordStore(nova).records('hv1', 'c1')[0][sid]
    assert (again.state, again.locked) == (cm.STATE_ANNOUNCED, True)

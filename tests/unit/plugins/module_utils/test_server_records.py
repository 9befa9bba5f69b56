# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime

import pytest

from fake_nova import FakeNova  # pylint: disable=import-error

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils import server_records as sr
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaError

NOW = datetime.datetime(2026, 11, 21, 12, 0, 0, tzinfo=datetime.timezone.utc)


def cloud():
    return FakeNova(error=NovaError, hosts=['hv1', 'hv2'])


def rec(action='stop', host='hv1', campaign='c1', prior='ACTIVE', at=NOW):
    return cm.new_record(action, host, campaign, at, prior_status=prior)


def aggregates_by_name(nova):
    return {a['name']: a for a in nova.aggregate_store.values()}


def ledger(nova, campaign='c1', host='hv1'):
    return aggregates_by_name(nova)[sr.aggregate_name(campaign, host)]


def test_put_keeps_one_aggregate_per_campaign_and_origin_host():
    nova = cloud()
    store = sr.RecordStore(nova)
    store.put('srv-a', rec())
    store.put('srv-b', rec('live_migrate'))
    store.put('srv-c', rec(campaign='c2'))
    store.put('srv-d', rec(host='hv2'))
    assert sorted(aggregates_by_name(nova)) == [
        'cloudmaint-ledger:c1:hv1', 'cloudmaint-ledger:c1:hv2', 'cloudmaint-ledger:c2:hv1']
    kept = ledger(nova)
    assert kept['hosts'] == []
    assert kept['metadata'] == {
        'cloudmaint:campaign': 'c1', 'cloudmaint:host': 'hv1',
        'srv-a': 'stop|stopped|ACTIVE|2026-11-21T12:00:00Z|',
        'srv-b': 'live_migrate|moved|ACTIVE|2026-11-21T12:00:00Z|'}
    assert nova.writes().count('create_aggregate') == 3


def test_records_read_back_what_put_wrote_from_a_fresh_store():
    nova = cloud()
    sr.RecordStore(nova).put('srv-a', cm.with_lock(rec('leave', prior='PAUSED')))
    sr.RecordStore(nova).put('srv-b', rec(campaign='c2'))
    by_server, notes = sr.RecordStore(nova).records('hv1', 'c1')
    assert notes == []
    assert by_server == {'srv-a': [cm.with_lock(rec('leave', prior='PAUSED'))]}
    everything, _notes = sr.RecordStore(nova).records('hv1')
    assert sorted(everything) == ['srv-a', 'srv-b']
    assert everything['srv-b'][0].campaign == 'c2'


def test_records_of_one_server_in_several_campaigns_come_newest_first():
    nova = cloud()
    store = sr.RecordStore(nova)
    store.put('srv-a', rec(campaign='old', at=NOW - datetime.timedelta(days=30)))
    store.put('srv-a', rec('live_migrate', campaign='new'))
    by_server, _notes = store.records('hv1')
    assert [r.campaign for r in by_server['srv-a']] == ['new', 'old']


def test_a_rewrite_replaces_the_record_of_that_server():
    nova = cloud()
    store = sr.RecordStore(nova)
    store.put('srv-a', rec('live_migrate'))
    store.put('srv-a', rec('stop'))
    assert store.records('hv1', 'c1')[0] == {'srv-a': [rec('stop')]}


@pytest.mark.parametrize('value', ['garbage', 'stop|moved|||', 'teleport|moved|||', 'x' * 300, ''])
def test_garbled_values_are_notes_not_exceptions(value):
    nova = cloud()
    store = sr.RecordStore(nova)
    store.put('srv-good', rec())
    nova.set_aggregate_metadata(ledger(nova)['id'], {'srv-bad': value})
    by_server, notes = sr.RecordStore(nova).records('hv1', 'c1')
    assert list(by_server) == ['srv-good']
    assert len(notes) == 1
    assert notes[0].startswith('cloudmaint-ledger:c1:hv1: srv-bad: ')


def test_unreadable_time_is_a_note_and_the_record_still_counts():
    nova = cloud()
    sr.RecordStore(nova).put('srv-a', rec())
    nova.set_aggregate_metadata(ledger(nova)['id'], {'srv-a': 'stop|stopped|ACTIVE|yesterday|'})
    by_server, notes = sr.RecordStore(nova).records('hv1', 'c1')
    assert by_server['srv-a'][0].at is None
    assert notes == ["cloudmaint-ledger:c1:hv1: srv-a: time 'yesterday' unreadable; ignored"]


def test_every_value_and_name_fits_nova_s_255_characters():
    nova = cloud()
    longest = cm.with_lock(rec('shelve_partial', host='h' * 255, campaign='c' * 255, prior='SHELVED_OFFLOADED'))
    sr.RecordStore(nova).put('0' * 36, longest)
    aggregate = next(iter(nova.aggregate_store.values()))
    assert len(aggregate['name']) == cm.MAX_LEN
    assert all(len(key) <= cm.MAX_LEN and len(value) <= cm.MAX_LEN for key, value in aggregate['metadata'].items())
    assert sr.RecordStore(nova).records('h' * 255, 'c' * 255)[0] == {'0' * 36: [longest]}


@pytest.mark.parametrize('aggregate', [
    {'name': 'az-east', 'hosts': ['hv1'], 'metadata': {'availability_zone': 'east', 'srv-a': 'stop|stopped|||'}},
    {'name': 'cloudmaint-ledger:c1:hv1', 'hosts': ['hv1'],
     'metadata': {'cloudmaint:campaign': 'c1', 'cloudmaint:host': 'hv1', 'srv-a': 'stop|stopped|||'}},
    {'name': 'cloudmaint-ledger:c1:hv1', 'hosts': [], 'metadata': {'srv-a': 'stop|stopped|||'}},
    {'name': 'ssd-hosts', 'hosts': [],
     'metadata': {'cloudmaint:campaign': 'c1', 'cloudmaint:host': 'hv1', 'srv-a': 'stop|stopped|||'}},
])
def test_aggregates_that_are_not_ledgers_are_ignored(aggregate):
    nova = cloud()
    nova.aggregate_store[99] = dict(aggregate, id=99)
    store = sr.RecordStore(nova)
    assert sr.ledger_of(dict(aggregate, id=99)) is None
    assert store.records('hv1', 'c1') == ({}, [])
    assert store.campaigns('hv1') == set()
    assert store.prune() == 0
    assert 99 in nova.aggregate_store


def test_campaigns_name_those_with_records_of_the_host():
    nova = cloud()
    store = sr.RecordStore(nova)
    store.put('srv-a', rec(campaign='c1'))
    store.put('srv-b', rec(campaign='c2'))
    store.put('srv-c', rec(campaign='c3', host='hv2'))
    store.remove('srv-b', rec(campaign='c2'))
    assert sr.RecordStore(nova).campaigns('hv1') == {'c1'}


def test_remove_then_prune_deletes_only_empty_ledgers():
    nova = cloud()
    store = sr.RecordStore(nova)
    store.put('srv-a', rec(campaign='c1'))
    store.put('srv-b', rec(campaign='c1'))
    store.put('srv-c', rec(campaign='c2'))
    store.put('srv-d', rec(campaign='c1', host='hv2'))
    store.remove('srv-a', rec(campaign='c1'))
    store.remove('srv-c', rec(campaign='c2'))
    store.remove('srv-d', rec(campaign='c1', host='hv2'))
    fresh = sr.RecordStore(nova)
    assert fresh.prune('hv1') == 1
    assert sorted(aggregates_by_name(nova)) == ['cloudmaint-ledger:c1:hv1', 'cloudmaint-ledger:c1:hv2']
    assert fresh.prune() == 1
    assert sorted(aggregates_by_name(nova)) == ['cloudmaint-ledger:c1:hv1']
    assert fresh.records('hv1', 'c1')[0] == {'srv-b': [rec(campaign='c1')]}


def test_a_ledger_pruned_is_created_again_on_the_next_put():
    nova = cloud()
    store = sr.RecordStore(nova)
    store.put('srv-a', rec())
    store.remove('srv-a', rec())
    assert store.prune('hv1', 'c1') == 1
    store.put('srv-b', rec())
    assert store.records('hv1', 'c1')[0] == {'srv-b': [rec()]}


def test_remove_of_a_record_never_kept_does_nothing():
    nova = cloud()
    sr.RecordStore(nova).remove('srv-a', rec())
    assert nova.calls == []


def test_ledger_created_by_another_run_a_moment_ago_is_used():
    nova = cloud()
    # Created, but the other run has not set its campaign and host keys yet.
    nova.create_aggregate(sr.aggregate_name('c1', 'hv1'))
    sr.RecordStore(nova).put('srv-a', rec())
    assert len(nova.aggregate_store) == 1
    assert sr.RecordStore(nova).records('hv1', 'c1')[0] == {'srv-a': [rec()]}


def test_other_errors_creating_a_ledger_are_not_hidden():
    nova = cloud()

    def refuse(name):
        raise NovaError(403, 'Policy does not allow os_compute_api:os-aggregates:create', 'POST')
    nova.create_aggregate = refuse
    with pytest.raises(NovaError):
        sr.RecordStore(nova).put('srv-a', rec())

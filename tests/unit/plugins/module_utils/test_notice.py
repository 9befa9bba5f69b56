# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""notice.py (pure logic), and the maintenance_notice module's engine against the fake Nova."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json

import pytest

from fake_nova import FakeNova  # pylint: disable=import-error

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils import notice as n
from ansible_collections.cloudmaint.openstack.plugins.module_utils.policy import Policy
from ansible_collections.cloudmaint.openstack.plugins.module_utils.server_records import RecordStore
from ansible_collections.cloudmaint.openstack.plugins.module_utils import notice_run as nr
from ansible_collections.cloudmaint.openstack.plugins.modules import maintenance_notice as mn

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
EID = '3f9a2c71d04e'


def at(seconds):
    return NOW + datetime.timedelta(seconds=seconds)


def event(not_before=300, max_defer_s=900, deferred_s=0, action='live_migrate', campaign='patch-2026-11', eid=EID):
    return n.build_event(eid, campaign, action, at(not_before), max_defer_s=max_defer_s, deferred_s=deferred_s)


# ---------------------------------------------------------------- the event

def test_event_json_is_the_documented_one():
    text = n.encode_event(event())
    assert text == ('{"v":1,"id":"3f9a2c71d04e","campaign":"patch-2026-11","action":"live_migration",'
                    '"not_before":"2026-11-21T12:05:00Z","ack":"cloudmaint:ack","defer":"cloudmaint:defer",'
                    '"max_defer_s":900}')
    assert len(text) <= 255
    # docs/notices.md shows this very event.
    assert n.decode_event(text) == (event(), None)


def test_no_deferral_fields_when_the_class_allows_none():
    ev = event(max_defer_s=0)
    assert 'defer' not in ev and 'max_defer_s' not in ev and 'deferred_s' not in ev
    assert ev['ack'] == 'cloudmaint:ack'


def test_an_honoured_deferral_moves_not_before_and_is_recorded():
    ev = event(not_before=900, deferred_s=600)
    assert ev['not_before'] == '2026-11-21T12:15:00Z'
    assert ev['deferred_s'] == 600
    assert n.original_not_before(ev) == at(300)
    again = n.with_deferral(ev, 120)
    assert again['not_before'] == '2026-11-21T12:07:00Z' and again['deferred_s'] == 120
    assert n.with_deferral(ev, 0) == event(not_before=300)


@pytest.mark.parametrize('policy_action, event_action', sorted(n.POLICY_ACTION_EVENT.items()))
def test_every_policy_action_has_an_event_action(policy_action, event_action):
    assert n.event_action(policy_action) == event_action
    assert event_action in n.EVENT_ACTIONS


@pytest.mark.parametrize('action', list(n.EVENT_ACTIONS) + [' Reboot ', 'LIVE_MIGRATE'])
def test_event_actions_are_accepted_as_they_are(action):
    assert n.event_action(action) in n.EVENT_ACTIONS


@pytest.mark.parametrize('action', ['none', '', None, 'migrate', 'evacuate'])
def test_no_notice_for_unknown_actions(action):
    with pytest.raises(n.NoticeError, match='no notice for action'):
        n.event_action(action)


def test_the_longest_event_fits_nova():
    # Worst case of every field: 16-character id, longest action, a week's deferral honoured,
    # the longest campaign id a notice takes.
    ev = n.build_event('f' * 16, 'c' * n.MAX_CAMPAIGN_LEN, 'cold_migrate', at(10 ** 6),
                       max_defer_s=n.MAX_DEFER_S, deferred_s=n.MAX_DEFER_S)
    assert len(n.encode_event(ev)) <= 255
    assert max(len(a) for a in n.EVENT_ACTIONS) == len('cold_migration')


@pytest.mark.parametrize('kwargs, message', [
    (dict(campaign='c' * (n.MAX_CAMPAIGN_LEN + 1)), 'is 57 characters long; a notice holds at most 56'),
    (dict(campaign=''), 'campaign must be a non-empty string'),
    (dict(campaign=None), 'campaign must be a non-empty string'),
    # Non-ASCII is escaped (\\uXXXX): six characters each, the encoded length is what Nova counts.
    (dict(campaign='\u00e9' * 50), 'the encoded event is 4.. characters long; Nova metadata values hold at most 255'),
    (dict(eid='XYZ'), 'event id must be 8 to 16 lowercase hex'),
    (dict(eid='a' * 17), 'event id must be 8 to 16 lowercase hex'),
    (dict(max_defer_s=-1), 'max_defer_s must be an integer >= 0'),
    (dict(max_defer_s=True), 'max_defer_s must be an integer >= 0'),
    (dict(max_defer_s=n.MAX_DEFER_S + 1), 'exceeds the 604800 s a notice allows'),
    (dict(max_defer_s=60, deferred_s=61), 'deferred_s 61 exceeds max_defer_s 60'),
    (dict(action='none'), 'no notice for action'),
])
def test_events_nova_would_refuse_are_not_built(kwargs, message):
    with pytest.raises(n.NoticeError, match=message):
        event(**kwargs)


def test_not_before_must_be_timezone_aware_and_is_kept_in_utc_whole_seconds():
    with pytest.raises(ValueError, match='timezone-aware'):
        n.build_event(EID, 'c', 'stop', datetime.datetime(2026, 11, 21, 12, 0))
    cet = datetime.timezone(datetime.timedelta(hours=1))
    ev = n.build_event(EID, 'c', 'stop', datetime.datetime(2026, 11, 21, 13, 0, 0, 999999, tzinfo=cet))
    assert ev['not_before'] == '2026-11-21T12:00:00Z'


@pytest.mark.parametrize('text, reason', [
    (None, 'no event'),
    ('', 'not JSON'),
    ('{"v":1', 'not JSON'),
    ('[1]', 'not a JSON object'),
    ('{"v":2,"id":"3f9a2c71d04e"}', 'unsupported schema version 2'),
    ('{"v":"1"}', "unsupported schema version '1'"),
    ('{"v":1,"id":"NOT-HEX"}', "bad event id 'NOT-HEX'"),
    ('{"v":1,"id":"3f9a2c71d04e","campaign":" "}', "bad campaign ' '"),
    ('{"v":1,"id":"3f9a2c71d04e","campaign":"c","action":"migrate"}', "unknown action 'migrate'"),
    ('{"v":1,"id":"3f9a2c71d04e","campaign":"c","action":"stop","not_before":"soon"}', "unreadable not_before"),
    ('{"v":1,"id":"3f9a2c71d04e","campaign":"c","action":"stop","not_before":"2026-11-21T12:00:00Z",'
     '"max_defer_s":-5}', 'bad max_defer_s -5'),
    ('{"v":1,"id":"3f9a2c71d04e","campaign":"c","action":"stop","not_before":"2026-11-21T12:00:00Z",'
     '"deferred_s":true}', 'bad deferred_s True'),
    ('{"v":1,"id":"3f9a2c71d04e","campaign":"c","action":"stop","not_before":"2026-11-21T12:00:00Z",'
     '"deferred_s":10}', 'deferred_s exceeds max_defer_s'),
])
def test_decode_refuses_what_it_cannot_trust(text, reason):
    ev, why = n.decode_event(text)
    assert ev is None
    assert reason in why


def test_decode_drops_fields_it_does_not_know():
    # Whoever wrote the metadata (the owner can) adds nothing to what the module reports or sends.
    text = n.encode_event(dict(event(), extra='later'))
    ev, why = n.decode_event(text)
    assert why is None and ev == event()


@pytest.mark.parametrize('existing, campaign, action, kept, note', [
    (None, 'patch-2026-11', 'live_migrate', False, None),
    (n.encode_event(event()), 'patch-2026-11', 'live_migrate', True, None),
    (n.encode_event(event()), 'patch-2026-11', 'live_migration', True, None),
    (n.encode_event(event()), 'patch-2026-12', 'live_migrate', False,
     'replaces event 3f9a2c71d04e of campaign patch-2026-11 (live_migration)'),
    (n.encode_event(event()), 'patch-2026-11', 'stop', False,
     'replaces event 3f9a2c71d04e of campaign patch-2026-11 (live_migration)'),
    ('garbage', 'patch-2026-11', 'stop', False, 'replaces an unreadable cloudmaint:event (not JSON)'),
])
def test_a_rerun_keeps_the_notice_it_already_gave(existing, campaign, action, kept, note):
    ev, why = n.reuse_event(existing, campaign, action)
    assert (ev is not None) == kept
    assert why == note


@pytest.mark.parametrize('period, earliest, expected', [
    (0, None, at(0)),
    (300, None, at(300)),
    (300, at(3600), at(3600)),
    (3600, at(300), at(3600)),
])
def test_schedule(period, earliest, expected):
    assert n.schedule(NOW, period, earliest) == expected


# ---------------------------------------------------------------- terms

PETS = {'period_s': 60, 'max_period_s': 1800, 'max_defer_s': 900}
CATTLE = {'period_s': 0, 'max_period_s': 600, 'max_defer_s': 0}


@pytest.mark.parametrize('value, seconds', [
    (900, 900), ('900', 900), (' 900 ', 900), ('900s', 900), ('15m', 900), ('15M', 900), ('1h', 3600),
    (0, 0), ('0', 0),
    (-1, None), ('-1', None), ('1.5', None), ('15 minutes', None), ('', None), (None, None), (True, None),
    (1.5, None), ('1d', None), ('9999999999', None),
])
def test_parse_seconds(value, seconds):
    assert n.parse_seconds(value) == seconds


@pytest.mark.parametrize('policy_notice, metadata, operator, period, source, note', [
    (PETS, {}, None, 60, 'policy', None),
    (PETS, {}, 300, 300, 'operator', None),
    (PETS, {'cloudmaint:notice_s': '600'}, None, 600, 'owner', None),
    (PETS, {'cloudmaint:notice_s': '30m'}, 300, 1800, 'owner', None),
    # Less than the policy gives: the owner's to waive.
    (PETS, {'cloudmaint:notice_s': '0'}, None, 0, 'owner', None),
    (PETS, {'cloudmaint:notice_s': '7200'}, None, 1800, 'owner',
     "asks for more than the 1800 s the policy allows: 1800 s"),
    (PETS, {'cloudmaint:notice_s': 'lots'}, None, 60, 'policy', "ignored: not a number of seconds"),
    (PETS, {'cloudmaint:notice_s': '-60'}, None, 60, 'policy', "ignored: not a number of seconds"),
    # The operator may go past max_period_s: the limit is on what owners ask for.
    (CATTLE, {}, 3600, 3600, 'operator', None),
    (CATTLE, {'cloudmaint:notice_s': '900'}, None, 600, 'owner', 'more than the 600 s'),
    ({'period_s': 0, 'max_period_s': 0, 'max_defer_s': 0}, {'cloudmaint:notice_s': '60'}, None, 0, 'owner',
     'more than the 0 s'),
    # A policy that failed validation would not get here, but None values do not crash.
    ({'period_s': None}, None, None, 0, 'policy', None),
    ({}, None, None, 0, 'policy', None),
])
def test_notice_terms(policy_notice, metadata, operator, period, source, note):
    terms = n.notice_terms(policy_notice, metadata, operator)
    assert (terms.period_s, terms.source) == (period, source)
    if note:
        assert len(terms.notes) == 1 and note in terms.notes[0]
    else:
        assert terms.notes == ()


def test_notice_terms_carry_the_limits_and_cap_absurd_deferrals():
    terms = n.notice_terms(PETS)
    assert (terms.max_period_s, terms.max_defer_s) == (1800, 900)
    terms = n.notice_terms({'period_s': 0, 'max_period_s': 0, 'max_defer_s': 10 ** 8})
    assert terms.max_defer_s == n.MAX_DEFER_S
    assert 'capped' in terms.notes[0]
    with pytest.raises(n.NoticeError):
        n.notice_terms(PETS, {}, -1)


@pytest.mark.parametrize('metadata, max_defer, honoured, requested, note', [
    ({}, 900, 0, None, None),
    (None, 900, 0, None, None),
    ({'cloudmaint:defer': '600'}, 900, 600, 600, None),
    ({'cloudmaint:defer': '10m'}, 900, 600, 600, None),
    ({'cloudmaint:defer': '900'}, 900, 900, 900, None),
    ({'cloudmaint:defer': '3600'}, 900, 900, 3600, "clamped to the 900 s the policy allows"),
    ({'cloudmaint:defer': '600'}, 0, 0, 600, 'the policy allows no deferral'),
    ({'cloudmaint:defer': 'please'}, 900, 0, None, 'ignored: not a number of seconds'),
    ({'cloudmaint:defer': '0'}, 900, 0, 0, None),
])
def test_deferral_is_clamped_to_the_policy(metadata, max_defer, honoured, requested, note):
    got = n.deferral(metadata, max_defer)
    assert got[:2] == (honoured, requested)
    assert (got[2] is None) == (note is None)
    if note:
        assert note in got[2]


# ---------------------------------------------------------------- readiness

@pytest.mark.parametrize('metadata, t, ready, reason, ready_at, deferred', [
    ({}, 0, False, 'waiting', 300, 0),
    ({}, 299, False, 'waiting', 300, 0),
    ({}, 300, True, 'notice_over', 300, 0),
    ({}, 301.5, True, 'notice_over', 300, 0),
    ({'cloudmaint:ack': EID}, 0, True, 'acknowledged', 300, 0),
    ({'cloudmaint:ack': ' %s ' % EID.upper()}, 0, True, 'acknowledged', 300, 0),
    ({'cloudmaint:ack': 'aaaaaaaaaaaa'}, 0, False, 'waiting', 300, 0),
    ({'cloudmaint:ack': 'yes'}, 299, False, 'waiting', 300, 0),
    ({'cloudmaint:defer': '600'}, 300, False, 'waiting', 900, 600),
    ({'cloudmaint:defer': '600'}, 900, True, 'notice_over', 900, 600),
    ({'cloudmaint:defer': '99999'}, 1199, False, 'waiting', 1200, 900),
    ({'cloudmaint:defer': '99999'}, 1200, True, 'notice_over', 1200, 900),
    # An acknowledgement beats a deferral.
    ({'cloudmaint:defer': '600', 'cloudmaint:ack': EID}, 10, True, 'acknowledged', 900, 600),
])
def test_readiness(metadata, t, ready, reason, ready_at, deferred):
    state = n.readiness(event(max_defer_s=900), metadata, at(t))
    assert (state.ready, state.reason) == (ready, reason)
    assert state.ready_at == at(ready_at)
    assert state.deferred_s == deferred
    assert state.acknowledged == (reason == 'acknowledged')


def test_readiness_counts_from_the_original_end_whatever_deferral_is_recorded():
    # The event already carries a 600 s deferral; the owner now asks for 120 only.
    ev = event(not_before=900, deferred_s=600)
    state = n.readiness(ev, {'cloudmaint:defer': '120'}, at(400))
    assert state.ready_at == at(420) and not state.ready
    # The owner withdrew the deferral: the original end applies.
    assert n.readiness(ev, {}, at(300)).ready


def test_readiness_without_deferral_allowed_ignores_the_request_and_says_so():
    state = n.readiness(event(max_defer_s=0), {'cloudmaint:defer': '600'}, at(300))
    assert state.ready and state.deferred_s == 0 and state.defer_requested_s == 600
    assert 'allows no deferral' in state.notes[0]


def test_an_ack_for_another_event_is_noted():
    state = n.readiness(event(), {'cloudmaint:ack': '000000000000'}, at(0))
    assert not state.ready
    assert "does not name this event (3f9a2c71d04e)" in state.notes[0]


@pytest.mark.parametrize('status, task, writable', [
    ('ACTIVE', None, True), ('SHUTOFF', None, True), ('PAUSED', None, True), ('SUSPENDED', None, True),
    ('active', None, True), ('ACTIVE', 'migrating', False), ('SHELVED', None, False),
    ('SHELVED_OFFLOADED', None, False), ('ERROR', None, False), ('RESCUE', None, False), (None, None, False),
])
def test_metadata_writable(status, task, writable):
    assert n.metadata_writable(status, task) is writable


@pytest.mark.parametrize('pending, hosts, ids', [
    ({}, [], []),
    ({'a': 'hv1'}, [], ['a']),
    ({'a': 'hv1', 'b': 'hv1', 'c': 'hv1'}, ['hv1'], []),
    ({'a': 'hv1', 'b': 'hv1', 'c': 'hv2'}, ['hv1'], ['c']),
    ({'a': 'hv1', 'b': 'hv2', 'c': None, 'd': None}, [], ['a', 'b', 'c', 'd']),
])
def test_poll_plan_never_costs_more_requests_than_servers(pending, hosts, ids):
    assert n.poll_plan(pending) == (hosts, ids)
    assert len(hosts) + len(ids) <= len(pending)


# ---------------------------------------------------------------- destinations

HOOKS = {'prj-1': 'https://ops.example.com/p1', 'analytics': 'https://ops.example.com/analytics'}


@pytest.mark.parametrize('metadata, project_id, project_name, expected', [
    ({}, 'prj-1', None, [('https://ops.example.com/p1', 'project')]),
    ({}, 'prj-9', 'analytics', [('https://ops.example.com/analytics', 'project')]),
    ({}, 'prj-9', None, []),
    ({'cloudmaint:notify_url': ' https://hooks.example.com/me '}, 'prj-9', None,
     [('https://hooks.example.com/me', 'owner')]),
    ({'cloudmaint:notify_url': 'https://hooks.example.com/me'}, 'prj-1', None,
     [('https://hooks.example.com/me', 'owner'), ('https://ops.example.com/p1', 'project')]),
    ({'cloudmaint:notify_url': 'https://ops.example.com/p1'}, 'prj-1', None,
     [('https://ops.example.com/p1', 'owner')]),
    ({'cloudmaint:notify_url': '  '}, 'prj-1', None, [('https://ops.example.com/p1', 'project')]),
])
def test_webhook_destinations(metadata, project_id, project_name, expected):
    assert n.webhook_destinations(metadata, project_id, project_name, HOOKS) == expected


ALLOW = n.AllowList(['hooks.example.com', '*.example.net', '8.8.4.0/24', '2606:4700::/32', '1.1.1.1',
                     '127.0.0.1/32'], allow_private=True, allow_http=True)


@pytest.mark.parametrize('entries, message', [
    (['https://hooks.example.com/x'], 'is a URL; give its host name or a network'),
    (['10.0.0.1/8'], 'is not a network: 10.0.0.1/8 has host bits set'),
    (['300.1.1.1/32'], 'is not a network'),
    (['hooks example.com'], 'is neither a host name nor a network'),
    (['-bad.example.com'], 'is neither a host name nor a network'),
    (['*'], 'is neither a host name nor a network'),
    ([''], 'expected a host name or a network'),
    ([42], 'expected a host name or a network'),
])
def test_allow_list_refuses_bad_entries(entries, message):
    with pytest.raises(ValueError, match=message):
        n.AllowList(entries)


def test_allow_list_reports_every_bad_entry_at_once():
    with pytest.raises(ValueError) as info:
        n.AllowList(['ok.example.com', 'http://x', '1.2.3.4/8'])
    assert str(info.value).count('webhook_allow[') == 2


@pytest.mark.parametrize('host, allowed', [
    ('hooks.example.com', True), ('HOOKS.example.com.', True), ('evil-hooks.example.com', False),
    ('hooks.example.com.evil.org', False), ('a.example.net', True), ('a.b.example.net', True),
    ('example.net', False), ('xexample.net', False), ('8.8.4.5', False),
])
def test_allow_list_names(host, allowed):
    assert ALLOW.name_allowed(host) is allowed


@pytest.mark.parametrize('address, allowed', [
    ('8.8.4.5', True), ('8.8.5.5', False), ('1.1.1.1', True), ('1.1.1.2', False),
    ('2606:4700::1', True), ('2606:4701::1', False), ('::ffff:8.8.4.5', True), ('::ffff:10.0.0.1', False),
    ('127.0.0.1', True), ('127.0.0.2', False), ('10.0.0.1', False), ('fe80::1%eth0', False),
    ('not-an-ip', False),
])
def test_allow_list_networks(address, allowed):
    assert ALLOW.address_allowed(address) is allowed


@pytest.mark.parametrize('url, scheme, host, port, path, literal, display', [
    ('https://hooks.example.com/x?token=s3cret', 'https', 'hooks.example.com', 443, '/x?token=s3cret', False,
     'https://hooks.example.com/x?...'),
    ('http://HOOKS.example.com.:8080', 'http', 'hooks.example.com', 8080, '/', False,
     'http://hooks.example.com:8080/'),
    ('HTTPS://[2001:db8::1]:8443/h', 'https', '2001:db8::1', 8443, '/h', True, 'https://[2001:db8::1]:8443/h'),
    ('http://127.0.0.1:9/hook#frag', 'http', '127.0.0.1', 9, '/hook', True, 'http://127.0.0.1:9/hook'),
])
def test_parse_target(url, scheme, host, port, path, literal, display):
    target = n.parse_target(url)
    assert (target.scheme, target.host, target.port, target.request_path, target.literal) == \
        (scheme, host, port, path, literal)
    assert target.display == display


@pytest.mark.parametrize('url, message', [
    ('ftp://hooks.example.com/x', "scheme 'ftp' is not allowed"),
    ('file:///etc/passwd', "scheme 'file' is not allowed"),
    ('gopher://127.0.0.1:6379/_', "scheme 'gopher' is not allowed"),
    ('hooks.example.com/x', "scheme '' is not allowed"),
    ('https://user:pw@hooks.example.com/x', 'credentials in the URL'),
    ('https:///x', 'URL has no host'),
    ('https://hooks.example.com:99999/', 'bad port'),
    ('https://hooks.example.com:0/', 'bad port'),
    ('https://hooks.example.com/a b', 'spaces or control characters'),
    ('https://hooks.example.com/\r\nX-Injected: 1', 'spaces or control characters'),
    ('', 'not a URL'),
    (None, 'not a URL'),
])
def test_parse_target_refuses(url, message):
    with pytest.raises(ValueError, match=message):
        n.parse_target(url)


@pytest.mark.parametrize('url, trusted, ok, reason', [
    ('https://hooks.example.com/x', False, True, 'host hooks.example.com in webhook_allow'),
    ('https://a.example.net/x', False, True, 'host a.example.net in webhook_allow'),
    ('https://evil.example.org/x', False, False, 'host evil.example.org is not in webhook_allow'),
    ('http://8.8.4.9/x', False, True, 'address 8.8.4.9 in webhook_allow'),
    ('http://10.0.0.1/x', False, False, 'address 10.0.0.1 is not in webhook_allow'),
    ('http://[::ffff:10.0.0.1]/x', False, False, 'is not in webhook_allow'),
    # The decimal form of 127.0.0.1 is no IP literal for us: a name, and not a listed one.
    ('http://2130706433/x', False, False, 'host 2130706433 is not in webhook_allow'),
    ('https://internal.ops.local/x', True, True, 'operator URL'),
])
def test_target_allowed(url, trusted, ok, reason):
    got_ok, why = n.target_allowed(n.parse_target(url), ALLOW, trusted)
    assert got_ok is ok
    assert reason in why


@pytest.mark.parametrize('url, address, trusted, ok, reason', [
    ('https://hooks.example.com/x', '93.184.216.34', False, True, 'public address 93.184.216.34'),
    ('https://hooks.example.com/x', '2606:2800:220:1::1', False, True, 'public address'),
    ('https://hooks.example.com/x', '8.8.4.9', False, True, 'address 8.8.4.9 in webhook_allow'),
    # A listed name pointing into the control plane, the metadata service, loopback, CGNAT, multicast:
    ('https://hooks.example.com/x', '10.0.0.5', False, False, 'resolves to 10.0.0.5, which is not public'),
    ('https://hooks.example.com/x', '169.254.169.254', False, False, 'which is not public'),
    ('https://hooks.example.com/x', '::1', False, False, 'which is not public'),
    ('https://hooks.example.com/x', '::ffff:192.168.1.1', False, False, 'resolves to 192.168.1.1'),
    ('https://hooks.example.com/x', '100.64.0.1', False, False, 'which is not public'),
    ('https://hooks.example.com/x', '224.0.0.1', False, False, 'which is not public'),
    ('https://hooks.example.com/x', 'fe80::1%eth0', False, False, 'which is not public'),
    # ... unless the operator lists the network.
    ('https://hooks.example.com/x', '127.0.0.1', False, True, 'address 127.0.0.1 in webhook_allow'),
    ('https://evil.example.org/x', '93.184.216.34', False, False, 'which is not in webhook_allow'),
    ('http://8.8.4.9/x', '8.8.4.9', False, True, 'in webhook_allow'),
    ('https://ops.internal/x', '10.0.0.5', True, True, 'operator URL'),
    ('https://ops.internal/x', 'garbage', True, False, 'which is not an address'),
])
def test_address_allowed(url, address, trusted, ok, reason):
    got_ok, got_reason = n.address_allowed(n.parse_target(url), address, ALLOW, trusted)
    assert got_ok is ok
    assert reason in got_reason


def test_an_empty_allow_list_allows_no_owner_url():
    empty = n.AllowList([])
    target = n.parse_target('https://hooks.example.com/x')
    assert not n.target_allowed(target, empty)[0]
    assert not n.address_allowed(target, '93.184.216.34', empty)[0]


# ---------------------------------------------------------------- webhook body and signature

SERVER = {'id': 'srv-1', 'name': 'web-1', 'project_id': 'prj-1', 'project_name': None}


def test_scheduled_payload_tells_the_owner_how_to_answer():
    body = n.webhook_payload('scheduled', event(), SERVER, 'd' * 32)
    assert body == {
        'type': 'scheduled', 'delivery': 'd' * 32, 'event': event(),
        'server': {'id': 'srv-1', 'name': 'web-1', 'project_id': 'prj-1'},
        'guest_notice': True,
        'answer': {'ack': {'key': 'cloudmaint:ack', 'value': EID},
                   'defer': {'key': 'cloudmaint:defer', 'max_s': 900}},
    }


@pytest.mark.parametrize('kind, ev, guest, answer', [
    ('scheduled', event(max_defer_s=0), True, {'ack': {'key': 'cloudmaint:ack', 'value': EID}}),
    ('scheduled', event(), False, None),
    ('done', event(), True, None),
])
def test_payload_answer_only_where_the_owner_can_answer(kind, ev, guest, answer):
    assert n.webhook_payload(kind, ev, SERVER, 'x', guest_notice=guest).get('answer') == answer


def test_payload_kind_is_checked():
    with pytest.raises(n.NoticeError, match='webhook kind'):
        n.webhook_payload('cancelled', event(), SERVER, 'x')


def test_encoded_payload_carries_sent_at_and_is_stable():
    payload = n.webhook_payload('scheduled', event(), SERVER, 'x')
    raw = n.encode_payload(payload, 1795000000, 'https://hooks.example.com/a')
    assert json.loads(raw)['sent_at'] == 1795000000
    assert json.loads(raw)['recipient'] == {'url': 'https://hooks.example.com/a', 'project_id': 'prj-1'}
    assert raw == n.encode_payload(dict(reversed(list(payload.items()))), 1795000000, 'https://hooks.example.com/a')
    assert 'sent_at' not in payload and 'recipient' not in payload


def test_signature_is_hmac_sha256_of_the_raw_body():
    body = b'{"sent_at":1795000000}'
    expected = hmac.new(b'top-secret', body, hashlib.sha256).hexdigest()
    assert n.sign('top-secret', body) == 'sha256=' + expected
    assert n.sign(b'top-secret', body) == n.sign('top-secret', body)
    with pytest.raises(n.NoticeError):
        n.sign('', body)


def test_signed_headers():
    body = b'{}'
    headers = n.signed_headers('s', body, 1795000000, 'scheduled', 'abc')
    assert headers == {'Content-Type': 'application/json', 'X-Cloudmaint-Signature': n.sign('s', body),
                       'X-Cloudmaint-Timestamp': '1795000000', 'X-Cloudmaint-Event': 'scheduled',
                       'X-Cloudmaint-Delivery': 'abc'}


RAW = n.encode_payload(n.webhook_payload('scheduled', event(), SERVER, 'x'), 1795000000, 'https://hooks.example.com/a')


@pytest.mark.parametrize('secret, body, signature, timestamp, now, ok, reason', [
    ('s', RAW, n.sign('s', RAW), '1795000000', 1795000010, True, 'ok'),
    ('s', RAW, n.sign('s', RAW), None, None, True, 'ok'),
    ('s', RAW, n.sign('s', RAW) + ' ', '1795000000', 1795000300, True, 'ok'),
    ('s', RAW, n.sign('s', RAW), '1795000000', 1795000301, False, 'sent_at is 301 s away'),
    ('s', RAW, n.sign('s', RAW), '1795000000', 1794999000, False, 'sent_at is 1000 s away'),
    ('s', RAW, n.sign('s', RAW), '1795000001', None, False, 'timestamp header does not match'),
    ('other', RAW, n.sign('s', RAW), None, None, False, 'signature mismatch'),
    ('s', RAW.replace(b'web-1', b'web-2'), n.sign('s', RAW), None, None, False, 'signature mismatch'),
    ('s', RAW, n.sign('s', RAW)[len('sha256='):], None, None, False, 'missing or malformed'),
    ('s', RAW, None, None, None, False, 'missing or malformed'),
    ('s', b'not json', n.sign('s', b'not json'), None, None, False, 'not a JSON object'),
    ('s', b'{"a":1}', n.sign('s', b'{"a":1}'), None, None, False, 'no sent_at'),
])
def test_verify(secret, body, signature, timestamp, now, ok, reason):
    got_ok, why = n.verify(secret, body, signature, timestamp, now)
    assert got_ok is ok
    assert reason in why


def test_project_secrets_keep_projects_apart():
    one, two = n.project_secret('master', 'prj-1'), n.project_secret('master', 'prj-2')
    assert one != two and one == n.project_secret('master', 'prj-1')
    assert one == hmac.new(b'master', b'cloudmaint-webhook:prj-1', hashlib.sha256).hexdigest()
    assert not n.verify(two, RAW, n.sign(one, RAW))[0]


def test_event_ids_are_fresh_lowercase_hex():
    ids = {n.new_event_id() for _i in range(50)}
    assert len(ids) == 50 and all(n.EVENT_ID_RE.match(i) for i in ids)
    assert len(n.new_delivery_id()) == 32


# ---------------------------------------------------------------- the module's engine

class Clock(object):
    """Monotonic and wall clock that move together, only when the engine sleeps; ``at`` runs
    owner actions (metadata changes) once their time has come."""

    def __init__(self, nova):
        self.t = 0.0
        self.nova = nova
        self.actions = []
        self.sleeps = []

    def monotonic(self):
        return self.t

    def utcnow(self):
        return NOW + datetime.timedelta(seconds=self.t)

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.t += seconds
        for action in [a for a in self.actions if a[0] <= self.t]:
            self.actions.remove(action)
            action[1]()

    def at(self, t, server_id, **metadata):
        def act():
            self.nova.servers[server_id]['metadata'].update(metadata)
        self.actions.append((t, act))


class Hooks(object):
    """Stands in for webhook.deliver: records what would have been sent."""

    def __init__(self, outcome='delivered'):
        self.sent = []
        self.outcome = outcome

    def __call__(self, url, payload, secret, **kwargs):
        self.sent.append(dict(url=url, payload=payload, secret=secret, **kwargs))
        outcome = self.outcome(url) if callable(self.outcome) else self.outcome
        return {'url': url, 'outcome': outcome, 'attempts': 0 if outcome == 'refused' else 1, 'status': 200,
                'error': None}


def cloud():
    nova = FakeNova(error=nr.NovaError, hosts=['hv1', 'hv2'])
    nova.add_server('cattle-1', 'hv1')
    nova.add_server('pets-1', 'hv1', metadata={'sla': 'pets', 'cloudmaint:notify_url': 'https://hooks.example.com/p'})
    nova.add_server('pandas-1', 'hv1', metadata={'sla': 'pandas'})
    return nova


def engine(nova, hooks=None, clock=None, campaign='c1', check_mode=False, **kwargs):
    clock = clock or Clock(nova)
    ids = iter('%012x' % i for i in range(1, 1000))
    run = nr.NoticeRun(nova, campaign=campaign, check_mode=check_mode, allow=n.AllowList(['hooks.example.com']),
                       secret='s', deliver=hooks or Hooks(), utcnow=clock.utcnow, monotonic=clock.monotonic,
                       sleep=clock.sleep, new_event_id=lambda: next(ids), **kwargs)
    return run, clock


def by_name(entries):
    return dict((e['name'], e) for e in entries)


def post(run, nova, host='hv1', **kwargs):
    entries = run.plan(nova.servers_on_host(host), Policy({}), **kwargs)
    run.post(entries)
    return entries


def test_engine_posts_events_from_the_policy_and_waits_for_every_notice():
    nova = cloud()
    hooks = Hooks()
    run, clock = engine(nova, hooks)
    entries = post(run, nova)
    run.finish_webhooks()
    got = by_name(entries)
    assert [got[k]['notice_s'] for k in ('cattle-1', 'pets-1', 'pandas-1')] == [0, 60, 300]
    assert got['pets-1']['event']['action'] == 'live_migration'
    assert got['pets-1']['not_before'] == '2026-11-21T12:01:00Z'
    assert 'max_defer_s' not in got['cattle-1']['event']
    for name, entry in got.items():
        meta = nova.servers['srv-%s' % name]['metadata']
        assert n.decode_event(meta['cloudmaint:event'])[0] == entry['event']
        assert entry['notified']['metadata'] == 'posted'
    # Only pets-1 has a webhook (its owner's URL); the others have no destination.
    assert [h['url'] for h in hooks.sent] == ['https://hooks.example.com/p']
    assert got['pets-1']['notified']['webhook'] == 'delivered'
    assert (got['pets-1']['notified']['attempts'], got['pets-1']['notified']['status']) == (1, 200)
    assert got['cattle-1']['notified']['webhook'] == 'none'
    assert hooks.sent[0]['payload']['answer']['ack']['value'] == got['pets-1']['event_id']
    assert hooks.sent[0]['deadline'] == pytest.approx(60)

    requests_before = nova.requests
    waited = run.wait(entries, poll_s=5)
    assert waited == pytest.approx(300)
    assert all(e['ready'] and e['ready_reason'] == 'notice_over' for e in entries)
    assert got['cattle-1']['waited_s'] == 0
    assert got['pets-1']['waited_s'] == pytest.approx(60)
    assert got['pandas-1']['waited_s'] == pytest.approx(300)
    # One list request per poll for the three servers of hv1 (then one read when only pandas-1 is left).
    assert nova.requests - requests_before <= run.polls
    assert run.polls <= 300 // 5 + 2


def test_engine_returns_as_soon_as_everyone_acknowledged():
    nova = cloud()
    run, clock = engine(nova)
    entries = post(run, nova)
    got = by_name(entries)
    clock.at(12, 'srv-pets-1', **{'cloudmaint:ack': got['pets-1']['event_id']})
    clock.at(20, 'srv-pandas-1', **{'cloudmaint:ack': got['pandas-1']['event_id']})
    waited = run.wait(entries, poll_s=5)
    assert waited == pytest.approx(20)
    assert got['pandas-1']['ready_reason'] == 'acknowledged'
    assert got['pandas-1']['acknowledged_at'] == '2026-11-21T12:00:20Z'
    assert got['pets-1']['acknowledged'] and got['pets-1']['waited_s'] == pytest.approx(15)


def test_engine_honours_a_bounded_deferral_and_shows_it_to_the_guest():
    nova = cloud()
    run, clock = engine(nova)
    entries = post(run, nova)
    got = by_name(entries)
    clock.at(30, 'srv-pets-1', **{'cloudmaint:defer': '2h'})      # pets: at most 900 s
    clock.at(30, 'srv-cattle-1', **{'cloudmaint:defer': '600'})   # cattle: none
    run.wait(entries, poll_s=5)
    pets = got['pets-1']
    assert pets['deferred_s'] == 900 and pets['defer_requested_s'] == 7200
    assert pets['not_before'] == '2026-11-21T12:16:00Z'
    assert pets['waited_s'] == pytest.approx(960)
    assert any('clamped to the 900 s' in note for note in pets['notes'])
    # The guest sees the new end of the notice.
    posted = n.decode_event(nova.servers['srv-pets-1']['metadata']['cloudmaint:event'])[0]
    assert posted['not_before'] == '2026-11-21T12:16:00Z' and posted['deferred_s'] == 900
    # cattle was ready at once: its deferral came too late and is not allowed anyway.
    assert got['cattle-1']['waited_s'] == 0 and got['cattle-1']['deferred_s'] == 0


def test_engine_rerun_keeps_the_notice_and_does_not_notify_again():
    nova = cloud()
    first, clock = engine(nova)
    entries = post(first, nova)
    first.finish_webhooks()
    event_of = dict((e['name'], e['event']) for e in entries)
    hooks = Hooks()
    again, _clock = engine(nova, hooks, clock=clock)
    clock.t = 30
    entries = post(again, nova)
    again.finish_webhooks()
    assert not again.changed
    assert hooks.sent == []
    for entry in entries:
        assert entry['event'] == event_of[entry['name']]
        assert entry['notified']['metadata'] == 'unchanged'
        assert entry['notified']['webhook'] == 'not_sent'


def test_engine_replaces_the_event_of_another_campaign():
    nova = cloud()
    old, _clock = engine(nova, campaign='c0')
    post(old, nova)
    run, _clock = engine(nova, campaign='c1')
    entries = post(run, nova)
    assert all(e['notified']['metadata'] == 'replaced' for e in entries)
    assert all(any('of campaign c0' in note for note in e['notes']) for e in entries)


def test_engine_owner_annotation_and_operator_override():
    nova = cloud()
    nova.servers['srv-pets-1']['metadata']['cloudmaint:notice_s'] = '20m'
    nova.servers['srv-pandas-1']['metadata']['cloudmaint:notice_s'] = '99h'
    run, _clock = engine(nova)
    got = by_name(post(run, nova, operator_period_s=120))
    assert (got['cattle-1']['notice_s'], got['cattle-1']['notice_source']) == (120, 'operator')
    assert (got['pets-1']['notice_s'], got['pets-1']['notice_source']) == (1200, 'owner')
    assert (got['pandas-1']['notice_s'], got['pandas-1']['notice_source']) == (3600, 'owner')


def test_engine_action_given_and_not_before():
    nova = cloud()
    run, _clock = engine(nova)
    got = by_name(post(run, nova, action='leave', earliest=at(7200)))
    assert {e['event']['action'] for e in got.values()} == {'reboot'}
    assert {e['not_before'] for e in got.values()} == {'2026-11-21T14:00:00Z'}


def test_engine_servers_nova_will_not_label_get_the_webhook_only():
    nova = FakeNova(error=nr.NovaError, hosts=['hv1'])
    nova.add_server('broken', 'hv1', status='ERROR',
                    metadata={'cloudmaint:notify_url': 'https://hooks.example.com/b', 'cloudmaint:ack': 'x'})
    nova.add_server('gone', 'hv1', status='SHELVED_OFFLOADED')
    hooks = Hooks()
    run, _clock = engine(nova, hooks)
    got = by_name(post(run, nova))
    run.finish_webhooks()
    assert got['broken']['policy_action'] == 'leave' and got['broken']['action'] == 'reboot'
    assert got['broken']['notified']['metadata'] == 'not_writable'
    assert 'cloudmaint:event' not in nova.servers['srv-broken']['metadata']
    assert hooks.sent[0]['payload']['guest_notice'] is False
    assert 'answer' not in hooks.sent[0]['payload']
    assert got['gone']['skipped'].startswith('the policy decides nothing')
    assert got['gone']['event'] is None
    assert nova.writes() == []


def test_engine_metadata_failure_is_reported_and_no_webhook_is_sent():
    nova = cloud()

    def refuse(server_id, metadata):
        raise nr.NovaError(409, 'Instance is locked', 'POST')

    nova.set_metadata = refuse
    hooks = Hooks()
    run, _clock = engine(nova, hooks)
    entries = post(run, nova)
    run.finish_webhooks()
    assert {e['notified']['metadata'] for e in entries} == {'failed'}
    assert entries[0]['notified']['metadata_error'] == 'Instance is locked'
    assert hooks.sent == []
    assert run.wait(entries) == 0
    assert not any(e['ready'] for e in entries)


def test_engine_check_mode_changes_nothing_and_checks_destinations():
    nova = cloud()
    nova.servers['srv-pandas-1']['metadata']['cloudmaint:notify_url'] = 'http://169.254.169.254/latest'
    hooks = Hooks()
    run, _clock = engine(nova, hooks, check_mode=True)
    got = by_name(post(run, nova))
    assert nova.writes() == [] and hooks.sent == []
    assert got['pets-1']['notified']['metadata'] == 'would_post'
    assert got['pets-1']['notified']['webhooks'][0]['outcome'] == 'would_send'
    assert got['pandas-1']['notified']['webhooks'][0]['outcome'] == 'refused'
    assert run.changed


def test_engine_timeout_ends_the_wait_with_servers_not_ready():
    nova = cloud()
    run, _clock = engine(nova)
    entries = post(run, nova)
    assert run.wait(entries, timeout_s=30, poll_s=5) == pytest.approx(30)
    got = by_name(entries)
    assert got['cattle-1']['ready'] and not got['pets-1']['ready']
    assert got['pets-1']['ready_reason'] == 'waiting' and got['pets-1']['waited_s'] == pytest.approx(30)


def test_engine_polls_servers_spread_over_hosts_with_bounded_requests():
    nova = FakeNova(error=nr.NovaError, hosts=['hv1', 'hv2', 'hv3'])
    for i in range(6):
        nova.add_server('p%d' % i, 'hv1' if i < 4 else 'hv%d' % (i - 2), metadata={'sla': 'pandas'})
    run, _clock = engine(nova)
    entries = run.plan(list(nova.servers.values()), Policy({}))
    run.post(entries)
    before = nova.requests
    run.poll(entries)
    # hv1 listed once for its four servers, p4 and p5 read on their own.
    assert nova.requests - before == 3


def test_engine_server_deleted_while_waiting_counts_as_ready():
    nova = cloud()
    run, clock = engine(nova)
    entries = post(run, nova)

    def delete():
        del nova.servers['srv-pandas-1']

    clock.actions.append((10, delete))
    run.wait(entries, poll_s=5)
    got = by_name(entries)
    assert got['pandas-1']['ready_reason'] == 'gone'
    assert got['pandas-1']['waited_s'] == pytest.approx(10)


def test_engine_busy_server_gets_the_notice_of_what_the_policy_will_do():
    nova = FakeNova(error=nr.NovaError, hosts=['hv1'])
    nova.add_server('busy', 'hv1', task='rebooting', metadata={'sla': 'pets'})
    run, _clock = engine(nova)
    got = by_name(post(run, nova))
    assert got['busy']['action'] == 'live_migration'
    assert got['busy']['notified']['metadata'] == 'not_writable'
    assert any('server busy' in note for note in got['busy']['notes'])


def test_engine_clear_removes_event_and_answers_keeps_owner_settings_and_says_done():
    nova = cloud()
    run, clock = engine(nova)
    entries = post(run, nova)
    event_ids = dict((e['name'], e['event_id']) for e in entries)
    nova.servers['srv-pets-1']['metadata'].update({'cloudmaint:ack': event_ids['pets-1'],
                                                   'cloudmaint:defer': '60'})
    hooks = Hooks()
    clear, _clock = engine(nova, hooks, clock=clock)
    cleared = by_name(clear.clear(nova.servers_on_host('hv1')))
    clear.finish_webhooks()
    assert clear.changed
    meta = nova.servers['srv-pets-1']['metadata']
    assert not any(k in meta for k in n.EVENT_KEYS)
    assert meta['cloudmaint:notify_url'] == 'https://hooks.example.com/p' and meta['sla'] == 'pets'
    assert cleared['pets-1']['notified']['metadata'] == 'cleared'
    assert [h['payload']['type'] for h in hooks.sent] == ['done']
    assert hooks.sent[0]['payload']['event']['id'] == event_ids['pets-1']
    # Nothing left: a second clear changes nothing.
    again, _clock = engine(nova, Hooks(), clock=clock)
    assert {e['notified']['metadata'] for e in again.clear(nova.servers_on_host('hv1'))} == {'absent'}
    assert not again.changed


def test_engine_clear_of_one_campaign_leaves_the_others():
    nova = cloud()
    run, _clock = engine(nova, campaign='c0')
    post(run, nova)
    clear, _clock = engine(nova, campaign='c1')
    cleared = clear.clear(nova.servers_on_host('hv1'))
    assert {e['notified']['metadata'] for e in cleared} == {'absent'}
    assert all('cloudmaint:event' in s['metadata'] for s in nova.servers.values())


def test_engine_owner_url_refused_falls_back_to_the_project_url():
    nova = cloud()
    nova.servers['srv-pets-1']['metadata']['cloudmaint:notify_url'] = 'http://10.0.0.5/steal'

    def outcome(url):
        return 'refused' if '10.0.0.5' in url else 'delivered'

    hooks = Hooks(outcome)
    run, _clock = engine(nova, hooks, project_webhooks={'prj-1': 'https://ops.example.com/p1'},
                         secret_per_project=True)
    got = by_name(post(run, nova))
    run.finish_webhooks()
    pets = got['pets-1']['notified']
    assert [(w['source'], w['outcome']) for w in pets['webhooks']] == [('owner', 'refused'), ('project', 'delivered')]
    assert pets['webhook'] == 'delivered'
    sent = [h for h in hooks.sent if h['payload']['server']['id'] == 'srv-pets-1']
    assert [h['trusted'] for h in sent] == [False, True]
    assert {h['secret'] for h in hooks.sent} == {n.project_secret('s', 'prj-1')}


def test_summarize():
    nova = cloud()
    run, clock = engine(nova)
    entries = post(run, nova)
    run.finish_webhooks()
    clock.at(5, 'srv-pandas-1', **{'cloudmaint:ack': by_name(entries)['pandas-1']['event_id']})
    run.wait(entries, poll_s=5)
    summary = nr.summarize(entries)
    assert summary['servers'] == 3 and summary['notified'] == 3 and summary['ready'] == 3
    assert summary['acknowledged'] == 1 and summary['webhooks_delivered'] == 1
    assert all(not k.startswith('_') for e in nr.public(entries) for k in e)


# ---------------------------------------------------------------- the module, driven without a cloud

class _Exit(Exception):
    def __init__(self, kind, result):
        super(_Exit, self).__init__(kind)
        self.kind = kind
        self.result = result


class ModuleNova(FakeNova):
    def find_server(self, name_or_id):
        found = [s for s in self.servers.values() if name_or_id in (s['id'], s['name'])]
        return self._view(found[0]) if found else None


@pytest.fixture
def drive(monkeypatch):
    """Run MaintenanceNoticeModule.run() with the fake Nova; returns ('exit'|'fail', result)."""
    from ansible.module_utils import basic
    from ansible.module_utils.testing import patch_module_args

    def exit_json(self, **kwargs):
        raise _Exit('exit', kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs['msg'] = msg
        raise _Exit('fail', kwargs)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)

    def run(nova, hooks=None, **args):
        monkeypatch.setattr(nr.webhook, 'deliver', hooks or Hooks())
        with patch_module_args(dict(args, cloud='unit-test')):
            module = mn.MaintenanceNoticeModule()
        module._nova = nova
        module._conn = object()
        try:
            module()
        except _Exit as done:
            return done.kind, done.result
        raise AssertionError('the module neither exited nor failed')

    return run


def test_module_posts_waits_and_reports(drive):
    nova = ModuleNova(error=nr.NovaError, hosts=['hv1'])
    nova.add_server('web-1', 'hv1', tenant='p-analytics')
    nova.add_server('web-2', 'hv1', tenant='p-other', metadata={'cloudmaint:notify_url': 'http://10.1.1.1/x'})
    hooks = Hooks(lambda url: 'refused' if '10.1.1.1' in url else 'delivered')
    nova.projects = {'p-analytics': 'analytics'}
    kind, result = drive(nova, hooks, host='hv1', campaign='c9', notice_s=0, webhook_secret='s',
                         project_webhooks={'analytics': 'https://ops.example.com/a'})
    assert kind == 'exit', result
    assert result['changed'] and result['all_ready'] and result['campaign'] == 'c9'
    assert nova.project_lookups == ['analytics']
    got = by_name(result['servers'])
    assert got['web-1']['notified']['webhook'] == 'delivered'
    # Deliveries run in parallel: find web-1's among them.
    sent = dict((h['payload']['server']['name'], h) for h in hooks.sent)
    assert sent['web-1']['payload']['server']['project_name'] == 'analytics'
    assert got['web-2']['notified']['webhook'] == 'refused'
    assert result['summary']['webhooks_refused'] == 1 and result['summary']['ready'] == 2
    assert all(not k.startswith('_') for e in result['servers'] for k in e)


def test_module_fails_when_the_wait_times_out(drive):
    nova = ModuleNova(error=nr.NovaError, hosts=['hv1'])
    nova.add_server('db-1', 'hv1', metadata={'sla': 'pandas'})
    kind, result = drive(nova, servers=['db-1'], timeout=0)
    assert kind == 'fail'
    assert result['msg'] == 'timeout: 1 server(s) still in their notice after 0 s: db-1'
    assert result['servers'][0]['notified']['metadata'] == 'posted'
    assert result['all_ready'] is False


def test_module_without_wait_returns_at_once(drive):
    nova = ModuleNova(error=nr.NovaError, hosts=['hv1'])
    nova.add_server('db-1', 'hv1', metadata={'sla': 'pandas'})
    kind, result = drive(nova, servers=['db-1'], wait=False)
    assert kind == 'exit' and result['all_ready'] is False and result['polls'] == 0
    assert result['servers'][0]['ready_reason'] == 'waiting'


def test_module_unknown_server_fails_before_any_change(drive):
    nova = ModuleNova(error=nr.NovaError, hosts=['hv1'])
    nova.add_server('db-1', 'hv1')
    kind, result = drive(nova, servers=['db-1', 'nope'])
    assert kind == 'fail' and result['msg'] == 'server(s) not found: nope'
    assert nova.writes() == []


def test_module_absent_clears(drive):
    nova = ModuleNova(error=nr.NovaError, hosts=['hv1'])
    nova.add_server('db-1', 'hv1', metadata={'cloudmaint:event': n.encode_event(event()),
                                             'cloudmaint:ack': EID})
    kind, result = drive(nova, host='hv1', state='absent')
    assert kind == 'exit' and result['changed'] and result['campaign'] is None
    assert result['summary']['cleared'] == 1
    assert nova.servers['srv-db-1']['metadata'] == {}


@pytest.mark.parametrize('campaign', ['patch-2026-11', 'k.5_14', 'a' * 56, None])
def test_usable_campaign_identifiers(campaign):
    assert n.campaign_problem(campaign) is None


@pytest.mark.parametrize('campaign, says', [
    ('a' * 57, '57 characters long'),
    ('patch 2026', 'letters, digits'),
    ('-patch', 'starting with'),
    ('', 'letters, digits'),
    ('patch"x', 'letters, digits'),
])
def test_unusable_campaign_identifiers_are_named(campaign, says):
    assert says in n.campaign_problem(campaign)


def test_engine_rerun_after_the_drain_acted_keeps_the_notice_of_servers_it_left_in_place():
    """The drain stopped pets-1 on hv1 (its record names hv1) and moved cattle-1 to hv2 (record
    names hv1): a re-run on hv1 must not replace pets-1's notice with one for what the policy says
    about a stopped server; a server the campaign moved here from elsewhere gets a notice."""
    nova = cloud()
    first, clock = engine(nova)
    entries = post(first, nova)
    first.finish_webhooks()
    told = by_name(entries)['pets-1']['event']
    nova.servers['srv-pets-1']['status'] = 'SHUTOFF'
    store = RecordStore(nova)
    store.put('srv-pets-1', cm.new_record('stop', 'hv1', 'c1', clock.utcnow()))
    nova.add_server('moved-here', 'hv1', metadata={'sla': 'pets'})
    store.put('srv-moved-here', cm.new_record('live_migrate', 'hv2', 'c1', clock.utcnow()))
    # A tenant's forged record in its server's metadata is no record at all.
    nova.servers['srv-cattle-1']['metadata'].update({
        'cloudmaint:campaign': 'c1', 'cloudmaint:state': 'stopped', 'cloudmaint:action': 'stop',
        'cloudmaint:origin_host': 'hv1'})
    hooks = Hooks()
    again, _clock = engine(nova, hooks, clock=clock)
    got = by_name(post(again, nova))
    again.finish_webhooks()
    assert got['pets-1']['skipped'].startswith('already handled by campaign c1')
    assert n.decode_event(nova.servers['srv-pets-1']['metadata']['cloudmaint:event'])[0] == told
    assert got['moved-here']['notified']['metadata'] == 'posted'
    assert got['cattle-1']['notified']['metadata'] == 'unchanged'


def test_notice_announces_the_fallback_the_campaign_plan_starts_at():
    nova = cloud()
    run, _clock = engine(nova)
    planned = {'srv-pets-1': 'cold_migrate', 'pandas-1': 'cold_migrate'}
    got = by_name(post(run, nova, planned_actions=planned))
    # pets fall back to a cold migration: the owner is told that, not a live one
    assert got['pets-1']['event']['action'] == 'cold_migration'
    assert got['pets-1']['policy_action'] == 'live_migrate'
    assert any('the campaign plan starts at cold_migrate' in note for note in got['pets-1']['notes'])
    # pandas have no such fallback: their notice stays a live migration
    assert got['pandas-1']['event']['action'] == 'live_migration'
    assert got['cattle-1']['event']['action'] == 'live_migration'

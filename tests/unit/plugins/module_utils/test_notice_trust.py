# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a tenant can write does not steer the notice: forged events in metadata are clamped to
the policy or replaced, never crash or lengthen the wait; webhook_allow refuses over-broad and
non-public entries without the operator's opt-in; the signature binds recipient URL and project."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import re

import pytest

from fake_nova import FakeNova  # pylint: disable=import-error

from ansible_collections.cloudmaint.openstack.plugins.module_utils import notice as n
from ansible_collections.cloudmaint.openstack.plugins.module_utils.policy import Policy
from ansible_collections.cloudmaint.openstack.plugins.module_utils import notice_run as nr
from ansible_collections.cloudmaint.openstack.plugins.modules import maintenance_notice as mn

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
CAMPAIGN = 'c1'
DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'docs', 'notices.md')


def at(seconds):
    return NOW + datetime.timedelta(seconds=seconds)


def raw_event(**fields):
    """An event as a tenant could write it: any JSON, not built by build_event."""
    event = {'v': 1, 'id': 'abcdef012345', 'campaign': CAMPAIGN, 'action': 'live_migration',
             'not_before': '2026-11-21T12:05:00Z', 'ack': 'cloudmaint:ack'}
    event.update(fields)
    return json.dumps(event, separators=(',', ':'))


# ---------------------------------------------------------------- decoding: bounded, never raises

@pytest.mark.parametrize('fields, reason', [
    (dict(not_before='9999-12-31T23:59:59Z'), 'unreadable not_before'),
    (dict(not_before='0001-01-01T00:00:00-14:00'), 'unreadable not_before'),     # overflows going to UTC
    (dict(not_before='9999-12-31T23:59:59+14:00'), 'unreadable not_before'),
    (dict(not_before='1969-12-31T23:59:59Z'), 'unreadable not_before'),
    (dict(not_before=1795262400), 'unreadable not_before'),
    (dict(not_before='2026-11-21T12:00:00Z' + ' ' * 50), 'unreadable not_before'),
    (dict(max_defer_s=10 ** 30, defer='cloudmaint:defer'), 'bad max_defer_s 1000000000000000'),
    (dict(max_defer_s=n.MAX_DEFER_S + 1), 'bad max_defer_s 604801'),
    (dict(max_defer_s=-1), 'bad max_defer_s -1'),
    (dict(max_defer_s='900'), "bad max_defer_s '900'"),
    (dict(max_defer_s=900.5), 'bad max_defer_s 900.5'),
    (dict(max_defer_s=900, deferred_s=10 ** 20), 'bad deferred_s'),
    (dict(v=True), 'unsupported schema version True'),
    (dict(campaign=CAMPAIGN + '\x1b[31m'), 'bad campaign'),
    (dict(campaign='c' * 57), 'bad campaign'),
    (dict(id='abcdef012345' * 3), 'bad event id'),
])
def test_values_out_of_bounds_make_the_event_unreadable(fields, reason):
    text = raw_event(**fields)
    event, why = n.decode_event(text)
    assert event is None
    assert reason in why
    assert len(why) < 200 and '\x1b' not in why


@pytest.mark.parametrize('text', [
    '[' * 200 + ']' * 200, '{"v":1' + ',"x":1' * 40 + '}', 'x' * 5000, b'{"v":1}', 12, '"' + 'a' * 250 + '"',
])
def test_any_metadata_value_decodes_without_raising(text):
    event, why = n.decode_event(text)
    assert event is None and why


def test_a_decoded_event_is_rebuilt_from_known_fields_only():
    text = raw_event(not_before='2026-11-21T13:05:00+01:00', note='\x1b]0;owned\x07', max_defer_s=60,
                     defer='elsewhere')
    event, why = n.decode_event(text)
    assert why is None
    assert event == n.build_event('abcdef012345', CAMPAIGN, 'live_migration', at(300), max_defer_s=60)


# ---------------------------------------------------------------- terms beyond the policy

@pytest.mark.parametrize('fields, period, max_defer, problem', [
    (dict(not_before='2099-01-01T00:00:00Z'), 60, 900, 'not_before 2099-01-01T00:00:00Z after'),
    (dict(not_before='2026-11-21T12:16:01Z'), 60, 900, 'after 2026-11-21T12:16:00Z'),
    (dict(max_defer_s=604800, defer='cloudmaint:defer'), 0, 0, 'max_defer_s 604800 over the 0 s'),
    (dict(max_defer_s=900, deferred_s=900, defer='cloudmaint:defer', not_before='2026-11-21T12:16:00Z'), 60, 30,
     'deferred_s 900 over the 30 s'),
])
def test_terms_beyond_the_policy_are_found(fields, period, max_defer, problem):
    event, _why = n.decode_event(raw_event(**fields))
    problems = n.term_problems(event, NOW, period, max_defer)
    assert any(problem in p for p in problems), problems


def test_terms_within_the_policy_pass_including_a_genuine_deferral():
    genuine = n.build_event('abcdef012345', CAMPAIGN, 'live_migrate', at(60 + 900), max_defer_s=900, deferred_s=900)
    assert n.term_problems(genuine, NOW, 60, 900) == []
    # Posted earlier: its end is nearer than a full notice from now.
    assert n.term_problems(genuine, at(30), 60, 900) == []
    # An operator's maintenance window (not_before) later than the notice is within the policy.
    late = n.build_event('abcdef012345', CAMPAIGN, 'stop', at(7200))
    assert n.term_problems(late, NOW, 60, 0, earliest=at(7200)) == []


def test_reissue_clamps_to_the_policy_and_keeps_an_earlier_end():
    forged, _why = n.decode_event(raw_event(not_before='2099-01-01T00:00:00Z', max_defer_s=604800,
                                            deferred_s=3600, defer='cloudmaint:defer'))
    event = n.reissue(forged, '0123456789ab', NOW, 60, 900)
    assert event == n.build_event('0123456789ab', CAMPAIGN, 'live_migration', at(60 + 900), max_defer_s=900,
                                  deferred_s=900)
    assert n.term_problems(event, NOW, 60, 900) == []
    # Cattle, no deferral allowed: none offered, none recorded.
    event = n.reissue(forged, '0123456789ab', NOW, 0, 0)
    assert event['not_before'] == '2026-11-21T12:00:00Z' and 'max_defer_s' not in event and 'deferred_s' not in event
    # An end sooner than the policy's: the owner's to waive, kept.
    soon, _why = n.decode_event(raw_event(not_before='2026-11-21T12:00:10Z', max_defer_s=604800,
                                          defer='cloudmaint:defer'))
    assert n.reissue(soon, '0123456789ab', NOW, 60, 900)['not_before'] == '2026-11-21T12:00:10Z'


# ---------------------------------------------------------------- the engine, with forged events

class Clock(object):
    def __init__(self):
        self.t = 0.0

    def monotonic(self):
        return self.t

    def utcnow(self):
        return NOW + datetime.timedelta(seconds=self.t)

    def sleep(self, seconds):
        self.t += seconds


class Hooks(object):
    def __init__(self):
        self.sent = []

    def __call__(self, url, payload, secret, **kwargs):
        self.sent.append(dict(url=url, payload=payload, secret=secret, **kwargs))
        return {'url': url, 'outcome': 'delivered', 'attempts': 1, 'status': 200, 'error': None}


def forged_cloud(sla, text):
    nova = FakeNova(error=nr.NovaError, hosts=['hv1'])
    nova.add_server('victim', 'hv1', metadata={'sla': sla, n.KEY_EVENT: text,
                                               n.KEY_NOTIFY_URL: 'https://hooks.example.com/t'})
    return nova


def run_forged(sla, text, timeout_s=None):
    """Plan, post and wait for one server carrying ``text`` as its event; the wait is bounded by
    the engine's own default unless ``timeout_s``."""
    nova = forged_cloud(sla, text)
    clock, hooks = Clock(), Hooks()
    ids = iter('%012x' % i for i in range(1, 100))
    run = nr.NoticeRun(nova, campaign=CAMPAIGN, allow=n.AllowList(['hooks.example.com']), secret='s',
                       deliver=hooks, utcnow=clock.utcnow, monotonic=clock.monotonic, sleep=clock.sleep,
                       new_event_id=lambda: next(ids))
    entries = run.plan(nova.servers_on_host('hv1'), Policy({}))
    run.post(entries)
    run.finish_webhooks()
    waited = run.wait(entries, timeout_s=timeout_s, poll_s=5)
    return entries[0], nova, hooks, waited, run


# The built-in classes: cattle 0 s notice and no deferral; pets 60 s, max_defer_s 900.
@pytest.mark.parametrize('sla, fields, found, end, max_defer', [
    ('pets', dict(not_before='2099-01-01T00:00:00Z', max_defer_s=900, defer='cloudmaint:defer'),
     'not_before 2099-01-01T00:00:00Z after', '2026-11-21T12:01:00Z', 900),
    ('cattle', dict(not_before='2026-11-21T12:00:00Z', max_defer_s=604800, defer='cloudmaint:defer'),
     'max_defer_s 604800 over the 0 s', '2026-11-21T12:00:00Z', 0),
    # Re-issued with the deferral clamped to 900 s; no cloudmaint:defer backs it, so the wait drops it.
    ('pets', dict(not_before='2026-11-28T12:01:00Z', max_defer_s=604800, deferred_s=604800,
                  defer='cloudmaint:defer'), 'deferred_s 604800 over the 900 s', '2026-11-21T12:01:00Z', 900),
])
def test_a_forged_event_of_this_campaign_is_reissued_within_the_policy(sla, fields, found, end, max_defer):
    entry, nova, hooks, waited, _run = run_forged(sla, raw_event(**fields))
    assert entry['notified']['metadata'] == 'replaced'
    assert entry['event_id'] != 'abcdef012345'
    assert entry['not_before'] == end and entry['max_defer_s'] == max_defer
    assert any(found in note and 're-issued as event' in note for note in entry['notes']), entry['notes']
    posted, _why = n.decode_event(nova.servers['srv-victim']['metadata'][n.KEY_EVENT])
    assert posted == entry['event']
    # The owner is told the real terms.
    assert [h['payload']['event']['id'] for h in hooks.sent] == [entry['event_id']]
    assert entry['ready'] and entry['ready_reason'] == 'notice_over'
    assert waited <= (n.parse_time(end) - NOW).total_seconds() + 5


@pytest.mark.parametrize('fields, note', [
    (dict(not_before='9999-12-31T23:59:59Z'), 'replaces an unreadable cloudmaint:event (unreadable not_before'),
    (dict(max_defer_s=10 ** 30, defer='cloudmaint:defer'), 'replaces an unreadable cloudmaint:event (bad max_defer_s'),
    (dict(max_defer_s=-5), 'bad max_defer_s -5'),
    (dict(deferred_s='lots'), "bad deferred_s 'lots'"),
    (dict(campaign='other-campaign', not_before='2099-01-01T00:00:00Z'), 'replaces event abcdef012345 of campaign other'),
])
def test_a_forged_event_that_is_not_ours_is_replaced_without_an_exception(fields, note):
    entry, _nova, _hooks, waited, _run = run_forged('pets', raw_event(**fields))
    assert entry['notified']['metadata'] == 'replaced'
    assert entry['not_before'] == '2026-11-21T12:01:00Z'
    assert any(note in text for text in entry['notes']), entry['notes']
    assert entry['ready'] and waited == pytest.approx(60)


def test_a_genuine_event_within_the_policy_is_kept():
    genuine = n.encode_event(n.build_event('abcdef012345', CAMPAIGN, 'live_migrate', at(60), max_defer_s=900))
    entry, _nova, hooks, _waited, _run = run_forged('pets', genuine)
    assert entry['notified']['metadata'] == 'unchanged' and entry['event_id'] == 'abcdef012345'
    assert hooks.sent == []


def test_the_default_wait_is_bounded_by_the_policy():
    genuine = n.encode_event(n.build_event('abcdef012345', CAMPAIGN, 'live_migrate', at(60), max_defer_s=900))
    entry, _nova, _hooks, _waited, run = run_forged('pets', genuine)
    # The end of the notice, the longest deferral, the margin.
    assert run.timeout_s == 60 + 900 + nr.WAIT_MARGIN_S
    assert entry['ready']


def test_a_deferral_asked_in_the_metadata_stays_within_the_policy_of_a_reissued_event():
    nova = forged_cloud('cattle', raw_event(max_defer_s=604800, defer='cloudmaint:defer'))
    nova.servers['srv-victim']['metadata'][n.KEY_DEFER] = '7d'
    clock = Clock()
    run = nr.NoticeRun(nova, campaign=CAMPAIGN, deliver=Hooks(), utcnow=clock.utcnow,
                       monotonic=clock.monotonic, sleep=clock.sleep)
    entries = run.plan(nova.servers_on_host('hv1'), Policy({}))
    run.post(entries)
    assert run.wait(entries, poll_s=5) == 0
    assert entries[0]['deferred_s'] == 0 and entries[0]['ready']


# ---------------------------------------------------------------- webhook_allow

@pytest.mark.parametrize('entry, says', [
    ('0.0.0.0/0', 'too broad'),
    ('::/0', 'too broad'),
    ('8.0.0.0/8', 'too broad'),
    ('2600::/16', 'too broad'),
    ('127.0.0.0/8', 'too broad'),
    ('*', 'neither a host name nor a network'),
    ('*.com', 'public suffix'),
    ('*.co.uk', 'public suffix'),
    ('*.github.io', 'public suffix'),
    ('*.amazonaws.com', 'public suffix'),
    ('64:ff9b::/96', 'wraps IPv4'),
    ('2002:a00::/32', 'wraps IPv4'),
    ('::ffff:10.0.0.0/120', 'wraps IPv4'),
    ('127.0.0.1/32', 'overlaps 127.0.0.0/8, a loopback range'),
    ('127.0.0.1', 'a loopback range'),
    ('10.20.0.0/16', 'a private range'),
    ('169.254.169.254', 'a link-local range'),
    ('100.64.0.0/16', 'shared'),
    ('192.0.2.0/24', 'a documentation range'),
    ('fd00:1::/48', 'unique local'),
    ('fe80::/64', 'link-local'),
    ('4000::/32', 'reserved'),
    ('https://hooks.example.com', 'is a URL'),
])
def test_allow_list_refuses_over_broad_and_non_public_entries_by_path(entry, says):
    with pytest.raises(ValueError) as info:
        n.AllowList(['hooks.example.com', '8.8.4.0/24', entry])
    message = str(info.value)
    assert message.startswith('webhook_allow[2]: ') and says in message
    assert message.count('webhook_allow[') == 1


@pytest.mark.parametrize('entry', ['127.0.0.1/32', '127.0.0.1', '::1', '10.20.0.0/16', '169.254.169.254', 'fd00:1::/48',
                                   '192.0.2.0/24', '100.64.0.0/16'])
def test_non_public_entries_need_the_explicit_opt_in(entry):
    assert n.AllowList([entry], allow_private=True).networks


@pytest.mark.parametrize('entry', ['0.0.0.0/0', '::/0', '*.com', '64:ff9b::/96', '10.0.0.0/8'])
def test_the_opt_in_does_not_admit_over_broad_entries(entry):
    with pytest.raises(ValueError):
        n.AllowList([entry], allow_private=True, allow_http=True)


@pytest.mark.parametrize('entry', ['hooks.example.com', '*.hooks.example.com', '*.example.co.uk', '8.8.4.0/24',
                                   '1.1.1.1', '2606:4700::/32', '2606:4700:4700::1111', '*.example.net'])
def test_public_entries_are_allowed_without_opt_in(entry):
    allow = n.AllowList([entry])
    assert allow.names or allow.networks


# ---------------------------------------------------------------- addresses wrapping IPv4, http

NAME = n.AllowList(['hooks.example.com'])


@pytest.mark.parametrize('address, ok, says', [
    ('64:ff9b::a9fe:a9fe', False, 'resolves to 169.254.169.254, which is not public (link-local)'),
    ('64:ff9b::a00:1', False, 'resolves to 10.0.0.1'),
    ('2002:7f00:1::1', False, 'resolves to 127.0.0.1, which is not public (loopback)'),
    ('2002:c0a8:101::1', False, 'resolves to 192.168.1.1'),
    ('::ffff:127.0.0.1', False, 'resolves to 127.0.0.1'),
    ('::7f00:1', False, 'resolves to 127.0.0.1'),
    ('::1', False, 'resolves to ::1, which is not public (loopback)'),
    ('::', False, 'which is not public (unspecified)'),
    ('64:ff9b:1::a00:1', False, 'NAT64 local-use'),
    ('2001:0:4136:e378:8000:63bf:3fff:fdd2', False, 'Teredo'),
    ('64:ff9b::808:808', True, 'public address 8.8.8.8'),
    ('2002:808:808::1', True, 'public address 8.8.8.8'),
    ('2606:4700:4700::1111', True, 'public address 2606:4700:4700::1111'),
])
def test_addresses_wrapping_ipv4_are_checked_as_that_ipv4(address, ok, says):
    got, why = n.address_allowed(n.parse_target('https://hooks.example.com/x'), address, NAME)
    assert got is ok and says in why, why


def test_a_literal_wrapping_a_listed_ipv4_is_that_address():
    allow = n.AllowList(['8.8.4.0/24'])
    assert n.target_allowed(n.parse_target('https://[64:ff9b::808:404]/x'), allow)[0]
    assert not n.target_allowed(n.parse_target('https://[64:ff9b::a00:1]/x'), allow)[0]


def test_owner_urls_need_https_unless_the_operator_allows_http():
    target = n.parse_target('http://hooks.example.com/x')
    ok, why = n.target_allowed(target, NAME)
    assert not ok and 'webhook_allow_http' in why
    assert n.target_allowed(target, n.AllowList(['hooks.example.com'], allow_http=True))[0]
    assert n.target_allowed(n.parse_target('https://hooks.example.com/x'), NAME)[0]
    # The operator's own URL may be http.
    assert n.target_allowed(target, NAME, trusted=True)[0]


def test_non_ascii_urls_are_refused():
    with pytest.raises(ValueError, match='not ASCII'):
        n.parse_target('https://hooks.example.com/\u00e9t\u00e9')


# ---------------------------------------------------------------- signature binding

SERVER_A = {'id': 'srv-a', 'name': 'a', 'project_id': 'prj-a'}
SERVER_B = {'id': 'srv-b', 'name': 'b', 'project_id': 'prj-b'}
EVENT = n.build_event('3f9a2c71d04e', CAMPAIGN, 'live_migrate', at(300), max_defer_s=900)
URL_A, URL_B = 'https://a.example.com/hook', 'https://b.example.com/hook'


def signed(server, url, secret='operator'):
    body = n.encode_payload(n.webhook_payload('scheduled', EVENT, server, 'd' * 32), 1795000000, url)
    key, _why = n.signing_secret(secret, server['project_id'])
    return key, body, n.sign(key, body)


def test_a_delivery_verifies_for_its_own_url_and_project():
    key, body, signature = signed(SERVER_A, URL_A)
    assert n.verify(key, body, signature, '1795000000', now=1795000100, url=URL_A, project_id='prj-a',
                    delivery='d' * 32) == (True, 'ok')


@pytest.mark.parametrize('url, project, reason', [
    (URL_B, 'prj-a', 'signed for another URL'),
    (URL_A + '?', 'prj-a', 'signed for another URL'),
    (URL_A, 'prj-b', 'signed for another project'),
])
def test_a_delivery_for_url_a_or_project_a_fails_for_b(url, project, reason):
    key, body, signature = signed(SERVER_A, URL_A)
    assert n.verify(key, body, signature, url=url, project_id=project) == (False, reason)


def test_project_b_cannot_sign_for_project_a():
    key_a, body, _signature = signed(SERVER_A, URL_A)
    key_b, _body, _sig = signed(SERVER_B, URL_B)
    assert key_a != key_b
    # The owner of B (who holds only B's secret) forges a delivery to A's receiver.
    forged = n.encode_payload(n.webhook_payload('scheduled', EVENT, SERVER_A, 'e' * 32), 1795000000, URL_A)
    assert not n.verify(key_a, forged, n.sign(key_b, forged))[0]
    assert n.verify(key_a, body, n.sign(key_a, body))[0]


def test_changing_the_recipient_breaks_the_signature():
    key, body, signature = signed(SERVER_A, URL_A)
    moved = body.replace(URL_A.encode(), URL_B.encode())
    assert n.verify(key, moved, signature) == (False, 'signature mismatch')


@pytest.mark.parametrize('now, ok', [(1795000000 + 300, True), (1795000000 + 301, False),
                                     (1795000000 - 301, False)])
def test_the_timestamp_window_rejects_old_and_future_deliveries(now, ok):
    key, body, signature = signed(SERVER_A, URL_A)
    assert n.verify(key, body, signature, '1795000000', now=now)[0] is ok


def test_the_delivery_header_must_match_the_signed_id():
    key, body, signature = signed(SERVER_A, URL_A)
    assert n.verify(key, body, signature, delivery='f' * 32) == (
        False, 'delivery header does not match the signed delivery id')


def test_per_project_is_the_default_and_needs_a_project():
    assert n.signing_secret('operator', 'prj-a') == (n.project_secret('operator', 'prj-a'), None)
    assert n.signing_secret('operator', 'prj-a', per_project=False) == ('operator', None)
    assert n.signing_secret('operator', None)[0] is None
    assert n.signing_secret('', 'prj-a')[0] is None
    assert n.project_secret('operator', 'prj-a') == hmac.new(b'operator', b'cloudmaint-webhook:prj-a',
                                                             hashlib.sha256).hexdigest()


def test_the_engine_signs_with_the_project_secret_by_default():
    nova = FakeNova(error=nr.NovaError, hosts=['hv1'])
    nova.add_server('web', 'hv1', tenant='prj-a', metadata={'sla': 'pets',
                                                            n.KEY_NOTIFY_URL: 'https://hooks.example.com/t'})
    nova.add_server('orphan', 'hv1', tenant=None, metadata={'sla': 'pets',
                                                            n.KEY_NOTIFY_URL: 'https://hooks.example.com/t'})
    hooks, clock = Hooks(), Clock()
    run = nr.NoticeRun(nova, campaign=CAMPAIGN, allow=NAME, secret='operator', deliver=hooks,
                       utcnow=clock.utcnow, monotonic=clock.monotonic, sleep=clock.sleep)
    entries = dict((e['name'], e) for e in run.plan(nova.servers_on_host('hv1'), Policy({})))
    run.post(list(entries.values()))
    run.finish_webhooks()
    assert [h['secret'] for h in hooks.sent] == [n.project_secret('operator', 'prj-a')]
    assert entries['orphan']['notified']['webhook'] == 'skipped'
    assert 'no project id' in entries['orphan']['notified']['webhooks'][0]['error']


def test_the_documented_example_delivery_verifies():
    """docs/notices.md shows a body and its signature: they must be what the code produces."""
    with open(DOCS) as handle:
        text = handle.read()
    signature = re.search(r'X-Cloudmaint-Signature: (sha256=[0-9a-f]{64})', text).group(1)
    shown = json.loads(re.search(r'```json\n(\{\n  "answer".*?\n\})\n```', text, re.S).group(1))
    body = json.dumps(shown, separators=(',', ':'), sort_keys=True).encode()
    key = n.project_secret('example-secret', shown['recipient']['project_id'])
    ok, why = n.verify(key, body, signature, url='https://hooks.example.com/maint',
                       project_id='5a1c0e7b9d8f4e2a8b6c4d2e0f1a3b5c')
    assert ok, why


# ---------------------------------------------------------------- remote text

@pytest.mark.parametrize('text, shown', [
    ('\x1b[31mred\x1b[0m alert', 'red alert'),
    ('\x1b]0;title\x07ok', 'ok'),
    ('\x9b2Jcleared', 'cleared'),
    ('bell\x07 and\r\nnewline', 'bell andnewline'),
    ('\u202eevil', 'evil'),
    (b'\x1b[1mbytes\xff', 'bytes\ufffd'),
    (None, ''),
])
def test_clean_text_strips_escapes_and_controls(text, shown):
    assert n.clean_text(text) == shown


def test_clean_text_is_bounded():
    assert len(n.clean_text('x' * 10000)) == n.MAX_REMOTE_TEXT


# ---------------------------------------------------------------- the module

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
    """Run the module against the fake Nova; returns ('exit'|'fail', result)."""
    from ansible.module_utils import basic
    from ansible.module_utils.testing import patch_module_args

    def exit_json(self, **kwargs):
        raise _Exit('exit', kwargs)

    def fail_json(self, msg, **kwargs):
        raise _Exit('fail', dict(kwargs, msg=msg))

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)

    def run(nova, **args):
        monkeypatch.setattr(nr.webhook, 'deliver', Hooks())
        with patch_module_args(dict(args, cloud='unit-test')):
            module = mn.MaintenanceNoticeModule()
        module._nova = nova
        try:
            module()
        except _Exit as done:
            return done.kind, done.result
        raise AssertionError('the module neither exited nor failed')

    return run


def test_module_bad_webhook_allow_fails_by_path_before_any_change(drive):
    nova = ModuleNova(error=nr.NovaError, hosts=['hv1'])
    nova.add_server('db-1', 'hv1', metadata={'sla': 'pets'})
    kind, result = drive(nova, servers=['db-1'], webhook_allow=['hooks.example.com', '0.0.0.0/0', '127.0.0.1/32'])
    assert kind == 'fail'
    assert 'webhook_allow[1]: ' in result['msg'] and 'webhook_allow[2]: ' in result['msg']
    assert nova.writes() == []


def test_module_opt_ins_admit_a_loopback_receiver(drive):
    nova = ModuleNova(error=nr.NovaError, hosts=['hv1'])
    nova.add_server('db-1', 'hv1', metadata={'sla': 'cattle'})
    kind, result = drive(nova, servers=['db-1'], webhook_allow=['127.0.0.1/32'], webhook_allow_private=True,
                         webhook_allow_http=True, wait=False)
    assert kind == 'exit', result


def test_module_forged_far_future_event_neither_hangs_nor_fails(drive):
    nova = ModuleNova(error=nr.NovaError, hosts=['hv1'])
    nova.add_server('db-1', 'hv1', metadata={'sla': 'cattle', n.KEY_EVENT: raw_event(
        campaign='patch-1', not_before='2099-01-01T00:00:00Z', max_defer_s=604800, defer='cloudmaint:defer')})
    kind, result = drive(nova, servers=['db-1'], campaign='patch-1')
    assert kind == 'exit', result
    [entry] = result['servers']
    # Cattle: no notice at all (it ends when posted), whatever the forged event said.
    assert entry['ready'] and n.parse_time(entry['not_before']) <= datetime.datetime.now(UTC)
    assert any('re-issued' in note for note in entry['notes'])
    # Cattle: no notice, no deferral; the bound is the margin alone.
    assert result['timeout_s'] == nr.WAIT_MARGIN_S

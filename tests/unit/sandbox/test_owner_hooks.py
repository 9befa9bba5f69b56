# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The sandbox owners' receiver (cmsandbox.owner_hooks) checks deliveries as docs/notices.md tells
owners to, written from the documented scheme: it accepts what the collection signs and refuses
another project's key, another URL, an old or future sent_at, and a replay."""

from __future__ import annotations

import datetime

from cmsandbox import owner_hooks

from ansible_collections.cloudmaint.openstack.plugins.module_utils import notice as n

OPERATOR = 'sandbox-webhook-secret'
URL = 'http://127.0.0.1:39800/hooks/web-shop'
SENT_AT = 1795000000
EVENT = n.build_event('3f9a2c71d04e', 'c1', 'live_migrate',
                      datetime.datetime(2026, 11, 21, 12, 0, tzinfo=datetime.timezone.utc), max_defer_s=30)


def delivery(project='prj-1', url=URL, sent_at=SENT_AT, key=None):
    payload = n.webhook_payload('scheduled', EVENT, {'id': 's', 'name': 'db-01', 'project_id': project}, 'd' * 32)
    body = n.encode_payload(payload, sent_at, url)
    key = key or n.project_secret(OPERATOR, project)
    return body, n.signed_headers(key, body, sent_at, 'scheduled', 'd' * 32)


def test_the_receiver_derives_the_project_secret_as_the_collection_does():
    assert owner_hooks.project_secret(OPERATOR, 'prj-1') == n.project_secret(OPERATOR, 'prj-1')


def test_a_genuine_delivery_passes():
    body, headers = delivery()
    problem, payload = owner_hooks.check(OPERATOR, body, headers, URL, SENT_AT + 10)
    assert problem is None and payload['event'] == EVENT


def test_refusals():
    body, headers = delivery(key=n.project_secret(OPERATOR, 'prj-2'))
    assert owner_hooks.check(OPERATOR, body, headers, URL, SENT_AT)[0] == 'bad signature'
    body, headers = delivery(key=OPERATOR)     # the operator's secret itself, not the project's
    assert owner_hooks.check(OPERATOR, body, headers, URL, SENT_AT)[0] == 'bad signature'
    body, headers = delivery(url='http://127.0.0.1:39800/hooks/data-lab')
    assert 'not this URL' in owner_hooks.check(OPERATOR, body, headers, URL, SENT_AT)[0]
    body, headers = delivery()
    assert owner_hooks.check(OPERATOR, body, headers, URL, SENT_AT + 301)[0].startswith('stale')
    assert 'in the future' in owner_hooks.check(OPERATOR, body, headers, URL, SENT_AT - 301)[0]
    headers = dict(headers, **{'X-Cloudmaint-Timestamp': str(SENT_AT + 1)})
    assert 'timestamp' in owner_hooks.check(OPERATOR, body, headers, URL, SENT_AT)[0]


def test_a_replay_is_refused_and_a_retry_is_not_acted_on_twice():
    seen = owner_hooks.Deliveries()
    assert seen.see(URL, 'd' * 32, SENT_AT, SENT_AT) == 'new'
    seen.handle(URL, 'd' * 32, SENT_AT)
    assert seen.see(URL, 'd' * 32, SENT_AT, SENT_AT + 5) == 'replay'
    assert seen.see(URL, 'd' * 32, SENT_AT + 4, SENT_AT + 5) == 'retry'
    # Entries older than twice the window are forgotten (such deliveries are stale anyway).
    assert seen.see(URL, 'd' * 32, SENT_AT, SENT_AT + 2 * owner_hooks.TOLERANCE_S + 1) == 'new'

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Maintenance notices against the sandbox cloud, with a real HTTP receiver in this process.

The receiver plays the servers' owners' endpoint: it records every delivery with the time it
arrived. Where an owner answers, the test itself does, from its own thread, through the Compute
API with the tenant's credentials (clouds.yaml ``sandbox-tenant``). Servers are booted on hv03 (emptied for the module tests, modules_support).
"""

from __future__ import annotations

import concurrent.futures
import datetime
import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import REPO, wait_until
from modules_support import (  # noqa: F401  pylint: disable=unused-import
    DRAINED,
    boot,
    drained_host,
    enable_drained_host,
    host_of,
    migrations,
    play,
    server,
    task,
    vms,
)

SECRET = 'itest-webhook-secret'
EVENT_KEY, ACK_KEY, NOTIFY_KEY = 'cloudmaint:event', 'cloudmaint:ack', 'cloudmaint:notify_url'
VENV_BIN = os.path.join(REPO, '.venv', 'bin')


@pytest.fixture(autouse=True)
def on_drained_host(conn, drained_host):
    yield
    enable_drained_host(conn)


# ---- the owners' receiver ---------------------------------------------------------------------

class Receiver(object):
    """Owners' webhook endpoint on ``address``: path /ok answers 200, /fail 500. It only records
    deliveries; an owner's answer is sent by the test itself (``owner_acknowledges``)."""

    def __init__(self, address='127.0.0.1'):
        self.deliveries = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                status = 500 if self.path.startswith('/fail') else 200
                with receiver.lock:
                    receiver.deliveries.append({
                        'at': time.time(), 'path': self.path, 'url': receiver.base + self.path,
                        'status': status, 'body': body,
                        'headers': {k.lower(): v for k, v in self.headers.items()}})
                self.send_response(status)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((address, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = 'http://%s:%d' % (address, self.port)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self, server_id=None, kind=None):
        with self.lock:
            found = [d for d in self.deliveries if 'body' in d]
        out = []
        for delivery in found:
            payload = json.loads(delivery['body'])
            if server_id and payload['server']['id'] != server_id:
                continue
            if kind and payload['type'] != kind:
                continue
            out.append(dict(delivery, payload=payload))
        return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    hooks = Receiver()
    yield hooks
    hooks.close()


def owner_acknowledges(tenant, receiver, server_id, after_s=2.0, timeout=120):
    """As the owner would: waits for the scheduled webhook of ``server_id``, then ``after_s`` later
    sets the acknowledgement it names, with the tenant's credentials. Returns when it was sent."""
    [delivery] = wait_until('the scheduled webhook of %s' % server_id,
                            lambda: receiver.received(server_id, 'scheduled'), timeout)
    time.sleep(after_s)
    answer = delivery['payload']['answer']['ack']
    response = tenant.compute.post('/servers/%s/metadata' % server_id,
                                   json={'metadata': {answer['key']: answer['value']}},
                                   microversion='2.1')
    assert response.status_code == 200, response.text
    return time.time()


def in_background(function, *args, **kwargs):
    """Runs ``function`` in a thread; .result() returns its value or raises its exception here."""
    pool = concurrent.futures.ThreadPoolExecutor(1)
    future = pool.submit(function, *args, **kwargs)
    pool.shutdown(wait=False)
    return future


def signed_by(secret, delivery):
    """Checked here from the raw body, independently of the collection's own code, as
    docs/notices.md tells owners to: the signature with the project's secret derived from the
    operator's ``secret``, and the signed recipient naming the URL the delivery came to and the
    server's project, the signed sent_at and delivery id those of the headers."""
    payload = json.loads(delivery['body'])
    recipient = payload.get('recipient') or {}
    project = recipient.get('project_id') or ''
    project_secret = hmac.new(secret.encode(), b'cloudmaint-webhook:' + project.encode(),
                              hashlib.sha256).hexdigest()
    expected = 'sha256=' + hmac.new(project_secret.encode(), delivery['body'], hashlib.sha256).hexdigest()
    headers = delivery['headers']
    return (hmac.compare_digest(expected, headers.get('x-cloudmaint-signature', ''))
            and recipient.get('url') == delivery['url']
            and project == payload['server']['project_id']
            and str(payload.get('sent_at')) == headers.get('x-cloudmaint-timestamp')
            and payload.get('delivery') == headers.get('x-cloudmaint-delivery'))


def utc(text):
    return datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ').replace(
        tzinfo=datetime.timezone.utc).timestamp()


def event_of(conn, server_id):
    value = (server(conn, server_id).get('metadata') or {}).get(EVENT_KEY)
    return json.loads(value) if value else None


def notice_task(register, ids, **params):
    # The receiver is on loopback, over http: both need the operator's explicit opt-in.
    defaults = dict(servers=ids, campaign='itest-notice', webhook_allow=['127.0.0.1/32'],
                    webhook_allow_private=True, webhook_allow_http=True,
                    webhook_secret=SECRET, webhook_backoff=0.5, poll_interval=1)
    defaults.update(params)
    return task('maintenance_notice', register, **defaults)


POLICY = {'sla_key': 'sla', 'classes': {
    'pets': {'action': 'live_migrate', 'notice': {'period_s': 60, 'max_period_s': 120, 'max_defer_s': 30}},
    'cattle': {'action': 'live_migrate', 'notice': {'period_s': 8, 'max_period_s': 60, 'max_defer_s': 0}},
}}


# ---- the module ---------------------------------------------------------------------------------

def test_event_arrives_signed_and_in_the_metadata_then_is_cleared(
        conn, cloud_env, tmp_path, vms, receiver):
    srv = boot(conn, vms, {'notified': {'sla': 'pets', NOTIFY_KEY: receiver.base + '/ok/web-shop'}})
    sid = srv['notified']['id']
    posted_at = time.time()
    out = play(cloud_env, tmp_path, [notice_task('notice', [sid], notice_s=30, wait=False)])
    entry = out['notice']['servers'][0]
    assert entry['notified']['metadata'] == 'posted' and entry['notified']['webhook'] == 'delivered'

    [delivery] = receiver.received(sid, 'scheduled')
    assert signed_by(SECRET, delivery)
    assert not signed_by('another secret', delivery)
    event = delivery['payload']['event']
    assert event == event_of(conn, sid), 'the owner and the guest see different events'
    assert event['action'] == 'live_migration' and event['campaign'] == 'itest-notice'
    # The notice ends 30 s after it was posted (to the second, plus the time the play took to start).
    assert posted_at + 29 <= utc(event['not_before']) <= delivery['at'] + 31
    assert delivery['payload']['answer']['ack'] == {'key': ACK_KEY, 'value': event['id']}

    play(cloud_env, tmp_path, [notice_task('cleared', [sid], state='absent')])
    assert event_of(conn, sid) is None
    [done] = receiver.received(sid, 'done')
    assert signed_by(SECRET, done) and done['payload']['event']['id'] == event['id']


def test_acknowledgement_cuts_the_wait_short_and_servers_wait_in_parallel(
        conn, cloud_env, tmp_path, vms, receiver, tenant):
    """A pets server (60 s notice) whose owner acknowledges 2 s after the webhook, and a cattle
    server (8 s notice) nobody answers, in one wait: over at about 8 s, not 60 or 68."""
    srv = boot(conn, vms, {
        'acked': {'sla': 'pets', NOTIFY_KEY: receiver.base + '/ack/web-shop'},
        'silent': {'sla': 'cattle', NOTIFY_KEY: receiver.base + '/ok/web-shop'}})
    acked, silent = srv['acked']['id'], srv['silent']['id']
    started = time.monotonic()
    running = in_background(play, cloud_env, tmp_path,
                            [notice_task('notice', [acked, silent], policy=POLICY, wait=True)])
    owner_acknowledges(tenant, receiver, acked)
    out = running.result(timeout=600)
    finished_at = time.time()
    wall = time.monotonic() - started
    entries = {e['id']: e for e in out['notice']['servers']}
    print('acknowledged after %.1fs of a %ds notice; unanswered %ds notice over after %.1fs; '
          'module waited %.1fs, play %.1fs' % (
              entries[acked]['waited_s'], entries[acked]['notice_s'], entries[silent]['notice_s'],
              entries[silent]['waited_s'], out['notice']['waited_s'], wall))
    assert entries[acked]['notice_s'] == 60 and entries[silent]['notice_s'] == 8
    assert entries[acked]['ready_reason'] == 'acknowledged' and entries[acked]['acknowledged']
    assert entries[silent]['ready_reason'] == 'notice_over'
    assert out['notice']['all_ready']
    # Bounds of the policy, not of the machine. A notice runs from when it was posted (its event's
    # not_before), not from when the wait began: the unanswered server's notice ran its full length
    # before the play ended, the acknowledged server's 60 s notice had not, and the module's one
    # wait ended with the last server to become ready.
    assert finished_at >= utc(entries[silent]['event']['not_before'])
    assert finished_at < utc(entries[acked]['event']['not_before'])
    assert entries[acked]['waited_s'] < entries[acked]['notice_s']
    assert entries[silent]['waited_s'] <= out['notice']['waited_s']


def test_owner_url_outside_the_allow_list_is_refused_and_never_called(
        conn, cloud_env, tmp_path, vms, receiver):
    outside = Receiver(address='127.0.0.2')
    try:
        srv = boot(conn, vms, {'outside': {'sla': 'pets', NOTIFY_KEY: outside.base + '/ok/web-shop'}})
        sid = srv['outside']['id']
        out = play(cloud_env, tmp_path, [notice_task('notice', [sid], notice_s=5, wait=False)])
    finally:
        outside.close()
    entry = out['notice']['servers'][0]
    assert entry['notified']['webhook'] == 'refused'
    refused = entry['notified']['webhooks'][0]
    assert refused['outcome'] == 'refused' and 'webhook_allow' in json.dumps(refused)
    assert outside.received() == [] and receiver.received() == []
    assert entry['notified']['metadata'] == 'posted', 'the guest still gets its notice'
    play(cloud_env, tmp_path, [notice_task('cleared', [sid], state='absent')])


def test_failing_receiver_is_retried_and_does_not_hold_the_action_past_the_notice(
        conn, cloud_env, tmp_path, vms, receiver):
    srv = boot(conn, vms, {'broken': {'sla': 'cattle', NOTIFY_KEY: receiver.base + '/fail/web-shop'}})
    sid = srv['broken']['id']
    started = time.monotonic()
    out = play(cloud_env, tmp_path, [notice_task('notice', [sid], policy=POLICY, wait=True,
                                                 webhook_retries=3)])
    wall = time.monotonic() - started
    entry = out['notice']['servers'][0]
    calls = receiver.received(sid, 'scheduled')
    print('receiver answering 500: %d attempts, ready after %.1fs (notice %ds), play %.1fs'
          % (len(calls), entry['waited_s'], entry['notice_s'], wall))
    assert entry['notified']['webhook'] == 'failed'
    assert entry['notified']['attempts'] == len(calls) == 4
    assert all(c['status'] == 500 for c in calls)
    assert len({c['headers']['x-cloudmaint-delivery'] for c in calls}) == 1, 'one delivery, retried'
    assert entry['ready'] and entry['ready_reason'] == 'notice_over'
    # The retries ran within the notice, not past its end.
    [event] = {json.dumps(c['payload']['event'], sort_keys=True) for c in calls}
    assert max(c['at'] for c in calls) <= utc(json.loads(event)['not_before'])
    play(cloud_env, tmp_path, [notice_task('cleared', [sid], state='absent')])


# ---- in the drain, as a campaign runs it --------------------------------------------------------

def test_drain_playbook_gives_notice_before_moving_and_clears_it_after(
        conn, cloud_env, tmp_path, vms, receiver, tenant):
    """playbooks/drain.yml on hv03 with the sandbox's inventory and policy (pets: 10 s notice):
    the owner hears before the migration starts, the move waits for the acknowledgement or the
    notice's end, and once the server has moved its event is gone and a done event posted."""
    srv = boot(conn, vms, {
        'acked': {'sla': 'pets', NOTIFY_KEY: receiver.base + '/ack/web-shop'},
        'silent': {'sla': 'pets', NOTIFY_KEY: receiver.base + '/ok/web-shop'}})
    campaign = 'itest-drain-notice'
    argv = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', os.path.join(REPO, 'sandbox', 'inventory'),
            os.path.join(REPO, 'playbooks', 'drain.yml'), '-e', 'cloudmaint_hosts=%s' % DRAINED,
            '-e', 'cloudmaint_drain_campaign=%s' % campaign,
            '-e', 'cloudmaint_notice_webhook_secret=%s' % SECRET]
    env = dict(cloud_env, PATH=VENV_BIN + os.pathsep + cloud_env.get('PATH', ''))
    try:
        running = in_background(subprocess.run, argv, cwd=REPO, env=env, capture_output=True,
                                text=True, timeout=900, check=False)
        acked_at = owner_acknowledges(tenant, receiver, srv['acked']['id'])
        result = running.result(timeout=960)
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        assert SECRET not in result.stdout + result.stderr, 'the webhook secret reached the output'
        for role, sid in ((r, s['id']) for r, s in srv.items()):
            [scheduled] = receiver.received(sid, 'scheduled')
            [done] = receiver.received(sid, 'done')
            [move] = [m for m in migrations(conn, sid) if m['status'] == 'completed']
            moved_at = datetime.datetime.fromisoformat(move['created_at']).replace(
                tzinfo=datetime.timezone.utc).timestamp()
            print('%s: webhook %.1fs before the migration started, done %.1fs after it' % (
                role, moved_at - scheduled['at'], done['at'] - moved_at))
            assert scheduled['at'] < moved_at < done['at']
            assert host_of(server(conn, sid)) != DRAINED
            assert event_of(conn, sid) is None
        # The silent server's 10 s notice ran out before anything moved.
        silent_move = [m for m in migrations(conn, srv['silent']['id']) if m['status'] == 'completed'][0]
        silent_at = datetime.datetime.fromisoformat(silent_move['created_at']).replace(
            tzinfo=datetime.timezone.utc).timestamp()
        assert silent_at - receiver.received(srv['silent']['id'], 'scheduled')[0]['at'] >= 9
        acked_move = [m for m in migrations(conn, srv['acked']['id']) if m['status'] == 'completed'][0]
        assert datetime.datetime.fromisoformat(acked_move['created_at']).replace(
            tzinfo=datetime.timezone.utc).timestamp() >= acked_at - 1
    finally:
        enable_drained_host(conn)
        wait_until('nothing left of the drain', lambda: all(
            host_of(server(conn, s['id'])) for s in srv.values()), timeout=60)

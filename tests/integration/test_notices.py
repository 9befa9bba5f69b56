# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Maintenance notices against the sandbox cloud, with a real HTTP receiver in this process.

The receiver plays the servers' owners: it records every delivery with the time it arrived, and
for some servers answers the way an owner would, through the Compute API with the owner's own
credentials. Servers are booted on hv03 (emptied for the module tests, modules_support).
"""

from __future__ import annotations

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
    """Owners' webhook endpoint on ``address``: path /ok answers 200, /fail 500, /ack answers 200
    and acknowledges the event as the owner ``ack_after_s`` seconds later."""

    def __init__(self, conn, address='127.0.0.1', ack_after_s=2.0):
        self.conn = conn
        self.ack_after_s = ack_after_s
        self.deliveries = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                status = 500 if self.path.startswith('/fail') else 200
                with receiver.lock:
                    receiver.deliveries.append({
                        'at': time.time(), 'path': self.path, 'status': status, 'body': body,
                        'headers': {k.lower(): v for k, v in self.headers.items()}})
                self.send_response(status)
                self.send_header('Content-Length', '0')
                self.end_headers()
                if status == 200 and self.path.startswith('/ack'):
                    payload = json.loads(body)
                    if payload['type'] == 'scheduled':
                        threading.Thread(target=receiver.acknowledge, args=(payload,),
                                         daemon=True).start()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((address, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = 'http://%s:%d' % (address, self.port)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def acknowledge(self, payload):
        time.sleep(self.ack_after_s)
        owner = self.conn.connect_as_project('web-shop')
        answer = payload['answer']['ack']
        response = owner.compute.post('/servers/%s/metadata' % payload['server']['id'],
                                      json={'metadata': {answer['key']: answer['value']}},
                                      microversion='2.1')
        assert response.status_code < 400, response.text
        with self.lock:
            self.deliveries.append({'at': time.time(), 'acked': payload['server']['id']})

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
def receiver(conn):
    hooks = Receiver(conn)
    yield hooks
    hooks.close()


def signed_by(secret, delivery):
    """Checked here from the raw body, independently of the collection's own code."""
    expected = 'sha256=' + hmac.new(secret.encode(), delivery['body'], hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, delivery['headers'].get('x-cloudmaint-signature', ''))


def utc(text):
    return datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ').replace(
        tzinfo=datetime.timezone.utc).timestamp()


def event_of(conn, server_id):
    value = (server(conn, server_id).get('metadata') or {}).get(EVENT_KEY)
    return json.loads(value) if value else None


def notice_task(register, ids, **params):
    defaults = dict(servers=ids, campaign='itest-notice', webhook_allow=['127.0.0.1/32'],
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
        conn, cloud_env, tmp_path, vms, receiver):
    """A pets server (60 s notice) whose owner acknowledges 2 s after the webhook, and a cattle
    server (8 s notice) nobody answers, in one wait: over at about 8 s, not 60 or 68."""
    srv = boot(conn, vms, {
        'acked': {'sla': 'pets', NOTIFY_KEY: receiver.base + '/ack/web-shop'},
        'silent': {'sla': 'cattle', NOTIFY_KEY: receiver.base + '/ok/web-shop'}})
    acked, silent = srv['acked']['id'], srv['silent']['id']
    started = time.monotonic()
    out = play(cloud_env, tmp_path, [notice_task('notice', [acked, silent], policy=POLICY, wait=True)])
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
    assert entries[acked]['waited_s'] < 30, 'the acknowledgement did not cut the 60 s notice short'
    assert out['notice']['waited_s'] < 30, 'the two waits ran one after the other'
    assert entries[silent]['waited_s'] >= 7


def test_owner_url_outside_the_allow_list_is_refused_and_never_called(
        conn, cloud_env, tmp_path, vms, receiver):
    outside = Receiver(conn, address='127.0.0.2')
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
    assert entry['waited_s'] < entry['notice_s'] + 5
    play(cloud_env, tmp_path, [notice_task('cleared', [sid], state='absent')])


# ---- in the drain, as a campaign runs it --------------------------------------------------------

def test_drain_playbook_gives_notice_before_moving_and_clears_it_after(
        conn, cloud_env, tmp_path, vms, receiver):
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
        result = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
                                check=False)
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
    finally:
        enable_drained_host(conn)
        wait_until('nothing left of the drain', lambda: all(
            host_of(server(conn, s['id'])) for s in srv.values()), timeout=60)

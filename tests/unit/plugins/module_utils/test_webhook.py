# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""webhook.deliver against a real HTTP receiver on 127.0.0.1 (started here, in a thread)."""

from __future__ import annotations

import datetime
import http.server
import json
import socket
import threading
import time

import pytest

from ansible_collections.cloudmaint.openstack.plugins.module_utils import notice as n
from ansible_collections.cloudmaint.openstack.plugins.module_utils import webhook

SECRET = 'webhook-secret'
NOW = datetime.datetime(2026, 11, 21, 12, 0, 0, tzinfo=datetime.timezone.utc)
EVENT = n.build_event('3f9a2c71d04e', 'patch-2026-11', 'live_migrate', NOW, max_defer_s=900)
SERVER = {'id': 'srv-1', 'name': 'web-1', 'project_id': 'prj-1'}
# A test receiver on loopback over http: both need the operator's explicit opt-in.
LOOPBACK = n.AllowList(['127.0.0.1/32'], allow_private=True, allow_http=True)
FAST = dict(backoff_s=0.01, timeout_s=5)


class Receiver(object):
    """An HTTP server on 127.0.0.1 answering each POST with the next of ``statuses`` (the last
    one repeats), after ``delay`` seconds.  Counts every TCP connection it accepts."""

    def __init__(self, statuses=(200,), delay=0.0, location=None):
        self.statuses = list(statuses)
        self.delay = delay
        self.location = location
        self.requests = []
        self.connections = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                with receiver.lock:
                    receiver.requests.append({'path': self.path, 'headers': dict(self.headers), 'body': body})
                    index = len(receiver.requests) - 1
                    status = receiver.statuses[min(index, len(receiver.statuses) - 1)]
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                if receiver.location and 300 <= status < 400:
                    self.send_header('Location', receiver.location)
                text = b'ok' if status < 400 else b'receiver broke\nsecond line'
                self.send_header('Content-Length', str(len(text)))
                self.end_headers()
                try:
                    self.wfile.write(text)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                with receiver.lock:
                    receiver.connections += 1
                return True

        self.server = Server(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05})
        self.thread.daemon = True
        self.thread.start()

    def url(self, path='/hook', host='127.0.0.1'):
        return 'http://%s:%d%s' % (host, self.port, path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(*args, **kwargs):
        made.append(Receiver(*args, **kwargs))
        return made[-1]

    yield make
    for rec in made:
        rec.close()


def payload(kind='scheduled'):
    return n.webhook_payload(kind, EVENT, SERVER, 'd' * 32)


def test_delivers_a_body_the_receiver_can_verify(receiver):
    rec = receiver()
    result = webhook.deliver(rec.url('/hook?token=abc'), payload(), SECRET, allow=LOOPBACK, **FAST)
    assert result['outcome'] == 'delivered'
    assert (result['attempts'], result['status'], result['error']) == (1, 200, None)
    assert result['address'] == '127.0.0.1'
    assert result['url'] == 'http://127.0.0.1:%d/hook?...' % rec.port     # the token is not reported
    [got] = rec.requests
    assert got['path'] == '/hook?token=abc'
    headers = got['headers']
    assert headers['Content-Type'] == 'application/json'
    assert headers['User-Agent'] == webhook.USER_AGENT
    assert headers['X-Cloudmaint-Event'] == 'scheduled'
    assert headers['X-Cloudmaint-Delivery'] == 'd' * 32
    ok, why = n.verify(SECRET, got['body'], headers['X-Cloudmaint-Signature'], headers['X-Cloudmaint-Timestamp'],
                       now=time.time())
    assert ok, why
    body = json.loads(got['body'])
    assert body['event'] == EVENT and body['server'] == SERVER and body['type'] == 'scheduled'
    assert body['answer']['ack'] == {'key': 'cloudmaint:ack', 'value': '3f9a2c71d04e'}
    assert not n.verify('another-secret', got['body'], headers['X-Cloudmaint-Signature'])[0]


def test_retries_a_500_then_delivers_with_the_same_delivery_id(receiver):
    rec = receiver(statuses=(500, 503, 200))
    result = webhook.deliver(rec.url(), payload(), SECRET, allow=LOOPBACK, retries=3, **FAST)
    assert (result['outcome'], result['attempts'], result['status']) == ('delivered', 3, 200)
    assert len(rec.requests) == 3
    assert {r['headers']['X-Cloudmaint-Delivery'] for r in rec.requests} == {'d' * 32}
    for got in rec.requests:
        assert n.verify(SECRET, got['body'], got['headers']['X-Cloudmaint-Signature'],
                        got['headers']['X-Cloudmaint-Timestamp'])[0]


def test_a_receiver_that_keeps_failing_is_reported_after_bounded_retries(receiver):
    rec = receiver(statuses=(500,))
    result = webhook.deliver(rec.url(), payload(), SECRET, allow=LOOPBACK, retries=2, **FAST)
    assert (result['outcome'], result['attempts'], result['status']) == ('failed', 3, 500)
    assert result['error'] == 'HTTP 500: receiver broke (gave up after 3 attempts)'
    assert len(rec.requests) == 3


def test_backoff_doubles(receiver):
    rec = receiver(statuses=(500,))
    pauses = []
    result = webhook.deliver(rec.url(), payload(), SECRET, allow=LOOPBACK, retries=3, backoff_s=0.01,
                             sleep=pauses.append)
    assert result['attempts'] == 4
    assert pauses == [0.01, 0.02, 0.04]


def test_no_retry_past_the_end_of_the_notice(receiver):
    rec = receiver(statuses=(500,))
    pauses = []
    result = webhook.deliver(rec.url(), payload(), SECRET, allow=LOOPBACK, retries=5, backoff_s=1.0,
                             deadline=time.monotonic() + 0.5, sleep=pauses.append)
    assert (result['outcome'], result['attempts']) == ('failed', 1)
    assert result['error'].endswith('(no retry: the notice ends first)')
    assert pauses == [], 'no pause for a retry that cannot come'
    assert len(rec.requests) == 1


def test_with_no_notice_at_all_the_one_attempt_still_gets_its_timeout(receiver):
    rec = receiver(delay=1.2)
    result = webhook.deliver(rec.url(), payload(), SECRET, allow=LOOPBACK, retries=3, timeout_s=5,
                             deadline=time.monotonic())
    assert (result['outcome'], result['attempts']) == ('delivered', 1)


def test_retries_stop_when_the_server_is_ready(receiver):
    rec = receiver(statuses=(500,))
    stop = threading.Event()
    stop.set()
    result = webhook.deliver(rec.url(), payload(), SECRET, allow=LOOPBACK, retries=5, stop=stop, **FAST)
    assert (result['outcome'], result['attempts']) == ('failed', 1)
    assert 'retries stopped' in result['error']


def test_a_slow_receiver_times_out(receiver):
    rec = receiver(delay=1.5)
    result = webhook.deliver(rec.url(), payload(), SECRET, allow=LOOPBACK, retries=0, timeout_s=0.3)
    assert (result['outcome'], result['attempts'], result['status']) == ('failed', 1, None)
    assert result['error'].startswith('timed out after 0.3 s')


@pytest.mark.parametrize('status, retried', [(404, False), (400, False), (401, False), (429, True), (408, True),
                                             (502, True)])
def test_which_answers_are_retried(receiver, status, retried):
    rec = receiver(statuses=(status, 200))
    result = webhook.deliver(rec.url(), payload(), SECRET, allow=LOOPBACK, retries=1, **FAST)
    assert result['attempts'] == (2 if retried else 1)
    assert result['outcome'] == ('delivered' if retried else 'failed')


def test_redirects_are_not_followed(receiver):
    target = receiver()
    rec = receiver(statuses=(302,), location=target.url('/elsewhere'))
    result = webhook.deliver(rec.url(), payload(), SECRET, allow=LOOPBACK, **FAST)
    assert (result['outcome'], result['attempts'], result['status']) == ('failed', 1, 302)
    assert 'redirects are not followed' in result['error']
    assert target.connections == 0


def test_connection_refused_is_retried_then_reported():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()   # nothing listens there now
    result = webhook.deliver('http://127.0.0.1:%d/' % port, payload(), SECRET, allow=LOOPBACK, retries=1, **FAST)
    assert (result['outcome'], result['attempts'], result['status']) == ('failed', 2, None)
    assert 'ConnectionRefusedError' in result['error']


# ---------------------------------------------------------------- refusals: nothing reaches the receiver

@pytest.mark.parametrize('allow, url_host, reason', [
    (['10.0.0.0/16'], '127.0.0.1', 'address 127.0.0.1 is not in webhook_allow'),
    ([], '127.0.0.1', 'address 127.0.0.1 is not in webhook_allow'),
    (['hooks.example.com'], '127.0.0.1', 'address 127.0.0.1 is not in webhook_allow'),
    # localhost is listed by name, but a name only allows public addresses.
    (['localhost'], 'localhost', 'localhost resolves to'),
    (['hooks.example.com'], 'localhost', 'host localhost is not in webhook_allow'),
])
def test_refused_outside_the_allow_list_without_any_connection(receiver, allow, url_host, reason):
    rec = receiver()
    allow = n.AllowList(allow, allow_private=True, allow_http=True)
    result = webhook.deliver(rec.url(host=url_host), payload(), SECRET, allow=allow, **FAST)
    assert result['outcome'] == 'refused'
    assert reason in result['error']
    assert result['attempts'] == 0
    assert rec.connections == 0 and rec.requests == []


@pytest.mark.parametrize('scheme', ['ftp', 'file', 'gopher', 'ws'])
def test_other_schemes_are_refused(receiver, scheme):
    rec = receiver()
    result = webhook.deliver('%s://127.0.0.1:%d/hook' % (scheme, rec.port), payload(), SECRET,
                             allow=LOOPBACK, **FAST)
    assert result['outcome'] == 'refused' and 'only http and https' in result['error']
    assert rec.connections == 0


def test_a_name_pointing_into_the_control_plane_is_refused(receiver):
    # The owner's DNS answers with a loopback address for a listed, public-looking name.
    rec = receiver()
    lookups = []

    def resolver(host, port):
        lookups.append(host)
        return ['93.184.216.34', '127.0.0.1']

    result = webhook.deliver(rec.url(host='hooks.example.com'), payload(), SECRET,
                             allow=n.AllowList(['hooks.example.com'], allow_http=True), resolver=resolver, **FAST)
    assert result['outcome'] == 'refused'
    assert 'hooks.example.com resolves to 127.0.0.1, which is not public' in result['error']
    assert lookups == ['hooks.example.com']
    assert rec.connections == 0


def test_the_connection_goes_to_the_address_checked_and_the_name_is_resolved_once(receiver):
    # A name the operator allows whose address is in a listed network: the request reaches the
    # checked address, with the name in the Host header, resolved once over all retries.
    rec = receiver(statuses=(500, 200))
    lookups = []

    def resolver(host, port):
        lookups.append((host, port))
        return ['127.0.0.1']

    allow = n.AllowList(['hooks.example.com', '127.0.0.1/32'], allow_private=True, allow_http=True)
    result = webhook.deliver(rec.url(host='hooks.example.com'), payload(), SECRET, allow=allow, resolver=resolver,
                             retries=2, **FAST)
    assert (result['outcome'], result['attempts'], result['address']) == ('delivered', 2, '127.0.0.1')
    assert lookups == [('hooks.example.com', rec.port)]
    assert {r['headers']['Host'] for r in rec.requests} == {'hooks.example.com:%d' % rec.port}


def test_an_operator_url_needs_no_allow_list_entry(receiver):
    rec = receiver()
    result = webhook.deliver(rec.url(), payload('done'), SECRET, allow=n.AllowList([]), trusted=True, **FAST)
    assert result['outcome'] == 'delivered'
    assert rec.requests[0]['headers']['X-Cloudmaint-Event'] == 'done'


@pytest.mark.parametrize('url, reason', [
    ('https://user:pw@127.0.0.1/', 'credentials in the URL'),
    ('not a url', 'spaces or control characters'),
    (None, 'not a URL'),
])
def test_unusable_urls_are_refused_even_from_the_operator(url, reason):
    result = webhook.deliver(url, payload(), SECRET, allow=LOOPBACK, trusted=True, **FAST)
    assert result['outcome'] == 'refused' and reason in result['error']
    assert result['url'] == '(unusable URL)'


def test_without_a_secret_nothing_is_sent(receiver):
    rec = receiver()
    result = webhook.deliver(rec.url(), payload(), '', allow=LOOPBACK, **FAST)
    assert result['outcome'] == 'skipped'
    assert rec.connections == 0


def test_a_name_that_does_not_resolve_is_reported():
    def resolver(host, port):
        raise socket.gaierror(-2, 'Name or service not known')

    result = webhook.deliver('https://hooks.example.com/x', payload(), SECRET,
                             allow=n.AllowList(['hooks.example.com']), resolver=resolver, **FAST)
    assert result['outcome'] == 'failed' and result['attempts'] == 0
    assert 'cannot resolve hooks.example.com' in result['error']


def test_resolve_lists_each_address_once():
    assert webhook.resolve('127.0.0.1', 80) == ['127.0.0.1']

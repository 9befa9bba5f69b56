# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""webhook.deliver against receivers that try to hold the campaign: one that drips its answer a
byte at a time, sends endless interim answers or header lines, a huge error body, or never
finishes the TLS handshake. Each attempt ends at its deadline or a bound, the connection is
closed, and what the receiver sends after that is never read (a raw TCP server on 127.0.0.1,
in a thread)."""

from __future__ import annotations

import datetime
import json
import select
import socket
import threading
import time

import pytest

from ansible_collections.cloudmaint.openstack.plugins.module_utils import notice as n
from ansible_collections.cloudmaint.openstack.plugins.module_utils import webhook

SECRET = n.project_secret('operator', 'prj-1')
NOW = datetime.datetime(2026, 11, 21, 12, 0, 0, tzinfo=datetime.timezone.utc)
EVENT = n.build_event('3f9a2c71d04e', 'patch-2026-11', 'live_migrate', NOW, max_defer_s=900)
SERVER = {'id': 'srv-1', 'name': 'web-1', 'project_id': 'prj-1'}
LOOPBACK = n.AllowList(['127.0.0.1/32'], allow_private=True, allow_http=True)
DEADLINE_S = 0.5
# How long a misbehaving receiver keeps at it when nobody closes the connection: far past the
# deadline, so that an attempt not cut at its deadline would read what comes after.
HOLD_S = 10.0


def payload():
    return n.webhook_payload('scheduled', EVENT, SERVER, 'd' * 32)


class Connection(object):
    def __init__(self):
        self.request = b''
        self.closed_by_client = threading.Event()
        self.finished = False       # the receiver sent everything it meant to


class RawServer(object):
    """Accepts connections on 127.0.0.1 one after the other; for each, reads the request (unless
    ``read_request`` is false) then runs ``script(sock, connection)``."""

    def __init__(self, script, read_request=True):
        self.script = script
        self.read_request = read_request
        self.connections = []
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, path='/hook', scheme='http'):
        return '%s://127.0.0.1:%d%s' % (scheme, self.port, path)

    def _serve(self):
        while self.running:
            try:
                sock, _addr = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            connection = Connection()
            self.connections.append(connection)
            threading.Thread(target=self._handle, args=(sock, connection), daemon=True).start()

    def _handle(self, sock, connection):
        try:
            if self.read_request:
                connection.request = _read_request(sock)
            self.script(sock, connection)
        except OSError:
            connection.closed_by_client.set()
        finally:
            sock.close()

    def close(self):
        self.running = False
        self.listener.close()
        self.thread.join(5)


def _read_request(sock):
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _sep, body = data.partition(b'\r\n\r\n')
    length = [int(line.split(b':', 1)[1]) for line in head.split(b'\r\n') if line.lower().startswith(b'content-length')]
    while length and len(body) < length[0]:
        body += sock.recv(4096)
    return head + b'\r\n\r\n' + body


def client_closed(sock, connection, wait_s=0.0):
    """Whether the client has closed the connection (seen within ``wait_s``)."""
    readable, _w, _x = select.select([sock], [], [], wait_s)
    if readable:
        try:
            if sock.recv(65536) == b'':
                connection.closed_by_client.set()
        except OSError:
            connection.closed_by_client.set()
    return connection.closed_by_client.is_set()


def drip(prefix, byte, pause, tail):
    """Sends ``prefix``, then ``byte`` every ``pause`` seconds for HOLD_S, then ``tail``."""
    def script(sock, connection):
        sock.sendall(prefix)
        end = time.monotonic() + HOLD_S
        while time.monotonic() < end:
            if client_closed(sock, connection, pause):
                return
            sock.sendall(byte)
        sock.sendall(tail)
        connection.finished = True
        client_closed(sock, connection, HOLD_S)
    return script


def flood(prefix, line):
    """Sends ``prefix`` then ``line`` as fast as the client takes it, until it closes."""
    def script(sock, connection):
        sock.sendall(prefix)
        end = time.monotonic() + HOLD_S
        while time.monotonic() < end:
            if client_closed(sock, connection):
                return
            sock.sendall(line * 16)
        connection.finished = True
    return script


@pytest.fixture
def server():
    made = []

    def make(script, **kwargs):
        made.append(RawServer(script, **kwargs))
        return made[-1]

    yield make
    for srv in made:
        srv.close()


def deliver(url, **kwargs):
    options = dict(allow=LOOPBACK, retries=0, timeout_s=DEADLINE_S, backoff_s=0.01)
    options.update(kwargs)
    return webhook.deliver(url, payload(), SECRET, **options)


def assert_cut(srv, result):
    """The attempt ended with the deadline error; every connection was closed by the client
    before the receiver got to send what completes its answer."""
    assert result['outcome'] == 'failed' and result['status'] is None
    assert result['error'].startswith('timed out after %.1f s' % DEADLINE_S), result['error']
    assert 'connection closed' in result['error']
    assert srv.connections
    for connection in srv.connections:
        assert connection.closed_by_client.wait(HOLD_S), 'the client left the connection open'
        assert not connection.finished, 'the receiver got to finish: the attempt was not cut'


# ---------------------------------------------------------------- cut at the deadline

def test_a_receiver_dripping_its_headers_is_cut_at_the_deadline(server):
    # Every byte comes well within a per-read timeout: only a deadline for the whole attempt
    # ends this before the receiver sends the end of its (successful) answer.
    srv = server(drip(b'HTTP/1.1 200 OK\r\nX-Drip: ', b'a', 0.05, b'\r\nContent-Length: 0\r\n\r\n'))
    result = deliver(srv.url())
    assert_cut(srv, result)
    assert b'POST /hook HTTP/1.1' in srv.connections[0].request


def test_a_receiver_dripping_its_status_line_is_cut_at_the_deadline(server):
    srv = server(drip(b'HTTP/1.1 2', b'0', 0.05, b' OK\r\n\r\n'))
    assert_cut(srv, deliver(srv.url()))


def test_slow_interim_answers_are_cut_at_the_deadline(server):
    srv = server(drip(b'', b'HTTP/1.1 100 Continue\r\n\r\n', 0.3, b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'))
    assert_cut(srv, deliver(srv.url()))


def test_each_retry_is_cut_at_its_own_deadline(server):
    srv = server(drip(b'HTTP/1.1 200 OK\r\nX-Drip: ', b'a', 0.05, b'\r\n\r\n'))
    result = deliver(srv.url(), retries=1)
    assert result['attempts'] == 2 and len(srv.connections) == 2
    assert result['error'].endswith('(gave up after 2 attempts)')
    assert_cut(srv, result)


def test_a_tls_handshake_that_never_ends_is_cut_at_the_deadline(server):
    srv = server(drip(b'', b'', 0.05, b''), read_request=False)
    result = deliver(srv.url(scheme='https'), validate_certs=False)
    assert_cut(srv, result)


# ---------------------------------------------------------------- bounded answers

@pytest.mark.parametrize('script, says', [
    (flood(b'', b'HTTP/1.1 100 Continue\r\n\r\n'), 'more than %d interim (1xx) answers' % webhook.MAX_INTERIM),
    (flood(b'HTTP/1.1 200 OK\r\n', b'X-Header: value\r\n'), 'more than %d answer headers' % webhook.MAX_HEADERS),
    (flood(b'HTTP/1.1 200 OK\r\nX-Long: ', b'a' * 1024), 'longer than %d bytes' % webhook.MAX_LINE),
    (flood(b'HTTP/1.1 200 OK\r\n', b'X-' + b'a' * 2000 + b': b\r\n'), 'headers longer than %d bytes'
     % webhook.MAX_HEAD_BYTES),
    (flood(b'', b'SSH-2.0-OpenSSH_9.6\r\n'), 'not an HTTP/1.x status line: SSH-2.0-OpenSSH_9.6'),
])
def test_endless_answers_are_cut_at_a_bound_and_not_retried(server, script, says):
    srv = server(script)
    result = deliver(srv.url(), retries=3, timeout_s=HOLD_S)
    assert (result['outcome'], result['attempts'], result['status']) == ('failed', 1, None)
    assert says in result['error'], result['error']
    [connection] = srv.connections
    assert connection.closed_by_client.wait(HOLD_S) and not connection.finished


def test_an_error_body_is_read_only_in_part_and_shown_without_escapes(server):
    head = b'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100000000\r\n\r\n'
    first = b'\x1b[2J\x1b[31mdisk on fire\x1b[0m\x07\n'
    srv = server(drip(head + first + b'x' * 8192, b'x', 0.05, b'x' * 1000))
    result = deliver(srv.url(), timeout_s=HOLD_S)
    assert (result['outcome'], result['status']) == ('failed', 500)
    assert result['error'] == 'HTTP 500: disk on fire (gave up after 1 attempts)'
    [connection] = srv.connections
    assert connection.closed_by_client.wait(HOLD_S) and not connection.finished


def test_a_success_is_not_held_by_a_dripping_body(server):
    srv = server(drip(b'HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n', b'x', 0.05, b'x'))
    result = deliver(srv.url(), timeout_s=HOLD_S)
    assert (result['outcome'], result['status'], result['error']) == ('delivered', 200, None)
    [connection] = srv.connections
    assert connection.closed_by_client.wait(HOLD_S) and not connection.finished


def test_an_answer_with_escapes_in_its_reason_is_reported_clean(server):
    srv = server(drip(b'HTTP/1.1 503 \x1b]0;pwned\x07Busy\r\nContent-Length: 0\r\n\r\n', b'', 0.05, b''))
    result = deliver(srv.url())
    assert result['status'] == 503 and result['error'] == 'HTTP 503: Busy (gave up after 1 attempts)'


# ---------------------------------------------------------------- what is signed

def answer_200(sock, connection):
    sock.sendall(b'HTTP/1.1 204 No Content\r\n\r\n')
    connection.finished = True


def test_the_signed_body_names_its_recipient_url_and_project(server):
    srv = server(answer_200)
    url = srv.url('/hooks/prj-1?token=abc')
    assert deliver(url)['outcome'] == 'delivered'
    head, _sep, body = srv.connections[0].request.partition(b'\r\n\r\n')
    headers = dict(line.decode().split(': ', 1) for line in head.split(b'\r\n')[1:])
    assert headers['Host'] == '127.0.0.1:%d' % srv.port and headers['Connection'] == 'close'
    assert json.loads(body)['recipient'] == {'url': url, 'project_id': 'prj-1'}
    args = (SECRET, body, headers['X-Cloudmaint-Signature'], headers['X-Cloudmaint-Timestamp'])
    assert n.verify(*args, now=time.time(), url=url, project_id='prj-1',
                    delivery=headers['X-Cloudmaint-Delivery']) == (True, 'ok')
    # The same delivery does not pass at another receiver, nor for another project.
    assert n.verify(*args, url=srv.url('/hooks/prj-2')) == (False, 'signed for another URL')
    assert n.verify(*args, project_id='prj-2') == (False, 'signed for another project')
    assert not n.verify(n.project_secret('operator', 'prj-2'), *args[1:])[0]

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Delivering one signed webhook: allow-list check, one name resolution, bounded attempts.

``deliver()`` never raises for anything the destination does; it returns what happened.  The
order of the checks is what keeps an owner-supplied URL from reaching the control plane:

1. the URL's form (http or https, no credentials) and its host against ``webhook_allow``;
2. the host name resolved once, every address checked (``notice.address_allowed``);
3. the connection made to the checked address itself (the name is not resolved again, so DNS
   cannot answer differently between the check and the connection); TLS still verifies the
   certificate against the host name, and the Host header carries the name;
4. no redirect followed, no proxy from the environment used.

An attempt (connect, TLS, request, answer) has one wall-clock deadline, ``timeout_s`` from its
start: every socket operation waits at most for what is left of it, and the connection is closed
when it passes, however the receiver spaces its bytes.  The answer is read by a small HTTP/1.x
reader of our own, bounded in size: a status line, at most MAX_HEADERS header lines and
MAX_HEAD_BYTES in all (interim 1xx answers included, at most MAX_INTERIM of them), and at most
RESPONSE_LIMIT bytes of an error body (the first line is reported).

Retried: connection errors, timeouts, HTTP 408, 425, 429 and 5xx, with exponential backoff,
at most ``retries`` times and never past ``deadline`` (the end of the notice).  A refused URL
is never connected to.
"""

from __future__ import annotations

import re
import socket
import ssl
import time

from ansible_collections.cloudmaint.openstack.plugins.module_utils import notice

USER_AGENT = 'cloudmaint.openstack-notice/1'
RETRY_STATUSES = frozenset((408, 425, 429))
MAX_BACKOFF_S = 30.0
MIN_ATTEMPT_TIMEOUT_S = 1.0
RESPONSE_LIMIT = 4096
MAX_LINE = 4096
MAX_HEADERS = 64
MAX_HEAD_BYTES = 16384
MAX_INTERIM = 4
RECV_SIZE = 4096
OUTCOMES = ('delivered', 'failed', 'refused', 'skipped')

_STATUS_RE = re.compile(br'^HTTP/1\.[01] ([1-5][0-9][0-9])(?: ([^\r\n]*))?\r?\n$')


class AttemptTimeout(Exception):
    """The attempt's deadline passed (the connection is closed)."""


class BadAnswer(Exception):
    """The receiver's answer is not HTTP/1.x or goes past a bound."""


def resolve(host: str, port: int) -> list:
    """The addresses of ``host``, in the resolver's order, each once.  Raises OSError."""
    found = []
    for _family, _type, _proto, _canon, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if sockaddr[0] not in found:
            found.append(sockaddr[0])
    return found


def _tls_context(validate_certs, ca_path):
    context = ssl.create_default_context(cafile=ca_path)
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _Clock(object):
    """What is left of one attempt's ``timeout_s``; raises AttemptTimeout once nothing is."""

    def __init__(self, timeout_s, monotonic=time.monotonic):
        self.monotonic = monotonic
        self.end = monotonic() + timeout_s

    def left(self):
        remaining = self.end - self.monotonic()
        if remaining <= 0:
            raise AttemptTimeout()
        return remaining


class _Reader(object):
    """Reads an answer off a socket, each wait bounded by what is left of the attempt."""

    def __init__(self, sock, clock):
        self.sock = sock
        self.clock = clock
        self.buffer = b''
        self.eof = False

    def _fill(self):
        self.sock.settimeout(self.clock.left())
        try:
            chunk = self.sock.recv(RECV_SIZE)
        except socket.timeout:
            raise AttemptTimeout()
        if not chunk:
            self.eof = True
        self.buffer += chunk

    def line(self):
        while b'\n' not in self.buffer[:MAX_LINE]:
            if len(self.buffer) >= MAX_LINE:
                raise BadAnswer('a line of the answer is longer than %d bytes' % MAX_LINE)
            if self.eof:
                raise BadAnswer('the connection closed in the middle of the answer')
            self._fill()
        end = self.buffer.index(b'\n') + 1
        line, self.buffer = self.buffer[:end], self.buffer[end:]
        return line

    def read(self, size):
        """Up to ``size`` bytes, fewer at the end of the stream."""
        while len(self.buffer) < size and not self.eof:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


def _request(target, body, headers):
    host = '[%s]' % target.host if ':' in target.host else target.host
    if target.port != (443 if target.scheme == 'https' else 80):
        host += ':%d' % target.port
    lines = ['POST %s HTTP/1.1' % target.request_path, 'Host: %s' % host]
    lines += ['%s: %s' % item for item in headers.items()]
    lines += ['Content-Length: %d' % len(body), 'Connection: close', '', '']
    return '\r\n'.join(lines).encode('ascii') + body


def _read_head(reader):
    """``(status, reason, headers)`` of the final answer; interim 1xx answers are skipped."""
    size = 0
    for _answer in range(MAX_INTERIM + 1):
        line = reader.line()
        size += len(line)
        match = _STATUS_RE.match(line)
        if not match:
            raise BadAnswer('not an HTTP/1.x status line: %s' % notice.clean_text(line, 80))
        status, reason = int(match.group(1)), (match.group(2) or b'').decode('latin-1')
        headers = {}
        count = 0
        while True:
            line = reader.line()
            size += len(line)
            if size > MAX_HEAD_BYTES:
                raise BadAnswer('answer headers longer than %d bytes' % MAX_HEAD_BYTES)
            if line in (b'\r\n', b'\n'):
                break
            count += 1
            if count > MAX_HEADERS:
                raise BadAnswer('more than %d answer headers' % MAX_HEADERS)
            name, _sep, value = line.decode('latin-1').partition(':')
            headers[name.strip().lower()] = value.strip()
        if status >= 200:
            return status, reason, headers
    raise BadAnswer('more than %d interim (1xx) answers' % MAX_INTERIM)


def _read_body(reader, headers):
    """The first RESPONSE_LIMIT bytes of the body, at most (chunked or not)."""
    if 'chunked' in headers.get('transfer-encoding', '').lower():
        out = b''
        while len(out) < RESPONSE_LIMIT:
            try:
                size = int(reader.line().split(b';', 1)[0].strip(), 16)
            except ValueError:
                break
            if size <= 0:
                break
            out += reader.read(min(size, RESPONSE_LIMIT - len(out)))
            if len(out) < RESPONSE_LIMIT:
                reader.line()    # the CRLF closing the chunk
        return out
    length = headers.get('content-length', '')
    size = int(length) if length.isdigit() and len(length) < 12 else RESPONSE_LIMIT
    return reader.read(min(size, RESPONSE_LIMIT))


def _close(sock):
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _connect(target, address, clock, context):
    sock = socket.create_connection((address, target.port), timeout=clock.left())
    if context is None:
        return sock
    try:
        # The handshake, as each later operation, waits at most for what is left.
        sock.settimeout(clock.left())
        return context.wrap_socket(sock, server_hostname=target.host)
    except BaseException:
        _close(sock)
        raise


def _send(sock, data, clock):
    # Not sendall(): on a TLS socket each of its writes would wait the full timeout again.
    view = memoryview(data)
    while view:
        sock.settimeout(clock.left())
        view = view[sock.send(view):]


def _post_once(target, address, body, headers, timeout_s, context, monotonic=time.monotonic):
    """(status, short reason) of one POST within ``timeout_s`` in all.  Raises AttemptTimeout,
    BadAnswer, ssl.SSLError or OSError; the connection is closed whichever way it ends."""
    clock = _Clock(timeout_s, monotonic)
    sock = None
    try:
        sock = _connect(target, address, clock, context)
        _send(sock, _request(target, body, headers), clock)
        reader = _Reader(sock, clock)
        status, reason, answer_headers = _read_head(reader)
        if 200 <= status < 300:
            return status, reason
        text = ''
        try:
            text = _read_body(reader, answer_headers).decode('utf-8', 'replace')
        except (AttemptTimeout, BadAnswer, OSError):
            pass    # the status is the answer; the body only explains it
        first = next((line for line in text.splitlines() if line.strip()), reason)
        return status, notice.clean_text(first.strip() or reason)
    except socket.timeout:
        raise AttemptTimeout()
    finally:
        _close(sock)


def _retryable(status):
    return status in RETRY_STATUSES or status >= 500


def deliver(url, payload, secret, allow=None, trusted=False, timeout_s=10.0, retries=3, backoff_s=2.0,
            deadline=None, stop=None, resolver=resolve, clock=time.monotonic, now=time.time, sleep=time.sleep,
            validate_certs=True, ca_path=None):
    """POST ``payload`` (from ``notice.webhook_payload``) to ``url``, signed with ``secret``.

    ``allow``: a ``notice.AllowList``; ``trusted``: the operator gave this URL (allow-list
    skipped, form and resolution still checked).  ``timeout_s``: the whole of one attempt.
    ``deadline``: a ``clock()`` value after which no retry starts (the first attempt always
    happens); ``stop``: a threading.Event that ends the retries early.  Returns a dict: url (for
    reports), outcome (delivered, failed, refused, skipped), attempts, status (last HTTP status),
    error, address, duration_s, delivery.
    """
    started = clock()
    result = {'url': None, 'outcome': None, 'attempts': 0, 'status': None, 'error': None, 'address': None,
              'duration_s': 0.0, 'delivery': payload.get('delivery')}

    def done(outcome, error=None):
        result['outcome'] = outcome
        if error:
            result['error'] = notice.clean_text(error, 400)
        result['duration_s'] = round(clock() - started, 3)
        return result

    try:
        target = notice.parse_target(url)
    except ValueError as exc:
        result['url'] = '(unusable URL)'
        return done('refused', str(exc))
    result['url'] = target.display
    allow = allow if allow is not None else notice.AllowList()
    ok, why = notice.target_allowed(target, allow, trusted)
    if not ok:
        return done('refused', why)
    if not secret:
        return done('skipped', 'no webhook secret: deliveries are always signed')

    try:
        addresses = [target.host] if target.literal else resolver(target.host, target.port)
    except (OSError, UnicodeError) as exc:
        return done('failed', 'cannot resolve %s: %s' % (target.host, exc))
    if not addresses:
        return done('failed', 'cannot resolve %s: no address' % target.host)
    for address in addresses:
        ok, why = notice.address_allowed(target, address, allow, trusted)
        if not ok:
            return done('refused', why)
    result['address'] = addresses[0]

    context = _tls_context(validate_certs, ca_path) if target.scheme == 'https' else None
    kind = payload.get('type', 'scheduled')
    delivery = payload.get('delivery') or ''
    attempt = 0
    while True:
        attempt += 1
        result['attempts'] = attempt
        sent_at = int(now())
        body = notice.encode_payload(payload, sent_at, url.strip())
        headers = notice.signed_headers(secret, body, sent_at, kind, delivery)
        headers['User-Agent'] = USER_AGENT
        timeout = float(timeout_s)
        if deadline is not None and attempt > 1:
            # A retry does not outlast the notice by more than a moment; the first attempt
            # gets its whole timeout even with no notice at all.
            timeout = max(MIN_ATTEMPT_TIMEOUT_S, min(timeout, deadline - clock()))
        retry = False
        result['status'] = None
        try:
            status, reason = _post_once(target, addresses[0], body, headers, timeout, context)
        except ssl.SSLError as exc:
            # A certificate problem does not go away by asking again.
            return done('failed', 'TLS: %s' % exc)
        except AttemptTimeout:
            result['error'] = ('timed out after %.1f s (webhook_timeout bounds the whole attempt): connection '
                               'closed' % timeout)
            retry = True
        except BadAnswer as exc:
            return done('failed', 'bad answer: %s' % exc)
        except OSError as exc:
            result['error'] = notice.clean_text('%s: %s' % (type(exc).__name__, exc), 400)
            retry = True
        else:
            result['status'] = status
            if 200 <= status < 300:
                result['error'] = None
                return done('delivered')
            if 300 <= status < 400:
                return done('failed', 'HTTP %d: redirects are not followed' % status)
            result['error'] = 'HTTP %d: %s' % (status, reason)
            retry = _retryable(status)
        if not retry:
            return done('failed')
        if attempt > retries:
            return done('failed', '%s (gave up after %d attempts)' % (result['error'], attempt))
        delay = min(MAX_BACKOFF_S, backoff_s * (2 ** (attempt - 1)))
        if deadline is not None and clock() + delay >= deadline:
            return done('failed', '%s (no retry: the notice ends first)' % result['error'])
        if stop is not None:
            if stop.wait(delay):
                return done('failed', '%s (retries stopped: the server is ready)' % result['error'])
        else:
            sleep(delay)

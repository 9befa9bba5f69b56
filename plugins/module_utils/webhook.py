# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Delivering one signed webhook: allow-list check, one name resolution, bounded retries.

``deliver()`` never raises for anything the destination does; it returns what happened.  The
order of the checks is what keeps an owner-supplied URL from reaching the control plane:

1. the URL's form (http or https, no credentials) and its host against ``webhook_allow``;
2. the host name resolved once, every address checked (``notice.address_allowed``);
3. the connection made to the checked address itself (the name is not resolved again, so DNS
   cannot answer differently between the check and the connection); TLS still verifies the
   certificate against the host name, and the Host header carries the name;
4. no redirect followed, no proxy from the environment used.

Retried: connection errors, timeouts, HTTP 408, 425, 429 and 5xx, with exponential backoff,
at most ``retries`` times and never past ``deadline`` (the end of the notice).  A refused URL
is never connected to.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time

from ansible_collections.cloudmaint.openstack.plugins.module_utils import notice

USER_AGENT = 'cloudmaint.openstack-notice/1'
RETRY_STATUSES = frozenset((408, 425, 429))
MAX_BACKOFF_S = 30.0
MIN_ATTEMPT_TIMEOUT_S = 1.0
RESPONSE_LIMIT = 4096
OUTCOMES = ('delivered', 'failed', 'refused', 'skipped')


def resolve(host: str, port: int) -> list:
    """The addresses of ``host``, in the resolver's order, each once.  Raises OSError."""
    found = []
    for _family, _type, _proto, _canon, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if sockaddr[0] not in found:
            found.append(sockaddr[0])
    return found


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a given address; the Host header keeps the URL's host name."""

    def __init__(self, host, port, address, timeout):
        super(_PinnedHTTPConnection, self).__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a given address; SNI and certificate check use the URL's host name."""

    def __init__(self, host, port, address, timeout, context):
        super(_PinnedHTTPSConnection, self).__init__(host, port, timeout=timeout, context=context)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _tls_context(validate_certs, ca_path):
    context = ssl.create_default_context(cafile=ca_path)
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _post_once(target, address, body, headers, timeout, context):
    """(status, short reason) of one POST; raises OSError / http.client errors on failure."""
    if target.scheme == 'https':
        conn = _PinnedHTTPSConnection(target.host, target.port, address, timeout, context)
    else:
        conn = _PinnedHTTPConnection(target.host, target.port, address, timeout)
    try:
        conn.request('POST', target.request_path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read(RESPONSE_LIMIT)
        return response.status, (text.decode('utf-8', 'replace').strip().splitlines() or [response.reason])[0][:200]
    finally:
        conn.close()


def _retryable(status):
    return status in RETRY_STATUSES or status >= 500


def deliver(url, payload, secret, allow=None, trusted=False, timeout_s=10.0, retries=3, backoff_s=2.0,
            deadline=None, stop=None, resolver=resolve, clock=time.monotonic, now=time.time, sleep=time.sleep,
            validate_certs=True, ca_path=None):
    """POST ``payload`` (from ``notice.webhook_payload``) to ``url``, signed with ``secret``.

    ``allow``: a ``notice.AllowList``; ``trusted``: the operator gave this URL (allow-list
    skipped, form and resolution still checked).  ``deadline``: a ``clock()`` value after which
    no retry starts (the first attempt always happens); ``stop``: a threading.Event that ends
    the retries early.  Returns a dict: url (for reports), outcome (delivered, failed,
    refused, skipped), attempts, status (last HTTP status), error, address, duration_s,
    delivery.
    """
    started = clock()
    result = {'url': None, 'outcome': None, 'attempts': 0, 'status': None, 'error': None, 'address': None,
              'duration_s': 0.0, 'delivery': payload.get('delivery')}

    def done(outcome, error=None):
        result['outcome'] = outcome
        if error:
            result['error'] = error
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
        body = notice.encode_payload(payload, sent_at)
        headers = notice.signed_headers(secret, body, sent_at, kind, delivery)
        headers['User-Agent'] = USER_AGENT
        timeout = float(timeout_s)
        if deadline is not None and attempt > 1:
            # A retry does not outlast the notice by more than a moment; the first attempt
            # gets its whole timeout even with no notice at all.
            timeout = max(MIN_ATTEMPT_TIMEOUT_S, min(timeout, deadline - clock()))
        retry = False
        try:
            status, reason = _post_once(target, addresses[0], body, headers, timeout, context)
        except ssl.SSLError as exc:
            # A certificate problem does not go away by asking again.
            result['status'] = None
            return done('failed', 'TLS: %s' % exc)
        except (OSError, http.client.HTTPException) as exc:
            result['status'] = None
            result['error'] = 'timed out after %.1f s' % timeout if isinstance(exc, socket.timeout) \
                else '%s: %s' % (type(exc).__name__, exc)
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

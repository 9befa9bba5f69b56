# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Silences in Prometheus Alertmanager around a host's maintenance (Alertmanager API v2).

A campaign's silence is found again by its comment, which starts with the campaign and the host
(``[cloudmaint campaign=patch-12 host=hv01] ...``): a resumed campaign, even from another
controller, reuses the silence instead of stacking a second one. Alertmanager itself is the
record; nothing is kept on the controller.

The HTTP side is injected (``request(method, path, body) -> parsed JSON``), so the rules are
tested without an Alertmanager; the module gives it ``open_url``.
"""

from __future__ import annotations

import datetime
import json
import re
from urllib.error import HTTPError, URLError

from ansible_collections.cloudmaint.openstack.plugins.module_utils.campaign_metadata import parse_time

CREATED_BY = 'cloudmaint.openstack'
LIVE_STATES = ('active', 'pending')
TAG_RE = re.compile(r'^\[cloudmaint campaign=(\S+) host=(\S+)\]')
LABEL_RE = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*$')
MAX_MATCHERS = 20
MAX_VALUE = 1024


class AlertmanagerError(Exception):
    """An Alertmanager request failed; ``str()`` says which and why, without credentials."""


def tag(campaign, host):
    return '[cloudmaint campaign=%s host=%s]' % (campaign, host)


def silence_of(silence, campaign, host=None):
    """True for a live (active or pending) silence made for ``campaign`` and ``host`` (any host if None)."""
    if not isinstance(silence, dict) or (silence.get('status') or {}).get('state') not in LIVE_STATES:
        return False
    found = TAG_RE.match(str(silence.get('comment') or ''))
    return bool(found) and found.group(1) == campaign and (host is None or found.group(2) == host)


def matcher_problems(matchers):
    """What is wrong with the operator's matchers, each named by its path (empty when nothing)."""
    if not matchers:
        return ['matchers: at least one is needed (a silence without matchers would silence every alert)']
    if len(matchers) > MAX_MATCHERS:
        return ['matchers: %d given, at most %d' % (len(matchers), MAX_MATCHERS)]
    problems = []
    for index, matcher in enumerate(matchers):
        where = 'matchers[%d]' % index
        name, value = matcher.get('name'), matcher.get('value')
        if not isinstance(name, str) or not LABEL_RE.match(name):
            problems.append('%s.name: %r is not a Prometheus label name' % (where, name))
        if not isinstance(value, str) or not value or len(value) > MAX_VALUE:
            problems.append('%s.value: a non-empty string of at most %d characters is needed' % (where, MAX_VALUE))
        elif matcher.get('is_regex') and value in ('.*', '.+', '(.*)'):
            problems.append('%s.value: %r matches every value of %s' % (where, value, name))
    return problems


def api_matchers(matchers):
    """The operator's matchers ({name, value, is_regex, is_equal}) as Alertmanager writes them."""
    return [{'name': m['name'], 'value': m['value'], 'isRegex': bool(m.get('is_regex')),
             'isEqual': m.get('is_equal', True) is not False} for m in matchers]


def _matcher_key(matchers):
    return sorted((m.get('name'), m.get('value'), bool(m.get('isRegex')), m.get('isEqual', True) is not False)
                  for m in matchers or ())


def _stamp(when):
    return when.strftime('%Y-%m-%dT%H:%M:%S.000Z')


def view(silence):
    """What a result shows of a silence."""
    found = TAG_RE.match(str(silence.get('comment') or ''))
    return {'id': silence.get('id'), 'state': (silence.get('status') or {}).get('state'),
            'host': found.group(2) if found else None, 'matchers': silence.get('matchers') or [],
            'starts_at': silence.get('startsAt'), 'ends_at': silence.get('endsAt'),
            'comment': silence.get('comment')}


class Silences(object):
    """The silences of one campaign in one Alertmanager."""

    def __init__(self, request, campaign, check_mode=False, now=None):
        self.request = request
        self.campaign = campaign
        self.check_mode = check_mode
        self.now = now or datetime.datetime.now(datetime.timezone.utc)
        self.changed = False

    def live(self, host=None):
        listed = self.request('GET', '/api/v2/silences', None)
        if not isinstance(listed, list):
            raise AlertmanagerError('GET /api/v2/silences: expected a list of silences, got %s'
                                    % type(listed).__name__)
        return [s for s in listed if silence_of(s, self.campaign, host)]

    def ensure(self, host, matchers, duration_s, comment):
        """The host's silence, made, extended or re-aimed so that it covers ``duration_s`` from now.

        One silence per campaign and host: its end moves only when less than half of
        ``duration_s`` is left (a re-run soon after changes nothing); different matchers
        replace it. Returns (what was done, the silence as Alertmanager has it).
        """
        wanted = api_matchers(matchers)
        ends = self.now + datetime.timedelta(seconds=duration_s)
        body = {'matchers': wanted, 'startsAt': _stamp(self.now), 'endsAt': _stamp(ends),
                'createdBy': CREATED_BY, 'comment': '%s %s' % (tag(self.campaign, host), comment)}
        live = self.live(host)
        same = [s for s in live if _matcher_key(s.get('matchers')) == _matcher_key(wanted)]
        for extra in (same[1:] if same else live[1:]):
            self._expire(extra)
        if same:
            current = same[0]
            current_end = parse_time(current.get('endsAt'))
            if current_end is not None and current_end - self.now >= datetime.timedelta(seconds=duration_s / 2.0):
                return 'unchanged', current
            action = 'extended'
            body['id'] = current.get('id')
            body['startsAt'] = current.get('startsAt') or body['startsAt']
        elif live:
            action = 'replaced'
            body['id'] = live[0].get('id')
        else:
            action = 'created'
        self.changed = True
        if self.check_mode:
            return action, dict(body, status={'state': 'active'}, id=body.get('id'))
        answer = self.request('POST', '/api/v2/silences', body)
        silence_id = answer.get('silenceID') if isinstance(answer, dict) else None
        if not silence_id:
            raise AlertmanagerError('POST /api/v2/silences: no silenceID in the answer')
        return action, dict(body, id=silence_id, status={'state': 'active'})

    def expire(self, host=None):
        """Expires the campaign's live silences of ``host`` (every host when None); returns them."""
        live = self.live(host)
        for silence in live:
            self._expire(silence)
        return live

    def _expire(self, silence):
        self.changed = True
        if not self.check_mode:
            self.request('DELETE', '/api/v2/silence/%s' % silence.get('id'), None)


def http_request(open_url, base_url, headers=None, timeout=10, **url_options):
    """A ``request(method, path, body)`` for Silences over ``open_url`` (ansible.module_utils.urls)."""
    base = base_url.rstrip('/')
    shown = re.sub(r'^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@', r'\1', base)

    def request(method, path, body):
        data = json.dumps(body) if body is not None else None
        all_headers = dict(headers or {}, Accept='application/json')
        if data is not None:
            all_headers['Content-Type'] = 'application/json'
        try:
            response = open_url(base + path, method=method, data=data, headers=all_headers, timeout=timeout,
                                **url_options)
            text = response.read()
        except HTTPError as exc:
            detail = ''
            try:
                detail = exc.read().decode('utf-8', 'replace').strip()[:300]
            except Exception:  # the error body is a courtesy; the status says enough
                pass
            raise AlertmanagerError('%s %s%s: HTTP %s%s' % (method, shown, path, exc.code,
                                                            ': %s' % detail if detail else ''))
        except (URLError, OSError, ValueError) as exc:
            raise AlertmanagerError('%s %s%s: no answer: %s' % (method, shown, path, getattr(exc, 'reason', exc)))
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise AlertmanagerError('%s %s%s: the answer is not JSON' % (method, shown, path))

    return request

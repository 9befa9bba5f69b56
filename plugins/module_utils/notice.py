# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Maintenance notices to guests and owners: pure logic, stdlib only, no cloud or network access.

A notice is a small JSON event in the server's metadata (``cloudmaint:event``), which the guest
reads from the metadata service, plus a signed webhook to the owner.  The owner answers in the
server's metadata: ``cloudmaint:ack`` = the event id (go ahead now) or ``cloudmaint:defer`` =
seconds (postpone, within the policy's ``max_defer_s``).

What is decided here:
  - the event: build, encode (it must fit Nova's 255-character metadata value), decode;
  - the notice terms of a server: period (policy, operator override, owner annotation within
    ``max_period_s``) and deferral clamping;
  - whether a server is ready for the action at a given time;
  - whether an event found in a server's metadata (which its owner can write, so it may be forged)
    stays within the policy, and the event that replaces it when it does not;
  - which webhook destinations a server has, and whether a URL and the address its host name
    resolves to are allowed (``webhook_allow``: host names and networks, IPv4 and IPv6);
  - the webhook body and its HMAC-SHA256 signature (computing and verifying).

Nothing read from metadata or from a receiver raises here: a bad value is a reason or a note.

docs/notices.md is the guest- and owner-facing reference of everything decided here.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ansible_collections.cloudmaint.openstack.plugins.module_utils.campaign_metadata import (
    MAX_LEN,
    PREFIX,
    format_time,
    parse_time,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import MAX_CAMPAIGN_LEN, campaign_problem

KEY_EVENT = PREFIX + 'event'
KEY_ACK = PREFIX + 'ack'
KEY_DEFER = PREFIX + 'defer'
KEY_NOTICE_S = PREFIX + 'notice_s'
KEY_NOTIFY_URL = PREFIX + 'notify_url'
# Written by the collection / by the owner in answer to one event (cleared with the event).
EVENT_KEYS = (KEY_EVENT, KEY_ACK, KEY_DEFER)
# The owner's standing settings (kept when an event is cleared).
OWNER_KEYS = (KEY_NOTICE_S, KEY_NOTIFY_URL)

SCHEMA_VERSION = 1
MAX_DEFER_S = 7 * 86400
EVENT_ID_RE = re.compile(r'^[0-9a-f]{8,16}$')

# What will happen to the guest, as the event says it.
EVENT_ACTIONS = ('live_migration', 'cold_migration', 'shelve', 'stop', 'suspend', 'reboot', 'rebuild', 'delete')
# Policy action -> event action.  `leave` keeps the server on the host, stopped cleanly before
# the host reboots and started after it: for the guest, a reboot.
POLICY_ACTION_EVENT = {
    'live_migrate': 'live_migration',
    'cold_migrate': 'cold_migration',
    'shelve_partial': 'shelve',
    'stop': 'stop',
    'suspend': 'suspend',
    'leave': 'reboot',
    'rebuild': 'rebuild',
    'delete': 'delete',
}

# Nova changes metadata only in these statuses, with no task running
# (nova/compute/api.py, update_instance_metadata: vm_state ACTIVE, PAUSED, SUSPENDED, STOPPED).
METADATA_WRITABLE = frozenset(('ACTIVE', 'PAUSED', 'SUSPENDED', 'SHUTOFF'))

WEBHOOK_KINDS = ('scheduled', 'done')
SIGNATURE_HEADER = 'X-Cloudmaint-Signature'
TIMESTAMP_HEADER = 'X-Cloudmaint-Timestamp'
EVENT_HEADER = 'X-Cloudmaint-Event'
DELIVERY_HEADER = 'X-Cloudmaint-Delivery'
SIGNATURE_SCHEME = 'sha256='
SIGNATURE_TOLERANCE_S = 300
SCHEMES = ('http', 'https')

# Times read from metadata: anything outside these years is unreadable (no date arithmetic on
# them can overflow).
TIME_MIN = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
TIME_MAX = datetime.datetime(3000, 1, 1, tzinfo=datetime.timezone.utc)
MAX_TIME_TEXT = 40
# Remote text (a receiver's answer, metadata) shown in results and warnings is cut to this.
MAX_REMOTE_TEXT = 200

_DURATION_RE = re.compile(r'^\s*(\d{1,9})\s*([smh]?)\s*$', re.IGNORECASE)
_UNIT_S = {'': 1, 's': 1, 'm': 60, 'h': 3600}
_LABEL_RE = re.compile(r'^(?!-)[a-z0-9-]{1,63}(?<!-)$')


class NoticeError(ValueError):
    """A notice that cannot be built as asked (too long for Nova, unknown action, ...)."""


# Terminal escape sequences (CSI ``ESC [ ... final``, OSC ``ESC ] ... BEL|ESC \\``, two-character
# ``ESC x``), then any other C0 or C1 control, DEL, and the bidirectional overrides and isolates.
_ESCAPE_RE = re.compile(r'\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]'
                        r'|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?')
_CONTROL_RE = re.compile(r'[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]')


def clean_text(text, limit=MAX_REMOTE_TEXT) -> str:
    """Remote text made safe to show: escape sequences and control characters removed, at most
    ``limit`` characters.  Receivers' answers and tenants' metadata end up in warnings and results."""
    if text is None:
        return ''
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    text = _CONTROL_RE.sub('', _ESCAPE_RE.sub('', str(text)))
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _shown(value, limit=60):
    """``repr`` of a value from metadata for a note, cut short (a huge number stays readable)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def read_time(text):
    """A time from metadata: an aware UTC datetime within TIME_MIN..TIME_MAX, or None."""
    if not isinstance(text, str) or len(text) > MAX_TIME_TEXT:
        return None
    try:
        when = parse_time(text)
    except (OverflowError, ValueError):
        # An offset that moves year 1 or 9999 out of range when converted to UTC.
        return None
    if when is None or not TIME_MIN <= when < TIME_MAX:
        return None
    return when


# ---------------------------------------------------------------- event


def new_event_id() -> str:
    """A fresh random event id (12 lowercase hex characters)."""
    return secrets.token_hex(6)


def event_action(action: str) -> str:
    """The event action for a policy action (``live_migrate``) or an event action (``reboot``)."""
    text = str(action or '').strip().lower()
    if text in EVENT_ACTIONS:
        return text
    if text in POLICY_ACTION_EVENT:
        return POLICY_ACTION_EVENT[text]
    raise NoticeError('no notice for action %r (actions: %s; or a policy action: %s)'
                      % (action, ', '.join(EVENT_ACTIONS), ', '.join(sorted(POLICY_ACTION_EVENT))))


def _utc(when: datetime.datetime) -> datetime.datetime:
    if not isinstance(when, datetime.datetime) or when.tzinfo is None or when.utcoffset() is None:
        raise ValueError('expected a timezone-aware datetime, got %r' % (when,))
    # Events carry whole seconds: what is compared is what the guest and the owner see.
    return when.astimezone(datetime.timezone.utc).replace(microsecond=0)


def _seconds_value(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise NoticeError('%s must be an integer >= 0, got %r' % (name, value))
    return value


def build_event(event_id: str, campaign: str, action: str, not_before: datetime.datetime,
                max_defer_s: int = 0, deferred_s: int = 0) -> dict:
    """The event a server's metadata carries.

    ``not_before``: when the notice ends, deferral included; ``deferred_s``: the deferral
    already honoured (``not_before`` minus it is the original end of the notice).
    ``max_defer_s`` 0 leaves the deferral fields out: the owner may not postpone.
    Raises NoticeError when a value is unusable or the encoded event would not fit Nova.
    """
    if not isinstance(event_id, str) or not EVENT_ID_RE.match(event_id):
        raise NoticeError('event id must be 8 to 16 lowercase hex characters, got %r' % (event_id,))
    if not isinstance(campaign, str) or not campaign.strip():
        raise NoticeError('campaign must be a non-empty string, got %r' % (campaign,))
    if len(campaign) > MAX_CAMPAIGN_LEN:
        raise NoticeError('campaign %r is %d characters long; a notice holds at most %d'
                          % (campaign, len(campaign), MAX_CAMPAIGN_LEN))
    max_defer_s = _seconds_value(max_defer_s, 'max_defer_s')
    deferred_s = _seconds_value(deferred_s, 'deferred_s')
    if max_defer_s > MAX_DEFER_S:
        raise NoticeError('max_defer_s %d exceeds the %d s a notice allows' % (max_defer_s, MAX_DEFER_S))
    if deferred_s > max_defer_s:
        raise NoticeError('deferred_s %d exceeds max_defer_s %d' % (deferred_s, max_defer_s))
    event = {
        'v': SCHEMA_VERSION,
        'id': event_id,
        'campaign': campaign,
        'action': event_action(action),
        'not_before': format_time(_utc(not_before)),
    }
    if deferred_s:
        event['deferred_s'] = deferred_s
    event['ack'] = KEY_ACK
    if max_defer_s:
        event['defer'] = KEY_DEFER
        event['max_defer_s'] = max_defer_s
    encode_event(event)
    return event


def encode_event(event: dict) -> str:
    """Compact JSON (ASCII only) for the metadata value; NoticeError if over 255 characters."""
    text = json.dumps(event, separators=(',', ':'), ensure_ascii=True)
    if len(text) > MAX_LEN:
        raise NoticeError('the encoded event is %d characters long; Nova metadata values hold at most %d'
                          % (len(text), MAX_LEN))
    return text


def _non_negative_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def decode_event(text) -> tuple:
    """``(event, None)`` for a good event, ``(None, reason)`` otherwise; never raises.

    The event returned is rebuilt from the fields this schema knows (anything else a writer
    added is dropped), with every value bounded: a time within TIME_MIN..TIME_MAX, deferrals
    within a week, a campaign id that could name a campaign.
    """
    if text is None:
        return None, 'no event'
    if not isinstance(text, str) or len(text) > MAX_LEN:
        return None, 'not an event of at most %d characters' % MAX_LEN
    try:
        event = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return None, 'not JSON'
    if not isinstance(event, dict):
        return None, 'not a JSON object'
    if event.get('v') != SCHEMA_VERSION or isinstance(event.get('v'), bool):
        return None, 'unsupported schema version %s' % _shown(event.get('v'))
    if not isinstance(event.get('id'), str) or not EVENT_ID_RE.match(event['id']):
        return None, 'bad event id %s' % _shown(event.get('id'))
    if not isinstance(event.get('campaign'), str) or campaign_problem(event['campaign']):
        return None, 'bad campaign %s' % _shown(event.get('campaign'))
    if event.get('action') not in EVENT_ACTIONS:
        return None, 'unknown action %s' % _shown(event.get('action'))
    not_before = read_time(event.get('not_before'))
    if not_before is None:
        return None, 'unreadable not_before %s' % _shown(event.get('not_before'))
    for key in ('deferred_s', 'max_defer_s'):
        if key in event and not (_non_negative_int(event[key]) and event[key] <= MAX_DEFER_S):
            return None, 'bad %s %s' % (key, _shown(event[key]))
    if event.get('deferred_s', 0) > event.get('max_defer_s', 0):
        return None, 'deferred_s exceeds max_defer_s'
    try:
        return build_event(event['id'], event['campaign'], event['action'], not_before,
                           max_defer_s=event.get('max_defer_s', 0), deferred_s=event.get('deferred_s', 0)), None
    except (NoticeError, ValueError, OverflowError) as exc:
        return None, clean_text(exc)


def event_not_before(event: dict) -> datetime.datetime:
    """When the notice ends, deferral included."""
    return parse_time(event['not_before'])


def original_not_before(event: dict) -> datetime.datetime:
    """When the notice ended before any deferral."""
    return event_not_before(event) - datetime.timedelta(seconds=event.get('deferred_s', 0))


def with_deferral(event: dict, deferred_s: int) -> dict:
    """The same event with another honoured deferral (the end of the notice moves with it)."""
    return build_event(event['id'], event['campaign'], event['action'],
                       original_not_before(event) + datetime.timedelta(seconds=deferred_s),
                       max_defer_s=event.get('max_defer_s', 0), deferred_s=deferred_s)


def reuse_event(existing, campaign: str, action: str) -> tuple:
    """Whether the event already on a server stands for this campaign and action.

    Returns ``(event, None)`` to keep it (a re-run does not restart a notice already given),
    ``(None, note)`` when it is replaced, ``(None, None)`` when there was none.  A kept event may
    still promise more than the policy allows (its owner can write it): see ``term_problems``.
    """
    if existing is None:
        return None, None
    event, why = decode_event(existing)
    if event is None:
        return None, 'replaces an unreadable %s (%s)' % (KEY_EVENT, why)
    wanted = event_action(action)
    if event['campaign'] == campaign and event['action'] == wanted:
        return event, None
    return None, 'replaces event %s of campaign %s (%s)' % (event['id'], event['campaign'], event['action'])


def schedule(now: datetime.datetime, period_s: int, earliest: datetime.datetime | None = None) -> datetime.datetime:
    """The end of a notice of ``period_s`` given at ``now``, not before ``earliest``."""
    end = _utc(now) + datetime.timedelta(seconds=period_s)
    if earliest is not None:
        end = max(end, _utc(earliest))
    return end


def notice_limit(now: datetime.datetime, period_s: int, max_defer_s: int,
                 earliest: datetime.datetime | None = None) -> datetime.datetime:
    """The latest end of a notice the policy allows at ``now``: a full notice from now (not
    before ``earliest``) plus the longest deferral."""
    return schedule(now, period_s, earliest) + datetime.timedelta(seconds=max_defer_s)


def term_problems(event: dict, now: datetime.datetime, period_s: int, max_defer_s: int,
                  earliest: datetime.datetime | None = None) -> list:
    """What in an event found on a server goes beyond what the policy allows now (empty: nothing).

    A genuine event posted earlier by this campaign never does: its end was at most a notice
    from then, deferral included, and the deferral it offers is the policy's."""
    problems = []
    for key in ('max_defer_s', 'deferred_s'):
        if event.get(key, 0) > max_defer_s:
            problems.append('%s %d over the %d s the policy allows' % (key, event[key], max_defer_s))
    limit = notice_limit(now, period_s, max_defer_s, earliest)
    if event_not_before(event) > limit:
        problems.append('not_before %s after %s, the latest the policy allows'
                        % (event['not_before'], format_time(limit)))
    return problems


def reissue(event: dict, event_id: str, now: datetime.datetime, period_s: int, max_defer_s: int,
            earliest: datetime.datetime | None = None) -> dict:
    """A new event for one whose terms go beyond the policy: same campaign and action, the
    policy's ``max_defer_s``, the deferral it recorded clamped to that, and its original end
    kept unless it is later than a full notice from now (an earlier end is its owner's to waive)."""
    deferred = min(event.get('deferred_s', 0), max_defer_s)
    end = min(original_not_before(event), schedule(now, period_s, earliest))
    return build_event(event_id, event['campaign'], event['action'], end + datetime.timedelta(seconds=deferred),
                       max_defer_s=max_defer_s, deferred_s=deferred)


# ---------------------------------------------------------------- terms


def parse_seconds(value):
    """Seconds from an annotation: 900, '900', '900s', '15m', '1h'; None if unreadable or negative."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if not isinstance(value, str):
        return None
    match = _DURATION_RE.match(value)
    if not match:
        return None
    return int(match.group(1)) * _UNIT_S[match.group(2).lower()]


@dataclass(frozen=True)
class NoticeTerms:
    period_s: int
    source: str                 # 'policy' | 'operator' | 'owner'
    max_period_s: int
    max_defer_s: int
    notes: tuple = ()


def _policy_int(notice, key):
    value = (notice or {}).get(key)
    return value if _non_negative_int(value) else 0


def notice_terms(policy_notice: dict, metadata: dict | None = None, operator_period_s: int | None = None) -> NoticeTerms:
    """The notice a server gets.

    ``policy_notice``: the ``notice`` of its SLA class (``Decision.notice``).  The operator's
    ``operator_period_s`` replaces the class period; the owner's annotation
    (``cloudmaint:notice_s``) replaces either, from 0 up to ``max_period_s``.  An owner may
    ask for less notice than the policy gives (it is theirs to waive), never for more than the
    operator allows.
    """
    period = _policy_int(policy_notice, 'period_s')
    max_period = _policy_int(policy_notice, 'max_period_s')
    max_defer = _policy_int(policy_notice, 'max_defer_s')
    source = 'policy'
    notes = []
    if max_defer > MAX_DEFER_S:
        notes.append('policy max_defer_s %d capped to %d s (a week)' % (max_defer, MAX_DEFER_S))
        max_defer = MAX_DEFER_S
    if operator_period_s is not None:
        period = _seconds_value(operator_period_s, 'notice_s')
        source = 'operator'
    raw = (metadata or {}).get(KEY_NOTICE_S)
    if raw is not None:
        wanted = parse_seconds(raw)
        if wanted is None:
            notes.append('owner annotation %s=%r ignored: not a number of seconds' % (KEY_NOTICE_S, raw))
        elif wanted > max_period:
            notes.append('owner annotation %s=%r asks for more than the %d s the policy allows: %d s'
                         % (KEY_NOTICE_S, raw, max_period, max_period))
            period, source = max_period, 'owner'
        else:
            period, source = wanted, 'owner'
    return NoticeTerms(period_s=period, source=source, max_period_s=max_period, max_defer_s=max_defer,
                       notes=tuple(notes))


def deferral(metadata: dict | None, max_defer_s: int) -> tuple:
    """``(honoured_s, requested_s, note)`` for the owner's ``cloudmaint:defer``.

    ``requested_s`` is None without a readable request.  The deferral is clamped to
    ``max_defer_s`` (0: none is honoured).
    """
    raw = (metadata or {}).get(KEY_DEFER)
    if raw is None:
        return 0, None, None
    requested = parse_seconds(raw)
    if requested is None:
        return 0, None, '%s=%r ignored: not a number of seconds' % (KEY_DEFER, raw)
    if requested > max_defer_s:
        if max_defer_s == 0:
            return 0, requested, '%s=%r ignored: the policy allows no deferral for this server' % (KEY_DEFER, raw)
        return max_defer_s, requested, ('%s=%r clamped to the %d s the policy allows'
                                        % (KEY_DEFER, raw, max_defer_s))
    return requested, requested, None


# ---------------------------------------------------------------- readiness


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str                       # 'acknowledged' | 'notice_over' | 'waiting'
    ready_at: datetime.datetime       # end of the notice with the deferral honoured now
    acknowledged: bool
    deferred_s: int                   # honoured
    defer_requested_s: int | None
    notes: tuple = field(default_factory=tuple)


def acknowledged(event: dict, metadata: dict | None) -> bool:
    value = (metadata or {}).get(KEY_ACK)
    return isinstance(value, str) and value.strip().lower() == event['id']


def readiness(event: dict, metadata: dict | None, now: datetime.datetime) -> Readiness:
    """Whether the action may go ahead on a server at ``now``.

    Ready when the owner acknowledged this event (``cloudmaint:ack`` = its id), or when the
    notice is over: original end plus the deferral asked for now (``cloudmaint:defer``,
    clamped to the event's ``max_defer_s``).  An acknowledgement beats a deferral.
    """
    notes = []
    honoured, requested, note = deferral(metadata, event.get('max_defer_s', 0))
    if note:
        notes.append(note)
    ready_at = original_not_before(event) + datetime.timedelta(seconds=honoured)
    ack = acknowledged(event, metadata)
    other = (metadata or {}).get(KEY_ACK)
    if not ack and other is not None:
        notes.append('%s=%r does not name this event (%s): ignored' % (KEY_ACK, other, event['id']))
    if ack:
        if honoured:
            notes.append('acknowledged: the deferral request is moot')
        return Readiness(True, 'acknowledged', ready_at, True, honoured, requested, tuple(notes))
    if _utc(now) >= ready_at:
        return Readiness(True, 'notice_over', ready_at, False, honoured, requested, tuple(notes))
    return Readiness(False, 'waiting', ready_at, False, honoured, requested, tuple(notes))


def metadata_writable(status: str | None, task_state: str | None = None) -> bool:
    """Whether Nova accepts a metadata change on a server in this status."""
    return str(status or '').upper() in METADATA_WRITABLE and not task_state


def poll_plan(pending: dict) -> tuple:
    """How to read ``pending`` servers (id -> host or None) in one poll, with few requests.

    Returns ``(hosts, ids)``: list the servers of each host in ``hosts`` (one request per host
    holding two or more of them), read each server in ``ids`` on its own.  Never more requests
    than servers.
    """
    by_host = {}
    for server_id, host in pending.items():
        by_host.setdefault(host, []).append(server_id)
    hosts = sorted(h for h, ids in by_host.items() if h and len(ids) > 1)
    ids = sorted(i for h, found in by_host.items() if not h or len(found) == 1 for i in found)
    return hosts, ids


# ---------------------------------------------------------------- destinations


def webhook_destinations(metadata: dict | None, project_id: str | None, project_name: str | None,
                         project_webhooks: dict | None) -> list:
    """``[(url, source)]`` to try in order: the owner's URL (``cloudmaint:notify_url``), then the
    operator's URL for the project (by id, else by name).  Use the first that is not refused."""
    out = []
    owner = (metadata or {}).get(KEY_NOTIFY_URL)
    if isinstance(owner, str) and owner.strip():
        out.append((owner.strip(), 'owner'))
    hooks = project_webhooks or {}
    for key in (project_id, project_name):
        url = hooks.get(key) if key else None
        if isinstance(url, str) and url.strip():
            if url.strip() not in [u for u, _s in out]:
                out.append((url.strip(), 'project'))
            break
    return out


# IPv6 ranges that carry an IPv4 address and reach it: IPv4-mapped and IPv4-compatible (RFC 4291)
# and the NAT64 well-known prefix (RFC 6052) in their last 32 bits, 6to4 (RFC 3056) in bits 16-48.
# Such an address is checked as the IPv4 address it wraps.
_V4_MAPPED = ipaddress.ip_network('::ffff:0:0/96')
_V4_COMPATIBLE = ipaddress.ip_network('::/96')
_NAT64 = ipaddress.ip_network('64:ff9b::/96')
_SIXTOFOUR = ipaddress.ip_network('2002::/16')
IPV4_WRAPPERS = (_V4_MAPPED, _V4_COMPATIBLE, _NAT64, _SIXTOFOUR)
# ... but for :: and ::1, which are IPv6's own unspecified and loopback addresses.
_V6_OWN = ipaddress.ip_network('::/127')

# Ranges a webhook must not reach unless the operator lists them and sets webhook_allow_private:
# the control plane, the metadata service and everything else that is not the public Internet.
_NON_PUBLIC = tuple((ipaddress.ip_network(net), kind) for net, kind in (
    ('0.0.0.0/8', 'this-network'),
    ('10.0.0.0/8', 'private'),
    ('100.64.0.0/10', 'shared (carrier-grade NAT)'),
    ('127.0.0.0/8', 'loopback'),
    ('169.254.0.0/16', 'link-local'),
    ('172.16.0.0/12', 'private'),
    ('192.0.0.0/24', 'IETF protocol assignments'),
    ('192.0.2.0/24', 'documentation'),
    ('192.88.99.0/24', '6to4 relay anycast'),
    ('192.168.0.0/16', 'private'),
    ('198.18.0.0/15', 'benchmarking'),
    ('198.51.100.0/24', 'documentation'),
    ('203.0.113.0/24', 'documentation'),
    ('224.0.0.0/4', 'multicast'),
    ('240.0.0.0/4', 'reserved'),
    ('::/128', 'unspecified'),
    ('::1/128', 'loopback'),
    ('64:ff9b:1::/48', 'NAT64 local-use'),
    ('100::/64', 'discard-only'),
    ('2001::/23', 'IETF protocol assignments (Teredo and others)'),
    ('2001:db8::/32', 'documentation'),
    ('fc00::/7', 'unique local (private)'),
    ('fe80::/10', 'link-local'),
    ('fec0::/10', 'site-local'),
    ('ff00::/8', 'multicast'),
))
_GLOBAL_UNICAST_V6 = ipaddress.ip_network('2000::/3')

# An allow-list entry wider than this would let owners point webhooks at most of the Internet.
MIN_PREFIX = {4: 16, 6: 32}

# Suffixes under which anyone can get a name: a wildcard over one of them allows every tenant of
# it.  A short list of the common ones, not the Public Suffix List; the rule for two-label
# country suffixes (co.uk, com.au) is in _public_suffix.
HOSTING_SUFFIXES = frozenset((
    'amazonaws.com', 'compute.amazonaws.com', 'compute-1.amazonaws.com', 's3.amazonaws.com',
    'cloudfront.net', 'elasticbeanstalk.com', 'azurewebsites.net', 'cloudapp.net', 'cloudapp.azure.com',
    'azurestaticapps.net', 'appspot.com', 'web.app', 'firebaseapp.com', 'run.app', 'github.io',
    'githubusercontent.com', 'gitlab.io', 'herokuapp.com', 'netlify.app', 'vercel.app', 'pages.dev',
    'workers.dev', 'fly.dev', 'onrender.com', 'ngrok.io', 'ngrok-free.app', 'ngrok.app', 'blogspot.com',
    'glitch.me', 'repl.co', 'trycloudflare.com', 'nip.io', 'sslip.io', 'localtest.me', 'lvh.me',
))
_SECOND_LEVEL = frozenset(('ac', 'co', 'com', 'edu', 'gob', 'gouv', 'go', 'gov', 'govt', 'ltd', 'mil', 'ne',
                           'net', 'nic', 'or', 'org', 'plc', 'sch'))


def _embedded_ipv4(ip):
    if ip.version != 6 or ip in _V6_OWN:
        return None
    if ip in _SIXTOFOUR:
        return ip.sixtofour
    if ip in _V4_MAPPED or ip in _V4_COMPATIBLE or ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xffffffff)
    return None


def _address(text):
    """An ip_address, scope id dropped, an IPv6 address wrapping an IPv4 one turned into that
    IPv4 address (IPV4_WRAPPERS); None if not an address."""
    try:
        ip = ipaddress.ip_address(str(text).split('%', 1)[0])
    except ValueError:
        return None
    return _embedded_ipv4(ip) or ip


def address_kind(ip):
    """None for a public (globally routable unicast) address, else what it is: 'loopback',
    'private', 'link-local', ...  ``ip`` as ``_address`` returns it."""
    for net, kind in _NON_PUBLIC:
        if ip.version == net.version and ip in net:
            return kind
    if ip.version == 6 and ip not in _GLOBAL_UNICAST_V6:
        return 'reserved'
    if not ip.is_global:
        return 'reserved'
    return None


def _network_kind(net):
    """``(kind, range)`` of the first non-public range ``net`` overlaps, or None."""
    for other, kind in _NON_PUBLIC:
        if net.version == other.version and net.overlaps(other):
            return kind, other
    if net.version == 6 and not net.subnet_of(_GLOBAL_UNICAST_V6):
        return 'reserved', _GLOBAL_UNICAST_V6
    return None


def _public_suffix(name):
    """Whether anyone can register or get a name directly under ``name``."""
    labels = name.split('.')
    if len(labels) < 2 or name in HOSTING_SUFFIXES:
        return True
    return len(labels) == 2 and len(labels[1]) == 2 and labels[0] in _SECOND_LEVEL


def _host_name(text):
    name = str(text).strip().lower().rstrip('.')
    labels = name.split('.')
    if labels and labels[0] == '*':
        labels = labels[1:]
    if not labels or len(name) > 253 or not all(_LABEL_RE.match(label) for label in labels):
        return None
    return name


class AllowList(object):
    """The operator's ``webhook_allow``: host names (``hooks.example.com``, ``*.example.com`` for
    its subdomains) and networks or single addresses in CIDR form, IPv4 or IPv6.  Raises
    ValueError listing every bad entry, each named by its index.

    Refused: entries wider than /16 (IPv4) or /32 (IPv6), wildcards over a public suffix
    (``*``, ``*.com``, ``*.co.uk``, ``*.github.io``), IPv6 networks of the ranges that wrap IPv4
    (list the IPv4 network), and, unless ``allow_private``, any network that overlaps a
    private, loopback, link-local or other non-public range.  ``allow_http``: owner URLs may be
    plain http (otherwise only https)."""

    def __init__(self, entries=None, allow_private=False, allow_http=False):
        self.names = []
        self.networks = []
        self.allow_private = bool(allow_private)
        self.allow_http = bool(allow_http)
        errors = []
        for index, entry in enumerate(entries or ()):
            problem = self._add(entry)
            if problem:
                errors.append('webhook_allow[%d]: %s' % (index, problem))
        if errors:
            raise ValueError('\n'.join(errors))

    def _add(self, entry):
        text = entry.strip() if isinstance(entry, str) else None
        if not text:
            return 'expected a host name or a network, got %s' % _shown(entry)
        if '://' in text:
            return '%r is a URL; give its host name or a network' % text
        if '/' in text or _address(text) is not None:
            return self._add_network(text)
        return self._add_name(text)

    def _add_network(self, text):
        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            return '%r is not a network: %s' % (text, exc)
        if net.prefixlen < MIN_PREFIX[net.version]:
            return ('%r is too broad: list networks of /%d or narrower (IPv6: /%d)'
                    % (text, MIN_PREFIX[4], MIN_PREFIX[6]))
        if net.version == 6 and not net.subnet_of(_V6_OWN) and any(net.overlaps(w) for w in IPV4_WRAPPERS):
            return ('%r wraps IPv4 addresses (IPv4-mapped, NAT64 or 6to4), which are checked as the IPv4 '
                    'address they carry: list the IPv4 network instead' % text)
        found = _network_kind(net)
        if found and not self.allow_private:
            return ('%r overlaps %s, a %s range: set webhook_allow_private to let owners reach such '
                    'addresses' % (text, found[1], found[0]))
        self.networks.append(net)
        return None

    def _add_name(self, text):
        name = _host_name(text)
        if name is None:
            return ('%r is neither a host name nor a network (give a name such as hooks.example.com or '
                    '*.example.com, or a CIDR, not a URL)' % text)
        if name.startswith('*.') and _public_suffix(name[2:]):
            return ('%r covers every name under a public suffix, which anyone can register: give a domain '
                    'of yours (*.hooks.example.com)' % text)
        self.names.append(name)
        return None

    def name_allowed(self, host: str) -> bool:
        name = str(host).strip().lower().rstrip('.')
        for entry in self.names:
            if entry.startswith('*.'):
                if name.endswith(entry[1:]):
                    return True
            elif name == entry:
                return True
        return False

    def address_allowed(self, address) -> bool:
        ip = _address(address)
        if ip is None:
            return False
        return any(ip.version == net.version and ip in net for net in self.networks)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str            # lower case, no brackets, no trailing dot
    port: int
    request_path: str    # path and query, as sent in the request line
    literal: bool        # the host is an IP address

    @property
    def display(self) -> str:
        """The URL for reports: the query (often a token) is not shown."""
        host = '[%s]' % self.host if ':' in self.host else self.host
        default = 443 if self.scheme == 'https' else 80
        port = '' if self.port == default else ':%d' % self.port
        path, _sep, query = self.request_path.partition('?')
        return '%s://%s%s%s%s' % (self.scheme, host, port, path, '?...' if query else '')


def parse_target(url) -> Target:
    """Checks a webhook URL's form: http or https, a host, no credentials, no control
    characters.  Raises ValueError with the reason."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError('not a URL: %r' % (url,))
    text = url.strip()
    if any(ord(c) < 33 or ord(c) == 127 for c in text):
        raise ValueError('URL contains spaces or control characters')
    if not text.isascii():
        raise ValueError('URL is not ASCII (percent-encode the path, give an IDN host in its xn-- form)')
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError('scheme %r is not allowed (only http and https)' % (parts.scheme or ''))
    if '@' in parts.netloc:
        raise ValueError('credentials in the URL are not accepted (the signature authenticates the sender)')
    host = (parts.hostname or '').rstrip('.')
    if not host:
        raise ValueError('URL has no host')
    try:
        port = parts.port
    except ValueError:
        raise ValueError('URL has a bad port')
    if port is None:
        port = 443 if scheme == 'https' else 80
    if port == 0:
        raise ValueError('URL has a bad port')
    path = parts.path or '/'
    if parts.query:
        path += '?' + parts.query
    literal = _address(host) is not None
    return Target(scheme=scheme, host=host.lower(), port=port, request_path=path, literal=literal)


def target_allowed(target: Target, allow: AllowList, trusted: bool = False) -> tuple:
    """``(ok, reason)``: whether a URL may be called at all, before resolving its host.

    An owner's URL needs its host name in the allow-list, or its IP literal inside one of its
    networks, and https unless the operator allows http.  ``trusted``: a URL the operator gave
    (``project_webhooks``) passes.
    """
    if trusted:
        return True, 'operator URL'
    if target.literal:
        ok = allow.address_allowed(target.host)
        why = 'address %s %s webhook_allow' % (target.host, 'in' if ok else 'is not in')
    else:
        ok = allow.name_allowed(target.host)
        why = 'host %s %s webhook_allow' % (target.host, 'in' if ok else 'is not in')
    if ok and target.scheme == 'http' and not allow.allow_http:
        return False, 'plain http: owner URLs must use https unless webhook_allow_http is set'
    return ok, why


def address_allowed(target: Target, address: str, allow: AllowList, trusted: bool = False) -> tuple:
    """``(ok, reason)``: whether the address the host name resolved to may be connected to.

    An address inside a listed network is allowed.  A host allowed by name may resolve only to
    public addresses (``address_kind``): a name, which its owner's DNS controls, cannot point
    into loopback, link-local (the metadata service), private or other reserved ranges unless
    the operator lists that network.  An IPv6 address wrapping an IPv4 one (NAT64, 6to4,
    IPv4-mapped) is checked as that IPv4 address.  ``trusted`` (operator URLs) passes.
    """
    ip = _address(address)
    if ip is None:
        return False, 'resolved to %s, which is not an address' % _shown(clean_text(address))
    if trusted:
        return True, 'operator URL'
    if allow.address_allowed(ip):
        return True, 'address %s in webhook_allow' % ip
    if target.literal or not allow.name_allowed(target.host):
        return False, '%s resolves to %s, which is not in webhook_allow' % (target.host, ip)
    kind = address_kind(ip)
    if kind is None:
        return True, 'public address %s of allowed host %s' % (ip, target.host)
    return False, ('%s resolves to %s, which is not public (%s) and not in webhook_allow (a host name in the '
                   'list is trusted only for public addresses; list the network to allow it)'
                   % (target.host, ip, kind))


# ---------------------------------------------------------------- webhook body and signature


def new_delivery_id() -> str:
    return secrets.token_hex(16)


def webhook_payload(kind: str, event: dict, server: dict, delivery: str, guest_notice: bool = True) -> dict:
    """The JSON body of a webhook, before ``sent_at`` is added by ``encode_payload``.

    ``server``: id, name, project_id, project_name (None values are left out).
    ``guest_notice``: whether the event is in the server's metadata (if not, e.g. a shelved
    server, the owner cannot answer through the metadata either).
    """
    if kind not in WEBHOOK_KINDS:
        raise NoticeError('webhook kind must be one of %s, got %r' % (', '.join(WEBHOOK_KINDS), kind))
    body = {
        'type': kind,
        'delivery': delivery,
        'event': dict(event),
        'server': dict((k, server.get(k)) for k in ('id', 'name', 'project_id', 'project_name')
                       if server.get(k) is not None),
        'guest_notice': bool(guest_notice),
    }
    if kind == 'scheduled' and guest_notice:
        answer = {'ack': {'key': KEY_ACK, 'value': event['id']}}
        if event.get('max_defer_s'):
            answer['defer'] = {'key': KEY_DEFER, 'max_s': event['max_defer_s']}
        body['answer'] = answer
    return body


def encode_payload(payload: dict, sent_at: int, url: str) -> bytes:
    """The raw body sent to ``url``: ``payload`` with ``sent_at`` (Unix seconds, the timestamp
    header's value) and ``recipient`` (``url`` exactly as registered, and the server's project).

    What the signature binds is in the signed body: a receiver that checks ``recipient`` against
    its own URL and project, ``sent_at`` against its clock and ``delivery`` against the ids it has
    seen rejects a delivery meant for another receiver, an old one and a replayed one."""
    recipient = {'url': url, 'project_id': (payload.get('server') or {}).get('project_id')}
    return json.dumps(dict(payload, sent_at=int(sent_at), recipient=recipient), separators=(',', ':'),
                      sort_keys=True, ensure_ascii=True).encode('ascii')


def project_secret(secret: str, project_id: str) -> str:
    """The signing secret of one project, derived from the operator's secret (the default).

    With one shared secret every receiver could sign deliveries for every other receiver;
    derived secrets (handed to each project's owner) keep projects apart."""
    return hmac.new(_bytes(secret), b'cloudmaint-webhook:' + _bytes(project_id), hashlib.sha256).hexdigest()


def signing_secret(secret, project_id, per_project=True):
    """``(secret, None)`` to sign a project's deliveries with, or ``(None, why)``."""
    if not secret:
        return None, 'no webhook secret: deliveries are always signed'
    if not per_project:
        return secret, None
    if not isinstance(project_id, str) or not project_id:
        return None, 'the server has no project id to derive its project\'s secret from'
    return project_secret(secret, project_id), None


def _bytes(value):
    return value if isinstance(value, bytes) else str(value).encode('utf-8')


def sign(secret, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the raw body with the secret."""
    if not secret:
        raise NoticeError('a webhook secret is needed to sign')
    return SIGNATURE_SCHEME + hmac.new(_bytes(secret), body, hashlib.sha256).hexdigest()


def signed_headers(secret, body: bytes, sent_at: int, kind: str, delivery: str) -> dict:
    return {
        'Content-Type': 'application/json',
        SIGNATURE_HEADER: sign(secret, body),
        TIMESTAMP_HEADER: str(int(sent_at)),
        EVENT_HEADER: kind,
        DELIVERY_HEADER: delivery,
    }


def _signed_fields(body):
    try:
        payload = json.loads(body.decode('utf-8'))
    except (UnicodeDecodeError, ValueError, AttributeError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def verify(secret, body: bytes, signature: str | None, timestamp: str | None = None, now: float | None = None,
           tolerance_s: int = SIGNATURE_TOLERANCE_S, url: str | None = None, project_id: str | None = None,
           delivery: str | None = None) -> tuple:
    """``(ok, reason)`` for a received delivery: the signature over the raw body (constant-time),
    then what it binds: the body's ``sent_at`` equal to the timestamp header (when given) and,
    with ``now`` (Unix seconds), within ``tolerance_s`` of it; with ``url`` and ``project_id``,
    the body's ``recipient`` naming them; with ``delivery`` (the header), the body's id.

    Deduplicating ``delivery`` ids is the receiver's (it holds the state): see docs/notices.md."""
    if not isinstance(signature, str) or not signature.startswith(SIGNATURE_SCHEME):
        return False, 'missing or malformed signature'
    if not hmac.compare_digest(sign(secret, body), signature.strip()):
        return False, 'signature mismatch'
    payload = _signed_fields(body)
    if payload is None:
        return False, 'body is not a JSON object'
    sent_at = payload.get('sent_at')
    if not _non_negative_int(sent_at):
        return False, 'body has no sent_at'
    if timestamp is not None and str(timestamp).strip() != str(sent_at):
        return False, 'timestamp header does not match the signed sent_at'
    if now is not None and abs(now - sent_at) > tolerance_s:
        return False, 'sent_at is %d s away from now (tolerance %d s)' % (abs(now - sent_at), tolerance_s)
    recipient = payload.get('recipient') if isinstance(payload.get('recipient'), dict) else {}
    if url is not None and recipient.get('url') != url:
        return False, 'signed for another URL'
    if project_id is not None and recipient.get('project_id') != project_id:
        return False, 'signed for another project'
    if delivery is not None and payload.get('delivery') != str(delivery).strip():
        return False, 'delivery header does not match the signed delivery id'
    return True, 'ok'

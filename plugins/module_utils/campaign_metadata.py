# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a campaign did to a server, kept in the server's own metadata.

The record lives in the cloud, not on the controller, so any later run (another
controller, an AWX job in a fresh container) can resume or restore.  Pure logic:
build the metadata to set, read it back, and decide the next restore step.

Write the record *before* acting on the server: ``restore_step`` looks at the
server's real status and host, so a record whose action never happened (a crash
in between) leads to ``none``, never to a wrong step.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import NamedTuple

PREFIX = 'cloudmaint:'
KEY_ORIGIN_HOST = PREFIX + 'origin_host'
KEY_ACTION = PREFIX + 'action'
KEY_CAMPAIGN = PREFIX + 'campaign'
KEY_AT = PREFIX + 'at'
KEY_STATE = PREFIX + 'state'
KEY_PRIOR_STATUS = PREFIX + 'prior_status'
CAMPAIGN_KEYS = (KEY_ORIGIN_HOST, KEY_ACTION, KEY_CAMPAIGN, KEY_AT, KEY_STATE, KEY_PRIOR_STATUS)

# Nova limits metadata keys and values to 255 characters each.
MAX_LEN = 255

# Action taken by a campaign -> state recorded.  `delete` and `none` leave
# nothing to restore, so they are not recorded.
ACTION_STATE = {
    'live_migrate': 'moved',
    'cold_migrate': 'moved',
    'shelve_partial': 'shelved',
    'stop': 'stopped',
    'suspend': 'suspended',
    'leave': 'left',
    'rebuild': 'rebuild_pending',
}
STATE_RESTORED = 'restored'
STATES = tuple(sorted(set(ACTION_STATE.values()))) + (STATE_RESTORED,)

RESTORE_STEPS = ('start', 'unshelve', 'resume', 'move_back', 'rebuild', 'confirm_resize', 'wait', 'none')

TIME_FORMAT = '%Y-%m-%dT%H:%M:%SZ'

# Statuses that mean Nova is in the middle of something: look again later.
BUSY_STATUSES = frozenset((
    'BUILD', 'REBOOT', 'HARD_REBOOT', 'PASSWORD', 'REBUILD', 'MIGRATING', 'RESIZE',
    'REVERT_RESIZE', 'VERIFY_RESIZE', 'UNKNOWN',
))
GONE_STATUSES = frozenset(('DELETED', 'SOFT_DELETED'))


@dataclass(frozen=True)
class CampaignRecord:
    action: str
    state: str
    origin_host: str
    campaign: str
    at: datetime.datetime | None = None
    prior_status: str | None = None

    def to_dict(self) -> dict:
        return {
            'action': self.action,
            'state': self.state,
            'origin_host': self.origin_host,
            'campaign': self.campaign,
            'at': format_time(self.at) if self.at else None,
            'prior_status': self.prior_status,
        }


class RestoreStep(NamedTuple):
    step: str
    reason: str


def format_time(when: datetime.datetime) -> str:
    """ISO-8601 UTC with a Z, seconds precision.  Naive datetimes are refused."""
    if not isinstance(when, datetime.datetime) or when.tzinfo is None or when.utcoffset() is None:
        raise ValueError('expected a timezone-aware datetime, got %r' % (when,))
    return when.astimezone(datetime.timezone.utc).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime.datetime | None:
    """Read an ISO-8601 time back (UTC assumed when no offset is given); None if unreadable."""
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip()
    if value[-1] in 'zZ':
        value = value[:-1] + '+00:00'
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc)


def _value(name: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError('%s must be a non-empty string, got %r' % (name, value))
    if len(value) > MAX_LEN:
        raise ValueError('%s is %d characters long; Nova metadata values hold at most %d'
                         % (name, len(value), MAX_LEN))
    return value


def record(action: str, origin_host: str, campaign: str, now: datetime.datetime,
           prior_status: str | None = None) -> dict:
    """Metadata to set on a server before the campaign acts on it.

    ``prior_status`` is the server's status before the campaign (e.g. ACTIVE);
    restore needs it to know whether a server that was left in place was running.
    Raises ValueError for an action that leaves nothing to restore (delete, none)
    or for values Nova would refuse.
    """
    if action not in ACTION_STATE:
        raise ValueError('action %r is not recorded (recorded: %s)' % (action, ', '.join(sorted(ACTION_STATE))))
    meta = {
        KEY_ACTION: action,
        KEY_STATE: ACTION_STATE[action],
        KEY_ORIGIN_HOST: _value('origin_host', origin_host),
        KEY_CAMPAIGN: _value('campaign', campaign),
        KEY_AT: format_time(now),
    }
    if prior_status is not None:
        meta[KEY_PRIOR_STATUS] = _value('prior_status', prior_status).upper()
    return meta


def mark_restored(now: datetime.datetime) -> dict:
    """Metadata to set once restore has finished with a server (kept for audit until cleared)."""
    return {KEY_STATE: STATE_RESTORED, KEY_AT: format_time(now)}


def keys_to_clear() -> list:
    """Every metadata key a campaign may have written (the owner annotation is not among them)."""
    return list(CAMPAIGN_KEYS)


def parse(metadata: dict | None) -> tuple:
    """Read a campaign record back from server metadata.

    Returns ``(record, note)``:
      - ``(None, None)``: no campaign key at all (the server was never touched);
      - ``(None, reason)``: campaign keys present but unusable (missing or garbled);
      - ``(record, None)``: a good record;
      - ``(record, note)``: a usable record with a harmless defect (unreadable time).
    Never raises on bad content.
    """
    if not isinstance(metadata, dict):
        return None, None
    present = [key for key in CAMPAIGN_KEYS if key in metadata]
    if not present:
        return None, None

    def text(key):
        value = metadata.get(key)
        return value.strip() if isinstance(value, str) else None

    missing = [key for key in (KEY_ACTION, KEY_STATE, KEY_ORIGIN_HOST, KEY_CAMPAIGN) if not text(key)]
    if missing:
        return None, 'incomplete campaign record: %s missing or empty' % ', '.join(missing)
    action, state = text(KEY_ACTION), text(KEY_STATE)
    if action not in ACTION_STATE:
        return None, 'garbled campaign record: %s %r is not a recorded action' % (KEY_ACTION, action)
    if state not in STATES:
        return None, 'garbled campaign record: %s %r is not a known state' % (KEY_STATE, state)
    if state not in (ACTION_STATE[action], STATE_RESTORED):
        return None, ('garbled campaign record: %s %r does not go with %s %r (expected %r)'
                      % (KEY_STATE, state, KEY_ACTION, action, ACTION_STATE[action]))
    note = None
    at = parse_time(metadata.get(KEY_AT))
    if at is None:
        note = '%s %r unreadable; time ignored' % (KEY_AT, metadata.get(KEY_AT))
    prior = text(KEY_PRIOR_STATUS)
    rec = CampaignRecord(action=action, state=state, origin_host=text(KEY_ORIGIN_HOST),
                         campaign=text(KEY_CAMPAIGN), at=at,
                         prior_status=prior.upper() if prior else None)
    return rec, note


def restore_step(rec: CampaignRecord | None, server_status: str | None, current_host: str | None,
                 move_back: bool) -> RestoreStep:
    """The next thing restore must do for one server (decision table in docs/policy.md).

    Call again after each step with the server's fresh status and host: a server
    may need more than one step.  Every step but ``rebuild`` shows in the server's
    status or host; after a rebuild, set ``mark_restored()`` so it is not repeated.
    """
    if rec is None:
        return RestoreStep('none', 'no campaign record')
    if rec.state == STATE_RESTORED:
        return RestoreStep('none', 'already restored')
    status = (server_status or '').upper()
    if not status:
        return RestoreStep('wait', 'server status unknown: look again later')
    if status in GONE_STATUSES:
        return RestoreStep('none', 'server is %s' % status)
    if status == 'ERROR':
        return RestoreStep('none', 'server in ERROR: left for the operator')
    if status == 'VERIFY_RESIZE' and rec.state == 'moved':
        return RestoreStep('confirm_resize', 'the campaign\'s cold migration was never confirmed')
    if status == 'UNKNOWN':
        return RestoreStep('wait', 'status UNKNOWN (its compute service is not answering): look again later')
    if status in BUSY_STATUSES:
        return RestoreStep('wait', 'server is busy (%s): look again once it settles' % status)
    return _STATE_STEPS[rec.state](rec, status, current_host, move_back)


def _moved(rec, status, current_host, move_back):
    if not move_back:
        return RestoreStep('none', 'moving back is off: stays on %s' % (current_host or 'its new host'))
    if not current_host:
        return RestoreStep('none', 'current host unknown: cannot tell whether it is back on %s' % rec.origin_host)
    if current_host == rec.origin_host:
        return RestoreStep('none', 'already on its origin host %s' % rec.origin_host)
    if status in ('ACTIVE', 'PAUSED'):
        return RestoreStep('move_back', 'live-migrate back to %s' % rec.origin_host)
    if status == 'SHUTOFF':
        return RestoreStep('move_back', 'cold-migrate back to %s (server is SHUTOFF)' % rec.origin_host)
    return RestoreStep('none', 'a %s server cannot be moved back to %s' % (status, rec.origin_host))


def _stopped(rec, status, current_host, move_back):
    if status == 'SHUTOFF':
        return RestoreStep('start', 'stopped by campaign %s' % rec.campaign)
    return _not_needed(status, 'SHUTOFF')


def _shelved(rec, status, current_host, move_back):
    if status in ('SHELVED', 'SHELVED_OFFLOADED'):
        return RestoreStep('unshelve', 'shelved by campaign %s' % rec.campaign)
    return _not_needed(status, 'shelved')


def _suspended(rec, status, current_host, move_back):
    if status == 'SUSPENDED':
        return RestoreStep('resume', 'suspended by campaign %s' % rec.campaign)
    return _not_needed(status, 'SUSPENDED')


def _left(rec, status, current_host, move_back):
    if status != 'SHUTOFF':
        return RestoreStep('none', 'left in place and now %s: nothing to do' % status)
    if rec.prior_status is None:
        return RestoreStep('none', 'left in place, but its status before the campaign was not recorded: '
                                   'not started, check with its owner')
    if rec.prior_status != 'ACTIVE':
        return RestoreStep('none', 'was %s before the campaign: stays SHUTOFF' % rec.prior_status)
    return RestoreStep('start', 'was ACTIVE before the campaign and left in place over the reboot')


def _rebuild_pending(rec, status, current_host, move_back):
    if status in ('ACTIVE', 'SHUTOFF'):
        then = ' then start it' if rec.prior_status == 'ACTIVE' else ''
        return RestoreStep('rebuild', 'rebuild from its image%s, as campaign %s decided' % (then, rec.campaign))
    return RestoreStep('none', 'a %s server cannot be rebuilt' % status)


def _not_needed(status, expected):
    if status == 'ACTIVE':
        return RestoreStep('none', 'already ACTIVE')
    return RestoreStep('none', 'is %s, not %s: changed since the campaign, left as it is' % (status, expected))


_STATE_STEPS = {
    'moved': _moved,
    'stopped': _stopped,
    'shelved': _shelved,
    'suspended': _suspended,
    'left': _left,
    'rebuild_pending': _rebuild_pending,
}

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a campaign did to a server: the record, its encoding and the restore decision.

Pure logic. The records are kept out of tenants' reach by ``server_records`` (admin-only host
aggregates); this module builds them, encodes them into one short value, reads them back and
decides the next restore step from a record and the server's real status and host.

Write the record *before* acting on the server: ``restore_step`` looks at the server's real
status and host, so a record whose action never happened (a crash in between) leads to
``none``, never to a wrong step.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from typing import NamedTuple

from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import PREFIX

# Server metadata keys the first versions kept their records in. Tenants can write those, so they
# are never read any more; they stay reserved (no owner_key may use them).
CAMPAIGN_KEYS = tuple(PREFIX + key for key in (
    'origin_host', 'action', 'campaign', 'at', 'state', 'prior_status'))

# Nova limits metadata keys and values (of servers and aggregates) to 255 characters each.
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
# What the notice told the owner the campaign will do (the whole chain), before anything is done:
# the drain does what was announced, not what a later change of the server's labels would decide.
STATE_ANNOUNCED = 'announced'
STATES = tuple(sorted(set(ACTION_STATE.values()))) + (STATE_RESTORED, STATE_ANNOUNCED)
# Actions an announced chain may hold (delete is done, never recorded as done).
CHAIN_ACTIONS = tuple(ACTION_STATE) + ('delete',)

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
    locked: bool = False           # the campaign locked the server (and unlocks it at restore)
    chain: tuple = ()              # an announcement's whole chain (action first)

    def to_dict(self) -> dict:
        out = {
            'action': self.action,
            'state': self.state,
            'origin_host': self.origin_host,
            'campaign': self.campaign,
            'at': format_time(self.at) if self.at else None,
            'prior_status': self.prior_status,
            'locked': self.locked,
        }
        if self.state == STATE_ANNOUNCED:
            out['chain'] = list(self.chain)
        return out


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


def new_record(action: str, origin_host: str, campaign: str, now: datetime.datetime,
               prior_status: str | None = None) -> CampaignRecord:
    """The record to keep before the campaign acts on a server.

    ``prior_status`` is the server's status before the campaign (e.g. ACTIVE);
    restore needs it to know whether a server that was left in place was running.
    Raises ValueError for an action that leaves nothing to restore (delete, none)
    or for values Nova would refuse.
    """
    if action not in ACTION_STATE:
        raise ValueError('action %r is not recorded (recorded: %s)' % (action, ', '.join(sorted(ACTION_STATE))))
    format_time(now)
    return CampaignRecord(action=action, state=ACTION_STATE[action],
                          origin_host=_value('origin_host', origin_host),
                          campaign=_value('campaign', campaign), at=now,
                          prior_status=_status(prior_status))


def announcement(chain, origin_host: str, campaign: str, now: datetime.datetime,
                 prior_status: str | None = None) -> CampaignRecord:
    """The record of what a notice announced for a server: its whole chain of actions."""
    chain = tuple(chain or ())
    if not chain or any(action not in CHAIN_ACTIONS for action in chain):
        raise ValueError('announced chain %r: expected actions among %s' % (chain, ', '.join(CHAIN_ACTIONS)))
    format_time(now)
    return CampaignRecord(action=chain[0], state=STATE_ANNOUNCED, origin_host=_value('origin_host', origin_host),
                          campaign=_value('campaign', campaign), at=now, prior_status=_status(prior_status),
                          chain=chain)


def _status(value):
    """A Nova status (ACTIVE, SHUTOFF, ...): a short word, never a separator."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.replace('_', '').isalpha() or len(value) > 32:
        raise ValueError('prior_status %r is not a server status' % (value,))
    return value.upper()


def mark_restored(rec: CampaignRecord, now: datetime.datetime) -> CampaignRecord:
    """The record once restore has finished with a server (kept until cleared, e.g. for an ERROR server)."""
    return replace(rec, state=STATE_RESTORED, at=now)


def with_lock(rec: CampaignRecord) -> CampaignRecord:
    return replace(rec, locked=True)


def without_lock(rec: CampaignRecord) -> CampaignRecord:
    return replace(rec, locked=False)


def encode(rec: CampaignRecord) -> str:
    """One value of at most 255 characters: ``action|state|prior status|time|locked``."""
    action = '>'.join(rec.chain) if rec.state == STATE_ANNOUNCED else rec.action
    value = '|'.join((action, rec.state, rec.prior_status or '',
                      format_time(rec.at) if rec.at else '', 'locked' if rec.locked else ''))
    if len(value) > MAX_LEN:
        raise ValueError('campaign record %r is longer than %d characters' % (value, MAX_LEN))
    return value


def decode(value, origin_host: str, campaign: str) -> tuple:
    """``(record, note)`` from an encoded value; ``(None, reason)`` when it is unusable. Never raises."""
    if not isinstance(value, str) or len(value) > MAX_LEN:
        return None, 'unreadable campaign record %r' % (value,)
    parts = value.split('|')
    if len(parts) != 5:
        return None, 'unreadable campaign record %r' % (value,)
    action, state, prior, at_text, locked = (part.strip() for part in parts)
    chain = ()
    if state == STATE_ANNOUNCED:
        chain = tuple(action.split('>'))
        if any(step not in CHAIN_ACTIONS for step in chain):
            return None, 'garbled campaign record: %r is not a chain of actions' % (action,)
        action = chain[0]
    elif action not in ACTION_STATE:
        return None, 'garbled campaign record: %r is not a recorded action' % (action,)
    elif state not in (ACTION_STATE[action], STATE_RESTORED):
        return None, 'garbled campaign record: state %r does not go with action %r' % (state, action)
    at = parse_time(at_text)
    note = None if at is not None else 'time %r unreadable; ignored' % (at_text,)
    return CampaignRecord(action=action, state=state, origin_host=origin_host, campaign=campaign, at=at,
                          prior_status=prior.upper() or None, locked=locked == 'locked', chain=chain), note


def restore_step(rec: CampaignRecord | None, server_status: str | None, current_host: str | None,
                 move_back: bool, host_rebooted: bool | None = None, host_boot: str = '') -> RestoreStep:
    """The next thing restore must do for one server (decision table in docs/policy.md).

    Call again after each step with the server's fresh status and host: a server
    may need more than one step.  Every step but ``rebuild`` shows in the server's
    status or host; after a rebuild, set ``mark_restored()`` so it is not repeated.
    ``host_rebooted``: whether the host booted after the record was written (None: unknown);
    a rebuild wipes the server's disks, so it is done only when that is certainly true.
    ``host_boot`` says what is known of the host's boot, for the reason.
    """
    if rec is None:
        return RestoreStep('none', 'no campaign record')
    if rec.state == STATE_RESTORED:
        return RestoreStep('none', 'already restored')
    if rec.state == STATE_ANNOUNCED:
        return RestoreStep('none', 'announced by the notice, never acted on')
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
    if rec.state == 'rebuild_pending':
        return _rebuild_pending(rec, status, host_rebooted, host_boot)
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


def _rebuild_pending(rec, status, rebooted, host_boot):
    if rebooted is not True:
        why = '%s since campaign %s stopped it (%s): not rebuilt' % (
            'its host has not rebooted' if rebooted is False else 'Nova cannot tell whether its host rebooted',
            rec.campaign, host_boot or 'its uptime is unknown')
        if status == 'SHUTOFF' and rec.prior_status == 'ACTIVE':
            return RestoreStep('start', why + ', started as it was')
        return RestoreStep('none', why)
    if status in ('ACTIVE', 'SHUTOFF'):
        then = ' then start it' if rec.prior_status == 'ACTIVE' else ''
        return RestoreStep('rebuild', 'rebuild from its image%s, as campaign %s decided (its host %s)'
                           % (then, rec.campaign, host_boot))
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
}

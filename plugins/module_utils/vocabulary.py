# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The words of a campaign, each spelled once: Nova's server keys, the collection's prefix, what
names a campaign, the texts that mark a host or server as held by one, the plain view of a server
that the policy reads, and the reboot interlock (what a reboot of the host would cut off)."""

from __future__ import annotations

import re

# Everything the collection writes or reads under its own name starts with this.
PREFIX = 'cloudmaint:'

HOST_KEY = 'OS-EXT-SRV-ATTR:host'
TASK_KEY = 'OS-EXT-STS:task_state'
POWER_KEY = 'OS-EXT-STS:power_state'

# Budget of a notice's 255 characters: the longest event (16-character id, cold_migration, both
# deferral fields at a week) leaves 57 for the campaign id.
MAX_CAMPAIGN_LEN = 56
CAMPAIGN_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]*$')

# Statuses a server may keep on a host that is about to reboot.
AT_REST = ('SHUTOFF', 'SHELVED', 'SHELVED_OFFLOADED', 'SUSPENDED', 'ERROR')
# Nova power states of a guest that a reboot would kill (1 RUNNING, 3 PAUSED).
GUEST_UP = (1, 3)


def campaign_problem(campaign):
    """Why ``campaign`` cannot name a campaign (None when it can, or when it is None).

    The identifier goes into every event (at most 255 characters in all), the compute service's
    disabled reason and the ledger's keys, so it is short and needs no quoting anywhere.
    """
    if campaign is None:
        return None
    if not isinstance(campaign, str) or not CAMPAIGN_RE.match(campaign):
        return ('campaign %r: use letters, digits, dots, dashes and underscores, starting with a letter '
                'or digit' % (campaign,))
    if len(campaign) > MAX_CAMPAIGN_LEN:
        return 'campaign %r is %d characters long; at most %d fit in a notice' % (
            campaign, len(campaign), MAX_CAMPAIGN_LEN)
    return None


def held_by(campaign):
    """How every text that marks a host or a server as held by ``campaign`` begins."""
    return '%s campaign %s:' % (PREFIX, campaign)


def disabled_reason(campaign, text=None):
    """The compute service's disabled reason while ``campaign`` holds the host."""
    return '%s %s' % (held_by(campaign), text or 'host maintenance')


def lock_reason(campaign, host):
    """The ``locked_reason`` of a server the campaign keeps on ``host`` until restore."""
    return '%s %s in maintenance' % (held_by(campaign), host)


def policy_view(server):
    """The plain dict the policy resolves, from a Nova server or a snapshot's server record."""
    return {
        'id': server.get('id'), 'name': server.get('name'),
        'project_id': server.get('project_id', server.get('tenant_id')),
        'project_name': server.get('project_name'),
        'status': server.get('status'),
        'task_state': server.get('task_state', server.get(TASK_KEY)),
        'metadata': server.get('metadata') or {},
    }


def reboot_blocker(server, record, reboot_in_error=()):
    """Why rebooting the host now would cut ``server`` off, or None.

    At rest (stopped, shelved, suspended) is safe, and so is a PAUSED server the campaign left
    in place on purpose (``record``: the campaign's record of it, or None). ERROR says nothing
    about the guest: one still running (or paused) in ERROR would be hard-killed, unless the
    operator listed it in ``reboot_in_error``."""
    status = server.get('status')
    if status == 'ERROR':
        if server.get(POWER_KEY) in GUEST_UP and server['id'] not in reboot_in_error:
            return 'in ERROR with its guest still running'
        return None
    if status in AT_REST:
        return None
    if status == 'PAUSED' and record is not None and record.state == 'left':
        return None
    return 'still %s' % status

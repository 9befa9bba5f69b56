# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How long a campaign plan should take, batch by batch.  Pure, stdlib only.

A batch runs its hosts side by side, each through notice, drain, patch, reboot, verify and
restore; the batch lasts as long as its slowest host.  A host's drain is limited by its link: its
outgoing transfers share it (a live migration sends the guest's RAM, a few pre-copy rounds more
than once: ``precopy_factor``; a cold migration sends the root disk, between a shutdown and a
boot), and so do the transfers arriving at its busiest destination; each migration adds Nova's own
``per_migration_s``.  A server kept on its host (stop, suspend, shelve_partial) costs a shutdown
before the reboot and a boot in the restore.  The notice is the longest period among the servers
that the batch acts on (owners who answer early shorten it: the forecast does not count on them).

Durations the plan cannot know (patch, reboot, verify) come from the operator, or from what
earlier batches measured.
"""

from __future__ import annotations

DEFAULTS = {
    'link_mbps': 1250.0,        # MiB/s per host, about 10 Gbit/s
    'precopy_factor': 1.3,      # live migration: RAM sent about this many times over
    'per_migration_s': 5.0,     # Nova's own work per migration (claims, ports, switch-over)
    'shutdown_s': 60.0,
    'boot_s': 30.0,
    'patch_s': 120.0,
    'reboot_s': 300.0,
    'verify_s': 30.0,
}
STAYS_DOWN = ('stop', 'suspend', 'shelve_partial')
NO_NOTICE = ('none', 'leave')


def settings(overrides=None):
    """The defaults with ``overrides`` (None values ignored); ValueError naming a bad key or value."""
    values = dict(DEFAULTS)
    for key, value in (overrides or {}).items():
        if key not in DEFAULTS:
            raise ValueError('unknown forecast setting %r (known: %s)' % (key, ', '.join(sorted(DEFAULTS))))
        if value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError('forecast setting %s must be a number, got %r' % (key, value))
        if number < 0 or (key in ('link_mbps', 'precopy_factor') and number <= 0):
            raise ValueError('forecast setting %s must be %s, got %r'
                             % (key, '> 0' if key in ('link_mbps', 'precopy_factor') else '>= 0', value))
        values[key] = number
    return values


def transfer_s(move, values):
    """Seconds one move keeps the links busy."""
    if move.get('action') == 'cold_migrate':
        return float(move.get('disk_gb') or 0) * 1024.0 / values['link_mbps']
    return float(move.get('ram_mb') or 0) * values['precopy_factor'] / values['link_mbps']


def _host_drain_s(host, moves, stays, values):
    outgoing = [m for m in moves if m['from'] == host]
    cold = sum(1 for m in outgoing if m.get('action') == 'cold_migrate')
    link = sum(transfer_s(m, values) for m in outgoing)
    fixed = len(outgoing) * values['per_migration_s'] + (values['shutdown_s'] + values['boot_s']) * cold
    return link + fixed + (values['shutdown_s'] if stays else 0.0)


def forecast(plan, hosts, overrides=None):
    """Per batch and in all, the expected seconds of ``plan`` (maintenance_plan's plan; ``hosts``:
    its per-host summaries with each server's ``action`` and ``notice_s``)."""
    values = settings(overrides)
    moves = plan.get('moves') or []
    stays = {}
    for name, summary in (hosts or {}).items():
        stays[name] = [s for s in summary.get('servers') or () if s.get('action') in STAYS_DOWN]
    batches = []
    total = 0.0
    for index, batch in enumerate(plan.get('batches') or []):
        in_batch = [m for m in moves if m.get('batch') == index]
        incoming = {}
        for move in in_batch:
            incoming[move['to']] = incoming.get(move['to'], 0.0) + transfer_s(move, values)
        busiest_in = max(incoming.values() or [0.0])
        drain = max([_host_drain_s(h, in_batch, stays.get(h), values) for h in batch] or [0.0])
        drain = max(drain, busiest_in)
        notice = max([float(s.get('notice_s') or 0) for h in batch for s in (hosts or {}).get(h, {}).get('servers') or ()
                      if s.get('action') not in NO_NOTICE] or [0.0])
        restore = values['boot_s'] if any(stays.get(h) for h in batch) else 0.0
        seconds = notice + drain + values['patch_s'] + values['reboot_s'] + values['verify_s'] + restore
        batches.append({'batch': index, 'hosts': list(batch), 'seconds': round(seconds, 1),
                        'notice_s': round(notice, 1), 'drain_s': round(drain, 1), 'restore_s': round(restore, 1)})
        total += seconds
    return {'seconds': round(total, 1), 'batches': batches, 'settings': values}

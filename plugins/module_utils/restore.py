# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bringing back what a drain did to a host's servers, from the campaign's records.

The records live in the cloud, where only administrators write (``server_records``), so restore
works from any controller and after any interruption: each server's next step is decided from
its record and its real status, one step at a time. A move back is made only when Nova's own
migration records show the server did leave that host; the campaign's lock is released at the end.
"""

from __future__ import annotations

import datetime
from concurrent import futures

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils import host_uptime
from ansible_collections.cloudmaint.openstack.plugins.module_utils import server_actions as sa
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaError
from ansible_collections.cloudmaint.openstack.plugins.module_utils.server_records import RecordStore

MAX_STEPS = 5
# Migration statuses of a move that happened (live: completed; cold: finished, then confirmed).
MOVED = ('completed', 'finished', 'confirmed')
# The host's uptime is given to the minute: how long to keep reading it for a verdict on whether
# it booted after a rebuild_pending record was written, and how often.
BOOT_EVIDENCE_S = 75
UPTIME_POLL_S = 5


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def left_from(migrations, host) -> bool:
    """Whether Nova recorded a move of the server away from ``host`` that happened."""
    return any(m.get('source_compute') == host and m.get('status') in MOVED for m in migrations)


class HostRestore(object):

    def __init__(self, nova, waiter, host, move_back, campaign=None, max_parallel=4,
                 action_timeout=1800, check_mode=False, keep_records=False, now=_utcnow, records=None):
        self.nova = nova
        self.records = records or RecordStore(nova)
        self.record_notes = []
        self.waiter = waiter
        self.host = host
        self.move_back = move_back
        self.campaign = campaign
        self.max_parallel = max_parallel
        self.action_timeout = action_timeout
        self.check_mode = check_mode
        self.keep_records = keep_records
        self.now = now
        self.changed = False
        self.boot = host_uptime.BootWindow()

    def _step(self, step, server, record):
        if step == 'start':
            return sa.in_place(self.nova, self.waiter, server, 'start', self.action_timeout)
        if step == 'resume':
            return sa.in_place(self.nova, self.waiter, server, 'resume', self.action_timeout)
        if step == 'unshelve':
            return sa.unshelve(self.nova, self.waiter, server, prefer_host=record.origin_host,
                               availability_zone=server.get('OS-EXT-AZ:availability_zone'),
                               timeout=self.action_timeout)
        if step == 'move_back':
            if server['status'] == 'SHUTOFF':
                return sa.cold_migrate(self.nova, self.waiter, server, record.origin_host,
                                       timeout=self.action_timeout)
            return sa.live_migrate(self.nova, self.waiter, server, record.origin_host,
                                   completion={'completion_timeout_s': self.action_timeout // 2,
                                               'on_timeout': 'force_complete'},
                                   timeout=self.action_timeout)
        if step == 'confirm_resize':
            attempt = sa.Attempt('confirm_resize', server)
            self.nova.confirm_resize(server['id'])
            _final, problem = sa.wait_status(self.nova, self.waiter, server['id'],
                                             ('ACTIVE', 'SHUTOFF'), 180)
            return attempt.finish('failed' if problem else 'done', problem, changed=True)
        if step == 'rebuild':
            attempt = sa.Attempt('rebuild', server)
            image = (server.get('image') or {}).get('id')
            if not image:
                return attempt.finish('failed', 'boot-from-volume server: no image to rebuild from')
            self.nova.rebuild(server['id'], image)
            # A stopped server shows ACTIVE without a task for a moment after the spawn, before
            # Nova stops it again: wait for the status it had, which the rebuild ends in.
            final, problem = sa.wait_status(self.nova, self.waiter, server['id'],
                                            (server['status'],), self.action_timeout)
            if problem:
                return attempt.finish('failed', problem)
            # Nova keeps a stopped server stopped through a rebuild: set the state it had.
            wanted = 'start' if record.prior_status == 'ACTIVE' else 'stop'
            after = sa.in_place(self.nova, self.waiter, final, wanted, self.action_timeout)
            if not after.ok:
                return attempt.finish('failed', 'rebuilt, but %s failed: %s' % (
                    wanted, after.get('detail')))
            self.records.put(server['id'], cm.mark_restored(record, self.now()))
            return attempt.finish('done', changed=True)
        if step == 'wait':
            attempt = sa.Attempt('wait', server)
            final, problem = sa.wait_status(
                self.nova, self.waiter, server['id'],
                ('ACTIVE', 'SHUTOFF', 'SHELVED', 'SHELVED_OFFLOADED', 'SUSPENDED', 'PAUSED'),
                self.action_timeout)
            return attempt.finish('failed' if problem else 'done', problem, changed=False)
        return sa.Attempt(step, server).finish('failed', 'unknown restore step %r' % step)

    def restore_one(self, item):
        server_id, record = item
        server = self.nova.server(server_id)
        if server is None:
            if not self.check_mode:
                self.records.remove(server_id, record)
            return {'id': server_id, 'name': None, 'record': record.to_dict(), 'steps': [],
                    'outcome': 'gone', 'result': 'server no longer exists: record dropped'}
        entry = {'id': server['id'], 'name': server.get('name'),
                 'host_before': server.get(sa.HOST_KEY), 'status_before': server['status'],
                 'steps': [], 'record': record.to_dict()}
        if self.move_back and record.state == 'moved' and server.get(sa.HOST_KEY) != record.origin_host and not left_from(
                self.nova.migrations(server['id']), record.origin_host):
            # The store is admin-only; this is the second, independent witness of where it came from.
            entry.update(outcome='unconfirmed', result='Nova has no completed migration of it from %s: '
                                                       'not moved, record kept' % record.origin_host)
            return entry
        for _count in range(MAX_STEPS):
            step = cm.restore_step(record, server['status'], server.get(sa.HOST_KEY),
                                   self.move_back, self.boot.booted_after(record.at), self.boot.describe())
            if step.step == 'none':
                entry['result'] = step.reason
                break
            if self.check_mode:
                entry['steps'].append({'step': step.step, 'reason': step.reason,
                                       'outcome': 'planned'})
                self.changed = True
                break
            try:
                attempt = self._step(step.step, server, record)
            except NovaError as exc:
                attempt = sa.Attempt(step.step, server).finish('failed', exc.message)
            attempt['reason'] = step.reason
            entry['steps'].append(attempt)
            if attempt.get('changed', True):
                self.changed = True
            if not attempt.ok:
                entry['result'] = 'failed: %s' % attempt.get('detail')
                break
            server = self.nova.server(server['id'])
            if server is None:
                entry['result'] = 'server disappeared'
                break
            if step.step == 'rebuild':
                record = cm.mark_restored(record, self.now())
        entry['outcome'] = 'failed' if any(s.get('outcome') == 'failed'
                                           for s in entry['steps']) else 'done'
        if server is not None and server['status'] == 'ERROR' and record.prior_status != 'ERROR':
            # Keep the record and the lock: the operator needs the origin host and prior status.
            entry['outcome'] = 'left_in_error'
        if self.check_mode:
            entry['outcome'] = 'planned' if entry['steps'] else 'nothing_to_do'
        elif server is not None:
            entry.update(host_after=server.get(sa.HOST_KEY), status_after=server['status'])
            if entry['outcome'] == 'done':
                self._release(server, record, entry)
        return entry

    def _release(self, server, record, entry):
        """The campaign is done with the server: unlock what it locked, drop the record."""
        if record.locked and server.get('locked'):
            self.nova.unlock(server['id'])
            entry['unlocked'] = True
            self.changed = True
        if not self.keep_records:
            self.records.remove(server['id'], record)
            self.changed = True

    def read_boot(self, pending):
        """Reads the host's uptime until it tells, for every record in ``pending``, whether the
        host booted after it was written (or BOOT_EVIDENCE_S passed; one reading in check mode)."""
        if not pending:
            return
        deadline = self.waiter.clock() + (0 if self.check_mode else BOOT_EVIDENCE_S)
        while self.boot.add(self.now(), self.nova.host_uptime(self.host)):
            if all(self.boot.booted_after(rec.at) is not None for rec in pending) or self.waiter.clock() >= deadline:
                return
            self.waiter.sleep(UPTIME_POLL_S)

    def restore(self):
        by_server, self.record_notes = self.records.records(self.host, self.campaign)
        # Each server once, from its newest record; several campaigns' records of one server
        # are all released along with it.
        items = [(sid, recs[0]) for sid, recs in by_server.items()]
        self.read_boot([rec for _sid, rec in items if rec.state == 'rebuild_pending'])
        with futures.ThreadPoolExecutor(max(1, self.max_parallel)) as pool:
            entries = list(pool.map(self.restore_one, items))
        if not self.check_mode:
            for sid, recs in by_server.items():
                done = next(e for e in entries if e['id'] == sid)['outcome'] in ('done', 'gone')
                for older in recs[1:] if done and not self.keep_records else ():
                    self.records.remove(sid, older)
            if not self.keep_records:
                self.records.prune(self.host, self.campaign)
        return sorted(entries, key=lambda e: (e.get('name') or '', e['id']))

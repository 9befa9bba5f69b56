# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Doing one action to one server and waiting until Nova says it is done.

Every function returns an Attempt: what was asked, what happened, how long it took. Waits are
on the migration record where there is one (a server shows its new host before its migration
is ``completed``), and every wait is bounded.

An action that got a 5xx or no answer is sent again (after checking that Nova is not doing it
already); if it never gets through, the Attempt says ``api_error`` rather than ``refused``: the
Compute API was unavailable, nothing was decided about the server.
"""

from __future__ import annotations

import time

from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import (
    NovaError,
    retry_action,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import HOST_KEY, TASK_KEY

MIB = 1024 * 1024
LIVE_DONE = ('completed',)
COLD_DONE = ('finished', 'confirmed')
FAILED = ('error', 'failed', 'cancelled')

# Target status of the actions that change a server in place.
IN_PLACE = {
    'stop': ({'os-stop': None}, ('SHUTOFF',)),
    'start': ({'os-start': None}, ('ACTIVE',)),
    'suspend': ({'suspend': None}, ('SUSPENDED',)),
    'resume': ({'resume': None}, ('ACTIVE',)),
    'unpause': ({'unpause': None}, ('ACTIVE',)),
    'shelve': ({'shelve': None}, ('SHELVED', 'SHELVED_OFFLOADED')),
    'shelve_offload': ({'shelveOffload': None}, ('SHELVED_OFFLOADED',)),
}


class Attempt(dict):
    """One action on one server: a plain dict so it goes straight into module results."""

    def __init__(self, action, server, clock=time.time, **extra):
        super(Attempt, self).__init__(action=action, outcome=None, source=server.get(HOST_KEY),
                                      destination=None, started=clock(), ended=None,
                                      duration_s=None, detail=None)
        self._clock = clock
        self.update(extra)

    def finish(self, outcome, detail=None, **extra):
        self['outcome'] = outcome
        self['ended'] = self._clock()
        self['duration_s'] = round(self['ended'] - self['started'], 3)
        if detail:
            self['detail'] = detail
        self.update(extra)
        return self

    @property
    def ok(self):
        return self['outcome'] == 'done'


def api_failure(attempt, exc):
    return attempt.finish('failed', str(exc), status_code=exc.status, api_error=True)


class Waiter(object):
    """Polling with a deadline; injectable clock and sleep for unit tests."""

    def __init__(self, poll_s=1.0, clock=time.monotonic, sleep=time.sleep):
        self.poll_s = poll_s
        self.clock = clock
        self.sleep = sleep

    def until(self, check, timeout):
        deadline = self.clock() + timeout
        while True:
            result = check()
            if result:
                return result
            if self.clock() >= deadline:
                return None
            self.sleep(self.poll_s)


def wait_status(nova, waiter, server_id, statuses, timeout, back_to=()):
    """Waits until the server reaches one of ``statuses`` with no task running.

    ``back_to``: statuses that, once no task runs, mean Nova gave up (e.g. an unshelve that
    found no host returns the server to SHELVED_OFFLOADED).
    Returns (server, None) or (server or None, reason).
    """
    last = {}

    def reached():
        server = nova.server(server_id)
        last['server'] = server
        if server is None:
            return 'gone'
        if server['status'] == 'ERROR':
            return 'error'
        if server['status'] in back_to and not server.get(TASK_KEY):
            return 'back'
        return server['status'] in statuses and not server.get(TASK_KEY)

    result = waiter.until(reached, timeout)
    server = last.get('server')
    if result is True:
        return server, None
    if result == 'gone':
        return None, 'server disappeared'
    if result == 'back':
        fault = (server or {}).get('fault', {}).get('message', '')
        return server, 'Nova gave up; server is %s again%s' % (
            server['status'], ': ' + fault if fault else '')
    if result == 'error':
        fault = (server or {}).get('fault', {}).get('message', '')
        return server, 'server went to ERROR%s' % (': ' + fault if fault else '')
    return server, 'timed out after %ss waiting for %s (status %s, task %s)' % (
        timeout, '/'.join(statuses), (server or {}).get('status'), (server or {}).get(TASK_KEY))


def in_place(nova, waiter, server, action, timeout):
    """stop, start, suspend, resume, shelve, shelve_offload, unpause."""
    body, statuses = IN_PLACE[action]
    attempt = Attempt(action, server)
    if server['status'] in statuses:
        return attempt.finish('done', 'already %s' % server['status'], changed=False)

    def applied():
        current = nova.server(server['id']) or {}
        return bool(current.get(TASK_KEY)) or current.get('status') in statuses

    try:
        retry_action(lambda: nova.action(server['id'], body), applied, waiter.sleep)
    except NovaError as exc:
        if exc.transient:
            return api_failure(attempt, exc)
        return attempt.finish('failed', exc.message, status_code=exc.status)
    final, problem = wait_status(nova, waiter, server['id'], statuses, timeout)
    if problem:
        return attempt.finish('failed', problem)
    return attempt.finish('done', status=final['status'], changed=True)


def latest_migration_id(nova, server_id, migration_type):
    found = nova.migrations(server_id, migration_type)
    return found[-1]['id'] if found else 0


def _started(nova, server_id, migration_type, after_id):
    """A check that Nova is migrating the server: it has a task, or a migration record newer
    than ``after_id``."""
    def check():
        server = nova.server(server_id) or {}
        return bool(server.get(TASK_KEY)) or latest_migration_id(
            nova, server_id, migration_type) > after_id
    return check


def new_migration(nova, waiter, server_id, migration_type, after_id, timeout=60):
    def appeared():
        for migration in reversed(nova.migrations(server_id, migration_type)):
            if migration['id'] > after_id:
                return migration
        return None
    return waiter.until(appeared, timeout)


def _migration(nova, server_id, migration_id, migration_type):
    for migration in nova.migrations(server_id, migration_type):
        if migration['id'] == migration_id:
            return migration
    return None


class Progress(object):
    """Progress samples of a live migration (memory, and the disk of a block migration), and
    what they tell."""

    def __init__(self):
        self.samples = []

    def add(self, at, entry):
        total = entry.get('memory_total_bytes')
        if total is None:
            return
        sample = (at, total, entry.get('memory_processed_bytes') or 0,
                  entry.get('memory_remaining_bytes') or 0, entry.get('disk_total_bytes') or 0,
                  entry.get('disk_processed_bytes') or 0, entry.get('disk_remaining_bytes') or 0)
        if not self.samples or self.samples[-1][1:] != sample[1:]:
            self.samples.append(sample)

    def rate_mbps(self):
        """MiB/s sent (memory and disk) over the span of the samples, or None."""
        if len(self.samples) < 2:
            return None
        first, last = self.samples[0], self.samples[-1]
        span = last[0] - first[0]
        sent = (last[2] + last[5]) - (first[2] + first[5])
        return sent / span / MIB if span > 0 and sent > 0 else None

    def round_mb(self):
        """Size of the current pre-copy round in MiB: all memory until a round ends; then, where
        the remainder grew between two samples, what was left plus what of the new round was
        already sent (an over-estimate when several rounds ended between the samples)."""
        size = self.samples[-1][1] if self.samples else 0
        for before, after in zip(self.samples, self.samples[1:]):
            sent = after[2] - before[2]
            if after[3] > before[3] - sent + MIB:
                size = min(after[1], after[3] + max(0, sent - before[3]))
        return size / MIB

    def pause_estimate_ms(self):
        """How long a pause of the guest would last now, at the rate seen so far (None without
        one): the rest of a block-migrated disk and the whole current memory round, since the
        pages of it already sent may have been dirtied again."""
        rate = self.rate_mbps()
        if not rate:
            return None
        return round((self.round_mb() + self.samples[-1][6] / MIB) / rate * 1000.0, 1)

    def summary(self):
        if not self.samples:
            return {'samples': 0}
        last = self.samples[-1]
        rate = self.rate_mbps()
        result = {
            'samples': len(self.samples),
            'memory_total_mb': round(last[1] / MIB, 1),
            'memory_processed_mb': round(last[2] / MIB, 1),
            'memory_remaining_mb': round(last[3] / MIB, 1),
            'observed_rate_mbps': round(rate, 1) if rate else None,
        }
        if last[4]:
            result['disk_total_mb'] = round(last[4] / MIB, 1)
        pending = [s for s in self.samples if s[3] > 0]
        if rate and pending:
            # The last remainder seen before the switch-over, sent while the guest is paused.
            result['downtime_estimate_ms'] = round(pending[-1][3] / MIB / rate * 1000.0, 1)
        return result


def _force_or_cancel(completion, progress):
    """At the completion timeout with ``on_timeout: force_complete``: (step, pause estimate in ms
    or None, why): step 'force', 'cancel' (why says it) or 'wait' until the rate is known.

    Where the cloud permits post-copy (policy ``post_copy``), force-complete switches the guest
    over at once.  Where it does not (Nova's default), force-complete pauses the guest until the
    rest is sent: allowed only when that pause fits the class's ``downtime_limit_ms``."""
    if completion.get('post_copy'):
        return 'force', None, None
    estimate = progress.pause_estimate_ms()
    limit = completion.get('downtime_limit_ms')
    if not limit:
        return 'force', estimate, None
    if estimate is None:
        return 'wait', None, None
    if estimate <= limit:
        return 'force', estimate, None
    why = ('force-complete would pause the guest about %d ms (post-copy not permitted), '
           'over its class\'s %d ms' % (estimate, limit))
    return 'cancel', estimate, why


def live_migrate(nova, waiter, server, destination=None, force=False, completion=None,
                 timeout=1800):
    """Live migration with the completion policy applied.

    ``completion``: {completion_timeout_s, on_timeout: force_complete|abort|fallback,
    downtime_limit_ms, post_copy} (see ``_force_or_cancel``).
    ``timeout`` bounds the whole wait, including what happens after force-complete or abort.
    """
    completion = completion or {}
    limit = completion.get('completion_timeout_s')
    on_timeout = completion.get('on_timeout', 'abort')
    attempt = Attempt('live_migrate', server, requested_destination=destination,
                      forced_destination=bool(force), force_completed=False, aborted=False)
    before = latest_migration_id(nova, server['id'], 'live-migration')
    try:
        response = retry_action(lambda: nova.live_migrate(server['id'], destination, force=force),
                                _started(nova, server['id'], 'live-migration', before),
                                waiter.sleep)
    except NovaError as exc:
        if exc.transient:
            return api_failure(attempt, exc)
        return attempt.finish('failed', exc.message, status_code=exc.status, refused=True)
    request_id = response.headers.get('x-openstack-request-id') if response else None
    migration = new_migration(nova, waiter, server['id'], 'live-migration', before)
    if migration is None:
        return attempt.finish('failed', 'Nova accepted the live migration but no migration '
                              'record appeared within 60s')
    attempt['migration_id'] = migration['id']
    progress = Progress()
    started = waiter.clock()
    acted = False
    while True:
        for entry in nova.server_migrations(server['id']):
            if entry.get('id') == migration['id']:
                progress.add(waiter.clock(), entry)
        migration = _migration(nova, server['id'], migration['id'], 'live-migration') or migration
        status = migration.get('status')
        elapsed = waiter.clock() - started
        if status in LIVE_DONE or status in FAILED:
            break
        if limit and elapsed > limit and not acted:
            # Nova refuses both while the migration is still queued or preparing: try again
            # at the next poll rather than giving up on the completion policy.
            step, estimate, why = ('cancel', None, None) if on_timeout != 'force_complete' else \
                _force_or_cancel(completion, progress)
            try:
                if step == 'force':
                    if not completion.get('post_copy'):
                        attempt['pause_estimate_ms'] = estimate
                    nova.force_complete(server['id'], migration['id'])
                    attempt['force_completed'] = True
                    acted = True
                elif step == 'cancel':
                    nova.abort_migration(server['id'], migration['id'])
                    attempt['aborted'] = True
                    if why:
                        attempt['force_declined'] = why
                    acted = True
            except NovaError as exc:
                attempt['completion_error'] = exc.message
        if elapsed > timeout:
            attempt.update(progress=progress.summary())
            try:
                nova.abort_migration(server['id'], migration['id'])
            except NovaError:
                pass
            # The server may still be moving: nothing else must be tried on it now.
            return attempt.finish('failed', 'live migration %s still %s after %ss; abort asked' % (
                migration['id'], status, timeout), still_running=True)
        waiter.sleep(waiter.poll_s)

    attempt['progress'] = progress.summary()
    attempt['transferred'] = bool(progress.samples and progress.samples[-1][2])
    if attempt['force_completed']:
        # Post-copy: the guest moved at the switch-over; the rest was sent while it ran.
        # Without post-copy the downtime was the pause, estimated when it was asked.
        attempt['progress'].pop('downtime_estimate_ms', None)
        if attempt.get('pause_estimate_ms') is not None:
            attempt['progress']['downtime_estimate_ms'] = attempt['pause_estimate_ms']
    attempt['destination'] = migration.get('dest_compute')
    if status not in LIVE_DONE:
        if attempt.get('force_declined'):
            why = 'cancelled after %ss: %s' % (limit, attempt['force_declined'])
        elif attempt['aborted']:
            why = 'aborted after %ss (policy: %s)' % (limit, on_timeout)
        else:
            why = 'migration %s' % status
            reason = nova.action_failure(server['id'], request_id)
            if reason:
                why += ': %s' % reason
        return attempt.finish('failed', why, migration_status=status)
    # The record says completed; the server's own record follows shortly after.
    settled, problem = _wait_host(nova, waiter, server['id'], attempt['destination'])
    if problem:
        return attempt.finish('failed', problem, migration_status=status)
    return attempt.finish('done', migration_status=status, changed=True)


def _wait_host(nova, waiter, server_id, host, timeout=120):
    last = {}

    def settled():
        server = nova.server(server_id)
        last['server'] = server
        return server and server.get(HOST_KEY) == host and not server.get(TASK_KEY)
    if waiter.until(settled, timeout):
        return last['server'], None
    server = last.get('server') or {}
    return server, 'migration completed but the server still shows host %s, task %s after %ss' % (
        server.get(HOST_KEY), server.get(TASK_KEY), timeout)


def cold_migrate(nova, waiter, server, destination=None, timeout=1800):
    attempt = Attempt('cold_migrate', server, requested_destination=destination)
    before = latest_migration_id(nova, server['id'], 'migration')
    try:
        response = retry_action(lambda: nova.cold_migrate(server['id'], destination),
                                _started(nova, server['id'], 'migration', before), waiter.sleep)
    except NovaError as exc:
        if exc.transient:
            return api_failure(attempt, exc)
        return attempt.finish('failed', exc.message, status_code=exc.status, refused=True)
    request_id = response.headers.get('x-openstack-request-id') if response else None
    migration = new_migration(nova, waiter, server['id'], 'migration', before)
    if migration is None:
        return attempt.finish('failed', 'no migration record appeared within 60s')
    attempt['migration_id'] = migration['id']

    def settled():
        current = _migration(nova, server['id'], migration['id'], 'migration')
        return current if current and current['status'] in COLD_DONE + FAILED else None
    final = waiter.until(settled, timeout)
    if final is None:
        return attempt.finish('failed', 'cold migration %s not finished after %ss'
                              % (migration['id'], timeout))
    attempt['destination'] = final.get('dest_compute')
    if final['status'] in FAILED:
        why = 'migration %s' % final['status']
        reason = nova.action_failure(server['id'], request_id)
        return attempt.finish('failed', why + (': %s' % reason if reason else ''),
                              migration_status=final['status'])
    if final['status'] == 'finished':
        resized, problem = wait_status(nova, waiter, server['id'], ('VERIFY_RESIZE',), 120)
        if problem:
            return attempt.finish('failed', problem)
        try:
            nova.confirm_resize(server['id'])
        except NovaError as exc:
            return attempt.finish('failed', 'confirm resize: %s' % exc.message)
    expected = ('ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED')
    done, problem = wait_status(nova, waiter, server['id'], expected, 180)
    if problem:
        return attempt.finish('failed', problem)
    return attempt.finish('done', status=done['status'], changed=True)


def delete(nova, waiter, server, timeout=300):
    attempt = Attempt('delete', server)
    try:
        nova.delete_server(server['id'])
    except NovaError as exc:
        return attempt.finish('failed', exc.message)
    if not waiter.until(lambda: nova.server(server['id']) is None, timeout):
        return attempt.finish('failed', 'still present %ss after delete' % timeout)
    return attempt.finish('done', changed=True)


def unshelve(nova, waiter, server, prefer_host=None, availability_zone=None, timeout=900):
    """Unshelve, preferring ``prefer_host`` (its origin; with shared instance storage its disk is
    still there), then the zone, then anywhere; reports the path taken."""
    attempt = Attempt('unshelve', server)
    if server['status'] == 'SHELVED':
        paths = [('in_place', {})]
    else:
        paths = []
        if prefer_host and nova.supports('2.91'):
            paths.append(('origin_host', {'host': prefer_host}))
        if availability_zone and nova.supports('2.77'):
            paths.append(('availability_zone', {'availability_zone': availability_zone}))
        paths.append(('scheduler', {}))
    tried = []
    for path, kwargs in paths:
        try:
            nova.unshelve(server['id'], **kwargs)
        except NovaError as exc:
            tried.append({'path': path, 'error': exc.message})
            continue
        final, problem = wait_status(nova, waiter, server['id'], ('ACTIVE',), timeout,
                                     back_to=('SHELVED_OFFLOADED',))
        if problem:
            tried.append({'path': path, 'error': problem})
            if final and final['status'] in ('SHELVED', 'SHELVED_OFFLOADED'):
                continue
            break
        return attempt.finish('done', path=path, destination=final.get(HOST_KEY),
                              tried=tried, changed=True)
    return attempt.finish('failed', '; '.join('%s: %s' % (t['path'], t['error']) for t in tried),
                          tried=tried)

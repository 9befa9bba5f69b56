# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Draining one hypervisor: every server handled by its policy, concurrently, and accounted for.

The plan (what happens to each server and why) is computed before anything changes and is the
whole answer in check mode. What the campaign does to each server is recorded before it is done,
where only administrators can write (``server_records``), so a later run, from any controller,
resumes instead of starting over. Every server that stays on the host is locked until restore,
so that its owner cannot start, resume or rebuild it under the reboot.

The host's compute service is watched while the drain runs: once it is down (or forced down)
nothing more is started and nothing more is waited for.
"""

from __future__ import annotations

import datetime
import threading
from concurrent import futures

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils import server_actions as sa
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaError
from ansible_collections.cloudmaint.openstack.plugins.module_utils.server_records import RecordStore
from ansible_collections.cloudmaint.openstack.plugins.module_utils.policy import as_announced, start_at_planned
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import (
    AT_REST,
    PREFIX,
    disabled_reason,
    lock_reason,
    policy_view,
    reboot_blocker,
)

MOVES = ('live_migrate', 'cold_migrate')
# Actions after which the server stays on the host: it is locked until restore.
IN_PLACE = ('stop', 'suspend', 'shelve_partial', 'leave', 'rebuild')
# Campaign state -> statuses that show the action already happened.
SATISFIED = {
    'stopped': ('SHUTOFF',),
    'left': ('SHUTOFF', 'PAUSED', 'SUSPENDED'),
    'rebuild_pending': ('SHUTOFF',),
    'shelved': ('SHELVED', 'SHELVED_OFFLOADED'),
    'suspended': ('SUSPENDED',),
}
SERVICE_CHECK_S = 10
# Nova's scheduler learns where a server group's members went from the computes, at the latest
# with their periodic sync (scheduler_instance_sync_interval, 120 s): until then a host that a
# member left a moment ago can still fail the (anti-)affinity filter. A group member refused by
# every host is tried again for this long, every GROUP_RETRY_EVERY_S.
GROUP_RETRY_S = 150
GROUP_RETRY_EVERY_S = 30
SERVICE_DOWN = 'compute service down'


class ServiceDown(Exception):
    """The drained host's compute service is down: raised to stop starting and waiting."""


def already_done(server, record):
    """The campaign state a server on the drained host has already reached, or None.
    ``record``: this campaign's record of the server (from the record store), or None."""
    if record is None:
        return None
    if server.get('status') in SATISFIED.get(record.state, ()):
        return record.state
    return None


def action_timeout(policy, importance, slack_s):
    """How long any server's action may take: the longest completion timeout of the policy for
    this importance, plus ``slack_s`` for what follows it. For waits on tasks of unknown class; a
    server's own action waits its class's timeout plus the slack."""
    entries = policy.data['live_migration'][importance].values()
    return max([e.get('completion_timeout_s', 0) for e in entries] or [0]) + slack_s


def hint_hosts(nova):
    """``(hosts, problem)``: usable hosts with free RAM and zone, for the likely-destination hints
    of a plan; no hosts and the reason when Nova could not tell."""
    try:
        hypervisors = nova.hypervisors()
        zone_of = nova.zones_by_host()
    except NovaError as exc:
        return [], 'no destination hints: %s' % exc.message
    hosts = []
    for hv in hypervisors:
        name = (hv.get('service') or {}).get('host') or hv.get('hypervisor_hostname')
        hosts.append({
            'name': name,
            'zone': zone_of.get(name),
            'usable': hv.get('state') == 'up' and hv.get('status') == 'enabled',
            'free_ram_mb': (hv.get('memory_mb') or 0) - (hv.get('memory_mb_used') or 0),
        })
    return hosts, None


def likely_destination(server, hosts, exclude):
    """A hint for check mode: the enabled, up host with most free RAM in the server's zone."""
    ram = (server.get('flavor') or {}).get('ram', 0)
    zone = server.get('OS-EXT-AZ:availability_zone')
    best = None
    for host in hosts:
        if host['name'] in exclude or not host['usable'] or host['free_ram_mb'] < ram:
            continue
        if zone and host.get('zone') and host['zone'] != zone:
            continue
        if best is None or host['free_ram_mb'] > best['free_ram_mb']:
            best = host
    if best is not None:
        best['free_ram_mb'] -= ram
        return best['name']
    return None


def _no_valid_host(attempt):
    """Refused by the scheduler before any memory moved."""
    return not attempt.get('transferred') and 'no valid host' in (attempt.get('detail') or '').lower()


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


class HostDrain(object):
    """Drains ``host`` for ``campaign``: ``set_enabled()`` disables it, ``drain()`` handles every server and
    returns their entries, ``remaining()`` says what would still stop a reboot."""

    def __init__(self, nova, waiter, policy, host, campaign, importance='medium', reason=None,
                 destinations=None, planned_actions=None, max_parallel=None, max_parallel_per_host=None,
                 action_timeout=1800, timeout_slack=None, check_mode=False, now=_utcnow,
                 service_check_s=SERVICE_CHECK_S, group_retry_s=GROUP_RETRY_S, records=None,
                 reboot_in_error=()):
        self.nova = nova
        self.records = records or RecordStore(nova)
        self.reboot_in_error = frozenset(reboot_in_error or ())
        self.known = {}                # server id -> this campaign's record of it on this host
        self.record_notes = []
        self.lock_failures = []
        self.waiter = waiter
        self.policy = policy
        self.host = host
        self.campaign = campaign
        self.importance = importance
        self.reason = reason
        self.destinations = destinations or {}
        self.planned_actions = planned_actions or {}
        self.max_parallel = max_parallel
        self.max_parallel_per_host = max_parallel_per_host
        self.action_timeout = action_timeout
        self.timeout_slack = timeout_slack
        self.check_mode = check_mode
        self.now = now
        self.changed = False
        self._lock = threading.Lock()
        self.service_check_s = service_check_s
        self.group_retry_s = group_retry_s
        self.service_down = None       # the service as Nova reported it down
        self._service_checked = None
        self._service_lock = threading.Lock()
        # What actions wait with: every pause also looks (at most every service_check_s) at
        # the compute service, and ends the wait if it is down.
        self.watch = sa.Waiter(waiter.poll_s, waiter.clock, self._pause)

    # -- the compute service -------------------------------------------------------------

    def service(self):
        return self.nova.known_compute_service(self.host)

    def host_down(self):
        """Whether the compute service is down or forced down. One request per
        ``service_check_s`` at most, whichever worker thread asks; once down, down for good."""
        with self._service_lock:
            now = self.waiter.clock()
            last = self._service_checked
            if self.service_down is None and (last is None or now - last >= self.service_check_s):
                self._service_checked = now
                service = self.nova.compute_service(self.host) or {}
                if service.get('state') == 'down' or service.get('forced_down'):
                    self.service_down = service
            return self.service_down is not None

    def _ensure_up(self):
        if self.host_down():
            raise ServiceDown(self.host)

    def _pause(self, seconds):
        self.waiter.sleep(seconds)
        self._ensure_up()

    def outage_message(self, entries):
        stuck = [e['name'] or e['id'] for e in entries if e.get('service_down')]
        how = 'forced down' if self.service_down.get('forced_down') else 'state %s' % (
            self.service_down.get('state'))
        return ('compute service of %s went down during the drain; still on it: %s (%s; nothing '
                'more was started, migrations under way are left to Nova)'
                % (self.host, ', '.join(stuck) or 'none', how))

    def set_enabled(self, enabled):
        service = self.service()
        wanted = 'enabled' if enabled else 'disabled'
        result = {'status': service['status'], 'disabled_reason': service.get('disabled_reason'),
                  'state': service['state'], 'id': service['id']}
        if service['status'] == wanted:
            if not enabled and not (service.get('disabled_reason') or '').startswith(PREFIX):
                result['note'] = 'disabled by someone else (%s): left as it is' % (
                    service.get('disabled_reason') or 'no reason given')
            return result
        body = {'status': wanted}
        if not enabled:
            body['disabled_reason'] = disabled_reason(self.campaign, self.reason)
        self.changed = True
        if not self.check_mode:
            updated = self.nova.update_service(service['id'], body)
            result.update(status=updated['status'], disabled_reason=updated.get('disabled_reason'))
        else:
            result.update(status=wanted, disabled_reason=body.get('disabled_reason'))
        return result

    # -- planning ------------------------------------------------------------------------

    def plan(self, servers, hint_hosts=None):
        entries = []
        hint_hosts = hint_hosts or []
        for server in sorted(servers, key=lambda s: (s.get('name') or '', s['id'])):
            entry = {'id': server['id'], 'name': server.get('name'),
                     'project_id': server.get('tenant_id'), 'from': self.host,
                     'status_before': server.get('status')}
            record = self.known.get(server['id'])
            done = already_done(server, record)
            decision = start_at_planned(self.policy.resolve(policy_view(server), self.importance),
                                        self.planned_actions, server)
            if record is not None and record.state == cm.STATE_ANNOUNCED:
                decision = as_announced(decision, record.chain, self.policy)
            entry.update(sla_class=decision.sla_class, source=decision.source,
                         reason=decision.reason, notes=decision.notes,
                         chain=decision.chain, action=decision.action)
            if done:
                entry.update(action='none', outcome='already_done',
                             reason='campaign %s already %s this server' % (self.campaign, done))
            elif server.get('status') == 'ERROR':
                entry.update(outcome='left_in_error')
            elif decision.transient:
                entry['outcome'] = 'busy'
            elif decision.action == 'none':
                at_rest = server.get('status') in AT_REST
                entry['outcome'] = 'at_rest' if at_rest else 'nothing_possible'
            if decision.action in MOVES and entry.get('outcome') is None:
                chosen = self.destinations.get(server['id'])
                entry['requested_destination'] = chosen
                entry['likely_destination'] = chosen or likely_destination(
                    server, hint_hosts, {self.host})
            entry['_decision'] = decision
            entry['_server'] = server
            entries.append(entry)
        return entries

    # -- doing ---------------------------------------------------------------------------

    def load_records(self):
        by_server, self.record_notes = self.records.records(self.host, self.campaign)
        self.known = {sid: recs[0] for sid, recs in by_server.items()}

    def _record(self, server, action):
        """Keeps the record, then locks a server that stays on the host (the record says so,
        for restore to unlock only what the campaign locked)."""
        rec = cm.new_record(action, self.host, self.campaign, self.now(), prior_status=server.get('status'))
        lock = action in IN_PLACE and not server.get('locked')
        previous = self.known.get(server['id'])
        if previous is not None and previous.locked:
            rec, lock = cm.with_lock(rec), False
        if lock:
            rec = cm.with_lock(rec)
        self.records.put(server['id'], rec)
        with self._lock:
            self.known[server['id']] = rec
        if lock:
            self._lock_server(server, rec)

    def _lock_server(self, server, rec):
        """Locks a server the record says is locked; a refused lock is reported (the owner can
        then still start it) and the record corrected, and the campaign goes on."""
        try:
            self.nova.lock(server['id'], lock_reason(self.campaign, self.host))
        except NovaError as exc:
            unlocked = cm.without_lock(rec)
            self.records.put(server['id'], unlocked)
            with self._lock:
                self.known[server['id']] = unlocked
                self.lock_failures.append('%s: %s' % (server.get('name') or server['id'], exc.message))
            return False
        return True

    def timeout_for(self, decision):
        """How long one server's action may take: its class's completion timeout plus the
        slack, or ``action_timeout`` when no slack was given."""
        if self.timeout_slack is None:
            return self.action_timeout
        return (decision.live_migration.get('completion_timeout_s') or 0) + self.timeout_slack

    def _do(self, action, server, entry, decision, live_slots):
        destination = entry.get('requested_destination')
        timeout = self.timeout_for(decision)
        if action == 'live_migrate':
            with live_slots:
                # The slot may have taken long to come: the host may be down by now.
                self._ensure_up()
                attempt = sa.live_migrate(self.nova, self.watch, server, destination,
                                          completion=decision.live_migration, timeout=timeout)
                refused = attempt.get('refused') or (
                    attempt.get('migration_status') == 'error' and not attempt.get('transferred'))
                if not attempt.ok and destination and refused:
                    # The operator's choice was refused (at once, or by the scheduler or the
                    # pre-checks before any memory moved): let the scheduler choose.
                    self._ensure_up()
                    retry = sa.live_migrate(self.nova, self.watch, server, None,
                                            completion=decision.live_migration, timeout=timeout)
                    retry['destination_fallback'] = True
                    retry['refused_destination'] = {'host': destination,
                                                    'error': attempt.get('detail')}
                    attempt = retry
                if not attempt.ok and _no_valid_host(attempt) and server.get('server_groups'):
                    attempt = self._group_retries(attempt, lambda: sa.live_migrate(
                        self.nova, self.watch, server, destination,
                        completion=decision.live_migration, timeout=timeout))
            return attempt
        if action == 'cold_migrate':
            attempt = sa.cold_migrate(self.nova, self.watch, server, destination, timeout=timeout)
            # Nova accepts a cold migration to a host it then refuses (202, the conductor's
            # scheduler check fails): the migration ends in error before it has a destination.
            refused = attempt.get('refused') or (
                attempt.get('migration_status') == 'error' and not attempt.get('destination'))
            if not attempt.ok and destination and refused:
                self._ensure_up()
                retry = sa.cold_migrate(self.nova, self.watch, server, None, timeout=timeout)
                retry['destination_fallback'] = True
                attempt = retry
            return attempt
        if action == 'shelve_partial':
            attempt = sa.in_place(self.nova, self.watch, server, 'shelve', timeout)
            attempt['action'] = action
            return attempt
        if action in ('stop', 'leave', 'rebuild'):
            # leave and rebuild keep the server here, stopped cleanly before the reboot.
            if server.get('status') in ('PAUSED', 'SUSPENDED', 'SHUTOFF', 'SHELVED'):
                return sa.Attempt(action, server).finish(
                    'done', 'kept as %s' % server.get('status'), changed=False)
            attempt = sa.in_place(self.nova, self.watch, server, 'stop', timeout)
            attempt['action'] = action
            return attempt
        if action == 'suspend':
            return sa.in_place(self.nova, self.watch, server, 'suspend', timeout)
        if action == 'delete':
            return sa.delete(self.nova, self.watch, server, timeout)
        return sa.Attempt(action, server).finish('failed', 'unknown action %r' % action)

    def _group_retries(self, attempt, again):
        """A server group member no host took: try again while the scheduler catches up with where
        the group's members are now (see GROUP_RETRY_S)."""
        waited = 0
        tries = 0
        while waited < self.group_retry_s:
            self._pause(GROUP_RETRY_EVERY_S)
            waited += GROUP_RETRY_EVERY_S
            tries += 1
            retry = again()
            if retry.ok or not _no_valid_host(retry):
                retry['group_retries'] = tries
                return retry
        attempt['group_retries'] = tries
        return attempt

    def _handle(self, entry, live_slots):
        decision = entry.pop('_decision')
        server = entry.pop('_server')
        attempts = []
        for index, action in enumerate(decision.chain):
            fresh = self.nova.server(server['id'])
            if fresh is None:
                attempts.append(sa.Attempt(action, server).finish('failed', 'server disappeared'))
                break
            if fresh.get(sa.HOST_KEY) != self.host:
                break
            server = fresh
            recorded = False
            try:
                self._ensure_up()
                if action != 'delete':
                    self._record(server, action)
                    recorded = True
                attempt = self._do(action, server, entry, decision, live_slots)
            except ServiceDown:
                # Whatever was under way is left to Nova, which finishes it once the service is
                # back; waiting longer here would only end in the action timeout.
                attempt = sa.Attempt(action, server).finish('failed', SERVICE_DOWN,
                                                            service_down=True, changed=recorded)
            except NovaError as exc:
                if exc.transient:
                    attempt = sa.api_failure(sa.Attempt(action, server), exc)
                else:
                    attempt = sa.Attempt(action, server).finish('failed', exc.message,
                                                                status_code=exc.status)
            attempts.append(attempt)
            if attempt.get('changed', True) and attempt['outcome']:
                with self._lock:
                    self.changed = True
            if attempt.ok or attempt.get('still_running') or attempt.get('service_down'):
                break
            if attempt.get('api_error'):
                # The Compute API failed, Nova refused nothing: no reason to try a more
                # disruptive action.
                skipped = decision.chain[index + 1:]
                if skipped:
                    attempt['detail'] += '; not tried after this API failure: %s' % (
                        ', '.join(skipped))
                break
            if attempt.get('aborted') and decision.live_migration.get('on_timeout') == 'abort':
                # on_timeout abort: the server stays where it is, fallbacks are not tried.
                break
            now = self.nova.server(server['id'])
            if now is not None and now.get('status') == 'ERROR':
                # A failed action left it in ERROR: a more disruptive fallback (delete, rebuild)
                # on a server in an unknown state is the operator's call, not the chain's.
                attempt['left_in_error'] = True
                skipped = decision.chain[index + 1:]
                if skipped:
                    attempt['detail'] = (attempt.get('detail') or 'failed') + (
                        '; server now in ERROR, not tried: %s' % ', '.join(skipped))
                break
        final = attempts[-1] if attempts else None
        entry['attempts'] = attempts
        entry['fallbacks_used'] = [a['action'] for a in attempts[1:]]
        if final is not None:
            entry.update(action=final['action'], outcome='done' if final.ok else 'failed',
                         to=final.get('destination') or (self.host if final.ok and final['action']
                                                         not in MOVES + ('delete',) else None),
                         started=attempts[0]['started'], ended=final['ended'],
                         duration_s=round(final['ended'] - attempts[0]['started'], 3))
            for key in ('progress', 'force_completed', 'pause_estimate_ms', 'force_declined', 'aborted',
                        'migration_id', 'path', 'destination_fallback', 'group_retries', 'service_down',
                        'api_error'):
                if key in final:
                    entry[key] = final[key]
            if not final.ok:
                entry['error'] = final.get('detail')
            if final.get('left_in_error'):
                entry['outcome'] = 'left_in_error'
        else:
            entry['outcome'] = 'moved_elsewhere'
        return entry

    def settle(self, timeout):
        """Waits for tasks already running on the host's servers (e.g. a migration an
        interrupted run started) to end, so the plan sees where things really are."""
        def quiet():
            servers = self.nova.servers_on_host(self.host)
            return servers if not any(s.get(sa.TASK_KEY) for s in servers) else None
        try:
            settled = self.watch.until(quiet, timeout)
        except ServiceDown:
            settled = None
        return settled or self.nova.servers_on_host(self.host)

    def drain(self, hint_hosts=None, progress=None):
        servers = self.nova.servers_on_host(self.host)
        if not self.check_mode and any(s.get(sa.TASK_KEY) for s in servers):
            servers = self.settle(self.action_timeout)
        self.load_records()
        entries = self.plan(servers, hint_hosts)
        if self.check_mode:
            for entry in entries:
                entry.pop('_decision', None)
                entry.pop('_server', None)
                entry.setdefault('outcome', 'planned')
                if entry['outcome'] == 'planned' and entry['action'] not in ('none',):
                    self.changed = True
            return entries, []
        # Largest first: the biggest servers have the fewest hosts that can take them, and the
        # room they need is still there before the small ones fill it (first-fit decreasing).
        todo = sorted((e for e in entries if e.get('outcome') is None),
                      key=lambda e: -((e['_server'].get('flavor') or {}).get('ram') or 0))
        for entry in entries:
            if entry.get('outcome') is not None:
                entry.pop('_decision', None)
                entry.pop('_server', None)
        per_host = self.max_parallel_per_host or min(
            [e['_decision'].live_migration.get('max_parallel_per_host', 1) for e in todo] or [1])
        overall = self.max_parallel or max(
            [e['_decision'].live_migration.get('max_parallel', 1) for e in todo] or [1])
        live_slots = threading.Semaphore(per_host)
        with futures.ThreadPoolExecutor(max(1, overall)) as pool:
            jobs = [pool.submit(self._handle, entry, live_slots) for entry in todo]
            for job in futures.as_completed(jobs):
                job.result()
                if progress:
                    progress()
        staying = self.lock_staying()
        for entry in entries:
            if entry['id'] in staying:
                entry['locked'] = True
        remaining = self.remaining()
        return entries, remaining

    def lock_staying(self):
        """Locks every server still on the host that the campaign has not locked yet (those it left
        at rest get a ``leave`` record, so restore unlocks them). Returns the ids now locked."""
        locked = set()
        if self.host_down():
            return locked
        for server in self.nova.servers_on_host(self.host):
            rec = self.known.get(server['id'])
            if rec is not None and rec.locked:
                locked.add(server['id'])
                continue
            if server.get('locked') or server.get(sa.TASK_KEY):
                continue
            if rec is None:
                self._record(server, 'leave')
            else:
                rec = cm.with_lock(rec)
                self.records.put(server['id'], rec)
                self.known[server['id']] = rec
                self._lock_server(server, rec)
            self.changed = True
            if self.known[server['id']].locked:
                locked.add(server['id'])
        return locked

    def remaining(self):
        """Servers still on the host that would not survive its reboot as policy wants."""
        left = []
        for server in self.nova.servers_on_host(self.host):
            why = reboot_blocker(server, self.known.get(server['id']), self.reboot_in_error)
            if why is None:
                continue
            left.append({'id': server['id'], 'name': server.get('name'), 'why': why,
                         'status': server.get('status'), 'task_state': server.get(sa.TASK_KEY)})
        return left


def summarize(entries, remaining):
    by_action = {}
    by_outcome = {}
    for entry in entries:
        by_action[entry['action']] = by_action.get(entry['action'], 0) + 1
        by_outcome[entry['outcome']] = by_outcome.get(entry['outcome'], 0) + 1
    return {
        'servers': len(entries),
        'by_action': by_action,
        'by_outcome': by_outcome,
        'fallbacks_used': sum(1 for e in entries if e.get('fallbacks_used')),
        'remaining': [r['name'] for r in remaining],
    }

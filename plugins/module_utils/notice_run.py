# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The notice engine: posting, waiting for and clearing the maintenance notices of a set of
servers, over an injected Compute client (``nova_api.NovaClient`` or a fake).

What a notice is and every rule it follows (terms, events, answers, allow-list, signatures) is
decided in ``notice``; delivery is ``webhook``. This file holds the run: which servers get which
event, writing it, the webhooks in the background, polling for answers, and clearing.
"""

from __future__ import annotations

import datetime
import threading
import time
from concurrent import futures

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils import notice
from ansible_collections.cloudmaint.openstack.plugins.module_utils import webhook
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaError
from ansible_collections.cloudmaint.openstack.plugins.module_utils.policy import start_at_planned
from ansible_collections.cloudmaint.openstack.plugins.module_utils.server_records import RecordStore
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import (
    HOST_KEY,
    TASK_KEY,
    campaign_problem,
    policy_view,
)

# Resolution of the policy does not depend on the importance; any one will do.
IMPORTANCE = 'medium'
# Added to the end of the last notice when the operator sets no timeout.
WAIT_MARGIN_S = 60


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


class NoticeRun(object):
    """Posting, waiting for and clearing the notices of a set of servers (everything but the
    module's parameters and connection, so it runs against any NovaClient-like object)."""

    def __init__(self, nova, campaign=None, check_mode=False, allow=None, secret=None,
                 secret_per_project=True, project_webhooks=None, project_names=None,
                 webhook_options=None, max_parallel=8, deliver=webhook.deliver, utcnow=_utcnow, announce=False,
                 monotonic=time.monotonic, sleep=time.sleep, new_event_id=notice.new_event_id):
        self.nova = nova
        self.campaign = campaign
        self.check_mode = check_mode
        self.allow = allow if allow is not None else notice.AllowList()
        self.secret = secret
        self.secret_per_project = secret_per_project
        self.project_webhooks = project_webhooks or {}
        self.project_names = project_names or {}
        self.webhook_options = dict(webhook_options or {})
        self.max_parallel = max(1, max_parallel)
        self.deliver = deliver
        self.utcnow = utcnow
        self.monotonic = monotonic
        self.sleep = sleep
        self.new_event_id = new_event_id
        # Record what each notice announces where the drain reads it (server_records), so that the
        # drain does what the owner was told.
        self.announce = announce and bool(campaign)
        self.records = RecordStore(nova)
        self.changed = False
        self.polls = 0
        self.timeout_s = None
        self.stop = threading.Event()
        self._wait_start = monotonic()
        self._pool = None
        self._jobs = []

    # ---- planning ---------------------------------------------------------------------

    def _handled(self, servers):
        """Server id -> this campaign's record of it, for the hosts of ``servers`` (records are kept
        where only administrators write: server_records)."""
        if not self.campaign:
            return {}
        found = {}
        for host in sorted({s.get(HOST_KEY) for s in servers if s.get(HOST_KEY)}):
            by_server, _notes = self.records.records(host, self.campaign)
            found.update((sid, recs[0]) for sid, recs in by_server.items())
        return found

    def plan(self, servers, policy, action=None, operator_period_s=None, earliest=None, planned_actions=None):
        """One entry per server: the event it gets (a kept one, or a new one), or why none.
        ``planned_actions``: server id or name -> the fallback the campaign plan starts its
        handling at (the drain's ``planned_actions``), announced instead of the policy's first."""
        planned_actions = planned_actions or {}
        now = self.utcnow()
        entries = []
        handled = self._handled(servers)
        for server in servers:
            metadata = server.get('metadata') or {}
            entry = self._entry(server)
            record = handled.get(server['id'])
            if record is not None and record.state == cm.STATE_ANNOUNCED:
                entry['_announced'] = record
            elif record is not None and record.origin_host == server.get(HOST_KEY):
                # The drain of this campaign has acted on it here already (a re-run): what the policy
                # says now, for the server as the drain left it, is not what the owner was told:
                # its notice stays as it is until the campaign is done with it.
                entry['skipped'] = 'already handled by campaign %s (%s)' % (self.campaign, record.state)
                entries.append(entry)
                continue
            decision = policy.resolve(policy_view(server), IMPORTANCE)
            entry['sla_class'] = decision.sla_class
            entry['policy_action'] = decision.action
            notes = entry['notes']
            wanted = action
            planned = start_at_planned(decision, planned_actions, server)
            if wanted is None:
                entry['_chain'] = tuple(planned.chain)
            if wanted is None and planned is not decision:
                wanted = planned.action
                notes.extend(planned.notes[len(decision.notes):])
            if wanted is None:
                if decision.action != 'none':
                    wanted = decision.action
                elif decision.transient and decision.policy_chain:
                    wanted = decision.policy_chain[0]
                    entry['_chain'] = tuple(decision.policy_chain)
                    notes.append('server busy: notice for %s, what the policy gives once it settles' % wanted)
                else:
                    why = '; '.join(decision.notes or [decision.reason])
                    entry['skipped'] = 'the policy decides nothing for it: %s' % why
                    entries.append(entry)
                    continue
            terms = notice.notice_terms(decision.notice, metadata, operator_period_s)
            notes.extend(terms.notes)
            found, reissued = self._found_event(metadata.get(notice.KEY_EVENT), wanted, now, terms, earliest, notes)
            kept = None if reissued else found
            if kept is not None:
                event = kept
                entry['notice_s'] = None
                notes.append('event %s already posted: notice kept as given' % event['id'])
            elif reissued:
                event = found
                entry['notice_s'] = terms.period_s
            else:
                end = notice.schedule(now, terms.period_s, earliest)
                honoured, _requested, dnote = notice.deferral(metadata, terms.max_defer_s)
                if dnote:
                    notes.append(dnote)
                event = notice.build_event(self.new_event_id(), self.campaign, wanted,
                                           end + datetime.timedelta(seconds=honoured),
                                           max_defer_s=terms.max_defer_s, deferred_s=honoured)
                entry['notice_s'] = terms.period_s
            entry.update(action=event['action'], notice_source=None if kept else terms.source,
                         max_defer_s=event.get('max_defer_s', 0))
            entry['_kept'] = kept is not None
            entry['_replaces'] = kept is None and metadata.get(notice.KEY_EVENT) is not None
            self._set_event(entry, event)
            entries.append(entry)
        return entries

    def _found_event(self, raw, wanted, now, terms, earliest, notes):
        """The event already on a server: ``(event, False)`` to keep it, ``(new event, True)`` when
        its terms go beyond the policy (its owner can write it: a forged or stale event never
        lengthens a notice), ``(None, False)`` when there is none to keep.  Never raises for what
        the metadata holds: the finding goes to ``notes``."""
        try:
            kept, note = notice.reuse_event(raw, self.campaign, wanted)
            if note:
                notes.append(note)
            if kept is None:
                return None, False
            problems = notice.term_problems(kept, now, terms.period_s, terms.max_defer_s, earliest)
            if not problems:
                return kept, False
            event = notice.reissue(kept, self.new_event_id(), now, terms.period_s, terms.max_defer_s, earliest)
        except (notice.NoticeError, ValueError, OverflowError) as exc:
            notes.append('%s on the server ignored: %s' % (notice.KEY_EVENT, notice.clean_text(exc)))
            return None, False
        notes.append('event %s on the server goes beyond the policy (%s): re-issued as event %s, ending %s'
                     % (kept['id'], '; '.join(problems), event['id'], event['not_before']))
        return event, True

    def _entry(self, server):
        return {
            'id': server['id'], 'name': server.get('name'), 'project_id': server.get('tenant_id'),
            'host': server.get(HOST_KEY), 'status': server.get('status'),
            'sla_class': None, 'policy_action': None, 'action': None, 'event': None, 'event_id': None,
            'not_before': None, 'notice_s': None, 'notice_source': None, 'max_defer_s': 0,
            'notified': {'metadata': None, 'webhook': None, 'webhooks': []},
            'acknowledged': False, 'acknowledged_at': None, 'deferred_s': 0, 'defer_requested_s': None,
            'ready': False, 'ready_reason': None, 'waited_s': None, 'notes': [],
            '_server': server,
        }

    @staticmethod
    def _set_event(entry, event):
        entry['event'] = event
        entry['event_id'] = event['id']
        entry['not_before'] = event['not_before']
        entry['deferred_s'] = event.get('deferred_s', 0)

    # ---- posting ----------------------------------------------------------------------

    def post(self, entries):
        """Write the events (in parallel), then start the webhooks in the background."""
        todo = [e for e in entries if e['event'] is not None]
        for entry in todo:
            server = entry['_server']
            writable = notice.metadata_writable(server.get('status'), server.get(TASK_KEY))
            if entry['_kept']:
                entry['notified']['metadata'] = 'unchanged'
            elif not writable:
                entry['notified']['metadata'] = 'not_writable'
                entry['notes'].append('Nova does not change the metadata of a %s server%s: no guest notice, '
                                      'the owner is told by webhook only'
                                      % (server.get('status'), ' with a task running' if server.get(TASK_KEY) else ''))
            elif self.check_mode:
                entry['notified']['metadata'] = 'would_replace' if entry['_replaces'] else 'would_post'
                self.changed = True
        writes = [e for e in todo if e['notified']['metadata'] is None]
        self._parallel(self._write_event, writes)
        if self.announce and not self.check_mode:
            self._parallel(self._record_announcement, todo)
        for entry in todo:
            if entry['_kept'] or self.check_mode:
                entry['notified']['webhook'] = 'not_sent'
                if self.check_mode:
                    entry['notified']['webhooks'] = self._check_destinations(entry)
                    if any(d['outcome'] == 'would_send' for d in entry['notified']['webhooks']):
                        self.changed = True
                continue
            if entry['notified']['metadata'] == 'failed':
                entry['notified']['webhook'] = 'not_sent'
                continue
            guest = entry['notified']['metadata'] in ('posted', 'replaced')
            self._start_webhook(entry, 'scheduled', entry['event'], guest,
                                deadline=self._mono_at(notice.event_not_before(entry['event'])))

    def _record_announcement(self, entry):
        """Keeps what the owner was told: a new notice's chain, or a kept notice's if none is kept yet."""
        told = entry['notified']['metadata'] in ('posted', 'replaced', 'not_writable')
        kept = entry['notified']['metadata'] == 'unchanged' and entry.get('_announced') is None
        if not entry.get('_chain') or not (told or kept):
            return
        try:
            record = cm.announcement(entry['_chain'], entry['host'], self.campaign, self.utcnow(),
                                     prior_status=entry['status'])
            previous = entry.get('_announced')
            if previous is not None and previous.locked:
                # The drain locked it meanwhile (a re-run): restore must still unlock it.
                record = cm.with_lock(record)
            self.records.put(entry['id'], record)
        except (NovaError, ValueError) as exc:
            entry['notes'].append('what the notice announced is not recorded (the drain decides anew): %s'
                                  % getattr(exc, 'message', exc))
            return
        entry['announced'] = list(entry['_chain'])

    def _write_event(self, entry):
        try:
            self.nova.set_metadata(entry['id'], {notice.KEY_EVENT: notice.encode_event(entry['event'])})
        except NovaError as exc:
            entry['notified']['metadata'] = 'failed'
            entry['notified']['metadata_error'] = exc.message
            return
        entry['notified']['metadata'] = 'replaced' if entry['_replaces'] else 'posted'
        self.changed = True

    def _check_destinations(self, entry):
        out = []
        for url, source in self._destinations(entry):
            try:
                target = notice.parse_target(url)
            except ValueError as exc:
                out.append({'url': '(unusable URL)', 'source': source, 'outcome': 'refused', 'error': str(exc)})
                continue
            ok, why = notice.target_allowed(target, self.allow, source == 'project')
            out.append({'url': target.display, 'source': source, 'outcome': 'would_send' if ok else 'refused',
                        'error': None if ok else why})
            if ok:
                break
        return out

    def _destinations(self, entry):
        project = entry['project_id']
        return notice.webhook_destinations(entry['_server'].get('metadata'), project,
                                           self.project_names.get(project), self.project_webhooks)

    def _mono_at(self, when):
        return self.monotonic() + (when - self.utcnow()).total_seconds()

    def _start_webhook(self, entry, kind, event, guest, deadline=None):
        if not self._destinations(entry):
            entry['notified']['webhook'] = 'none'
            return
        if self._pool is None:
            self._pool = futures.ThreadPoolExecutor(self.max_parallel)
        self._jobs.append(self._pool.submit(self._send, entry, kind, event, guest, deadline))

    def _send(self, entry, kind, event, guest, deadline):
        server = {'id': entry['id'], 'name': entry['name'], 'project_id': entry['project_id'],
                  'project_name': self.project_names.get(entry['project_id'])}
        payload = notice.webhook_payload(kind, event, server, notice.new_delivery_id(), guest_notice=guest)
        secret, why = notice.signing_secret(self.secret, entry['project_id'], self.secret_per_project)
        if secret is None and self.secret:
            entry['notified']['webhooks'].append({'url': None, 'source': None, 'outcome': 'skipped', 'error': why,
                                                  'attempts': 0, 'status': None})
            entry['notified'].update(webhook='skipped', attempts=0, status=None)
            return
        for url, source in self._destinations(entry):
            result = self.deliver(url, payload, secret, allow=self.allow, trusted=source == 'project',
                                  deadline=deadline, stop=self.stop, **self.webhook_options)
            result['source'] = source
            entry['notified']['webhooks'].append(result)
            entry['notified'].update(webhook=result['outcome'], attempts=result.get('attempts', 0),
                                     status=result.get('status'))
            if result.get('attempts'):
                self.changed = True
            if result['outcome'] != 'refused':
                break

    def finish_webhooks(self, stop=False):
        """Wait for the deliveries under way; ``stop``: no further retries."""
        if stop:
            self.stop.set()
        for job in self._jobs:
            job.result()
        self._jobs = []
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # ---- waiting ----------------------------------------------------------------------

    def evaluate(self, entries, start):
        """Update every entry not yet ready from its server's latest metadata; returns those still waiting."""
        now = self.utcnow()
        waiting = []
        for entry in entries:
            if entry['event'] is None or entry['ready'] or entry['notified']['metadata'] == 'failed':
                continue
            metadata = entry['_server'].get('metadata') or {}
            if entry['notified']['metadata'] == 'not_writable':
                # No event in its metadata: answers there (stale ones) do not count.
                metadata = {}
            state = notice.readiness(entry['event'], metadata, now)
            for note in state.notes:
                if note not in entry['notes']:
                    entry['notes'].append(note)
            entry['defer_requested_s'] = state.defer_requested_s
            if state.deferred_s != entry['event'].get('deferred_s', 0) and not state.acknowledged:
                self._republish(entry, state.deferred_s)
            if state.acknowledged and not entry['acknowledged']:
                entry['acknowledged'] = True
                entry['acknowledged_at'] = cm.format_time(now)
            if state.ready:
                entry.update(ready=True, ready_reason=state.reason,
                             waited_s=round(max(0.0, self.monotonic() - start), 3))
            else:
                entry['ready_reason'] = 'waiting'
                waiting.append((entry, state.ready_at))
        return waiting

    def _republish(self, entry, deferred_s):
        event = notice.with_deferral(entry['event'], deferred_s)
        if not self.check_mode and entry['notified']['metadata'] in ('posted', 'replaced', 'unchanged'):
            try:
                self.nova.set_metadata(entry['id'], {notice.KEY_EVENT: notice.encode_event(event)})
                self.changed = True
            except NovaError as exc:
                entry['notes'].append('deferral honoured, but the event could not be updated: %s' % exc.message)
        entry['notes'].append('deferral of %d s honoured: the notice ends at %s' % (deferred_s, event['not_before']))
        self._set_event(entry, event)

    def longest_wait(self, entries):
        """Seconds until the last notice of ``entries`` can end, deferral included, plus
        WAIT_MARGIN_S: the wait's bound when the operator gives none.  Finite, as every event is
        within the policy (``_found_event``)."""
        now = self.utcnow()
        latest = now
        for entry in entries:
            event = entry['event']
            if event is not None and entry.get('skipped') is None:
                end = notice.original_not_before(event) + datetime.timedelta(seconds=event.get('max_defer_s', 0))
                latest = max(latest, end)
        return (latest - now).total_seconds() + WAIT_MARGIN_S

    def wait(self, entries, timeout_s=None, poll_s=5.0):
        """Until every entry is ready or ``timeout_s`` passed (None: ``longest_wait``); returns the
        seconds waited.  The bound used is left in ``self.timeout_s``."""
        if timeout_s is None:
            timeout_s = self.longest_wait(entries)
        self.timeout_s = timeout_s
        start = self._wait_start = self.monotonic()
        cap = start + timeout_s
        while True:
            waiting = self.evaluate(entries, start)
            mono = self.monotonic()
            if not waiting or mono >= cap:
                break
            now = self.utcnow()
            first_end = min((ready_at - now).total_seconds() for _entry, ready_at in waiting)
            pause = min(float(poll_s), max(0.0, first_end), cap - mono)
            if pause > 0:
                self.sleep(pause)
            self.poll([entry for entry, _at in waiting])
        for entry in entries:
            if entry['event'] is not None and not entry['ready'] and entry['waited_s'] is None:
                entry['waited_s'] = round(self.monotonic() - start, 3)
        return round(self.monotonic() - start, 3)

    def poll(self, entries):
        """Fresh server records for ``entries``: one list request per host holding several of
        them, one read per other server, all at once (bounded by max_parallel)."""
        self.polls += 1
        by_id = dict((e['id'], e) for e in entries)
        hosts, ids = notice.poll_plan(dict((e['id'], e['_server'].get(HOST_KEY)) for e in entries))
        found = {}
        lock = threading.Lock()

        def list_host(host):
            servers = self.nova.list_servers({'host': host})
            with lock:
                for server in servers:
                    if server['id'] in by_id:
                        found[server['id']] = server

        def read(server_id):
            server = self.nova.server(server_id)
            with lock:
                found[server_id] = server

        self._parallel(list_host, hosts)
        # Servers that left the host since (moved by someone else) are read on their own.
        missing = [i for i in by_id if i not in found and i not in ids]
        self._parallel(read, ids + missing)
        for server_id, entry in by_id.items():
            server = found.get(server_id)
            if server is None:
                entry.update(ready=True, ready_reason='gone',
                             waited_s=round(max(0.0, self.monotonic() - self._wait_start), 3))
                entry['notes'].append('the server disappeared while waiting')
            else:
                entry['_server'] = server

    def _parallel(self, func, items):
        items = list(items)
        if len(items) <= 1:
            for item in items:
                func(item)
            return
        with futures.ThreadPoolExecutor(min(self.max_parallel, len(items))) as pool:
            for job in [pool.submit(func, item) for item in items]:
                job.result()

    # ---- clearing ---------------------------------------------------------------------

    def clear(self, servers):
        """Remove events (of ``self.campaign`` if set) and answers; post ``done`` webhooks."""
        entries = []
        for server in servers:
            metadata = server.get('metadata') or {}
            entry = self._entry(server)
            entries.append(entry)
            raw = metadata.get(notice.KEY_EVENT)
            present = [k for k in notice.EVENT_KEYS if k in metadata]
            if raw is None:
                entry['notified']['metadata'] = 'absent'
                if present:
                    entry['notes'].append('answers without an event left alone: %s' % ', '.join(present))
                continue
            event, why = notice.decode_event(raw)
            if event is not None:
                self._set_event(entry, event)
                entry['action'] = event['action']
                if self.campaign and event['campaign'] != self.campaign:
                    entry['notified']['metadata'] = 'absent'
                    entry['notes'].append('event %s is of campaign %s: left alone' % (event['id'], event['campaign']))
                    continue
            elif self.campaign:
                entry['notified']['metadata'] = 'absent'
                entry['notes'].append('unreadable %s (%s) left alone: it may not be of campaign %s'
                                      % (notice.KEY_EVENT, why, self.campaign))
                continue
            if not notice.metadata_writable(server.get('status'), server.get(TASK_KEY)):
                entry['notified']['metadata'] = 'not_writable'
                entry['notes'].append('Nova does not change the metadata of a %s server now: clear it later'
                                      % server.get('status'))
            elif self.check_mode:
                entry['notified']['metadata'] = 'would_clear'
                self.changed = True
            else:
                entry['_delete'] = present
        self._parallel(self._delete_keys, [e for e in entries if e.get('_delete')])
        for entry in entries:
            if self.check_mode or entry['event'] is None or entry['notified']['metadata'] in ('absent', 'failed'):
                entry['notified']['webhook'] = 'not_sent'
                continue
            self._start_webhook(entry, 'done', entry['event'], guest=False)
        return entries

    def _delete_keys(self, entry):
        try:
            for key in entry['_delete']:
                self.nova.delete_metadata(entry['id'], key)
        except NovaError as exc:
            entry['notified']['metadata'] = 'failed'
            entry['notified']['metadata_error'] = exc.message
            return
        entry['notified']['metadata'] = 'cleared'
        self.changed = True


def option_problems(params, campaign):
    """What is wrong with maintenance_notice's options, each said once (empty when nothing)."""
    problems = ['%s must be >= 0, got %d' % (name, params[name])
                for name in ('notice_s', 'webhook_timeout', 'webhook_retries', 'poll_interval', 'timeout')
                if params[name] is not None and params[name] < 0]
    if params['max_parallel'] < 1 or params['poll_interval'] < 1 or params['webhook_timeout'] < 1:
        problems.append('max_parallel, poll_interval and webhook_timeout must be >= 1')
    if params['webhook_backoff'] < 0:
        problems.append('webhook_backoff must be >= 0')
    problem = campaign_problem(campaign)
    if problem:
        problems.append(problem)
    return problems


def summarize(entries):
    notified = [e for e in entries if e['event'] is not None and e.get('skipped') is None]
    hooks = [e['notified']['webhook'] for e in notified]
    return {
        'servers': len(entries),
        'notified': len([e for e in notified if e['notified']['metadata'] not in ('failed', 'absent')]),
        'skipped': len([e for e in entries if e.get('skipped')]),
        'metadata_failed': len([e for e in notified if e['notified']['metadata'] == 'failed']),
        'cleared': len([e for e in entries if e['notified']['metadata'] == 'cleared']),
        'webhooks_delivered': hooks.count('delivered'),
        'webhooks_failed': hooks.count('failed'),
        'webhooks_refused': hooks.count('refused'),
        'acknowledged': len([e for e in notified if e['acknowledged']]),
        'deferred': len([e for e in notified if e['deferred_s']]),
        'ready': len([e for e in notified if e['ready']]),
    }


def public(entries):
    return [dict((k, v) for k, v in e.items() if not k.startswith('_')) for e in entries]


def project_webhooks(hooks, servers, projects_named):
    """``(webhooks by project id, {project id: name}, warnings)`` for the servers in hand, from the
    operator's ``project_webhooks`` (keys are project ids or names). ``projects_named(name)`` gives
    the projects of that name (None when it could not tell); names are looked up only while some
    project of the servers has no webhook yet."""
    hooks = dict((str(k), v) for k, v in (hooks or {}).items())
    projects = set(s.get('tenant_id') for s in servers if s.get('tenant_id'))
    out = dict((k, v) for k, v in hooks.items() if k in projects)
    names, warnings = {}, []
    for key, url in hooks.items():
        if key in projects or not (projects - set(out)):
            continue
        found = projects_named(key)
        if found is None:
            continue
        if len(found) > 1:
            warnings.append('project_webhooks: project name %r is ambiguous (%d projects): use its id'
                            % (key, len(found)))
        elif found and found[0].get('id') in projects:
            out[found[0]['id']] = url
            names[found[0]['id']] = key
    return out, names, warnings

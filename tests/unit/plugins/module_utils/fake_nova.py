# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An in-memory Nova with the NovaClient surface drain, restore and server_actions use.

Deterministic: nothing happens between calls.  Every read of a server (server, migrations,
server_migrations, list_servers, servers_on_host) returns the current state and then moves that
server one step along whatever it is doing, so a stop is seen as ``powering-off`` on the first
poll and SHUTOFF on the next, and a live migration progresses one step per poll.

What Nova does synchronously (a 400 or 409 answer) and what it does later (a migration record
in ``error``, an unshelve that goes back to SHELVED_OFFLOADED) follow the Compute API at the
microversions the collection uses: since 2.34, a live migration the scheduler cannot place is
accepted and fails afterwards; an unknown destination host is refused at once.

Per-server scripts (``script(server_id, ...)``) bring failure modes in:
  live='hot'      memory never converges: needs force_complete or abort
  live='error'    the migration record goes to error after a running step
  live='refuse'   400 on the os-migrateLive call
  queued=N        the live migration waits N polls in ``queued`` before it prepares
  rejected=N      the scheduler refuses the next N live migrations (No valid host), as when its
                  view of a server group lags behind the moves
  cold='error' / cold='refuse'
  refuse={'os-start': (409, 'message'), 'unshelve:host': (400, '...'), ...}
  give_up={'host', 'availability_zone', 'scheduler'}: that unshelve path is accepted, then
      Nova gives up (back to SHELVED_OFFLOADED with a fault)
  error_on={'os-stop', ...}: that in-place action is accepted, then the server goes to ERROR
  unavailable={'os-migrateLive': N, ...}: the next N such requests answer 503 and do nothing
  lost_answer={'migrate': N, ...}: the next N such requests are carried out, then answer 503
      (a proxy gave up while Nova went on)

``service_down_after(host, reads)``: the host's compute service reads as down (or forced down)
from the ``reads``+1-th read of it on; nothing progresses on a host whose service is down (a
stop sent to it stays ``powering-off``, a migration from it stays where it is).

Aggregates (``aggregates``, ``create_aggregate``, ``set_aggregate_metadata``, ``delete_aggregate``)
hold the campaign records; ``lock``/``unlock`` set ``locked`` and ``locked_reason``. A server's
``OS-EXT-STS:power_state`` follows its status (1 ACTIVE, 3 PAUSED, else 4) unless ``power`` is given.

``calls`` logs every write in order (for "record before action" checks); ``max_live_in_flight``
keeps, per source host, the most live migrations that were under way at once.
"""

from __future__ import annotations

import copy
import importlib
import itertools
import re
import threading
import time

from ansible_collections.cloudmaint.openstack.plugins.module_utils import nova_api
from ansible_collections.cloudmaint.openstack.plugins.module_utils.microversions import (
    compare_microversions,
)

MODULE_UTILS = 'ansible_collections.cloudmaint.openstack.plugins.module_utils.'

HOST = 'OS-EXT-SRV-ATTR:host'
TASK = 'OS-EXT-STS:task_state'
AZ = 'OS-EXT-AZ:availability_zone'
GIB = 1024 ** 3
LIVE_IN_PROGRESS = ('queued', 'preparing', 'running', 'post-migrating')
LIVE_TERMINAL = ('completed', 'error', 'failed', 'cancelled')

# action -> (statuses it is allowed from, task while it runs, status it ends in)
IN_PLACE = {
    'os-stop': (('ACTIVE', 'ERROR'), 'powering-off', 'SHUTOFF'),
    'os-start': (('SHUTOFF',), 'powering-on', 'ACTIVE'),
    'suspend': (('ACTIVE',), 'suspending', 'SUSPENDED'),
    'resume': (('SUSPENDED',), 'resuming', 'ACTIVE'),
    'unpause': (('PAUSED',), 'unpausing', 'ACTIVE'),
    'shelve': (('ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED'), 'shelving', 'SHELVED'),
    'shelveOffload': (('SHELVED',), 'shelving_offloading', 'SHELVED_OFFLOADED'),
}


def _module(name):
    return importlib.import_module(MODULE_UTILS + name)


class FakeResponse(object):
    """What NovaClient.request returns for an accepted action (202, no body)."""

    def __init__(self, request_id, status_code=202):
        self.status_code = status_code
        self.headers = {'x-openstack-request-id': request_id}

    def json(self):
        raise ValueError('no body')


class FakeClock(object):
    """A clock that only moves when someone sleeps; ``real_sleep`` lets threads interleave."""

    def __init__(self, start=1000.0, step=1.0, real_sleep=0.0):
        self.now = start
        self.step = step
        self.real_sleep = real_sleep
        self.sleeps = 0
        self._lock = threading.Lock()

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        with self._lock:
            self.now += max(seconds or 0, self.step)
            self.sleeps += 1
        if self.real_sleep:
            time.sleep(self.real_sleep)


def make_waiter(clock=None):
    clock = clock or FakeClock()
    return _module('server_actions').Waiter(poll_s=0, clock=clock, sleep=clock.sleep)


class FakeNova(object):

    def __init__(self, hosts=(), max_microversion='2.96', live_steps=3, offload_on_shelve=False,
                 error=None):
        # ``error``: the NovaError class the code under test catches.  Pass the one the test
        # module imported: tests/unit/plugins/inventory drops the collection's modules from
        # sys.modules, so a class looked up later may not be the one the engines were built with.
        self.error = error or _module('nova_api').NovaError
        self.max = max_microversion
        self.live_steps = live_steps
        self.offload_on_shelve = offload_on_shelve
        self.services = {}           # host -> service
        self.servers = {}            # id -> server
        self.migration_records = []
        self.scripts = {}
        self.calls = []              # (what, server or service id, detail) of every write
        self.requests = 0
        self.live_in_flight = {}     # source host -> live migrations under way now
        self.max_live_in_flight = {}
        self._pending = {}           # server id -> [callable], one run per poll
        self.action_errors = {}      # request id -> why Nova failed the action (instance actions)
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self.service_reads = {}      # host -> reads of its compute service
        self.aggregate_store = {}    # id -> aggregate
        self._down_after = {}        # host -> (reads, forced)
        self.uptimes = {}            # host -> its `uptime` line (GET /os-hypervisors/{id}/uptime)
        self.projects = {}           # project id -> name (Identity)
        self.project_lookups = []    # names looked up
        for host in hosts:
            if isinstance(host, dict):
                self.add_host(**host)
            else:
                self.add_host(host)

    # -- building the cloud ----------------------------------------------------------------

    def add_host(self, name, zone='nova', status='enabled', state='up', disabled_reason=None,
                 forced_down=False):
        self.services[name] = {'id': 'svc-%s' % name, 'host': name, 'binary': 'nova-compute',
                               'zone': zone, 'status': status, 'state': state,
                               'disabled_reason': disabled_reason, 'forced_down': forced_down}
        return self.services[name]

    def add_server(self, name, host, status='ACTIVE', server_id=None, metadata=None, task=None,
                   ram=2048, vcpus=2, zone=None, tenant='prj-1', image='img-1', fault=None,
                   pending=None, power=None, locked=False):
        server_id = server_id or 'srv-%s' % name
        if zone is None and host in self.services:
            zone = self.services[host]['zone']
        self.servers[server_id] = {
            'id': server_id, 'name': name, 'tenant_id': tenant, 'status': status,
            HOST: host, TASK: task, AZ: zone, 'metadata': dict(metadata or {}),
            'flavor': {'ram': ram, 'vcpus': vcpus, 'original_name': 'm1.test'},
            'image': {'id': image} if image else '',
            'locked': locked, 'locked_reason': None, '_power': power,
        }
        if fault:
            self.servers[server_id]['fault'] = {'message': fault}
        if pending:
            # A task already running: ends with these updates on the next poll.
            self._pending[server_id] = [lambda s, u=dict(pending): self._settle(s, **u)]
        return server_id

    def script(self, server_id, **behaviour):
        self.scripts.setdefault(server_id, {}).update(behaviour)

    def service_down_after(self, host, reads, forced=False):
        self._down_after[host] = (reads, forced)

    # -- what tests look at ----------------------------------------------------------------

    def calls_for(self, server_id, what=None):
        return [c for c in self.calls if c[1] == server_id and (what is None or c[0] == what)]

    def call_index(self, what, server_id, start=0):
        for index, call in enumerate(self.calls):
            if index >= start and call[0] == what and call[1] == server_id:
                return index
        raise AssertionError('no %s call for %s in %r' % (what, server_id, self.calls))

    def writes(self):
        return [c[0] for c in self.calls]

    # -- reads ---------------------------------------------------------------------------

    def server(self, server_id):
        with self._lock:
            self.requests += 1
            found = self.servers.get(server_id)
            view = self._view(found) if found else None
            self._tick(server_id)
            return view

    def list_servers(self, filters=None, page_size=1000):
        with self._lock:
            self.requests += 1
            filters = filters or {}
            found = []
            for server in sorted(self.servers.values(), key=lambda s: s['id']):
                if 'host' in filters and server[HOST] != filters['host']:
                    continue
                if 'name' in filters and not re.search(filters['name'], server['name']):
                    continue
                found.append(server)
            views = [self._view(s) for s in found]
            for server in found:
                self._tick(server['id'])
            return views

    def servers_on_host(self, host):
        return [s for s in self.list_servers({'host': host}) if s.get(HOST) == host]

    def find_servers(self, names_or_ids):
        # The client's own loop over find_server, which each fake defines.
        return nova_api.NovaClient.find_servers(self, names_or_ids)

    def compute_service(self, host):
        with self._lock:
            self.requests += 1
            self.service_reads[host] = self.service_reads.get(host, 0) + 1
            if host in self._down_after and self.service_reads[host] > self._down_after[host][0]:
                if self._down_after[host][1]:
                    self.services[host]['forced_down'] = True
                else:
                    self.services[host]['state'] = 'down'
            service = self.services.get(host)
            return dict(service) if service else None

    def compute_services(self):
        with self._lock:
            self.requests += 1
            return [dict(s) for _name, s in sorted(self.services.items())]

    def known_compute_service(self, host):
        # The real client's lookup, over this fake's services.
        nova_api = importlib.import_module(
            'ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api')
        return nova_api.NovaClient.known_compute_service(self, host)

    def migrations(self, server_id, migration_type=None):
        with self._lock:
            self.requests += 1
            found = [self._migration_view(m) for m in self.migration_records
                     if m['instance_uuid'] == server_id
                     and (migration_type is None or m['migration_type'] == migration_type)]
            self._tick(server_id)
            return sorted(found, key=lambda m: m['id'])

    def hypervisor_of(self, host):
        if host not in self.services:
            return None
        service = self.services[host]
        return {'id': 'rp-%s' % host, 'hypervisor_hostname': host, 'state': service['state'],
                'status': service['status'], 'service': {'host': host}}

    def provider_inventory(self, provider_id):
        return {'inventories': {'VCPU': {'total': 8}, 'MEMORY_MB': {'total': 32768}}, 'usages': {}}

    def projects_named(self, name):
        self.project_lookups.append(name)
        return [{'id': pid, 'name': pname} for pid, pname in sorted(self.projects.items()) if pname == name]

    def host_uptime(self, host):
        text = self.uptimes.get(host)
        return text(self) if callable(text) else text

    def server_migrations(self, server_id):
        with self._lock:
            self.requests += 1
            found = [self._migration_view(m) for m in self.migration_records
                     if m['instance_uuid'] == server_id and m['migration_type'] == 'live-migration'
                     and m['status'] in LIVE_IN_PROGRESS]
            self._tick(server_id)
            return found

    def supports(self, version):
        return not self.max or compare_microversions(self.max, version) >= 0

    # -- actions -------------------------------------------------------------------------

    def action(self, server_id, body, microversion='2.1'):
        name = next(iter(body))
        if name == 'os-migrateLive':
            args = body[name]
            return self.live_migrate(server_id, args.get('host'), force=args.get('force', False))
        if name == 'migrate':
            return self.cold_migrate(server_id, (body[name] or {}).get('host'))
        if name == 'confirmResize':
            return self.confirm_resize(server_id)
        if name == 'unshelve':
            return self.unshelve(server_id, **(body[name] or {}))
        if name == 'rebuild':
            return self.rebuild(server_id, body[name]['imageRef'])
        with self._lock:
            self.requests += 1
            server = self._get(server_id)
            allowed, task, target = IN_PLACE[name]
            self._unavailable(server_id, name, 'unavailable')
            self._refuse_if_scripted(server, name)
            self._check_state(server, name, allowed)
            self.calls.append(('action', server_id, name))
            server[TASK] = task
            if name in self.scripts.get(server_id, {}).get('error_on', ()):
                self._later(server_id, lambda s: self._settle(
                    s, status='ERROR', fault='%s failed on the hypervisor' % name))
            elif name == 'shelve' and self.offload_on_shelve:
                self._later(server_id, lambda s: self._settle(s, status='SHELVED_OFFLOADED',
                                                              host=None))
            elif name == 'shelveOffload':
                self._later(server_id, lambda s: self._settle(s, status=target, host=None))
            else:
                self._later(server_id, lambda s: self._settle(s, status=target))
            self._unavailable(server_id, name, 'lost_answer')

    def live_migrate(self, server_id, host=None, force=False):
        with self._lock:
            self.requests += 1
            server = self._get(server_id)
            self._unavailable(server_id, 'os-migrateLive', 'unavailable')
            mode = self.scripts.get(server_id, {}).get('live', 'converge')
            if mode == 'refuse':
                raise self.error(400, 'Migration pre-check error: scripted refusal', 'POST')
            if host and host not in self.services:
                raise self.error(400, 'Compute host %s could not be found.' % host, 'POST')
            self._check_state(server, 'os-migrateLive', ('ACTIVE', 'PAUSED'))
            self.calls.append(('live_migrate', server_id, host))
            source = server[HOST]
            if host:
                # Since 2.34 the scheduler's verdict on a named host comes later.
                dest = host if self._usable(host) and host != source else None
            else:
                dest = self._schedule(server)
            script = self.scripts.get(server_id, {})
            if script.get('rejected'):
                script['rejected'] -= 1
                dest = None
            if dest is None:
                mode = 'rejected'
            migration = self._new_migration(server, 'live-migration', 'queued', dest, mode)
            migration.update(memory_total_bytes=4 * GIB, memory_processed_bytes=0,
                             memory_remaining_bytes=4 * GIB, _running=0,
                             _queued=self.scripts.get(server_id, {}).get('queued', 0))
            if mode == 'rejected':
                self.action_errors[migration['_request_id']] = (
                    'No valid host was found. No valid host found for live migration to %s'
                    % (host or 'any host'))
            elif mode == 'error':
                self.action_errors[migration['_request_id']] = 'live migration failed (scripted)'
            server[TASK] = 'migrating'
            server['status'] = 'MIGRATING'
            self.live_in_flight[source] = self.live_in_flight.get(source, 0) + 1
            self.max_live_in_flight[source] = max(self.max_live_in_flight.get(source, 0),
                                                  self.live_in_flight[source])
            self._unavailable(server_id, 'os-migrateLive', 'lost_answer')
            return FakeResponse(migration['_request_id'])

    def cold_migrate(self, server_id, host=None):
        with self._lock:
            self.requests += 1
            server = self._get(server_id)
            self._unavailable(server_id, 'migrate', 'unavailable')
            mode = self.scripts.get(server_id, {}).get('cold', 'ok')
            if mode == 'refuse':
                raise self.error(400, 'No valid host was found. (scripted)', 'POST')
            if host and host not in self.services:
                raise self.error(400, 'Compute host %s could not be found.' % host, 'POST')
            self._check_state(server, 'migrate', ('ACTIVE', 'SHUTOFF'))
            if host:
                dest = host if self._usable(host) and host != server[HOST] else None
            else:
                dest = self._schedule(server)
            if dest is None:
                raise self.error(400, 'No valid host was found. There are not enough hosts '
                                 'available.', 'POST')
            self.calls.append(('cold_migrate', server_id, host))
            migration = self._new_migration(server, 'migration', 'pre-migrating', dest, mode)
            if mode == 'error':
                self.action_errors[migration['_request_id']] = 'cold migration failed (scripted)'
            server['status'] = 'RESIZE'
            server[TASK] = 'resize_prep'
            self._unavailable(server_id, 'migrate', 'lost_answer')
            return FakeResponse(migration['_request_id'])

    def action_failure(self, server_id, request_id):
        with self._lock:
            self.requests += 1
            return self.action_errors.get(request_id)

    def confirm_resize(self, server_id):
        with self._lock:
            self.requests += 1
            server = self._get(server_id)
            if server['status'] != 'VERIFY_RESIZE':
                raise self.error(409, "Cannot 'confirmResize' instance %s while it is in vm_state "
                                 '%s' % (server_id, server['status']), 'POST')
            self.calls.append(('confirm_resize', server_id, None))
            migration = [m for m in self.migration_records if m['instance_uuid'] == server_id
                         and m['status'] == 'finished'][-1]
            migration['status'] = 'confirming'

            def confirmed(s):
                migration['status'] = 'confirmed'
                self._settle(s, status=migration['_prior_status'])
            self._later(server_id, confirmed)

    def force_complete(self, server_id, migration_id):
        with self._lock:
            self.requests += 1
            migration = self._live_migration(server_id, migration_id)
            if migration['status'] != 'running':
                raise self.error(400, 'Migration %s state of instance %s is %s. Cannot '
                                 'force_complete while the migration is in this state.'
                                 % (migration_id, server_id, migration['status']), 'POST')
            self.calls.append(('force_complete', server_id, migration_id))
            migration['_force'] = True

    def abort_migration(self, server_id, migration_id):
        with self._lock:
            self.requests += 1
            migration = self._live_migration(server_id, migration_id)
            if migration['status'] not in ('queued', 'preparing', 'running'):
                raise self.error(400, 'Migration %s state of instance %s is %s. Cannot abort.'
                                 % (migration_id, server_id, migration['status']), 'DELETE')
            self.calls.append(('abort_migration', server_id, migration_id))
            migration['_abort'] = True

    def unshelve(self, server_id, host=None, availability_zone=None):
        with self._lock:
            self.requests += 1
            server = self._get(server_id)
            path = 'host' if host else 'availability_zone' if availability_zone else 'scheduler'
            self._refuse_if_scripted(server, 'unshelve:%s' % path)
            self._check_state(server, 'unshelve', ('SHELVED', 'SHELVED_OFFLOADED'))
            if host and host not in self.services:
                raise self.error(400, 'Compute host %s could not be found.' % host, 'POST')
            if (host or availability_zone) and server['status'] == 'SHELVED':
                raise self.error(409, 'The unshelve action on a server with a host or an '
                                 'availability zone needs a SHELVED_OFFLOADED server.', 'POST')
            self.calls.append(('unshelve', server_id,
                               {'host': host, 'availability_zone': availability_zone}))
            server[TASK] = 'unshelving'
            if server['status'] == 'SHELVED':
                self._later(server_id, lambda s: self._settle(s, status='ACTIVE'))
                return
            give_up = path in self.scripts.get(server_id, {}).get('give_up', ())
            if host:
                dest = host if self._usable(host) else None
            else:
                dest = self._schedule(server, zone=availability_zone)
            if give_up or dest is None:
                self._later(server_id, lambda s: self._settle(
                    s, status='SHELVED_OFFLOADED', fault='No valid host was found.'))
            else:
                self._later(server_id, lambda s: self._settle(s, status='ACTIVE', host=dest))

    def rebuild(self, server_id, image_id):
        with self._lock:
            self.requests += 1
            server = self._get(server_id)
            self._check_state(server, 'rebuild', ('ACTIVE', 'SHUTOFF', 'ERROR'))
            self.calls.append(('rebuild', server_id, image_id))
            # Nova powers a rebuilt server off again if it was stopped before the rebuild.
            after = 'SHUTOFF' if server['status'] == 'SHUTOFF' else 'ACTIVE'
            server['status'] = 'REBUILD'
            server[TASK] = 'rebuilding'
            self._later(server_id, lambda s: self._settle(s, status=after))

    def delete_server(self, server_id):
        with self._lock:
            self.requests += 1
            self._get(server_id)
            self.calls.append(('delete_server', server_id, None))
            self.servers[server_id][TASK] = 'deleting'
            self._later(server_id, lambda s: self.servers.pop(s['id'], None))

    def set_metadata(self, server_id, metadata):
        with self._lock:
            self.requests += 1
            server = self._get(server_id)
            self.calls.append(('set_metadata', server_id, dict(metadata)))
            server['metadata'].update(metadata)

    def delete_metadata(self, server_id, key):
        with self._lock:
            self.requests += 1
            server = self.servers.get(server_id)
            if server is None or key not in server['metadata']:
                return None   # NovaClient swallows the 404
            self.calls.append(('delete_metadata', server_id, key))
            del server['metadata'][key]
            return None

    def lock(self, server_id, reason):
        with self._lock:
            self.requests += 1
            server = self._get(server_id)
            self.calls.append(('lock', server_id, reason))
            server.update(locked=True, locked_reason=reason)

    def unlock(self, server_id):
        with self._lock:
            self.requests += 1
            server = self._get(server_id)
            self.calls.append(('unlock', server_id, None))
            server.update(locked=False, locked_reason=None)

    def aggregates(self):
        with self._lock:
            self.requests += 1
            return [copy.deepcopy(a) for _id, a in sorted(self.aggregate_store.items())]

    def create_aggregate(self, name):
        with self._lock:
            self.requests += 1
            if any(a['name'] == name for a in self.aggregate_store.values()):
                raise self.error(409, 'Aggregate %s already exists.' % name, 'POST')
            aggregate = {'id': next(self._ids), 'name': name, 'hosts': [], 'metadata': {},
                         'availability_zone': None}
            self.aggregate_store[aggregate['id']] = aggregate
            self.calls.append(('create_aggregate', aggregate['id'], name))
            return copy.deepcopy(aggregate)

    def set_aggregate_metadata(self, aggregate_id, metadata):
        with self._lock:
            self.requests += 1
            aggregate = self.aggregate_store.get(aggregate_id)
            if aggregate is None:
                raise self.error(404, 'Aggregate %s could not be found.' % aggregate_id, 'POST')
            for key, value in metadata.items():
                self.calls.append(('set_aggregate_metadata', key, value))
                if value is None:
                    aggregate['metadata'].pop(key, None)
                else:
                    aggregate['metadata'][key] = value
            return copy.deepcopy(aggregate)

    def delete_aggregate(self, aggregate_id):
        with self._lock:
            self.requests += 1
            self.calls.append(('delete_aggregate', aggregate_id, None))
            self.aggregate_store.pop(aggregate_id, None)

    def update_service(self, service_id, body):
        with self._lock:
            self.requests += 1
            service = [s for s in self.services.values() if s['id'] == service_id][0]
            self.calls.append(('update_service', service_id, dict(body)))
            service['status'] = body.get('status', service['status'])
            service['disabled_reason'] = body.get('disabled_reason') \
                if service['status'] == 'disabled' else None
            return dict(service)

    # -- the state machine -----------------------------------------------------------------

    def _get(self, server_id):
        server = self.servers.get(server_id)
        if server is None:
            raise self.error(404, 'Instance %s could not be found.' % server_id)
        return server

    def _view(self, server):
        view = {k: copy.deepcopy(v) for k, v in server.items() if not k.startswith('_')}
        power = server.get('_power')
        if power is None:
            power = {'ACTIVE': 1, 'PAUSED': 3}.get(server['status'], 4)
        view['OS-EXT-STS:power_state'] = power
        return view

    @staticmethod
    def _migration_view(migration):
        return {k: v for k, v in migration.items() if not k.startswith('_')}

    def _unavailable(self, server_id, name, script):
        left = self.scripts.get(server_id, {}).get(script, {})
        if left.get(name):
            left[name] -= 1
            raise self.error(503, 'Service Unavailable', 'POST', '/servers/%s/action' % server_id)

    def _host_down(self, host):
        service = self.services.get(host)
        return bool(service) and (service['state'] == 'down' or service.get('forced_down'))

    def _refuse_if_scripted(self, server, name):
        refusal = self.scripts.get(server['id'], {}).get('refuse', {}).get(name)
        if refusal:
            raise self.error(refusal[0], refusal[1], 'POST')

    def _check_state(self, server, name, allowed):
        if server[TASK]:
            raise self.error(409, "Cannot '%s' instance %s while it is in task_state %s"
                             % (name, server['id'], server[TASK]), 'POST')
        if server['status'] not in allowed:
            raise self.error(409, "Cannot '%s' instance %s while it is in vm_state %s"
                             % (name, server['id'], server['status']), 'POST')

    def _usable(self, host):
        service = self.services.get(host)
        return bool(service) and service['status'] == 'enabled' and service['state'] == 'up'

    def _schedule(self, server, zone=None):
        zone = zone or server.get(AZ)
        load = {}
        for other in self.servers.values():
            load[other[HOST]] = load.get(other[HOST], 0) + 1
        candidates = [name for name in sorted(self.services)
                      if self._usable(name) and name != server[HOST]
                      and (not zone or self.services[name]['zone'] == zone)]
        if not candidates:
            return None
        return min(candidates, key=lambda name: (load.get(name, 0), name))

    def _new_migration(self, server, migration_type, status, dest, mode):
        migration = {'id': next(self._ids), 'uuid': 'mig-%d' % len(self.migration_records),
                     'instance_uuid': server['id'], 'migration_type': migration_type,
                     'status': status, 'source_compute': server[HOST], 'dest_compute': dest,
                     '_mode': mode, '_prior_status': server['status'], '_force': False,
                     '_abort': False, '_request_id': 'req-%d' % len(self.migration_records)}
        self.migration_records.append(migration)
        return migration

    def _live_migration(self, server_id, migration_id):
        for migration in self.migration_records:
            if migration['id'] == migration_id and migration['instance_uuid'] == server_id:
                return migration
        raise self.error(404, 'Migration %s for server %s not found' % (migration_id, server_id))

    def _later(self, server_id, step):
        self._pending.setdefault(server_id, []).append(step)

    def _settle(self, server, status=None, host='-', fault=None):
        server[TASK] = None
        if status:
            server['status'] = status
        if host != '-':
            server[HOST] = host
        if fault:
            server['fault'] = {'message': fault}
        else:
            server.pop('fault', None)

    def _tick(self, server_id):
        server = self.servers.get(server_id)
        if server is not None and self._host_down(server[HOST]):
            return
        pending = self._pending.get(server_id)
        if server is not None and pending:
            pending.pop(0)(server)
        for migration in self.migration_records:
            if migration['instance_uuid'] == server_id and server is not None:
                if migration['migration_type'] == 'live-migration':
                    self._advance_live(migration, server)
                else:
                    self._advance_cold(migration, server)

    def _end_live(self, migration, server, status, moved):
        migration['status'] = status
        self._settle(server, status=migration['_prior_status'],
                     host=migration['dest_compute'] if moved else '-')
        source = migration['source_compute']
        self.live_in_flight[source] -= 1

    def _advance_live(self, migration, server):
        status = migration['status']
        if status in LIVE_TERMINAL:
            return
        if migration['_abort']:
            self._end_live(migration, server, 'cancelled', moved=False)
        elif status == 'queued':
            if migration['_queued'] > 0:
                migration['_queued'] -= 1
            else:
                migration['status'] = 'preparing'
        elif status == 'preparing':
            if migration['_mode'] == 'rejected':
                self._end_live(migration, server, 'error', moved=False)
            else:
                migration['status'] = 'running'
        elif status == 'running':
            self._run_live(migration, server)

    def _run_live(self, migration, server):
        total = migration['memory_total_bytes']
        migration['_running'] += 1
        if migration['_force']:
            self._end_live(migration, server, 'completed', moved=True)
        elif migration['_mode'] == 'error':
            self._end_live(migration, server, 'error', moved=False)
        elif migration['_mode'] == 'hot':
            # The guest dirties memory as fast as it is sent.
            migration['memory_processed_bytes'] += total // 4
            migration['memory_remaining_bytes'] = total * 3 // 8
        else:
            done = min(migration['_running'], self.live_steps)
            migration['memory_processed_bytes'] = total * done // self.live_steps
            migration['memory_remaining_bytes'] = total - migration['memory_processed_bytes']
            if done >= self.live_steps:
                self._end_live(migration, server, 'completed', moved=True)

    def _advance_cold(self, migration, server):
        status = migration['status']
        if status == 'pre-migrating':
            if migration['_mode'] == 'error':
                migration['status'] = 'error'
                self._settle(server, status=migration['_prior_status'])
            else:
                migration['status'] = 'migrating'
                server[TASK] = 'resize_migrating'
        elif status == 'migrating':
            migration['status'] = 'post-migrating'
            server[TASK] = 'resize_finish'
        elif status == 'post-migrating':
            migration['status'] = 'finished'
            self._settle(server, status='VERIFY_RESIZE', host=migration['dest_compute'])

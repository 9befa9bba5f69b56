# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one client of the collection: the Compute API calls the workflow makes, and the few Placement
and Identity reads beside them, all through one request method (retries, errors, counting).

Each call names the microversion whose behaviour it relies on (never "latest"), capped by what
the cloud offers. Reads are retried with backoff on 5xx and connection errors; actions are
retried here only while Nova answers 409 because the server is busy with another task. A 5xx or
no answer to an action is retried by ``retry_action``, which first asks whether Nova did it anyway.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qsl, urlsplit

from ansible_collections.cloudmaint.openstack.plugins.module_utils.microversions import (
    compare_microversions,
    format_microversion,
)

# Behaviours the workflow relies on, by the microversion that introduced them.
MV_SERVERS = '2.96'          # server detail with host, task_state, flavor details
MV_LIVE_CHECKED = '2.68'     # os-migrateLive without "force": the scheduler checks the host
MV_LIVE_FORCED = '2.67'      # last microversion that accepts "force": true
MV_COLD_HOST = '2.56'        # migrate with a target host
MV_MIGRATIONS = '2.80'       # os-migrations with uuid, filters, user/project
MV_SERVER_MIGRATIONS = '2.80'
MV_UNSHELVE_AZ = '2.77'
MV_UNSHELVE_HOST = '2.91'
MV_SERVICES = '2.53'         # service ids are UUIDs; PUT /os-services/{id}
MV_AGGREGATES = '2.41'       # aggregates with uuid
MV_LOCK_REASON = '2.73'      # lock with a locked_reason, shown in server details
# From 2.88 on, every hypervisor in a detail listing costs an RPC to its compute service for the uptime:
# one compute down (rebooting, in a campaign) makes the whole request wait for the RPC timeout and fail
# with HTTP 500. 2.87 has everything the collection reads (service, state, version) from the database.
MV_HYPERVISORS = '2.87'
MV_SERVER_GROUPS = '2.64'    # one "policy" and "rules" per group
MV_PLACEMENT = '1.29'        # allocation candidates' provider_summaries list every resource class (1.27)

READ_RETRIES = 4
BUSY_RETRIES = 10
# Seconds before each resend of an action that got a 5xx or no answer.
ACTION_RETRY_DELAYS = (1, 2, 4)
TRANSIENT = (0, 500, 502, 503, 504)   # 0: no answer (connection reset, timeout)


class NovaError(Exception):
    """An error answer from the Compute API, with what an operator needs to act on it."""

    def __init__(self, status, message, method='', url='', request_id=None, attempts=1, service='Compute'):
        super(NovaError, self).__init__(message)
        self.service = service          # which API answered: Compute, Placement or Identity
        self.status = status
        self.message = message
        self.method = method
        self.url = url
        self.request_id = request_id
        self.attempts = attempts

    def __str__(self):
        where = ' '.join(p for p in (self.method, self.url) if p)
        answer = 'HTTP %s' % self.status if self.status else 'no HTTP answer'
        plural = '' if self.attempts == 1 else 's'
        return '%s%s (%s, %d attempt%s)' % (where + ': ' if where else '', self.message, answer,
                                            self.attempts, plural)

    @property
    def transient(self):
        """An outage or overload (5xx, no answer), not Nova's verdict on the request."""
        return self.status in TRANSIENT

    @property
    def busy(self):
        """409 because the server is in the middle of another task: worth asking again."""
        return self.status == 409 and 'task_state' in (self.message or '')

    @property
    def details(self):
        return {'status_code': self.status, 'method': self.method, 'url': self.url,
                'request_id': self.request_id, 'attempts': self.attempts}


class MicroversionError(NovaError):
    """The cloud's API is older than a read or an action needs."""

    def __init__(self, message, service='Compute'):
        super(MicroversionError, self).__init__(None, message, service=service)

    def __str__(self):
        return self.message


def error_message(body):
    """The service's own words in an error body: Nova's ``{"<fault>": {"message"}}``, Placement's and
    Keystone's ``{"errors": [{"detail"}]}`` or ``{"error": {"message"}}``."""
    if not isinstance(body, dict):
        return ''
    errors = body.get('errors')
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get('detail') or errors[0].get('title') or '').strip()
    for value in body.values():
        if isinstance(value, dict) and value.get('message'):
            return str(value['message']).strip()
    return ''


def _message(response):
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or '').strip()[:500]
    return error_message(body) or str(body)[:500]


SERVICE_NAMES = {'compute': 'Compute', 'placement': 'Placement', 'identity': 'Identity'}


class NovaClient(object):
    """The cloud's APIs through an openstacksdk connection's service proxies. Safe to share between
    threads (the snapshot reads its lists in parallel)."""

    def __init__(self, conn, max_microversion=None, sleep=time.sleep):
        self.conn = conn
        self.max = max_microversion
        self.sleep = sleep
        self.requests_by_service = {}
        self._lock = threading.Lock()

    @classmethod
    def for_connection(cls, conn, sleep=time.sleep):
        """A client at the highest Compute microversion the connection's endpoint advertises."""
        data = conn.compute.get_endpoint_data()
        advertised = getattr(data, 'max_microversion', None) if data else None
        try:
            return cls(conn, format_microversion(advertised) if advertised else None, sleep)
        except ValueError:
            return cls(conn, None, sleep)

    @property
    def requests(self):
        """Requests sent so far, retries included."""
        return sum(self.requests_by_service.values())

    def _count(self, service):
        with self._lock:
            self.requests_by_service[service] = self.requests_by_service.get(service, 0) + 1

    def mv(self, wanted):
        """``wanted``, or the cloud's highest microversion if that is lower."""
        if self.max and compare_microversions(self.max, wanted) < 0:
            return format_microversion(self.max)
        return wanted

    def supports(self, version):
        return not self.max or compare_microversions(self.max, version) >= 0

    def require(self, version, what):
        """MicroversionError unless the cloud's Compute API offers ``version``."""
        if not self.max or compare_microversions(self.max, version) < 0:
            raise MicroversionError('%s needs Compute API microversion %s or later, but the cloud offers %s'
                                    % (what, version, 'up to %s' % self.max if self.max else 'no microversions'))

    def request(self, method, url, microversion, json=None, retry_busy=False, params=None,
                service='compute', allow=()):
        """The response to one API call; NovaError for an error answer whose status is not in ``allow``."""
        proxy = getattr(self.conn, service)
        name = SERVICE_NAMES[service]
        attempt = 0
        while True:
            attempt += 1
            self._count(service)
            try:
                response = proxy.request(url, method, json=json, params=params,
                                         microversion=microversion, raise_exc=False)
            except Exception as exc:  # connection reset, timeout: only reads are retried here
                if method == 'GET' and attempt < READ_RETRIES:
                    self.sleep(min(2 ** attempt, 10))
                    continue
                raise NovaError(0, 'no answer from the %s API: %s' % (name, exc), method, url,
                                attempts=attempt, service=name)
            status = response.status_code
            if status < 400 or status in allow:
                return response
            error = NovaError(status, _message(response), method, url,
                              response.headers.get('x-openstack-request-id'), attempts=attempt, service=name)
            # A 409 for another reason (vm_state error, locked) stays a 409 however long we wait.
            retryable = (method == 'GET' and status >= 500 and attempt < READ_RETRIES) or \
                (retry_busy and error.busy and attempt < BUSY_RETRIES)
            if not retryable:
                raise error
            self.sleep(min(2 ** attempt, 10) if status >= 500 else 3)

    def get_json(self, url, microversion, params=None, service='compute'):
        return self.request('GET', url, microversion, params=params, service=service).json()

    # -- reads ---------------------------------------------------------------------------

    def server(self, server_id):
        try:
            return self.get_json('/servers/%s' % server_id, self.mv(MV_SERVERS))['server']
        except NovaError as exc:
            if exc.status == 404:
                return None
            raise

    def find_server(self, name_or_id):
        """A server by id, or by exact name across all projects; None if not found."""
        found = self.server(name_or_id) if looks_like_uuid(name_or_id) else None
        if found:
            return found
        servers = self.list_servers({'name': '^%s$' % _regex_escape(name_or_id)})
        matches = [s for s in servers if s['name'] == name_or_id]
        if len(matches) > 1:
            raise NovaError(409, 'server name %r is ambiguous (%d servers): use its id'
                            % (name_or_id, len(matches)))
        return matches[0] if matches else None

    def find_servers(self, names_or_ids):
        """(the servers found, each once; the names or ids not found), in the order given."""
        found, missing = [], []
        for name in names_or_ids:
            server = self.find_server(name)
            if server is None:
                missing.append(name)
            elif all(server['id'] != other['id'] for other in found):
                found.append(server)
        return found, missing

    def list_all(self, url, key, microversion, params=None, page_size=1000):
        """Every item of a list Nova pages with limit/marker. Nova caps ``limit`` at its
        [api]max_limit and then still announces the next page in ``<key>_links``: a page shorter
        than asked for is not the last one. The next marker is the last item's id (the link's URL
        may name an internal host behind a proxy)."""
        query = dict(params or {}, limit=page_size)
        items = []
        while True:
            body = self.get_json(url, microversion, params=query)
            page = body.get(key) or []
            items.extend(page)
            links = body.get(key + '_links') or ()
            if not page or not any(isinstance(link, dict) and link.get('rel') == 'next' for link in links):
                return items
            query = dict(query, marker=page[-1]['id'])

    def list_servers(self, filters=None, page_size=1000):
        return self.list_all('/servers/detail', 'servers', self.mv(MV_SERVERS),
                             dict({'all_tenants': 'True'}, **(filters or {})), page_size)

    def servers_on_host(self, host):
        return [s for s in self.list_servers({'host': host})
                if s.get('OS-EXT-SRV-ATTR:host') == host]

    def compute_service(self, host):
        services = self.get_json('/os-services', self.mv(MV_SERVICES),
                                 params={'binary': 'nova-compute', 'host': host})['services']
        return services[0] if services else None

    def compute_services(self):
        return self.get_json('/os-services', self.mv(MV_SERVICES),
                             params={'binary': 'nova-compute'})['services']

    def known_compute_service(self, host):
        """The host's nova-compute service; LookupError naming the known hosts if there is none."""
        service = self.compute_service(host)
        if service is None:
            known = sorted(s['host'] for s in self.compute_services())
            raise LookupError('unknown host %r: no nova-compute service by that name (known: %s)'
                              % (host, ', '.join(known)))
        return service

    def aggregates(self):
        return self.get_json('/os-aggregates', self.mv(MV_AGGREGATES))['aggregates']

    def create_aggregate(self, name):
        body = {'aggregate': {'name': name}}
        return self.request('POST', '/os-aggregates', self.mv(MV_AGGREGATES), json=body).json()['aggregate']

    def set_aggregate_metadata(self, aggregate_id, metadata):
        """Sets (a value) or removes (None) keys; returns the aggregate as it is now."""
        body = {'set_metadata': {'metadata': metadata}}
        return self.request('POST', '/os-aggregates/%s/action' % aggregate_id, self.mv(MV_AGGREGATES),
                            json=body).json()['aggregate']

    def delete_aggregate(self, aggregate_id):
        try:
            return self.request('DELETE', '/os-aggregates/%s' % aggregate_id, self.mv(MV_AGGREGATES))
        except NovaError as exc:
            if exc.status != 404:
                raise

    def zones_by_host(self):
        """Availability zone of each host, from the aggregates that set one."""
        zones = {}
        for aggregate in self.aggregates():
            for host in aggregate.get('hosts') or []:
                if aggregate.get('availability_zone'):
                    zones[host] = aggregate['availability_zone']
        return zones

    def hypervisors(self, page_size=1000):
        return self.list_all('/os-hypervisors/detail', 'hypervisors', self.mv(MV_HYPERVISORS), page_size=page_size)

    def hypervisor_of(self, host):
        """The hypervisor whose compute service runs on ``host``; None if there is none."""
        # Nova refuses hypervisor_hostname_pattern together with limit or marker (HTTP 400): one page.
        try:
            found = self.get_json('/os-hypervisors/detail', self.mv(MV_HYPERVISORS),
                                  params={'hypervisor_hostname_pattern': host})['hypervisors']
        except NovaError as exc:
            if exc.status == 404:
                return None
            raise
        return next((hv for hv in found if (hv.get('service') or {}).get('host') == host), None)

    def list_by_offset(self, url, key, microversion, params=None, page_size=1000):
        """Every item of a list Nova pages with limit/offset and no links (server groups). Nova caps
        ``limit`` at its [api]max_limit, so only an empty page ends the list."""
        items = []
        while True:
            query = dict(params or {}, limit=page_size)
            if items:
                query['offset'] = len(items)
            page = self.get_json(url, microversion, params=query).get(key) or []
            if not page:
                return items
            items.extend(page)

    def server_groups(self, page_size=1000):
        """Every server group of every project."""
        return self.list_by_offset('/os-server-groups', 'server_groups', self.mv(MV_SERVER_GROUPS),
                                   {'all_projects': 'True'}, page_size)

    def placement_get(self, path, params=None, allow=()):
        """(status, body) of a Placement GET; the body is None for an allowed error status."""
        response = self.request('GET', path, MV_PLACEMENT, params=params, service='placement', allow=allow)
        return response.status_code, (response.json() if response.status_code < 400 else None)

    def provider_inventory(self, provider_id):
        """Placement's inventories and usages of a resource provider (a hypervisor's id is its
        provider's uuid); None when Placement does not know it (deleted meanwhile)."""
        path = '/resource_providers/%s' % provider_id
        status, inventories = self.placement_get(path + '/inventories', allow=(404,))
        if status == 404:
            return None
        usages = self.placement_get(path + '/usages', allow=(404,))[1]
        return {'inventories': (inventories or {}).get('inventories') or {},
                'usages': (usages or {}).get('usages') or {}}

    def host_uptime(self, host):
        """The ``uptime`` line of ``host``'s hypervisor as its compute driver reports it; None when
        Nova cannot tell (no such hypervisor, compute service down, a driver without it)."""
        found = [h for h in self.hypervisors() if (h.get('service') or {}).get('host') == host]
        if len(found) != 1:
            return None
        try:
            return self.get_json('/os-hypervisors/%s/uptime' % found[0]['id'],
                                 self.mv(MV_HYPERVISORS))['hypervisor'].get('uptime')
        except NovaError as exc:
            if exc.status in (400, 404, 501):
                return None
            raise

    def projects_named(self, name):
        """The Identity projects called ``name`` (an operator's project_webhooks key)."""
        body = self.get_json('/projects', None, params={'name': name}, service='identity')
        return (body.get('projects') or []) if isinstance(body, dict) else []

    def projects(self, warnings):
        """Every project Identity lists, following its ``links.next``; None when the credentials may
        not list projects (HTTP 403, said in ``warnings``)."""
        projects = []
        seen = set()
        query = None
        while True:
            response = self.request('GET', '/projects', None, params=query, service='identity', allow=(403,))
            if response.status_code == 403:
                warnings.append('project names unavailable: listing projects is not allowed (HTTP 403)')
                return None
            body = response.json()
            new = [project for project in body.get('projects') or () if project.get('id') not in seen]
            projects.extend(new)
            seen.update(project.get('id') for project in new)
            next_link = (body.get('links') or {}).get('next')
            if body.get('truncated') and not next_link:
                warnings.append('project list truncated by keystone [DEFAULT]list_limit: some project names missing')
            if not next_link or not new:
                return projects
            query = dict(parse_qsl(urlsplit(next_link).query))

    def server_migrations(self, server_id):
        """In-progress migrations of a server, with memory progress."""
        try:
            return self.get_json('/servers/%s/migrations' % server_id,
                                 self.mv(MV_SERVER_MIGRATIONS))['migrations']
        except NovaError as exc:
            if exc.status == 404:
                return []
            raise

    def migrations(self, server_id, migration_type=None):
        params = {'instance_uuid': server_id}
        if migration_type:
            params['migration_type'] = migration_type
        found = self.get_json('/os-migrations', self.mv(MV_MIGRATIONS), params=params)
        return sorted(found['migrations'], key=lambda m: m['id'])

    def action_failure(self, server_id, request_id):
        """Why Nova failed an asynchronous action (instance action events, microversion 2.84
        for the event details), or None."""
        if not request_id:
            return None
        try:
            action = self.get_json('/servers/%s/os-instance-actions/%s' % (server_id, request_id),
                                   self.mv('2.84'))['instanceAction']
        except NovaError:
            return None
        reasons = [e.get('details') or e.get('result') for e in action.get('events') or []
                   if (e.get('result') or '').lower() == 'error']
        return '; '.join(r for r in reasons if r) or action.get('message')

    # -- actions -------------------------------------------------------------------------

    def action(self, server_id, body, microversion='2.1'):
        return self.request('POST', '/servers/%s/action' % server_id, self.mv(microversion),
                            json=body, retry_busy=True)

    def live_migrate(self, server_id, host=None, force=False):
        if force:
            if not host:
                raise ValueError('a forced live migration needs a destination host')
            body = {'os-migrateLive': {'host': host, 'block_migration': 'auto', 'force': True}}
            return self.action(server_id, body, MV_LIVE_FORCED)
        body = {'os-migrateLive': {'host': host, 'block_migration': 'auto'}}
        return self.action(server_id, body, MV_LIVE_CHECKED)

    def cold_migrate(self, server_id, host=None):
        if host:
            return self.action(server_id, {'migrate': {'host': host}}, MV_COLD_HOST)
        return self.action(server_id, {'migrate': None})

    def confirm_resize(self, server_id):
        return self.action(server_id, {'confirmResize': None})

    def force_complete(self, server_id, migration_id):
        return self.request('POST', '/servers/%s/migrations/%s/action' % (server_id, migration_id),
                            self.mv('2.22'), json={'force_complete': None})

    def abort_migration(self, server_id, migration_id):
        return self.request('DELETE', '/servers/%s/migrations/%s' % (server_id, migration_id),
                            self.mv('2.24'))

    def unshelve(self, server_id, host=None, availability_zone=None):
        if host:
            return self.action(server_id, {'unshelve': {'host': host}}, MV_UNSHELVE_HOST)
        if availability_zone:
            return self.action(server_id, {'unshelve': {'availability_zone': availability_zone}},
                               MV_UNSHELVE_AZ)
        return self.action(server_id, {'unshelve': None})

    def rebuild(self, server_id, image_id):
        return self.action(server_id, {'rebuild': {'imageRef': image_id}})

    def lock(self, server_id, reason):
        return self.action(server_id, {'lock': {'locked_reason': reason}}, MV_LOCK_REASON)

    def unlock(self, server_id):
        return self.action(server_id, {'unlock': None})

    def delete_server(self, server_id):
        return self.request('DELETE', '/servers/%s' % server_id, '2.1')

    def set_metadata(self, server_id, metadata):
        return self.request('POST', '/servers/%s/metadata' % server_id, '2.1',
                            json={'metadata': metadata})

    def delete_metadata(self, server_id, key):
        try:
            return self.request('DELETE', '/servers/%s/metadata/%s' % (server_id, key), '2.1')
        except NovaError as exc:
            if exc.status != 404:
                raise

    def update_service(self, service_id, body):
        return self.request('PUT', '/os-services/%s' % service_id, self.mv(MV_SERVICES),
                            json=body).json()['service']


def retry_action(send, applied, sleep, delays=ACTION_RETRY_DELAYS):
    """``send()``, sent again after a 5xx or no answer, ``len(delays)`` times at most.

    An action may have been carried out although its answer was an error (a proxy timed out
    while Nova went on, a 503 from a load balancer after the request passed): before each
    resend ``applied()`` looks at the server, and if Nova is doing it the action counts as
    accepted and None is returned instead of a response. The NovaError raised when every
    attempt failed counts all of them.
    """
    sent = 0
    for delay in tuple(delays) + (None,):
        try:
            return send()
        except NovaError as exc:
            sent += exc.attempts
            if not exc.transient or delay is None:
                exc.attempts = sent
                raise
        sleep(delay)
        if applied():
            return None


def looks_like_uuid(value):
    text = str(value)
    return len(text) == 36 and text.count('-') == 4


def _regex_escape(text):
    special = set('.^$*+?{}[]\\|()')
    return ''.join('\\' + c if c in special else c for c in text)

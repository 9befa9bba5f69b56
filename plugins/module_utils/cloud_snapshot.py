# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A point-in-time picture of a cloud's compute side, fetched with few requests.

Used by the ``cloudmaint.openstack.compute`` inventory and by the planning code.
The number of HTTP requests does not grow with the fleet except for pagination::

    compute   version discovery                          1
              GET /os-hypervisors/detail (limit/marker)   ceil(H / page_size)
              GET /os-services?binary=nova-compute        1
              GET /os-aggregates                          1
              GET /servers/detail?all_tenants (marker)    ceil(V / page_size)
              GET /os-server-groups?all_projects (offset) ceil(G / page_size)
    placement GET /resource_providers                     1
              GET /allocation_candidates?resources=RC:1   1 (up to 3, see below)
    identity  GET /projects                               1 (403 tolerated)

A page that comes back exactly full costs one more (empty) request.

Placement capacity comes from the ``provider_summaries`` of one allocation
candidates query, which covers every provider with room for 1 MiB of memory.
Providers missing from it (a host full to the last MiB) are looked for with
``VCPU:1`` then ``DISK_GB:1``; any still missing cost two requests each
(inventories and usages), counted in ``placement.fallbacks`` (also the case for
every provider left out when Placement's [placement]max_allocation_candidates
trims the answer).  The ``full``
placement detail reads inventories and usages of every hypervisor's provider
instead: 2 requests per hypervisor, but with total, reserved, allocation ratio
and max_unit per resource class.

Fetching (``fetch_snapshot``/``fetch_raw``) is separate from the pure
transformation (``build_snapshot``), which only reads the raw API JSON, so the
transformation is tested with recorded responses.  Stdlib only; the connection
is an openstacksdk Connection, used through its service proxies.
"""

from __future__ import annotations

import datetime
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, urlencode, urlsplit

from ansible_collections.cloudmaint.openstack.plugins.module_utils.microversions import parse_microversion
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import PREFIX

SNAPSHOT_FORMAT = 1

COMPUTE_MIN_MICROVERSION = (2, 53)        # hypervisor UUIDs, hypervisor pagination
COMPUTE_PREFERRED_MICROVERSION = (2, 96)  # embedded flavors (2.47), server groups 'policy' (2.64)
# Hypervisor listings stop at 2.87: from 2.88 each hypervisor costs an RPC to its compute service
# (uptime), and a single compute that is down (rebooting) makes the listing time out with HTTP 500.
HYPERVISORS_MAX_MICROVERSION = (2, 87)
PLACEMENT_MICROVERSION = '1.29'           # provider_summaries list every resource class of a provider
PAGE_SIZE = 1000                          # nova's default [api]max_limit

PLACEMENT_DETAILS = ('summary', 'full')
PROBE_RESOURCE_CLASSES = ('MEMORY_MB', 'VCPU', 'DISK_GB')
RUNNING_STATUSES = frozenset(('ACTIVE',))
FALLBACK_WORKERS = 8

COMPUTE_BINARY = 'nova-compute'


class SnapshotError(Exception):
    """An API request of the snapshot failed; ``str()`` is a one-line explanation without secrets."""

    def __init__(self, message, service=None, path=None, status_code=None):
        super().__init__(message)
        self.service = service
        self.path = path
        self.status_code = status_code


# ---- requests -----------------------------------------------------------------------------------

def api_error_message(body):
    """The service's own error text from a Nova, Placement or Keystone error body (parsed JSON)."""
    if not isinstance(body, dict):
        return ''
    errors = body.get('errors')
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get('detail') or errors[0].get('title') or '').strip()
    for value in body.values():
        if isinstance(value, dict) and value.get('message'):
            return str(value['message']).strip()
    return ''


def _first_line(text):
    for line in str(text).splitlines():
        if line.strip():
            return line.strip()
    return ''


class CountingGetter:
    """Wraps a raw ``get(service, path, params, microversion) -> (status, body)`` and counts every call.

    Raises SnapshotError for HTTP errors unless the status is in ``allow``; then
    ``(status, None)`` is returned.  Safe to use from several threads.
    """

    def __init__(self, raw_get):
        self._raw_get = raw_get
        self._lock = threading.Lock()
        self.count = 0
        self.by_service = {}

    def note(self, service, requests=1):
        """Count requests made outside ``get`` (version discovery)."""
        with self._lock:
            self.count += requests
            self.by_service[service] = self.by_service.get(service, 0) + requests

    def __call__(self, service, path, params=None, microversion=None, allow=()):
        self.note(service)
        status, body = self._raw_get(service, path, params, microversion)
        if status in allow:
            return status, None
        if status >= 400:
            detail = _first_line(api_error_message(body))
            query = '?' + urlencode(params) if params else ''
            raise SnapshotError('%s GET %s%s failed: HTTP %s%s'
                                % (service, path, query, status, ': %s' % detail if detail else ''),
                                service=service, path=path, status_code=status)
        return status, body


def sdk_raw_get(conn):
    """A raw getter (see CountingGetter) issuing GETs through the proxies of an openstacksdk Connection."""

    def get(service, path, params, microversion):
        url = path + ('?' + urlencode(params) if params else '')
        response = getattr(conn, service).get(url, microversion=microversion)
        try:
            body = response.json()
        except ValueError:
            body = {'error': {'message': _first_line(response.text)[:200]}}
        return response.status_code, body

    return get


def _has_next(links):
    return any(link.get('rel') == 'next' for link in links or () if isinstance(link, dict))


def paginate_marker(get, service, path, key, params, microversion, page_size):
    """All items of a Nova list that pages with limit/marker and announces more with ``<key>_links``.

    The next marker is the last item's id (not the link's URL, which may name an
    internal host behind a proxy).  Nova caps ``limit`` at its [api]max_limit and
    still announces the next page, so a lower server-side cap costs requests, not items.
    """
    items = []
    query = dict(params or {}, limit=page_size)
    while True:
        body = get(service, path, query, microversion)[1]
        page = body.get(key) or []
        items.extend(page)
        if not page or not _has_next(body.get(key + '_links')):
            return items
        query = dict(query, marker=page[-1]['id'])


def paginate_offset(get, service, path, key, params, microversion, page_size):
    """All items of a Nova list that pages with limit/offset and no links (server groups).  Nova
    caps ``limit`` at its [api]max_limit, so only an empty page ends the list."""
    items = []
    offset = 0
    while True:
        query = dict(params or {}, limit=page_size)
        if offset:
            query['offset'] = offset
        page = get(service, path, query, microversion)[1].get(key) or []
        if not page:
            return items
        items.extend(page)
        offset += len(page)


# ---- microversions ------------------------------------------------------------------------------

def choose_compute_microversion(max_available):
    """The compute microversion to use: the preferred one, or the highest the cloud offers below it."""
    available = parse_microversion(max_available) if max_available else None
    if available is None or available < COMPUTE_MIN_MICROVERSION:
        raise SnapshotError('the compute API supports microversions up to %s, but 2.53 or later is needed'
                            % ('%d.%d' % available if available else 'none (no microversions)'),
                            service='compute')
    return '%d.%d' % min(available, COMPUTE_PREFERRED_MICROVERSION)


def compute_max_microversion(conn):
    data = conn.compute.get_endpoint_data()
    return getattr(data, 'max_microversion', None) if data else None


# ---- fetching -----------------------------------------------------------------------------------

def fetch_placement(get, hypervisors, placement_detail='summary'):
    """Placement data for the providers of ``hypervisors`` (raw ``/os-hypervisors/detail`` items)."""
    if placement_detail not in PLACEMENT_DETAILS:
        raise ValueError('placement_detail must be one of %s, got %r'
                         % (', '.join(PLACEMENT_DETAILS), placement_detail))
    mv = PLACEMENT_MICROVERSION
    providers = get('placement', '/resource_providers', None, mv)[1].get('resource_providers') or []
    wanted = sorted(set(provider_map(hypervisors, providers).values()))
    summaries = {}
    probes = []
    missing = wanted
    if placement_detail == 'summary':
        for resource_class in PROBE_RESOURCE_CLASSES:
            if not missing:
                break
            body = get('placement', '/allocation_candidates', {'resources': '%s:1' % resource_class}, mv)[1]
            probes.append(resource_class)
            for uuid, summary in (body.get('provider_summaries') or {}).items():
                summaries.setdefault(uuid, summary)
            missing = [uuid for uuid in wanted if uuid not in summaries]

    def inventory_and_usage(uuid):
        status, inventories = get('placement', '/resource_providers/%s/inventories' % uuid, None, mv,
                                  allow=(404,))
        if status == 404:  # deleted meanwhile
            return uuid, None
        usages = get('placement', '/resource_providers/%s/usages' % uuid, None, mv, allow=(404,))[1]
        return uuid, {'inventories': (inventories or {}).get('inventories') or {},
                      'usages': (usages or {}).get('usages') or {}}

    details = {}
    if missing:
        with ThreadPoolExecutor(max_workers=min(FALLBACK_WORKERS, len(missing))) as pool:
            for uuid, detail in pool.map(inventory_and_usage, missing):
                if detail is not None:
                    details[uuid] = detail
    return {
        'resource_providers': providers,
        'provider_summaries': summaries,
        'provider_details': details,
        'placement': {'detail': placement_detail, 'probes': probes,
                      'fallbacks': len(missing) if placement_detail == 'summary' else 0},
    }


def fetch_raw(get, compute_microversion, placement_detail='summary', page_size=PAGE_SIZE, parallel=True):
    """Every raw API response the snapshot needs, as one dict (see build_snapshot).

    ``get`` is a CountingGetter.  With ``parallel`` the independent request
    chains run in threads, so the wall time is about that of the server pages.
    """
    mv = compute_microversion
    hypervisors_mv = '%d.%d' % min(parse_microversion(mv), HYPERVISORS_MAX_MICROVERSION)
    raw = {'compute_microversion': mv, 'warnings': []}

    def hypervisors_and_placement():
        hypervisors = paginate_marker(get, 'compute', '/os-hypervisors/detail', 'hypervisors', None,
                                      hypervisors_mv, page_size)
        raw['hypervisors'] = hypervisors
        raw.update(fetch_placement(get, hypervisors, placement_detail))

    def servers():
        raw['servers'] = paginate_marker(get, 'compute', '/servers/detail', 'servers', {'all_tenants': 'True'},
                                         mv, page_size)

    def the_rest():
        raw['services'] = get('compute', '/os-services', {'binary': COMPUTE_BINARY}, mv)[1].get('services') or []
        raw['aggregates'] = get('compute', '/os-aggregates', None, mv)[1].get('aggregates') or []
        raw['server_groups'] = paginate_offset(get, 'compute', '/os-server-groups', 'server_groups',
                                               {'all_projects': 'True'}, mv, page_size)
        raw['projects'] = fetch_projects(get, raw['warnings'])

    chains = (servers, hypervisors_and_placement, the_rest)
    if parallel:
        with ThreadPoolExecutor(max_workers=len(chains)) as pool:
            for future in [pool.submit(chain) for chain in chains]:
                future.result()
    else:
        for chain in chains:
            chain()
    return raw


def fetch_projects(get, warnings):
    """Project list, or None when the credentials may not list projects (HTTP 403)."""
    projects = []
    seen = set()
    query = None
    while True:
        status, body = get('identity', '/projects', query, None, allow=(403,))
        if body is None:
            warnings.append('project names unavailable: listing projects is not allowed (HTTP %s)' % status)
            return None
        new = [project for project in body.get('projects') or () if project.get('id') not in seen]
        projects.extend(new)
        seen.update(project.get('id') for project in new)
        next_link = (body.get('links') or {}).get('next')
        if body.get('truncated') and not next_link:
            warnings.append('project list truncated by keystone [DEFAULT]list_limit: some project names missing')
        if not next_link or not new:
            return projects
        query = dict(parse_qsl(urlsplit(next_link).query))


def _count_http(conn):
    """Count the HTTP requests really sent through ``conn`` (token and version discovery included).

    Returns (counter dict, remove function); the counter stays None when the
    session offers no hook (then only the API requests are counted).
    """
    try:
        hooks = conn.session.session.hooks['response']
    except (AttributeError, KeyError, TypeError):
        return {'n': None}, lambda: None
    counter = {'n': 0}
    lock = threading.Lock()

    def hook(response, *args, **kwargs):
        with lock:
            counter['n'] += 1

    def remove():
        if hook in hooks:
            hooks.remove(hook)

    hooks.append(hook)
    return counter, remove


def fetch_snapshot(conn, placement_detail='summary', page_size=PAGE_SIZE, parallel=True, now=None):
    """Fetch and build the snapshot of the cloud behind an openstacksdk Connection.

    ``request_count`` counts the API requests made (version discovery counted
    once, whether or not keystoneauth had it cached); ``http_requests`` what
    went over the wire, including token and discovery requests.
    """
    started = time.monotonic()
    get = CountingGetter(sdk_raw_get(conn))
    http, stop_counting = _count_http(conn)
    try:
        get.note('compute')
        microversion = choose_compute_microversion(compute_max_microversion(conn))
        raw = fetch_raw(get, microversion, placement_detail, page_size, parallel)
    finally:
        stop_counting()
    fetched = time.monotonic()
    snapshot = build_snapshot(raw, now=now)
    snapshot['request_count'] = get.count
    snapshot['requests_by_service'] = dict(sorted(get.by_service.items()))
    snapshot['http_requests'] = http['n']
    snapshot['timing'] = {'fetch_s': round(fetched - started, 3),
                          'build_s': round(time.monotonic() - fetched, 3)}
    return snapshot


# ---- pure transformation ------------------------------------------------------------------------

def utc_timestamp(now=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.strftime('%Y-%m-%dT%H:%M:%SZ')


def provider_map(hypervisors, providers):
    """Hypervisor id -> resource provider uuid.

    A compute node's provider has the node's UUID (the hypervisor id from 2.53)
    and its hypervisor_hostname as name; the id is tried first, the name second.
    """
    by_uuid = set()
    by_name = {}
    for provider in providers:
        by_uuid.add(provider.get('uuid'))
        by_name.setdefault(provider.get('name'), provider.get('uuid'))
    mapping = {}
    for hypervisor in hypervisors:
        hid = hypervisor.get('id')
        if hid in by_uuid:
            mapping[hid] = hid
        elif hypervisor.get('hypervisor_hostname') in by_name:
            mapping[hid] = by_name[hypervisor['hypervisor_hostname']]
    return mapping


def capacity_from_summary(resources):
    """Provider summary resources -> {rc: {capacity, used, free}}; capacity is (total - reserved) * ratio."""
    capacity = {}
    for rc, values in (resources or {}).items():
        cap = int(values.get('capacity') or 0)
        used = int(values.get('used') or 0)
        capacity[rc] = {'capacity': cap, 'used': used, 'free': cap - used}
    return capacity


def capacity_from_inventory(inventories, usages):
    """Provider inventories and usages -> {rc: {capacity, used, free, total, reserved, allocation_ratio, max_unit}}.

    ``capacity`` is computed the way Placement does: int((total - reserved) * allocation_ratio).
    """
    capacity = {}
    for rc, inv in (inventories or {}).items():
        total = int(inv.get('total') or 0)
        reserved = int(inv.get('reserved') or 0)
        ratio = float(inv.get('allocation_ratio') if inv.get('allocation_ratio') is not None else 1.0)
        cap = int((total - reserved) * ratio)
        used = int((usages or {}).get(rc) or 0)
        capacity[rc] = {'capacity': cap, 'used': used, 'free': cap - used, 'total': total,
                        'reserved': reserved, 'allocation_ratio': ratio, 'max_unit': inv.get('max_unit')}
    return capacity


def _add_capacity(target, extra):
    for rc, values in extra.items():
        if rc not in target:
            target[rc] = dict(values)
            continue
        for key in ('capacity', 'used', 'free', 'total', 'reserved'):
            if key in values:
                target[rc][key] = target[rc].get(key, 0) + values[key]


def preferred_address(server):
    """The address to reach a server at, or None: floating IPv4, fixed IPv4, then IPv6 alike.

    Only addresses of the server's ports count. accessIPv4/accessIPv6 are free text its owner
    sets to anything (the address of another machine too), so they are never used."""
    found = {}
    for addresses in (server.get('addresses') or {}).values():
        for address in addresses or ():
            kind = address.get('OS-EXT-IPS:type') or 'fixed'
            key = (address.get('version') or 4, kind)
            found.setdefault(key, address.get('addr'))
    for version in (4, 6):
        for kind in ('floating', 'fixed'):
            if found.get((version, kind)):
                return found[(version, kind)]
    return None


def _service_index(services):
    index = {}
    for service in services:
        if service.get('binary', COMPUTE_BINARY) == COMPUTE_BINARY and service.get('host'):
            index[service['host']] = service
    return index


def _group_policy(group):
    if group.get('policy'):
        return group['policy']
    policies = group.get('policies') or []  # before compute microversion 2.64
    return policies[0] if policies else None


def _aggregates(raw_aggregates):
    """(aggregates by name, aggregate names by host, availability zone by host)."""
    aggregates = {}
    of_host = {}
    zone_of_host = {}
    for agg in raw_aggregates:
        name = agg.get('name')
        hosts = list(agg.get('hosts') or ())
        zone = agg.get('availability_zone') or (agg.get('metadata') or {}).get('availability_zone')
        aggregates[name] = {'id': agg.get('id'), 'uuid': agg.get('uuid'), 'availability_zone': zone,
                            'hosts': hosts, 'metadata': agg.get('metadata') or {}}
        for host in hosts:
            of_host.setdefault(host, []).append(name)
            if zone:
                zone_of_host.setdefault(host, zone)
    return aggregates, of_host, zone_of_host


def _hypervisor_record(host, hyp, svc, aggregates_of_host, zone_of_host):
    svc_ref = hyp.get('service') or {}
    node = hyp.get('hypervisor_hostname')
    return {
        'id': hyp.get('id'),
        'host': host,
        'hypervisor_hostname': node,
        'nodes': [node] if node else [],
        'hypervisor_type': hyp.get('hypervisor_type'),
        # Nova refuses to live-migrate to an older version (DestinationHypervisorTooOld).
        'hypervisor_version': hyp.get('hypervisor_version'),
        'host_ip': hyp.get('host_ip'),
        'service_id': svc.get('id') or svc_ref.get('id'),
        'state': svc.get('state') or hyp.get('state'),
        'status': svc.get('status') or hyp.get('status'),
        'disabled_reason': svc.get('disabled_reason', svc_ref.get('disabled_reason')),
        'forced_down': bool(svc.get('forced_down')),
        'updated_at': svc.get('updated_at'),
        'zone': svc.get('zone') or zone_of_host.get(host),
        'aggregates': aggregates_of_host.get(host, []),
        'resource_provider': None,
        'capacity': {},
        'servers': [],
        'server_count': 0,
        'running_servers': 0,
    }


def _provider_capacity(rp, summaries, details):
    if rp in details:
        return capacity_from_inventory(details[rp]['inventories'], details[rp]['usages'])
    if rp in summaries:
        return capacity_from_summary(summaries[rp].get('resources'))
    return {}


def _hypervisors(raw, aggregates_of_host, zone_of_host, warnings):
    """Hypervisors by compute host name, with service state and placement capacity."""
    services = _service_index(raw.get('services') or ())
    summaries = raw.get('provider_summaries') or {}
    details = raw.get('provider_details') or {}
    raw_hypervisors = raw.get('hypervisors') or []
    rp_of = provider_map(raw_hypervisors, raw.get('resource_providers') or [])
    hypervisors = {}
    for hyp in raw_hypervisors:
        host = (hyp.get('service') or {}).get('host') or hyp.get('hypervisor_hostname')
        rp = rp_of.get(hyp.get('id'))
        if rp is None and raw.get('placement') is not None:
            warnings.append('hypervisor %s has no resource provider in placement' % hyp.get('hypervisor_hostname'))
        capacity = _provider_capacity(rp, summaries, details)
        record = hypervisors.get(host)
        if record is not None:
            # Several nodes behind one compute service (e.g. ironic): one host, capacities added up.
            record['nodes'].append(hyp.get('hypervisor_hostname'))
            _add_capacity(record['capacity'], capacity)
            continue
        record = _hypervisor_record(host, hyp, services.get(host) or {}, aggregates_of_host, zone_of_host)
        record['resource_provider'] = rp
        record['capacity'] = capacity
        hypervisors[host] = record
    # A compute service without a compute node: not registered yet, or its node was deleted.
    for host, svc in services.items():
        if host not in hypervisors:
            hypervisors[host] = _hypervisor_record(host, {}, svc, aggregates_of_host, zone_of_host)
    return hypervisors


def _server_groups(raw_groups):
    """(server groups by id, group ids by member server id)."""
    groups = {}
    of_server = {}
    for group in raw_groups:
        gid = group.get('id')
        members = list(group.get('members') or ())
        groups[gid] = {'id': gid, 'name': group.get('name'), 'policy': _group_policy(group),
                       'rules': group.get('rules') or {}, 'members': members,
                       'project_id': group.get('project_id')}
        for member in members:
            of_server.setdefault(member, []).append(gid)
    return groups, of_server


def _server_record(srv, project_names, groups_of_server):
    flavor = srv.get('flavor') or {}
    project_id = srv.get('tenant_id')
    return {
        'id': srv.get('id'),
        'name': srv.get('name'),
        'project_id': project_id,
        'project_name': project_names.get(project_id),
        'user_id': srv.get('user_id'),
        'host': srv.get('OS-EXT-SRV-ATTR:host'),
        'node': srv.get('OS-EXT-SRV-ATTR:hypervisor_hostname'),
        'zone': srv.get('OS-EXT-AZ:availability_zone'),
        'status': srv.get('status'),
        'vm_state': srv.get('OS-EXT-STS:vm_state'),
        'task_state': srv.get('OS-EXT-STS:task_state'),
        'power_state': srv.get('OS-EXT-STS:power_state'),
        'locked': srv.get('locked'),
        'flavor': {'name': flavor.get('original_name'), 'vcpus': flavor.get('vcpus'), 'ram': flavor.get('ram'),
                   'disk': flavor.get('disk'), 'ephemeral': flavor.get('ephemeral'), 'swap': flavor.get('swap')},
        'metadata': srv.get('metadata') or {},
        'server_groups': groups_of_server.get(srv.get('id'), []),
        'address': preferred_address(srv),
        'created': srv.get('created'),
        'updated': srv.get('updated'),
    }


def build_snapshot(raw, now=None):
    """Turn the raw API responses of fetch_raw() into the snapshot (a plain, JSON-safe dict).

    Linear in the number of servers; server metadata dicts are shared with ``raw``, not copied.
    """
    warnings = list(raw.get('warnings') or ())
    aggregates, aggregates_of_host, zone_of_host = _aggregates(raw.get('aggregates') or ())
    hypervisors = _hypervisors(raw, aggregates_of_host, zone_of_host, warnings)
    server_groups, groups_of_server = _server_groups(raw.get('server_groups') or ())
    project_list = raw.get('projects')
    project_names = {p.get('id'): p.get('name') for p in project_list or ()}

    servers = {}
    unknown_hosts = set()
    for srv in raw.get('servers') or ():
        record = _server_record(srv, project_names, groups_of_server)
        servers[record['id']] = record
        host = record['host']
        if not host:
            continue
        hyp = hypervisors.get(host)
        if hyp is None:
            unknown_hosts.add(host)
            continue
        hyp['servers'].append(record['id'])
        hyp['server_count'] += 1
        if record['status'] in RUNNING_STATUSES:
            hyp['running_servers'] += 1
    for host in sorted(unknown_hosts):
        warnings.append('servers on host %s, which is not a known compute host' % host)

    return {
        'format': SNAPSHOT_FORMAT,
        'fetched_at': utc_timestamp(now),
        'compute_microversion': raw.get('compute_microversion'),
        'placement': dict(raw.get('placement') or {'detail': None, 'probes': [], 'fallbacks': 0}),
        'hypervisors': hypervisors,
        'servers': servers,
        'server_groups': server_groups,
        'aggregates': aggregates,
        'projects': project_names if project_list is not None else None,
        'warnings': warnings,
        'request_count': None,
        'http_requests': None,
    }


def maintenance_state(status, disabled_reason, prefix=PREFIX):
    """(in_maintenance, campaign id) of a compute service.

    The collection disables services with reasons like ``cloudmaint: campaign <id>: <text>``.
    A disabled service whose reason starts with ``prefix`` is in maintenance; the
    campaign id is None when the reason names none.
    """
    if status != 'disabled' or not prefix or not isinstance(disabled_reason, str):
        return False, None
    if not disabled_reason.startswith(prefix):
        return False, None
    rest = disabled_reason[len(prefix):].strip()
    if rest.startswith('campaign '):
        campaign = rest[len('campaign '):].split(':', 1)[0].strip()
        return True, campaign or None
    return True, None

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
              GET /os-server-groups?all_projects (offset) ceil(G / page_size) + 1 (ends on an empty page)
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
transformation is tested with recorded responses.  Every request goes through the
collection's one API client (``nova_api.NovaClient``): its retries, pagination,
microversions and errors.
"""

from __future__ import annotations

import datetime
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import MV_SERVERS, MV_SERVICES
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import PREFIX

SNAPSHOT_FORMAT = 1

PAGE_SIZE = 1000                          # nova's default [api]max_limit
PLACEMENT_DETAILS = ('summary', 'full')
PROBE_RESOURCE_CLASSES = ('MEMORY_MB', 'VCPU', 'DISK_GB')
RUNNING_STATUSES = frozenset(('ACTIVE',))
FALLBACK_WORKERS = 8

COMPUTE_BINARY = 'nova-compute'


# ---- fetching -----------------------------------------------------------------------------------

def fetch_placement(client, hypervisors, placement_detail='summary'):
    """Placement data for the providers of ``hypervisors`` (raw ``/os-hypervisors/detail`` items)."""
    if placement_detail not in PLACEMENT_DETAILS:
        raise ValueError('placement_detail must be one of %s, got %r'
                         % (', '.join(PLACEMENT_DETAILS), placement_detail))
    providers = client.placement_get('/resource_providers')[1].get('resource_providers') or []
    wanted = sorted(set(provider_map(hypervisors, providers).values()))
    summaries = {}
    probes = []
    missing = wanted
    if placement_detail == 'summary':
        for resource_class in PROBE_RESOURCE_CLASSES:
            if not missing:
                break
            body = client.placement_get('/allocation_candidates', {'resources': '%s:1' % resource_class})[1]
            probes.append(resource_class)
            for uuid, summary in (body.get('provider_summaries') or {}).items():
                summaries.setdefault(uuid, summary)
            missing = [uuid for uuid in wanted if uuid not in summaries]

    details = {}
    if missing:
        with ThreadPoolExecutor(max_workers=min(FALLBACK_WORKERS, len(missing))) as pool:
            for uuid, detail in zip(missing, pool.map(client.provider_inventory, missing)):
                if detail is not None:
                    details[uuid] = detail
    return {
        'resource_providers': providers,
        'provider_summaries': summaries,
        'provider_details': details,
        'placement': {'detail': placement_detail, 'probes': probes,
                      'fallbacks': len(missing) if placement_detail == 'summary' else 0},
    }


def fetch_raw(client, placement_detail='summary', page_size=PAGE_SIZE, parallel=True):
    """Every raw API response the snapshot needs, as one dict (see build_snapshot).

    ``client`` is a NovaClient.  With ``parallel`` the independent request
    chains run in threads, so the wall time is about that of the server pages.
    """
    raw = {'warnings': [], 'compute_microversion': client.mv(MV_SERVERS)}

    def hypervisors_and_placement():
        raw['hypervisors'] = client.hypervisors(page_size=page_size)
        raw.update(fetch_placement(client, raw['hypervisors'], placement_detail))

    def servers():
        raw['servers'] = client.list_servers(page_size=page_size)

    def the_rest():
        raw['services'] = client.compute_services()
        raw['aggregates'] = client.aggregates()
        raw['server_groups'] = client.server_groups(page_size=page_size)
        raw['projects'] = client.projects(raw['warnings'])

    chains = (servers, hypervisors_and_placement, the_rest)
    if parallel:
        with ThreadPoolExecutor(max_workers=len(chains)) as pool:
            for future in [pool.submit(chain) for chain in chains]:
                future.result()
    else:
        for chain in chains:
            chain()
    return raw


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


def fetch_snapshot(client, placement_detail='summary', page_size=PAGE_SIZE, parallel=True, now=None):
    """Fetch and build the snapshot of the cloud behind a NovaClient.

    ``request_count`` counts the API requests made (the compute version discovery
    counted once, whether or not keystoneauth had it cached); ``http_requests``
    what went over the wire, including token and discovery requests.
    """
    started = time.monotonic()
    client.require(MV_SERVICES, 'the cloud snapshot (hypervisor and service ids as UUIDs)')
    before = dict(client.requests_by_service)
    http, stop_counting = _count_http(client.conn)
    try:
        raw = fetch_raw(client, placement_detail, page_size, parallel)
    finally:
        stop_counting()
    fetched = time.monotonic()
    by_service = {service: count - before.get(service, 0) for service, count in client.requests_by_service.items()}
    by_service['compute'] = by_service.get('compute', 0) + 1   # version discovery
    snapshot = build_snapshot(raw, now=now)
    snapshot['request_count'] = sum(by_service.values())
    snapshot['requests_by_service'] = dict(sorted((k, v) for k, v in by_service.items() if v))
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
    """Provider summary resources -> {rc: {capacity, used, free}}; capacity is (total - reserved) * ratio.
    Summaries have no max_unit: ``add_max_units`` takes it from the hypervisor."""
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


# What Nova's compute drivers report as a compute node's max_unit per resource class: the node's
# whole amount (libvirt, vmware, hyperv), the fields /os-hypervisors/detail shows up to 2.87.
# Placement refuses a larger allocation of one class to one server, whatever is free.
MAX_UNIT_FIELDS = {'VCPU': 'vcpus', 'MEMORY_MB': 'memory_mb', 'DISK_GB': 'local_gb'}


def add_max_units(capacity, hypervisor):
    """Adds ``max_unit`` from the hypervisor's totals where the capacity has none (summary mode)."""
    for rc, field in MAX_UNIT_FIELDS.items():
        total = hypervisor.get(field)
        if rc in capacity and capacity[rc].get('max_unit') is None and isinstance(total, int) and total > 0:
            capacity[rc]['max_unit'] = total
    return capacity


def _add_capacity(target, extra):
    for rc, values in extra.items():
        if rc not in target:
            target[rc] = dict(values)
            continue
        for key in ('capacity', 'used', 'free', 'total', 'reserved'):
            if key in values:
                target[rc][key] = target[rc].get(key, 0) + values[key]
        # One server lands on one node: the largest node's max_unit bounds it.
        units = [u for u in (target[rc].get('max_unit'), values.get('max_unit')) if u is not None]
        if units:
            target[rc]['max_unit'] = max(units)


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
        capacity = add_max_units(_provider_capacity(rp, summaries, details), hyp)
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

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""cloud_snapshot: pagination and request counting against a fake paged API, and the pure transforms.

The API bodies below are trimmed copies of what the sandbox cloud (Nova 2.96,
Placement 1.29, Keystone v3) returns.
"""

from __future__ import annotations

import datetime
import math
import types

import pytest

from ansible_collections.cloudmaint.openstack.plugins.module_utils import cloud_snapshot as cs
from ansible_collections.cloudmaint.openstack.plugins.module_utils import nova_api

AZ1, AZ2 = 'az1', 'az2'


def hypervisor(name, number, state='up', status='enabled', reason=None):
    return {'id': 'rp-%s' % name, 'hypervisor_hostname': name, 'state': state, 'status': status,
            'hypervisor_type': 'fake', 'host_ip': '127.0.1.%d' % number,
            'service': {'id': 'svc-%s' % name, 'host': name, 'disabled_reason': reason}}


def service(name, zone, state='up', status='enabled', reason=None, forced_down=False):
    return {'binary': 'nova-compute', 'host': name, 'id': 'svc-%s' % name, 'zone': zone, 'status': status,
            'state': state, 'updated_at': '2026-11-21T11:27:52.000000', 'disabled_reason': reason,
            'forced_down': forced_down}


def server(number, host, status='ACTIVE', metadata=None, project='p-web', name=None, addresses=None):
    return {
        'id': 'srv-%04d' % number, 'name': name or 'vm-%04d' % number, 'status': status, 'tenant_id': project,
        'user_id': 'u-1', 'OS-EXT-SRV-ATTR:host': host, 'OS-EXT-SRV-ATTR:hypervisor_hostname': host,
        'OS-EXT-AZ:availability_zone': AZ1, 'OS-EXT-STS:vm_state': 'active' if status == 'ACTIVE' else 'stopped',
        'OS-EXT-STS:task_state': None, 'OS-EXT-STS:power_state': 1 if status == 'ACTIVE' else 4, 'locked': False,
        'flavor': {'vcpus': 1, 'ram': 2048, 'disk': 20, 'ephemeral': 0, 'swap': 0, 'original_name': 'm1.small',
                   'extra_specs': {}},
        'metadata': metadata if metadata is not None else {'sla': 'cattle'},
        'addresses': addresses or {}, 'accessIPv4': '', 'accessIPv6': '',
        'created': '2026-11-21T11:26:24Z', 'updated': '2026-11-21T11:26:34Z',
    }


def summary(vcpu_used=2, ram_used=4096, disk_used=40):
    return {'resources': {'VCPU': {'capacity': 64, 'used': vcpu_used},
                          'MEMORY_MB': {'capacity': 47104, 'used': ram_used},
                          'DISK_GB': {'capacity': 500, 'used': disk_used}},
            'traits': ['COMPUTE_NODE'], 'parent_provider_uuid': None}


INVENTORIES = {
    'VCPU': {'total': 16, 'reserved': 0, 'min_unit': 1, 'max_unit': 16, 'step_size': 1, 'allocation_ratio': 4.0},
    'MEMORY_MB': {'total': 49152, 'reserved': 2048, 'min_unit': 1, 'max_unit': 49152, 'step_size': 1,
                  'allocation_ratio': 1.0},
    'DISK_GB': {'total': 500, 'reserved': 0, 'min_unit': 1, 'max_unit': 500, 'step_size': 1,
                'allocation_ratio': 1.0},
}


class FakeCloud:
    """Answers the snapshot's GETs like Nova/Placement/Keystone do, and records them.

    ``max_limit`` is Nova's [api]max_limit: a larger ``limit`` is capped.
    """

    def __init__(self, hosts=6, servers=36, groups=1, max_limit=1000):
        self.hypervisors = [hypervisor('hv%02d' % i, i) for i in range(1, hosts + 1)]
        self.services = [service('hv%02d' % i, AZ1 if i <= hosts // 2 else AZ2) for i in range(1, hosts + 1)]
        self.servers = [server(i, 'hv%02d' % (i % hosts + 1)) for i in range(servers)]
        self.server_groups = [{'id': 'sg-%d' % g, 'name': 'group-%d' % g, 'policy': 'anti-affinity', 'rules': {},
                               'members': [s['id'] for s in self.servers[g * 2:g * 2 + 2]], 'project_id': 'p-web'}
                              for g in range(groups)]
        self.aggregates = [
            {'id': 1, 'name': 'agg-az1', 'availability_zone': AZ1, 'metadata': {'availability_zone': AZ1},
             'hosts': [h['service']['host'] for h in self.hypervisors[:hosts // 2]]},
            {'id': 2, 'name': 'agg-az2', 'availability_zone': AZ2, 'metadata': {'availability_zone': AZ2},
             'hosts': [h['service']['host'] for h in self.hypervisors[hosts // 2:]]},
        ]
        self.providers = [{'uuid': h['id'], 'name': h['hypervisor_hostname']} for h in self.hypervisors]
        self.summaries = {h['id']: summary() for h in self.hypervisors}
        self.probe_summaries = {}   # resource class -> summaries, when it differs from self.summaries
        self.projects = [{'id': 'p-web', 'name': 'web-shop'}, {'id': 'p-lab', 'name': 'data-lab'}]
        self.projects_status = 200
        self.max_limit = max_limit
        self.log = []
        self.fail = {}  # path -> (status, body)

    def _marker_page(self, items, key, params):
        limit = min(int(params.get('limit', self.max_limit)), self.max_limit)
        start = 0
        if 'marker' in params:
            start = [item['id'] for item in items].index(params['marker']) + 1
        page = items[start:start + limit]
        body = {key: page}
        if len(page) == limit:
            body[key + '_links'] = [{'rel': 'next', 'href': 'http://internal:8774/v2.1/next'}]
        return body

    def _offset_page(self, items, key, params):
        limit = min(int(params.get('limit', self.max_limit)), self.max_limit)
        offset = int(params.get('offset', 0))
        return {key: items[offset:offset + limit]}

    def get(self, service, path, params, microversion):
        params = dict(params or {})
        self.log.append((service, path, params, microversion))
        if path in self.fail:
            return self.fail[path]
        if path == '/os-hypervisors/detail':
            return 200, self._marker_page(self.hypervisors, 'hypervisors', params)
        if path == '/servers/detail':
            assert params.get('all_tenants') == 'True'
            return 200, self._marker_page(self.servers, 'servers', params)
        if path == '/os-server-groups':
            assert params.get('all_projects') == 'True'
            return 200, self._offset_page(self.server_groups, 'server_groups', params)
        if path == '/os-services':
            return 200, {'services': self.services}
        if path == '/os-aggregates':
            return 200, {'aggregates': self.aggregates}
        if path == '/resource_providers':
            return 200, {'resource_providers': self.providers}
        if path == '/allocation_candidates':
            rc = params['resources'].split(':')[0]
            summaries = self.probe_summaries.get(rc, self.summaries)
            return 200, {'allocation_requests': [], 'provider_summaries': summaries}
        if path.startswith('/resource_providers/') and path.endswith('/inventories'):
            return 200, {'resource_provider_generation': 3, 'inventories': INVENTORIES}
        if path.startswith('/resource_providers/') and path.endswith('/usages'):
            return 200, {'resource_provider_generation': 3, 'usages': {'VCPU': 5, 'MEMORY_MB': 10240, 'DISK_GB': 100}}
        if path == '/projects':
            if self.projects_status != 200:
                return self.projects_status, {'error': {'code': 403, 'message': 'You are not authorized.'}}
            return 200, {'projects': self.projects, 'links': {'next': None}}
        return 404, {'itemNotFound': {'code': 404, 'message': 'no route %s' % path}}

    def paths(self):
        return [entry[1] for entry in self.log]


class Answer:
    def __init__(self, status, body):
        self.status_code = status
        self.body = body
        self.headers = {}
        self.text = ''
        self.reason = ''

    def json(self):
        return self.body


class Proxy:
    """An openstacksdk service proxy in front of FakeCloud."""

    def __init__(self, cloud, service):
        self.cloud = cloud
        self.service = service

    def request(self, url, method, json=None, params=None, microversion=None, raise_exc=False):
        assert method == 'GET' and raise_exc is False
        return Answer(*self.cloud.get(self.service, url, params, microversion))


def client(cloud, max_microversion='2.96'):
    conn = types.SimpleNamespace(**{service: Proxy(cloud, service) for service in ('compute', 'placement', 'identity')})
    return nova_api.NovaClient(conn, max_microversion, sleep=lambda _s: None)


def fetch(cloud, placement_detail='summary', page_size=1000, parallel=False):
    nova = client(cloud)
    raw = cs.fetch_raw(nova, placement_detail, page_size, parallel)
    return nova, raw


def pages(count, size):
    """Requests for a marker-paged list: a full last page costs an extra empty one."""
    return count // size + 1


# ---- pagination and request counting -------------------------------------------------------------

def test_marker_pagination_follows_links_and_uses_the_last_id():
    cloud = FakeCloud(servers=23)
    nova = client(cloud)
    items = nova.list_all('/servers/detail', 'servers', '2.96', {'all_tenants': 'True'}, 10)
    assert [s['id'] for s in items] == [s['id'] for s in cloud.servers]
    assert nova.requests == 3
    assert [entry[2].get('marker') for entry in cloud.log] == [None, 'srv-0009', 'srv-0019']
    assert all(entry[2]['limit'] == 10 for entry in cloud.log)


def test_marker_pagination_exact_multiple_costs_one_empty_page():
    cloud = FakeCloud(servers=20)
    nova = client(cloud)
    items = nova.list_all('/servers/detail', 'servers', '2.96', {'all_tenants': 'True'}, 10)
    assert len(items) == 20
    assert nova.requests == 3


def test_marker_pagination_survives_a_lower_server_side_cap():
    cloud = FakeCloud(servers=23, max_limit=5)
    nova = client(cloud)
    items = nova.list_all('/servers/detail', 'servers', '2.96', {'all_tenants': 'True'}, 10)
    assert len(items) == 23
    assert nova.requests == 5


def test_offset_pagination_of_server_groups():
    cloud = FakeCloud(servers=60, groups=25)
    nova = client(cloud)
    items = nova.list_by_offset('/os-server-groups', 'server_groups', '2.64', {'all_projects': 'True'}, 10)
    assert [g['id'] for g in items] == [g['id'] for g in cloud.server_groups]
    assert [entry[2].get('offset') for entry in cloud.log] == [None, 10, 20, 25]


def test_offset_pagination_survives_a_lower_server_side_cap():
    # Nova answers 5 where 10 were asked for: a short page is not the end, only an empty one is.
    cloud = FakeCloud(servers=60, groups=25, max_limit=5)
    nova = client(cloud)
    items = nova.list_by_offset('/os-server-groups', 'server_groups', '2.64', {'all_projects': 'True'}, 10)
    assert [g['id'] for g in items] == [g['id'] for g in cloud.server_groups]
    assert nova.requests == 6


def expected_requests(hosts, servers, groups, page_size):
    # Server groups page by offset without links: the list ends on an empty page.
    compute = pages(hosts, page_size) + pages(servers, page_size) + 1 + 1 + math.ceil(groups / page_size) + 1
    placement = 1 + 1   # providers list, one allocation candidates query
    identity = 1
    return compute + placement + identity


@pytest.mark.parametrize('parallel', [False, True])
def test_request_count_grows_only_with_pages(parallel):
    small = FakeCloud(hosts=6, servers=36)
    get_small, raw_small = fetch(small, page_size=10, parallel=parallel)
    assert get_small.requests == expected_requests(6, 36, 1, 10) == 4 + 1 + 1 + 1 + 2 + 2 + 1
    assert len(raw_small['servers']) == 36

    double = FakeCloud(hosts=6, servers=72)
    get_double, raw_double = fetch(double, page_size=10, parallel=parallel)
    assert len(raw_double['servers']) == 72
    assert get_double.requests - get_small.requests == pages(72, 10) - pages(36, 10) == 4
    assert get_double.requests_by_service['placement'] == get_small.requests_by_service['placement'] == 2

    # the default page size: the same requests for 36 and 72 servers
    assert fetch(small)[0].requests == fetch(double)[0].requests == 9  # + version discovery in fetch_snapshot


def test_no_request_per_server_or_per_host_in_summary_mode():
    cloud = FakeCloud(hosts=40, servers=400)
    fetch(cloud)
    paths = cloud.paths()
    assert not [p for p in paths if p.startswith('/servers/') and p != '/servers/detail']
    assert not [p for p in paths if p.startswith('/resource_providers/')]
    assert not [p for p in paths if p.startswith('/flavors')]


def test_every_request_uses_the_microversion_it_relies_on():
    cloud = FakeCloud()
    fetch(cloud)
    expected = {'/servers/detail': '2.96', '/os-services': '2.53', '/os-aggregates': '2.41',
                # From 2.88 each listed hypervisor costs an RPC to its compute (uptime), which fails
                # the whole listing while one compute is down.
                '/os-hypervisors/detail': '2.87', '/os-server-groups': '2.64', '/projects': None}
    for service, path, _params, microversion in cloud.log:
        assert microversion == (nova_api.MV_PLACEMENT if service == 'placement' else expected[path]), path


def test_an_older_cloud_gets_its_highest_microversion_and_one_too_old_a_clear_error():
    snapshot = cs.fetch_snapshot(client(FakeCloud(), '2.60'), parallel=False)
    assert snapshot['compute_microversion'] == '2.60'
    for too_old in (None, '2.52'):
        with pytest.raises(nova_api.MicroversionError, match='microversion 2.53 or later, but the cloud offers'):
            cs.fetch_snapshot(client(FakeCloud(), too_old))


# ---- placement -------------------------------------------------------------------------------------

def test_full_host_found_by_a_second_probe_costs_no_fallback():
    cloud = FakeCloud()
    full = cloud.hypervisors[4]['id']
    cloud.probe_summaries['MEMORY_MB'] = {k: v for k, v in cloud.summaries.items() if k != full}
    get, raw = fetch(cloud)
    assert raw['placement'] == {'detail': 'summary', 'probes': ['MEMORY_MB', 'VCPU'], 'fallbacks': 0}
    assert full in raw['provider_summaries']
    assert get.requests_by_service['placement'] == 3


def test_provider_missing_from_every_probe_falls_back_to_inventories_and_usages():
    cloud = FakeCloud()
    full = cloud.hypervisors[5]['id']
    cloud.summaries = {k: v for k, v in cloud.summaries.items() if k != full}
    get, raw = fetch(cloud)
    assert raw['placement'] == {'detail': 'summary', 'probes': ['MEMORY_MB', 'VCPU', 'DISK_GB'], 'fallbacks': 1}
    assert get.requests_by_service['placement'] == 1 + 3 + 2
    assert sorted(p for p in cloud.paths() if p.startswith('/resource_providers/')) == [
        '/resource_providers/%s/inventories' % full, '/resource_providers/%s/usages' % full]
    snapshot = cs.build_snapshot(raw)
    assert snapshot['hypervisors']['hv06']['capacity']['MEMORY_MB'] == {
        'capacity': 47104, 'used': 10240, 'free': 36864, 'total': 49152, 'reserved': 2048,
        'allocation_ratio': 1.0, 'max_unit': 49152}
    assert snapshot['hypervisors']['hv01']['capacity']['MEMORY_MB'] == {'capacity': 47104, 'used': 4096,
                                                                        'free': 43008}


def test_providers_that_are_not_hypervisors_never_cost_a_fallback():
    cloud = FakeCloud()
    cloud.providers.append({'uuid': 'ovs-agent', 'name': 'hv01:Open vSwitch agent'})
    get, raw = fetch(cloud)
    assert raw['placement']['fallbacks'] == 0
    assert raw['placement']['probes'] == ['MEMORY_MB']


def test_full_detail_reads_every_hypervisor_provider():
    cloud = FakeCloud(hosts=6)
    get, raw = fetch(cloud, placement_detail='full', parallel=True)
    assert get.requests_by_service['placement'] == 1 + 2 * 6
    assert raw['placement'] == {'detail': 'full', 'probes': [], 'fallbacks': 0}
    assert '/allocation_candidates' not in cloud.paths()
    capacity = cs.build_snapshot(raw)['hypervisors']['hv03']['capacity']
    assert capacity['VCPU'] == {'capacity': 64, 'used': 5, 'free': 59, 'total': 16, 'reserved': 0,
                                'allocation_ratio': 4.0, 'max_unit': 16}


def test_unknown_placement_detail_is_refused():
    with pytest.raises(ValueError, match='summary, full'):
        cs.fetch_placement(client(FakeCloud()), [], 'everything')


def test_capacity_is_placement_arithmetic():
    inventories = {'VCPU': {'total': 10, 'reserved': 1, 'allocation_ratio': 1.5, 'max_unit': 10},
                   'MEMORY_MB': {'total': 1000, 'reserved': 0, 'max_unit': 1000}}
    capacity = cs.capacity_from_inventory(inventories, {'VCPU': 4})
    assert capacity['VCPU']['capacity'] == int((10 - 1) * 1.5) == 13
    assert capacity['VCPU']['free'] == 9
    assert capacity['MEMORY_MB'] == {'capacity': 1000, 'used': 0, 'free': 1000, 'total': 1000, 'reserved': 0,
                                     'allocation_ratio': 1.0, 'max_unit': 1000}
    assert cs.capacity_from_summary({'VCPU': {'capacity': 13, 'used': 4}}) == {
        'VCPU': {'capacity': 13, 'used': 4, 'free': 9}}


def test_provider_map_prefers_uuid_then_name():
    hyps = [{'id': 'a', 'hypervisor_hostname': 'hv01'}, {'id': 'b', 'hypervisor_hostname': 'hv02'},
            {'id': 'c', 'hypervisor_hostname': 'hv03'}]
    providers = [{'uuid': 'a', 'name': 'whatever'}, {'uuid': 'rp-b', 'name': 'hv02'}]
    assert cs.provider_map(hyps, providers) == {'a': 'a', 'b': 'rp-b'}


# ---- errors -----------------------------------------------------------------------------------------

def test_http_error_is_an_api_error_with_the_service_message():
    cloud = FakeCloud()
    cloud.fail['/os-hypervisors/detail'] = (403, {'forbidden': {'code': 403, 'message':
                                                                "Policy doesn't allow os_compute_api:os-hypervisors:list-detail to be performed."}})
    with pytest.raises(nova_api.NovaError) as info:
        fetch(cloud)
    assert info.value.status == 403
    assert info.value.service == 'Compute'
    assert str(info.value) == ("GET /os-hypervisors/detail: Policy doesn't allow "
                               "os_compute_api:os-hypervisors:list-detail to be performed. (HTTP 403, 1 attempt)")


def test_project_listing_forbidden_is_tolerated():
    cloud = FakeCloud()
    cloud.projects_status = 403
    get, raw = fetch(cloud)
    assert raw['projects'] is None
    snapshot = cs.build_snapshot(raw)
    assert snapshot['projects'] is None
    assert snapshot['servers']['srv-0000']['project_name'] is None
    assert snapshot['warnings'] == ['project names unavailable: listing projects is not allowed (HTTP 403)']


@pytest.mark.parametrize('body, message', [
    ({'errors': [{'status': 404, 'title': 'Not Found', 'detail': 'No resource provider with uuid x found'}]},
     'No resource provider with uuid x found'),
    ({'badRequest': {'code': 400, 'message': "'all_projects' does not match"}}, "'all_projects' does not match"),
    ({'error': {'code': 401, 'message': 'The request you have made requires authentication.'}},
     'The request you have made requires authentication.'),
    ('not json', ''),
])
def test_api_error_message(body, message):
    assert nova_api.error_message(body) == message


# ---- the transformation ----------------------------------------------------------------------------

def sandbox_raw():
    cloud = FakeCloud(hosts=6, servers=12, groups=1)
    cloud.services[1] = service('hv02', AZ1, status='disabled', reason='cloudmaint: campaign c-42: kernel')
    cloud.services[2] = service('hv03', AZ1, state='down', forced_down=True)
    cloud.servers[0]['status'] = 'SHUTOFF'
    cloud.servers.append(server(99, None, status='SHELVED_OFFLOADED'))
    return fetch(cloud)[1]


def test_build_snapshot_hypervisors():
    now = datetime.datetime(2026, 11, 21, 12, 0, 0, tzinfo=datetime.timezone.utc)
    snapshot = cs.build_snapshot(sandbox_raw(), now=now)
    assert snapshot['fetched_at'] == '2026-11-21T12:00:00Z'
    assert sorted(snapshot['hypervisors']) == ['hv01', 'hv02', 'hv03', 'hv04', 'hv05', 'hv06']
    hv01 = snapshot['hypervisors']['hv01']
    assert hv01['zone'] == AZ1 and hv01['aggregates'] == ['agg-az1']
    assert hv01['host_ip'] == '127.0.1.1'
    assert hv01['resource_provider'] == 'rp-hv01'
    assert hv01['capacity']['VCPU'] == {'capacity': 64, 'used': 2, 'free': 62}
    # servers 0, 6 are on hv01 (i % 6 + 1); server 0 is SHUTOFF
    assert hv01['servers'] == ['srv-0000', 'srv-0006']
    assert (hv01['server_count'], hv01['running_servers']) == (2, 1)
    hv02 = snapshot['hypervisors']['hv02']
    assert (hv02['status'], hv02['disabled_reason']) == ('disabled', 'cloudmaint: campaign c-42: kernel')
    hv03 = snapshot['hypervisors']['hv03']
    assert (hv03['state'], hv03['forced_down']) == ('down', True)
    assert snapshot['hypervisors']['hv06']['zone'] == AZ2


def test_max_unit_comes_from_the_hypervisor_in_summary_mode_and_from_placement_in_full_mode():
    cloud = FakeCloud(hosts=2)
    for hyp in cloud.hypervisors:
        hyp.update(vcpus=8, memory_mb=49152, local_gb=500)
    summary_mode = cs.build_snapshot(fetch(cloud)[1])['hypervisors']['hv01']['capacity']
    assert summary_mode['VCPU'] == {'capacity': 64, 'used': 2, 'free': 62, 'max_unit': 8}
    assert summary_mode['MEMORY_MB']['max_unit'] == 49152 and summary_mode['DISK_GB']['max_unit'] == 500
    full_mode = cs.build_snapshot(fetch(cloud, placement_detail='full')[1])['hypervisors']['hv01']['capacity']
    assert full_mode['VCPU']['max_unit'] == INVENTORIES['VCPU']['max_unit'] == 16


def test_max_unit_of_a_host_with_several_nodes_is_its_largest_node():
    raw = sandbox_raw()
    twin = dict(raw['hypervisors'][0], id='rp-hv01b', hypervisor_hostname='hv01b', vcpus=4)
    raw['hypervisors'][0]['vcpus'] = 2
    raw['hypervisors'].append(twin)
    raw['resource_providers'].append({'uuid': 'rp-hv01b', 'name': 'hv01b'})
    raw['provider_summaries']['rp-hv01b'] = summary()
    hv01 = cs.build_snapshot(raw)['hypervisors']['hv01']
    assert hv01['nodes'] == ['hv01', 'hv01b']
    assert hv01['capacity']['VCPU'] == {'capacity': 128, 'used': 4, 'free': 124, 'max_unit': 4}


def test_no_max_unit_without_totals():
    # Ironic nodes and hypervisors past 2.87 report no totals: no limit is made up.
    capacity = cs.add_max_units({'VCPU': {'capacity': 8, 'used': 0, 'free': 8}}, {'vcpus': 0})
    assert capacity == {'VCPU': {'capacity': 8, 'used': 0, 'free': 8}}


def test_build_snapshot_servers_and_groups():
    snapshot = cs.build_snapshot(sandbox_raw())
    srv = snapshot['servers']['srv-0001']
    assert srv['host'] == 'hv02'
    assert srv['project_name'] == 'web-shop'
    assert srv['flavor'] == {'name': 'm1.small', 'vcpus': 1, 'ram': 2048, 'disk': 20, 'ephemeral': 0, 'swap': 0}
    assert srv['server_groups'] == ['sg-0']
    assert snapshot['servers']['srv-0002']['server_groups'] == []
    assert snapshot['server_groups']['sg-0']['policy'] == 'anti-affinity'
    assert snapshot['server_groups']['sg-0']['members'] == ['srv-0000', 'srv-0001']
    assert snapshot['servers']['srv-0099']['host'] is None
    assert snapshot['aggregates']['agg-az2']['hosts'] == ['hv04', 'hv05', 'hv06']
    assert snapshot['projects'] == {'p-web': 'web-shop', 'p-lab': 'data-lab'}
    assert snapshot['warnings'] == []


def test_build_snapshot_shares_metadata_instead_of_copying():
    raw = sandbox_raw()
    snapshot = cs.build_snapshot(raw)
    assert snapshot['servers']['srv-0003']['metadata'] is raw['servers'][3]['metadata']


def test_build_snapshot_odd_inventories():
    raw = sandbox_raw()
    raw['servers'].append(server(77, 'gone-host'))
    raw['services'].append(service('hv07', 'nova'))   # a service without compute node yet
    raw['hypervisors'].append(dict(hypervisor('hv01-node2', 9), service={'host': 'hv01', 'id': 'svc-hv01'}))
    raw['resource_providers'].append({'uuid': 'rp-hv01-node2', 'name': 'hv01-node2'})
    raw['provider_summaries']['rp-hv01-node2'] = summary(vcpu_used=10)
    raw['server_groups'].append({'id': 'sg-old', 'name': 'old', 'policies': ['affinity'], 'members': []})
    snapshot = cs.build_snapshot(raw)
    assert snapshot['warnings'] == ['servers on host gone-host, which is not a known compute host']
    assert snapshot['hypervisors']['hv07']['capacity'] == {}
    assert snapshot['hypervisors']['hv07']['zone'] == 'nova'
    assert snapshot['hypervisors']['hv01']['nodes'] == ['hv01', 'hv01-node2']
    assert snapshot['hypervisors']['hv01']['capacity']['VCPU'] == {'capacity': 128, 'used': 12, 'free': 116}
    assert snapshot['server_groups']['sg-old']['policy'] == 'affinity'


def test_build_snapshot_of_nothing():
    snapshot = cs.build_snapshot({})
    assert snapshot['hypervisors'] == {} and snapshot['servers'] == {} and snapshot['projects'] is None


def test_preferred_address():
    assert cs.preferred_address({'addresses': {}}) is None
    both = {'addresses': {'net': [{'addr': '10.0.0.5', 'version': 4, 'OS-EXT-IPS:type': 'fixed'},
                                  {'addr': '2001:db8::5', 'version': 6, 'OS-EXT-IPS:type': 'fixed'},
                                  {'addr': '203.0.113.5', 'version': 4, 'OS-EXT-IPS:type': 'floating'}]}}
    assert cs.preferred_address(both) == '203.0.113.5'
    # The owner writes accessIPv4 (any address, another machine's too): never used.
    assert cs.preferred_address(dict(both, accessIPv4='198.51.100.1', accessIPv6='2001:db8::99')) == '203.0.113.5'
    assert cs.preferred_address({'addresses': {}, 'accessIPv4': '192.0.2.1'}) is None
    v6 = {'addresses': {'net': [{'addr': '2001:db8::5', 'version': 6}]}}
    assert cs.preferred_address(v6) == '2001:db8::5'


@pytest.mark.parametrize('status, reason, expected', [
    ('disabled', 'cloudmaint: campaign c-42: kernel upgrade', (True, 'c-42')),
    ('disabled', 'cloudmaint: manual', (True, None)),
    ('disabled', 'cloudmaint:campaign x: y', (True, 'x')),
    ('disabled', 'hardware fault', (False, None)),
    ('disabled', None, (False, None)),
    ('enabled', 'cloudmaint: campaign c-42: stale reason', (False, None)),
])
def test_maintenance_state(status, reason, expected):
    assert cs.maintenance_state(status, reason) == expected


def test_build_snapshot_is_linear_enough_for_20000_servers():
    cloud = FakeCloud(hosts=1000, servers=20000, groups=50)
    raw = fetch(cloud)[1]
    snapshot = cs.build_snapshot(raw)
    assert len(snapshot['servers']) == 20000
    assert sum(h['server_count'] for h in snapshot['hypervisors'].values()) == 20000

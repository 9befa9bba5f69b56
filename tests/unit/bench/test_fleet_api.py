# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""bench/fleet_api.py: pagination, microversions, authentication and request counting, on loopback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest

import fleet
import fleet_api


@pytest.fixture(scope='module')
def api():
    # 2,500 servers: three pages of Nova's max_limit (1000), the last one short.
    with fleet_api.FleetAPI(fleet.generate_fleet(100, 2500, seed=3)) as running:
        yield running


def call(api, method, path, headers=None, body=None, token=True):
    headers = dict(headers or {})
    if token:
        headers['X-Auth-Token'] = api.token
    request = urllib.request.Request(api.base + path if path.startswith('/') else path, method=method,
                                     headers=headers, data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b'null')
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b'null')


@pytest.fixture(scope='module', autouse=True)
def token(api):
    auth = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {
        'name': fleet_api.USERNAME, 'password': fleet_api.PASSWORD, 'domain': {'name': 'Default'}}}},
        'scope': {'project': {'name': 'admin', 'domain': {'name': 'Default'}}}}}
    status, headers, body = call(api, 'POST', '/identity/v3/auth/tokens', {'Content-Type': 'application/json'},
                                 auth, token=False)
    assert status == 201
    api.token = headers['X-Subject-Token']
    types = {entry['type'] for entry in body['token']['catalog']}
    assert {'identity', 'compute', 'placement'} <= types


NOVA = {'OpenStack-API-Version': 'compute 2.96'}


def test_servers_paginate_like_nova_and_requests_are_counted(api):
    api.reset_counts()
    url, seen, pages = '/compute/v2.1/servers/detail?all_tenants=True', [], 0
    while url:
        status, headers, body = call(api, 'GET', url, NOVA)
        assert status == 200
        assert headers['OpenStack-API-Version'] == 'compute 2.96'
        assert headers['X-OpenStack-Nova-API-Version'] == '2.96'
        pages += 1
        seen.extend(server['id'] for server in body['servers'])
        links = body.get('servers_links') or []
        url = links[0]['href'] if links else None
        if url:
            query = parse_qs(urlsplit(url).query)
            assert query['marker'] == [body['servers'][-1]['id']] and query['all_tenants'] == ['True']
    assert seen == [server['id'] for server in api.fleet.servers]
    assert pages == 3
    assert api.counts() == {'GET /compute/v2.1/servers/detail': 3}
    assert api.total_requests() == 3


def test_full_last_page_announces_one_more(api):
    status, _headers, body = call(api, 'GET', '/compute/v2.1/os-hypervisors/detail?limit=50', NOVA)
    assert status == 200 and len(body['hypervisors']) == 50 and body['hypervisors_links']
    marker = body['hypervisors'][-1]['id']
    _status, _headers, body = call(api, 'GET', '/compute/v2.1/os-hypervisors/detail?limit=50&marker=%s' % marker, NOVA)
    assert len(body['hypervisors']) == 50 and body['hypervisors_links']
    _status, _headers, body = call(api, 'GET', body['hypervisors_links'][0]['href'], NOVA)
    assert body == {'hypervisors': []}


def test_limit_above_max_limit_is_capped(api):
    _status, _headers, body = call(api, 'GET', '/compute/v2.1/servers/detail?all_tenants=True&limit=5000', NOVA)
    assert len(body['servers']) == fleet_api.MAX_LIMIT and body['servers_links']


def test_unknown_marker_is_a_bad_request(api):
    status, _headers, body = call(api, 'GET', '/compute/v2.1/servers/detail?all_tenants=True&marker=nope', NOVA)
    assert status == 400 and 'marker' in body['badRequest']['message']


def test_server_groups_page_by_offset(api):
    groups = api.fleet.server_groups
    _status, _headers, body = call(api, 'GET', '/compute/v2.1/os-server-groups?all_projects=True&limit=10&offset=20', NOVA)
    assert [g['id'] for g in body['server_groups']] == [g['id'] for g in groups[20:30]]


def test_microversions(api):
    status, headers, _body = call(api, 'GET', '/compute/v2.1/os-aggregates')
    assert status == 200 and headers['X-OpenStack-Nova-API-Version'] == '2.1'
    status, headers, _body = call(api, 'GET', '/compute/v2.1/os-aggregates', {'X-OpenStack-Nova-API-Version': '2.60'})
    assert headers['OpenStack-API-Version'] == 'compute 2.60'
    status, _headers, _body = call(api, 'GET', '/compute/v2.1/os-aggregates', {'OpenStack-API-Version': 'compute 2.97'})
    assert status == 406
    status, headers, _body = call(api, 'GET', '/placement/resource_providers', {'OpenStack-API-Version': 'placement 1.29'})
    assert status == 200 and headers['openstack-api-version'] == 'placement 1.29'


def test_version_documents_need_no_token(api):
    status, _headers, body = call(api, 'GET', '/compute/v2.1', token=False)
    assert status == 200 and body['version']['version'] == '2.96' and body['version']['min_version'] == '2.1'
    status, _headers, body = call(api, 'GET', '/placement', token=False)
    assert status == 200 and body['versions'][0]['max_version']
    status, _headers, _body = call(api, 'GET', '/compute/v2.1/os-aggregates', token=False)
    assert status == 401


def test_placement_capacity_and_usage(api):
    hyp = api.fleet.hypervisors[0]
    placement = {'OpenStack-API-Version': 'placement 1.29'}
    _status, _headers, usages = call(api, 'GET', '/placement/resource_providers/%s/usages' % hyp['id'], placement)
    assert usages['usages'] == fleet.usage_by_host(api.fleet)[hyp['name']]
    _status, _headers, candidates = call(api, 'GET', '/placement/allocation_candidates?resources=MEMORY_MB:1',
                                         placement)
    summary = candidates['provider_summaries'][hyp['id']]['resources']['MEMORY_MB']
    assert summary['used'] == usages['usages']['MEMORY_MB']


def test_unknown_paths_are_listed_and_fixture_calls_not_counted(api):
    api.reset_counts()
    status, _headers, _body = call(api, 'GET', '/compute/v2.1/os-nothing', NOVA)
    assert status == 404
    status, _headers, _body = call(api, 'GET', '/network/v2.0/ports')
    assert status == 200
    _status, _headers, body = call(api, 'GET', '/_fixture/requests')
    assert body['unknown'] == {'GET /compute/v2.1/os-nothing': 1}
    assert body['total'] == 2
    assert api.total_requests() == 2


def test_count_key_groups_ids():
    assert fleet_api.count_key('GET', '/placement/resource_providers/0b9f3c55-3c5e-4c0e-9d7e-2f6f3a1b2c3d/usages') \
        == 'GET /placement/resource_providers/{id}/usages'


def test_marker_page_helper():
    items = [{'id': str(i)} for i in range(5)]
    assert fleet_api.marker_page(items, {'limit': '2'}) == (items[:2], True)
    assert fleet_api.marker_page(items, {'limit': '2', 'marker': '3'}) == (items[4:], False)
    with pytest.raises(fleet_api.HTTPError):
        fleet_api.marker_page(items, {'marker': 'x'})

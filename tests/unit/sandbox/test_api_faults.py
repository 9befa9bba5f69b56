# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The sandbox's API fault middleware (cmsandbox.api_faults), with a plain WSGI app behind it."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

from cmsandbox import api_faults


def backend(environ, start_response):
    body = json.dumps({'path': environ['PATH_INFO'], 'method': environ['REQUEST_METHOD'],
                       'query': environ.get('QUERY_STRING', ''),
                       'mv': environ.get('HTTP_OPENSTACK_API_VERSION')}).encode()
    start_response('200 OK', [('Content-Type', 'application/json'),
                              ('Content-Length', str(len(body)))])
    return [body]


def call(app, method='GET', path='/v2.1/servers'):
    seen = {}

    def start_response(status, headers):
        seen['status'] = int(status.split()[0])
        seen['headers'] = dict(headers)
    body = b''.join(app({'REQUEST_METHOD': method, 'PATH_INFO': path, 'SCRIPT_NAME': ''},
                        start_response))
    return seen['status'], seen['headers'], json.loads(body)


def test_count_is_consumed_then_requests_pass(tmp_path):
    path = str(tmp_path / 'faults.json')
    app = api_faults.wrap('nova', backend, path)
    api_faults.arm('nova', 503, count=2, path=path)
    first = call(app)
    assert first[0] == 503 and first[1]['X-Sandbox-Fault'] == 'injected'
    assert first[2]['computeFault']['code'] == 503
    assert call(app)[0] == 503
    assert call(app)[0] == 200
    assert api_faults.armed(path) == {}
    log = [json.loads(line) for line in open(path + '.log')]
    assert [entry['fault'] for entry in log] == [503, 503]


def test_until_expires(tmp_path, monkeypatch):
    path = str(tmp_path / 'faults.json')
    api_faults.arm('nova', 500, seconds=60, path=path)
    until = api_faults.armed(path)['nova']['until']
    assert api_faults.take('nova', 'GET', '/x', path, now=until - 1)['status'] == 500
    assert api_faults.take('nova', 'GET', '/x', path, now=until + 1) is None
    assert api_faults.take('glance', 'GET', '/x', path, now=until - 1) is None


def test_methods_and_paths_narrow_the_fault(tmp_path):
    path = str(tmp_path / 'faults.json')
    app = api_faults.wrap('nova', backend, path)
    api_faults.arm('nova', 502, count=1, methods=['post'], paths=['/v2.1/servers'], path=path)
    assert call(app, 'GET')[0] == 200
    assert call(app, 'POST', '/v2.1/os-services')[0] == 200
    assert call(app, 'POST', '/v2.1/servers/x/action')[0] == 502
    assert call(app, 'POST', '/v2.1/servers/x/action')[0] == 200


def test_delay_answers_late(tmp_path):
    path = str(tmp_path / 'faults.json')
    slept = []
    app = api_faults.FaultMiddleware('nova', backend, path, sleep=slept.append)
    api_faults.arm('nova', delay_s=7, count=1, path=path)
    assert call(app)[0] == 200
    assert slept == [7.0]


def test_no_file_no_fault_and_clear(tmp_path):
    path = str(tmp_path / 'faults.json')
    app = api_faults.wrap('nova', backend, path)
    assert call(app)[0] == 200
    api_faults.arm('nova', 503, path=path)
    api_faults.arm('glance', 503, path=path)
    api_faults.clear('nova', path=path)
    assert set(api_faults.armed(path)) == {'glance'}
    api_faults.clear(path=path)
    assert api_faults.armed(path) == {}


def test_count_is_exact_under_concurrency(tmp_path):
    path = str(tmp_path / 'faults.json')
    app = api_faults.wrap('nova', backend, path)
    api_faults.arm('nova', 503, count=10, path=path)
    statuses = []

    def worker():
        for _attempt in range(5):
            statuses.append(call(app)[0])
    threads = [threading.Thread(target=worker) for _thread in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(503) == 10 and statuses.count(200) == 20


def test_proxy_forwards_method_query_headers_and_errors(tmp_path):
    path = str(tmp_path / 'faults.json')

    def origin(environ, start_response):
        if environ['PATH_INFO'] == '/missing':
            start_response('404 Not Found', [('Content-Type', 'application/json')])
            return [b'{"itemNotFound": {"code": 404}}']
        return backend(environ, start_response)
    behind = api_faults.serve(origin)
    front = api_faults.serve(api_faults.wrap('nova', api_faults.proxy(
        'http://127.0.0.1:%d' % behind.server_port), path))
    base = 'http://127.0.0.1:%d' % front.server_port
    try:
        request = urllib.request.Request(base + '/v2.1/servers/detail?all_tenants=True',
                                         headers={'OpenStack-API-Version': 'compute 2.96'})
        answer = json.loads(urllib.request.urlopen(request).read())
        assert answer == {'path': '/v2.1/servers/detail', 'method': 'GET',
                          'query': 'all_tenants=True', 'mv': 'compute 2.96'}
        try:
            urllib.request.urlopen(base + '/missing')
            raise AssertionError('404 expected')
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
        api_faults.arm('nova', 503, count=1, path=path)
        try:
            urllib.request.urlopen(base + '/v2.1/servers')
            raise AssertionError('503 expected')
        except urllib.error.HTTPError as exc:
            assert exc.code == 503 and exc.headers['X-Sandbox-Fault'] == 'injected'
    finally:
        front.shutdown()
        behind.shutdown()


def test_forward_carries_the_request_out_and_loses_its_answer(tmp_path):
    path = str(tmp_path / 'faults.json')
    done = []

    def acting(environ, start_response):
        done.append((environ['REQUEST_METHOD'], environ['PATH_INFO']))
        return backend(environ, start_response)
    app = api_faults.wrap('nova', acting, path)
    api_faults.arm('nova', 503, count=1, methods=['POST'], forward=True, path=path)
    status, headers, body = call(app, 'POST', '/v2.1/servers/x/action')
    assert (status, headers['X-Sandbox-Fault']) == (503, 'injected')
    assert body['computeFault']['code'] == 503
    assert done == [('POST', '/v2.1/servers/x/action')], 'the action reached the service'
    status, _headers, _body = call(app, 'POST', '/v2.1/servers/x/action')
    assert status == 200 and len(done) == 2
    with open(path + '.log') as handle:
        assert [json.loads(line)['fault'] for line in handle] == ['503 after forwarding']

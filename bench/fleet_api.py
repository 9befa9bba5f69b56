"""An HTTP stand-in for Keystone, Nova, Placement (and an empty Neutron) serving a generated fleet.

For benchmarks of inventory plugins at cloud scale: stdlib ``http.server``,
threaded, on 127.0.0.1 and a free port.  It answers the calls the
``cloudmaint.openstack.compute`` and ``openstack.cloud.openstack`` inventories
make, paginates like Nova (limit/marker, ``<collection>_links`` next links,
[api]max_limit 1000; server groups by limit/offset), answers microversion
headers like Nova and Placement, and counts every request per path (``counts()``
in process, ``GET /_fixture/requests`` over HTTP; fixture paths are not counted).
Paths it does not know are answered 404 and listed in ``unknown()``.

    .venv/bin/python bench/fleet_api.py --hypervisors 100 --servers 2000
prints the clouds.yaml to use (cloud ``fleet``) and serves until interrupted.
"""

import argparse
import collections
import datetime
import http.server
import json
import os
import re
import secrets
import sys
import threading
import time
import uuid
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fleet as fleet_model  # noqa: E402  pylint: disable=wrong-import-position
import fleet_views as views  # noqa: E402  pylint: disable=wrong-import-position

MAX_LIMIT = 1000  # nova [api]max_limit default
USERNAME = 'admin'
PASSWORD = 'fleet-bench-password'
CLOUD = 'fleet'
TRUE_VALUES = ('', '1', 't', 'true', 'on', 'y', 'yes')  # oslo strutils, plus a bare ?all_tenants
_UUID = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}')
_NEUTRON_KEYS = {'security-groups': 'security_groups', 'floatingips': 'floatingips'}


class HTTPError(Exception):
    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def parse_version(text):
    major, minor = text.strip().split('.')
    return int(major), int(minor)


def requested_microversion(headers, service, legacy_header=None, default='1.0', maximum='1.0'):
    """The microversion a request asks for ('latest' is the maximum); HTTPError 406 when out of range."""
    value = None
    for item in (headers.get('OpenStack-API-Version') or '').split(','):
        parts = item.strip().split()
        if len(parts) == 2 and parts[0].lower() == service:
            value = parts[1]
    if value is None and legacy_header:
        value = headers.get(legacy_header)
    if not value:
        return default
    if value.strip() == 'latest':
        return maximum
    try:
        wanted = parse_version(value)
    except ValueError:
        raise HTTPError(400, {'badRequest': {'code': 400, 'message': 'Invalid API version %s' % value}})
    if wanted > parse_version(maximum) or wanted < parse_version(default):
        raise HTTPError(406, views.nova_error(406, 'Version %s is not supported by the API. Minimum is %s and '
                                                   'maximum is %s.' % (value, default, maximum)))
    return '%d.%d' % wanted


def marker_page(items, params, id_key='id'):
    """(page, has_next) of a Nova limit/marker list; HTTPError 400 for a bad limit or an unknown marker."""
    try:
        limit = min(int(params.get('limit', MAX_LIMIT)), MAX_LIMIT)
    except ValueError:
        raise HTTPError(400, views.nova_error(400, 'limit param must be an integer'))
    if limit < 0:
        raise HTTPError(400, views.nova_error(400, 'limit param must be positive'))
    start = 0
    if 'marker' in params:
        index = items.index_of(params['marker']) if hasattr(items, 'index_of') else None
        if index is None:
            ids = [item[id_key] for item in items]
            index = ids.index(params['marker']) if params['marker'] in ids else None
        if index is None:
            raise HTTPError(400, views.nova_error(400, 'marker [%s] not found' % params['marker']))
        start = index + 1
    page = items[start:start + limit]
    return page, bool(limit) and len(page) == limit


def offset_page(items, params):
    """Nova's limit/offset slicing (common.limited), as for server groups."""
    try:
        offset = int(params.get('offset', 0))
        limit = min(int(params.get('limit', MAX_LIMIT)), MAX_LIMIT)
    except ValueError:
        raise HTTPError(400, views.nova_error(400, 'limit and offset must be integers'))
    return items[offset:offset + limit]


def count_key(method, path):
    """'GET /compute/v2.1/servers/detail'; ids in the path become {id} so counts group by call."""
    return '%s %s' % (method, _UUID.sub('{id}', path.rstrip('/') or '/'))


class FleetAPI:
    """The fixture: ``start()`` it, point clients at ``clouds_yaml()``, read ``counts()``, ``stop()`` it."""

    def __init__(self, fleet, host='127.0.0.1', port=0, latency_ms=0.0):
        self.fleet = fleet
        self.host = host
        self.port = port
        self.latency = latency_ms / 1000.0
        self.base = None
        self._server = None
        self._thread = None
        self._lock = threading.Lock()
        self._counts = collections.Counter()
        self._unknown = collections.Counter()
        self._tokens = set()
        self._usage = fleet_model.usage_by_host(fleet)
        self._server_json = []
        self._server_index = {}
        self._hypervisor_index = {h['id']: i for i, h in enumerate(fleet.hypervisors)}
        self._hypervisor_by_id = {h['id']: h for h in fleet.hypervisors}

    # ---- lifecycle --------------------------------------------------------------------------------

    def start(self):
        api = self

        class Handler(_Handler):
            fixture = api

        self._server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base = 'http://%s:%d' % (self.host, self.port)
        # Server bodies are rendered once: the benchmark measures the clients, not the fixture.
        self._server_json = [views.dumps(views.server(s, self.base)) for s in self.fleet.servers]
        self._server_index = {s['id']: i for i, s in enumerate(self.fleet.servers)}
        self._thread = threading.Thread(target=self._server.serve_forever, name='fleet-api', daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- what clients need ------------------------------------------------------------------------

    @property
    def auth_url(self):
        return '%s%s/v3' % (self.base, views.IDENTITY_PREFIX)

    def clouds_yaml(self, cloud=CLOUD):
        """clouds.yaml content (a dict; JSON is valid YAML) for an admin of this fleet."""
        return {'clouds': {cloud: {
            'auth': {'auth_url': self.auth_url, 'username': USERNAME, 'password': PASSWORD,
                     'project_name': self.fleet.admin_project['name'], 'user_domain_name': 'Default',
                     'project_domain_name': 'Default'},
            'region_name': 'RegionOne', 'interface': 'public', 'identity_api_version': 3,
        }}}

    def write_clouds_yaml(self, path, cloud=CLOUD):
        with open(path, 'w', encoding='utf-8') as handle:
            json.dump(self.clouds_yaml(cloud), handle, indent=1)
        return path

    # ---- request counts ---------------------------------------------------------------------------

    def counts(self):
        with self._lock:
            return dict(self._counts)

    def total_requests(self):
        with self._lock:
            return sum(self._counts.values())

    def unknown(self):
        with self._lock:
            return dict(self._unknown)

    def reset_counts(self):
        with self._lock:
            self._counts.clear()
            self._unknown.clear()

    def _count(self, method, path, known=True):
        with self._lock:
            self._counts[count_key(method, path)] += 1
            if not known:
                self._unknown[count_key(method, path)] += 1

    # ---- routing ----------------------------------------------------------------------------------

    def handle(self, method, path, params, headers, body):
        """(status, body bytes or dict, extra headers) for one request."""
        if path.startswith('/_fixture/'):
            return self._fixture_call(method, path)
        if self.latency:
            time.sleep(self.latency)
        for prefix, route in ((views.IDENTITY_PREFIX, self._identity), (views.COMPUTE_PREFIX, self._compute),
                              (views.PLACEMENT_PREFIX, self._placement), (views.NETWORK_PREFIX, self._network)):
            if path == prefix or path.startswith(prefix + '/'):
                rest = path[len(prefix):].rstrip('/')
                try:
                    status, answer, extra = route(method, rest, params, headers, body)
                except HTTPError as exc:
                    status, answer, extra = exc.status, exc.body, exc.headers
                self._count(method, path, known=status != 404)
                return status, answer, extra
        self._count(method, path, known=False)
        return 404, {'error': {'code': 404, 'message': 'The resource could not be found.'}}, {}

    def _fixture_call(self, method, path):
        if path == '/_fixture/requests' and method == 'GET':
            return 200, {'requests': self.counts(), 'total': self.total_requests(), 'unknown': self.unknown()}, {}
        if path == '/_fixture/reset' and method == 'POST':
            self.reset_counts()
            return 204, b'', {}
        return 404, {'error': {'code': 404, 'message': 'no fixture call %s %s' % (method, path)}}, {}

    def _authorized(self, headers):
        if headers.get('X-Auth-Token') not in self._tokens:
            raise HTTPError(401, {'error': {'code': 401, 'title': 'Unauthorized',
                                            'message': 'The request you have made requires authentication.'}},
                            {'WWW-Authenticate': 'Keystone uri="%s"' % self.auth_url})

    # ---- keystone ---------------------------------------------------------------------------------

    def _identity(self, method, rest, params, headers, body):
        if rest == '' and method == 'GET':
            return 300, views.identity_versions(self.base), {'Location': self.auth_url + '/'}
        if rest == '/v3' and method == 'GET':
            return 200, views.identity_version(self.base), {}
        if rest == '/v3/auth/tokens' and method == 'POST':
            return self._issue_token(body)
        if rest == '/v3/projects' and method == 'GET':
            self._authorized(headers)
            return 200, views.projects(self.fleet, self.base), {}
        return 404, {'error': {'code': 404, 'title': 'Not Found', 'message': 'Could not find %s.' % rest}}, {}

    def _issue_token(self, body):
        try:
            password = json.loads(body or b'{}')['auth']['identity']['password']['user']
        except (ValueError, KeyError, TypeError):
            password = {}
        if password.get('name') != USERNAME or password.get('password') != PASSWORD:
            raise HTTPError(401, {'error': {'code': 401, 'title': 'Unauthorized',
                                            'message': 'The request you have made requires authentication.'}})
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        stamp = '%Y-%m-%dT%H:%M:%S.000000Z'
        subject = 'gAAAAA' + secrets.token_urlsafe(140)
        with self._lock:
            self._tokens.add(subject)
        answer = views.token(self.fleet, self.base, now.strftime(stamp),
                             (now + datetime.timedelta(hours=4)).strftime(stamp), secrets.token_urlsafe(16)[:22])
        return 201, answer, {'X-Subject-Token': subject}

    # ---- nova -------------------------------------------------------------------------------------

    def _compute(self, method, rest, params, headers, body):
        if rest == '' and method == 'GET':
            return 200, views.compute_versions(self.base), {}
        if not rest.startswith('/v2.1'):
            return 404, views.nova_error(404, 'The resource could not be found.'), {}
        version = requested_microversion(headers, 'compute', 'X-OpenStack-Nova-API-Version',
                                         views.COMPUTE_MIN_VERSION, views.COMPUTE_MAX_VERSION)
        extra = {'OpenStack-API-Version': 'compute %s' % version, 'X-OpenStack-Nova-API-Version': version,
                 'Vary': 'OpenStack-API-Version, X-OpenStack-Nova-API-Version'}
        rest = rest[len('/v2.1'):]
        if rest == '' and method == 'GET':
            return 200, views.compute_version(self.base), extra
        self._authorized(headers)
        if method != 'GET':
            return 405, views.nova_error(405, 'The method is not allowed for the requested URL.'), extra
        handler = {
            '/servers/detail': self._servers_detail,
            '/servers': self._servers_detail,
            '/os-hypervisors/detail': self._hypervisors_detail,
            '/os-services': self._services,
            '/os-aggregates': self._aggregates,
            '/os-server-groups': self._server_groups,
            '/flavors/detail': self._flavors,
        }.get(rest)
        if handler is None:
            return 404, views.nova_error(404, 'The resource could not be found.'), extra
        if parse_version(version) < (2, 53) and rest == '/os-hypervisors/detail' and 'marker' in params:
            raise HTTPError(400, views.nova_error(400, 'Additional properties are not allowed (marker)'), extra)
        status, answer = handler(rest, params)
        return status, answer, extra

    def _servers_detail(self, rest, params):
        servers = self.fleet.servers
        if params.get('all_tenants', 'false').lower() not in TRUE_VALUES:
            servers = [s for s in servers if s['project_id'] == self.fleet.admin_project['id']]
        index = self._server_index
        if servers is not self.fleet.servers:
            index = {s['id']: i for i, s in enumerate(servers)}
        if 'marker' in params and params['marker'] not in index:
            raise HTTPError(400, views.nova_error(400, 'marker [%s] not found' % params['marker']))
        page, has_next = marker_page(_Indexed(servers, index), params)
        if rest == '/servers':
            chunks = [views.dumps({'id': s['id'], 'links': views.server(s, self.base)['links'], 'name': s['name']})
                      for s in page]
        else:
            chunks = [self._server_json[self._server_index[s['id']]] for s in page]
        out = b'{"servers": [' + b', '.join(chunks) + b']'
        if has_next:
            out += b', "servers_links": ' + views.dumps(
                [{'rel': 'next', 'href': views.next_link(self.base, '/v2.1' + rest, params, page[-1]['id'])}])
        return 200, out + b'}'

    def _hypervisors_detail(self, rest, params):
        hypervisors = self.fleet.hypervisors
        page, has_next = marker_page(_Indexed(hypervisors, self._hypervisor_index), params)
        answer = {'hypervisors': [views.hypervisor(h) for h in page]}
        if has_next:
            answer['hypervisors_links'] = [{'rel': 'next', 'href': views.next_link(
                self.base, '/v2.1' + rest, params, page[-1]['id'])}]
        return 200, answer

    def _services(self, rest, params):
        binary = params.get('binary')
        host = params.get('host')
        updated_at = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.000000')
        services = [views.service(h, updated_at) for h in self.fleet.hypervisors
                    if binary in (None, 'nova-compute') and host in (None, h['name'])]
        return 200, {'services': services}

    def _aggregates(self, rest, params):
        return 200, {'aggregates': [views.aggregate(a) for a in self.fleet.aggregates]}

    def _server_groups(self, rest, params):
        groups = self.fleet.server_groups
        if params.get('all_projects', 'false').lower() not in TRUE_VALUES:
            groups = [g for g in groups if g['project_id'] == self.fleet.admin_project['id']]
        return 200, {'server_groups': [views.server_group(g, self.fleet.admin_user['id'])
                                       for g in offset_page(groups, params)]}

    def _flavors(self, rest, params):
        return 200, {'flavors': [views.flavor(f, self.base) for f in self.fleet.flavors]}

    # ---- placement --------------------------------------------------------------------------------

    def _placement(self, method, rest, params, headers, body):
        if rest == '' and method == 'GET':
            return 200, views.placement_versions(), {'openstack-api-version': 'placement 1.0',
                                                     'vary': 'openstack-api-version'}
        try:
            version = requested_microversion(headers, 'placement', None, views.PLACEMENT_MIN_VERSION,
                                             views.PLACEMENT_MAX_VERSION)
        except HTTPError as exc:
            raise HTTPError(406, views.placement_error(406, 'Not Acceptable', str(exc.body)))
        extra = {'openstack-api-version': 'placement %s' % version, 'vary': 'openstack-api-version',
                 'Cache-Control': 'no-cache'}
        self._authorized(headers)
        if method != 'GET':
            return 405, views.placement_error(405, 'Method Not Allowed', 'not supported here'), extra
        if rest == '/resource_providers':
            return 200, {'resource_providers': [views.resource_provider(h) for h in self.fleet.hypervisors]}, extra
        if rest == '/allocation_candidates':
            if parse_version(version) < (1, 10):
                return 404, views.placement_error(404, 'Not Found', 'The resource could not be found.'), extra
            resources = {}
            for item in params.get('resources', '').split(','):
                if ':' in item:
                    rc, amount = item.split(':', 1)
                    resources[rc.strip()] = int(amount)
            if not resources:
                return 400, views.placement_error(400, 'Bad Request', "'resources' is a required property"), extra
            return 200, views.allocation_candidates(self.fleet.hypervisors, self._usage, resources), extra
        match = re.match(r'^/resource_providers/([^/]+)/(inventories|usages)$', rest)
        if match:
            record = self._hypervisor_by_id.get(match.group(1))
            if record is None:
                return 404, views.placement_error(404, 'Not Found', 'No resource provider with uuid %s found'
                                                  % match.group(1)), extra
            if match.group(2) == 'inventories':
                return 200, {'resource_provider_generation': record['generation'],
                             'inventories': views.inventories(record)}, extra
            return 200, {'resource_provider_generation': record['generation'],
                         'usages': dict(self._usage[record['name']])}, extra
        return 404, views.placement_error(404, 'Not Found', 'The resource could not be found.'), extra

    # ---- neutron: nothing in it (as in the sandbox, whose stand-in answers empty lists) ------------------------------------------------------

    def _network(self, method, rest, params, headers, body):
        if rest == '' and method == 'GET':
            return 200, views.network_versions(self.base), {}
        self._authorized(headers)
        match = re.match(r'^/v2\.0/([a-z-]+)$', rest)
        if match and method == 'GET':
            name = match.group(1)
            return 200, {_NEUTRON_KEYS.get(name, name.replace('-', '_')): []}, {}
        return 404, {'NeutronError': {'type': 'HTTPNotFound', 'message': 'The resource could not be found.',
                                      'detail': ''}}, {}


class _Indexed:
    """A list with an id -> position index, for O(1) markers."""

    def __init__(self, items, index):
        self._items = items
        self._index = index

    def index_of(self, item_id):
        return self._index.get(item_id)

    def __getitem__(self, key):
        return self._items[key]

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    fixture = None
    server_version = 'fleet-api'
    sys_version = ''

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def _serve(self, method):
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        status, answer, extra = self.fixture.handle(method, parts.path, params, self.headers, body)
        payload = answer if isinstance(answer, bytes) else views.dumps(answer)
        self.send_response(status)
        if payload or status != 204:
            self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(payload)))
        self.send_header('x-openstack-request-id', 'req-%s' % uuid.uuid4())
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        if method != 'HEAD':
            self.wfile.write(payload)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self._serve('GET')

    def do_POST(self):  # noqa: N802
        self._serve('POST')

    def do_HEAD(self):  # noqa: N802
        self._serve('HEAD')

    def do_PUT(self):  # noqa: N802
        self._serve('PUT')

    def do_DELETE(self):  # noqa: N802
        self._serve('DELETE')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hypervisors', type=int, default=100)
    parser.add_argument('--servers', type=int, default=2000)
    parser.add_argument('--seed', type=int, default=2026)
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--latency-ms', type=float, default=0.0, help='added to every API request')
    parser.add_argument('--clouds-yaml', help='write the clouds.yaml here (default: print it)')
    args = parser.parse_args(argv)
    api = FleetAPI(fleet_model.generate_fleet(args.hypervisors, args.servers, args.seed), port=args.port,
                   latency_ms=args.latency_ms).start()
    if args.clouds_yaml:
        api.write_clouds_yaml(args.clouds_yaml)
        print('clouds.yaml: %s (cloud %s); request counts: %s/_fixture/requests' % (args.clouds_yaml, CLOUD,
                                                                                    api.base))
    else:
        print(json.dumps(api.clouds_yaml(), indent=1))
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        api.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())

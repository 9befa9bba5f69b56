"""API bodies for a generated fleet (bench/fleet.py), shaped like Nova 2.96, Placement 1.29 and Keystone v3.

Pure functions of the fleet model and the fixture's base URL.  Key order and
value types follow what the real services return (tests/integration/
test_scale_fixture_shapes.py compares them with the sandbox cloud).  Fields
Nova adds in microversions after 2.53 are always rendered: the fixture answers
every microversion from 2.53 to 2.96 with the 2.96 body.
"""

import hashlib
import json
from urllib.parse import urlencode

COMPUTE_MIN_VERSION = '2.1'
COMPUTE_MAX_VERSION = '2.96'
PLACEMENT_MIN_VERSION = '1.0'
PLACEMENT_MAX_VERSION = '1.39'
KEYSTONE_VERSION = 'v3.14'

COMPUTE_PREFIX = '/compute'
PLACEMENT_PREFIX = '/placement'
IDENTITY_PREFIX = '/identity'
NETWORK_PREFIX = '/network'

COMPUTE_NODE_TRAITS = ('COMPUTE_NODE', 'COMPUTE_NET_ATTACH_INTERFACE', 'COMPUTE_VOLUME_EXTEND',
                       'COMPUTE_VOLUME_MULTI_ATTACH', 'COMPUTE_IMAGE_TYPE_QCOW2', 'COMPUTE_IMAGE_TYPE_RAW',
                       'HW_CPU_X86_AVX2', 'OWNER_NOVA')


# ---- version discovery ----------------------------------------------------------------------------

def compute_versions(base):
    return {'versions': [
        {'id': 'v2.0', 'status': 'DEPRECATED', 'version': '', 'min_version': '', 'updated': '2025-07-04T12:00:00Z',
         'links': [{'rel': 'self', 'href': '%s%s/v2/' % (base, COMPUTE_PREFIX)}]},
        {'id': 'v2.1', 'status': 'CURRENT', 'version': COMPUTE_MAX_VERSION, 'min_version': COMPUTE_MIN_VERSION,
         'updated': '2013-07-23T11:33:21Z', 'links': [{'rel': 'self', 'href': '%s%s/v2.1/' % (base, COMPUTE_PREFIX)}]},
    ]}


def compute_version(base):
    return {'version': {
        'id': 'v2.1', 'status': 'CURRENT', 'version': COMPUTE_MAX_VERSION, 'min_version': COMPUTE_MIN_VERSION,
        'updated': '2013-07-23T11:33:21Z',
        'links': [{'rel': 'self', 'href': '%s%s/v2.1/' % (base, COMPUTE_PREFIX)},
                  {'rel': 'describedby', 'type': 'text/html', 'href': 'http://docs.openstack.org/'}],
        'media-types': [{'base': 'application/json',
                         'type': 'application/vnd.openstack.compute+json;version=2.1'}],
    }}


def placement_versions():
    return {'versions': [{'id': 'v1.0', 'max_version': PLACEMENT_MAX_VERSION, 'min_version': PLACEMENT_MIN_VERSION,
                          'status': 'CURRENT', 'links': [{'rel': 'self', 'href': ''}]}]}


def _identity_version_entry(base):
    return {'id': KEYSTONE_VERSION, 'status': 'stable', 'updated': '2020-04-07T00:00:00Z',
            'links': [{'rel': 'self', 'href': '%s%s/v3/' % (base, IDENTITY_PREFIX)}],
            'media-types': [{'base': 'application/json', 'type': 'application/vnd.openstack.identity-v3+json'}]}


def identity_versions(base):
    return {'versions': {'values': [_identity_version_entry(base)]}}


def identity_version(base):
    return {'version': _identity_version_entry(base)}


def network_versions(base):
    return {'versions': [{'id': 'v2.0', 'status': 'CURRENT',
                          'links': [{'rel': 'self', 'href': '%s%s/v2.0/' % (base, NETWORK_PREFIX)}]}]}


# ---- keystone -------------------------------------------------------------------------------------

def catalog(fleet, base):
    """The service catalog of a token: the services of the sandbox cloud but Glance, all on this fixture."""
    services = (('keystone', 'identity', IDENTITY_PREFIX + '/v3'), ('nova', 'compute', COMPUTE_PREFIX + '/v2.1'),
                ('placement', 'placement', PLACEMENT_PREFIX), ('neutron', 'network', NETWORK_PREFIX))
    entries = []
    for name, service_type, path in services:
        endpoints = [{'id': hashlib.md5(('%s-%s' % (name, interface)).encode()).hexdigest(),
                      'interface': interface, 'region_id': 'RegionOne', 'url': base + path, 'region': 'RegionOne'}
                     for interface in ('public', 'internal', 'admin')]
        entries.append({'endpoints': endpoints, 'id': hashlib.md5(name.encode()).hexdigest(),
                        'type': service_type, 'name': name})
    return entries


def token(fleet, base, issued_at, expires_at, audit_id):
    domain = {'id': 'default', 'name': 'Default'}
    return {'token': {
        'methods': ['password'],
        'user': {'domain': domain, 'id': fleet.admin_user['id'], 'name': fleet.admin_user['name'],
                 'password_expires_at': None},
        'audit_ids': [audit_id],
        'expires_at': expires_at,
        'issued_at': issued_at,
        'project': {'domain': domain, 'id': fleet.admin_project['id'], 'name': fleet.admin_project['name']},
        'is_domain': False,
        'roles': [{'id': hashlib.md5(role.encode()).hexdigest(), 'name': role}
                  for role in ('admin', 'manager', 'reader', 'member')],
        'catalog': catalog(fleet, base),
    }}


def project(record, base):
    return {'id': record['id'], 'name': record['name'], 'domain_id': 'default', 'description': record['description'],
            'enabled': True, 'parent_id': 'default', 'is_domain': False, 'tags': [], 'options': {},
            'links': {'self': '%s%s/v3/projects/%s' % (base, IDENTITY_PREFIX, record['id'])}}


def projects(fleet, base):
    everything = [fleet.admin_project] + list(fleet.projects)
    return {'projects': [project(p, base) for p in everything],
            'links': {'next': None, 'self': '%s%s/v3/projects' % (base, IDENTITY_PREFIX), 'previous': None}}


# ---- nova -----------------------------------------------------------------------------------------

def host_id(host, project_id):
    """Nova's obfuscated hostId: sha224 of project id + host, '' without a host."""
    if not host:
        return ''
    return hashlib.sha224((project_id + host).encode('utf-8')).hexdigest()


def server(record, base):
    """One item of GET /servers/detail at 2.96, as admin."""
    compute = base + COMPUTE_PREFIX
    addresses = {}
    for network, version, addr, kind, mac in record['addresses']:
        addresses.setdefault(network, []).append({'version': version, 'addr': addr, 'OS-EXT-IPS:type': kind,
                                                  'OS-EXT-IPS-MAC:mac_addr': mac})
    flavor = record['flavor']
    body = {
        'accessIPv4': '', 'accessIPv6': '',
        'addresses': addresses,
        'created': record['created'],
        'flavor': {'vcpus': flavor['vcpus'], 'ram': flavor['ram'], 'disk': flavor['disk'],
                   'ephemeral': flavor['ephemeral'], 'swap': flavor['swap'], 'original_name': flavor['name'],
                   'extra_specs': dict(flavor['extra_specs'])},
        'hostId': host_id(record['host'], record['project_id']),
        'id': record['id'],
        'image': {'id': record['image_id'],
                  'links': [{'rel': 'bookmark', 'href': '%s/images/%s' % (compute, record['image_id'])}]},
        'links': [{'rel': 'self', 'href': '%s/v2.1/servers/%s' % (compute, record['id'])},
                  {'rel': 'bookmark', 'href': '%s/servers/%s' % (compute, record['id'])}],
        'metadata': dict(record['metadata']),
        'name': record['name'],
        'status': record['status'],
        'tenant_id': record['project_id'],
        'user_id': record['user_id'],
        'updated': record['updated'],
        'OS-DCF:diskConfig': 'MANUAL',
    }
    if record['status'] == 'ACTIVE':
        body['progress'] = 0
    body.update({
        'OS-EXT-AZ:availability_zone': record['zone'],
        'config_drive': '',
        'key_name': None,
        'OS-SRV-USG:launched_at': record['launched_at'],
        'OS-SRV-USG:terminated_at': None,
        'OS-EXT-SRV-ATTR:host': record['host'],
        'OS-EXT-SRV-ATTR:instance_name': record['instance_name'],
        'OS-EXT-SRV-ATTR:hypervisor_hostname': record['host'],
        'OS-EXT-SRV-ATTR:hostname': record['name'],
        'OS-EXT-SRV-ATTR:kernel_id': '',
        'OS-EXT-SRV-ATTR:launch_index': 0,
        'OS-EXT-SRV-ATTR:ramdisk_id': '',
        'OS-EXT-SRV-ATTR:reservation_id': record['reservation_id'],
        'OS-EXT-SRV-ATTR:root_device_name': '/dev/vda',
        'OS-EXT-SRV-ATTR:user_data': None,
        'OS-EXT-STS:task_state': None,
        'OS-EXT-STS:vm_state': record['vm_state'],
        'OS-EXT-STS:power_state': record['power_state'],
        'os-extended-volumes:volumes_attached': [],
        'locked': False,
        'description': None,
        'tags': [],
        'trusted_image_certificates': None,
        'locked_reason': None,
        'pinned_availability_zone': record['zone'],
        'host_status': 'UP' if record['host'] else '',
    })
    return body


UPTIME = ' 12:00:00 up 41 days,  2:31,  1 user,  load average: 0.08, 0.03, 0.01\n'


def hypervisor(record):
    """One item of GET /os-hypervisors/detail at 2.88 and later."""
    return {'id': record['id'], 'hypervisor_hostname': record['name'], 'state': record['state'],
            'status': record['status'], 'hypervisor_type': 'QEMU', 'hypervisor_version': record['hypervisor_version'],
            'host_ip': record['host_ip'],
            'service': {'id': record['service_id'], 'host': record['name'],
                        'disabled_reason': record['disabled_reason']},
            # libvirt's driver answers with the host's `uptime` line; Nova gives null for a host it cannot ask.
            'uptime': UPTIME if record['state'] == 'up' else None}


def service(record, updated_at):
    return {'binary': 'nova-compute', 'host': record['name'], 'id': record['service_id'], 'zone': record['zone'],
            'status': record['status'], 'state': record['state'], 'updated_at': updated_at,
            'disabled_reason': record['disabled_reason'], 'forced_down': record['forced_down']}


def aggregate(record):
    body = {'id': record['id'], 'uuid': record['uuid'], 'name': record['name'], 'hosts': list(record['hosts']),
            'metadata': dict(record['metadata']), 'created_at': record['created_at'], 'updated_at': None,
            'deleted_at': None, 'deleted': False}
    body['availability_zone'] = record['zone']
    return body


def server_group(record, user_id):
    return {'id': record['id'], 'name': record['name'], 'policy': record['policy'], 'rules': {},
            'members': list(record['members']), 'project_id': record['project_id'], 'user_id': user_id}


def flavor(record, base):
    compute = base + COMPUTE_PREFIX
    return {'id': record['id'], 'name': record['name'], 'ram': record['ram'], 'disk': record['disk'],
            'swap': record['swap'], 'OS-FLV-EXT-DATA:ephemeral': record['ephemeral'],
            'OS-FLV-DISABLED:disabled': False, 'vcpus': record['vcpus'], 'os-flavor-access:is_public': True,
            'rxtx_factor': 1.0,
            'links': [{'rel': 'self', 'href': '%s/v2.1/flavors/%s' % (compute, record['id'])},
                      {'rel': 'bookmark', 'href': '%s/flavors/%s' % (compute, record['id'])}],
            'description': None, 'extra_specs': dict(record['extra_specs'])}


def next_link(base, path, params, marker):
    """Nova's next link: the request's own parameters, sorted, with the new marker (nova common._get_next_link)."""
    query = dict(sorted(params.items()))
    query['marker'] = marker
    return '%s%s%s?%s' % (base, COMPUTE_PREFIX, path, urlencode(query))


def nova_error(status, message):
    names = {400: 'badRequest', 401: 'unauthorized', 403: 'forbidden', 404: 'itemNotFound',
             406: 'notAcceptable', 405: 'methodNotAllowed'}
    return {names.get(status, 'computeFault'): {'code': status, 'message': message}}


# ---- placement ------------------------------------------------------------------------------------

def inventories(record):
    return {
        'VCPU': {'total': record['cores'], 'reserved': 0, 'min_unit': 1, 'max_unit': record['cores'],
                 'step_size': 1, 'allocation_ratio': 4.0},
        'MEMORY_MB': {'total': record['ram_mb'], 'reserved': 8192, 'min_unit': 1, 'max_unit': record['ram_mb'],
                      'step_size': 1, 'allocation_ratio': 1.0},
        'DISK_GB': {'total': record['disk_gb'], 'reserved': 0, 'min_unit': 1, 'max_unit': record['disk_gb'],
                    'step_size': 1, 'allocation_ratio': 1.0},
    }


def capacity(inventory):
    return int((inventory['total'] - inventory['reserved']) * inventory['allocation_ratio'])


def resource_provider(record):
    uuid = record['id']
    return {'uuid': uuid, 'name': record['name'], 'generation': record['generation'],
            'links': [{'rel': rel, 'href': '/resource_providers/%s%s' % (uuid, suffix)}
                      for rel, suffix in (('self', ''), ('inventories', '/inventories'), ('usages', '/usages'),
                                          ('aggregates', '/aggregates'), ('traits', '/traits'),
                                          ('allocations', '/allocations'))],
            'parent_provider_uuid': None, 'root_provider_uuid': uuid}


def traits(record):
    extra = ('COMPUTE_STATUS_DISABLED',) if record['status'] == 'disabled' else ()
    return list(COMPUTE_NODE_TRAITS + extra)


def provider_summary(record, usage):
    inv = inventories(record)
    return {'resources': {rc: {'capacity': capacity(inv[rc]), 'used': usage.get(rc, 0)} for rc in inv},
            'traits': traits(record), 'parent_provider_uuid': None, 'root_provider_uuid': record['id']}


def allocation_candidates(hypervisors, usage, resources):
    """GET /allocation_candidates?resources=<rc>:<n>,... at 1.29 for single-provider trees."""
    requests, summaries = [], {}
    for record in hypervisors:
        inv = inventories(record)
        used = usage[record['name']]
        if all(rc in inv and capacity(inv[rc]) - used.get(rc, 0) >= amount and amount <= inv[rc]['max_unit']
               for rc, amount in resources.items()):
            requests.append({'allocations': {record['id']: {'resources': dict(resources)}}})
            summaries[record['id']] = provider_summary(record, used)
    return {'allocation_requests': requests, 'provider_summaries': summaries}


def placement_error(status, title, detail):
    return {'errors': [{'status': status, 'title': title, 'detail': detail,
                        'request_id': 'req-00000000-0000-4000-8000-000000000000'}]}


def dumps(body):
    return json.dumps(body, separators=(', ', ': ')).encode('utf-8')

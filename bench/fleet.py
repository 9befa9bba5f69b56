"""A generated OpenStack fleet for benchmarks: hypervisors, servers and what surrounds them.

Everything is derived from (hypervisors, servers, seed), so two runs with the
same arguments produce byte-identical API answers.  The records here are a
plain model, not API shapes; ``fleet_views`` renders them the way Nova,
Placement and Keystone do.
"""

import dataclasses
import datetime
import random
import uuid

HOSTS_PER_RACK = 40
HOSTS_PER_ZONE = 170

# (cores, RAM MiB, disk GB): three hardware generations, the newer ones more common.
HARDWARE = ((32, 262144, 1920), (48, 393216, 3840), (64, 524288, 3840))
HARDWARE_WEIGHTS = (1, 2, 3)
CPU_ALLOCATION_RATIO = 4.0
RESERVED_HOST_MEMORY_MB = 8192

# (name, vcpus, ram MiB, disk GB, ephemeral GB, swap MiB), with how often each is booted.
FLAVORS = (
    ('m1.tiny', 1, 512, 1, 0, 0), ('m1.small', 1, 2048, 20, 0, 0), ('m1.medium', 2, 4096, 40, 0, 0),
    ('m1.large', 4, 8192, 80, 0, 0), ('m1.xlarge', 8, 16384, 160, 0, 0), ('c1.large', 8, 8192, 40, 0, 0),
    ('r1.large', 4, 32768, 80, 0, 0), ('m1.large.swap', 4, 8192, 80, 20, 2048),
)
FLAVOR_WEIGHTS = (4, 20, 30, 20, 6, 8, 8, 4)

STATUSES = (  # (status, vm_state, power_state, share)
    ('ACTIVE', 'active', 1, 89),
    ('SHUTOFF', 'stopped', 4, 8),
    ('SHELVED_OFFLOADED', 'shelved_offloaded', 4, 3),
)
SLA_CLASSES = (('cattle', 65), ('pets', 28), ('pandas', 5), (None, 2))  # None: no sla key
GROUP_POLICIES = (('anti-affinity', 60), ('soft-anti-affinity', 25), ('affinity', 15))
WORKLOADS = ('web', 'api', 'db', 'cache', 'etl', 'ci-runner', 'search', 'queue', 'batch', 'notebook')
EPOCH = datetime.datetime(2026, 1, 5, 8, 0, 0)


@dataclasses.dataclass
class Fleet:
    seed: int
    zones: list
    hypervisors: list       # dicts, in compute node id order
    aggregates: list
    flavors: list
    images: list
    projects: list
    users: list
    servers: list           # newest first, like Nova's default sort (created_at desc)
    server_groups: list
    admin_project: dict
    admin_user: dict

    def server_count_by_host(self):
        counts = {}
        for server in self.servers:
            if server['host']:
                counts[server['host']] = counts.get(server['host'], 0) + 1
        return counts


def _uuid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _hex_id(rng):
    return uuid.UUID(int=rng.getrandbits(128), version=4).hex


def _pick(rng, weighted):
    """One value of a ((value, ..., weight), ...) table, weight last."""
    return rng.choices(weighted, weights=[row[-1] for row in weighted])[0]


def _stamp(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def _zones(hypervisors):
    return ['az%d' % (i + 1) for i in range(max(2, min(8, -(-hypervisors // HOSTS_PER_ZONE))))]


def _hypervisors(rng, count, zones):
    hypervisors = []
    per_zone = -(-count // len(zones))
    for index in range(count):
        zone_index = min(index // per_zone, len(zones) - 1)
        in_zone = index - zone_index * per_zone
        rack = in_zone // HOSTS_PER_RACK + 1
        cores, ram_mb, disk_gb = rng.choices(HARDWARE, weights=HARDWARE_WEIGHTS)[0]
        name = 'cmp%04d' % (index + 1)
        roll = rng.random()
        status, state, reason, forced_down = 'enabled', 'up', None, False
        if roll < 0.01:
            state = 'down'
            forced_down = rng.random() < 0.5
        elif roll < 0.02:
            status, reason = 'disabled', 'cloudmaint: campaign patch-2026-11: draining for kernel update'
        elif roll < 0.03:
            status, reason = 'disabled', 'hardware: DIMM replacement, ticket OPS-%d' % rng.randint(1000, 9999)
        hypervisors.append({
            'id': _uuid(rng), 'service_id': _uuid(rng), 'name': name, 'zone': zones[zone_index],
            'rack': 'rack-%s-%02d' % (zones[zone_index], rack),
            'host_ip': '10.%d.%d.%d' % (zone_index + 1, rack, in_zone % HOSTS_PER_RACK + 10),
            'cores': cores, 'ram_mb': ram_mb, 'disk_gb': disk_gb,
            'status': status, 'state': state, 'disabled_reason': reason, 'forced_down': forced_down,
            'hypervisor_version': rng.choice((8002000, 8002002, 9000000)),
            'generation': rng.randint(5, 400),
        })
    return hypervisors


def _aggregates(rng, hypervisors, zones):
    aggregates = []

    def add(name, hosts, metadata, zone=None):
        aggregates.append({'id': len(aggregates) + 1, 'uuid': _uuid(rng), 'name': name, 'hosts': hosts,
                           'metadata': metadata, 'zone': zone,
                           'created_at': (EPOCH + datetime.timedelta(minutes=len(aggregates))).isoformat()
                           + '.000000'})

    for zone in zones:
        add('agg-%s' % zone, [h['name'] for h in hypervisors if h['zone'] == zone],
            {'availability_zone': zone}, zone)
    racks = {}
    for hyp in hypervisors:
        racks.setdefault(hyp['rack'], []).append(hyp['name'])
    for rack, hosts in racks.items():
        add(rack, hosts, {'rack': rack})
    for name, share, metadata in (('gpu', 0.02, {'gpu': 'a100'}), ('ssd', 0.25, {'disk': 'ssd'}),
                                  ('windows-licensed', 0.10, {'os_distro': 'windows'})):
        add(name, [h['name'] for h in hypervisors if rng.random() < share], metadata)
    return aggregates


def _flavors(rng):
    return [{'id': _uuid(rng), 'name': name, 'vcpus': vcpus, 'ram': ram, 'disk': disk, 'ephemeral': ephemeral,
             'swap': swap, 'extra_specs': {}}
            for name, vcpus, ram, disk, ephemeral, swap in FLAVORS]


def _projects(rng, servers):
    count = max(4, min(400, servers // 50))
    projects = [{'id': _hex_id(rng), 'name': 'project-%03d' % (i + 1), 'description': 'benchmark tenant project'}
                for i in range(count)]
    return projects


def _fits(room, flavor):
    return room[0] >= flavor['vcpus'] and room[1] >= flavor['ram'] and room[2] >= flavor['disk'] + flavor['ephemeral']


def _place(rng, hypervisors, flavor, free):
    """A host with room for ``flavor``, or None.

    Like nova's scheduler with the RAM weigher (spread): of a few random
    candidates with room, the one with the most free memory.
    """
    candidates = [hyp for hyp in rng.sample(hypervisors, min(3, len(hypervisors))) if _fits(free[hyp['name']], flavor)]
    if not candidates:
        candidates = [hyp for hyp in hypervisors if _fits(free[hyp['name']], flavor)]
    if not candidates:
        return None
    return max(candidates, key=lambda hyp: free[hyp['name']][1])


def _addresses(rng, project_index, number):
    """[(network, version, address, type, mac)]: a fixed IPv4, sometimes a floating IPv4 and a fixed IPv6."""
    mac = 'fa:16:3e:%02x:%02x:%02x' % (rng.getrandbits(8), rng.getrandbits(8), rng.getrandbits(8))
    network = 'project-%03d-net' % (project_index + 1)
    fixed = '10.%d.%d.%d' % (100 + project_index // 250, project_index % 250, number % 250 + 2)
    addresses = [(network, 4, fixed, 'fixed', mac)]
    if rng.random() < 0.2:
        addresses.append((network, 4, '203.0.%d.%d' % (number // 250 % 250, number % 250 + 1), 'floating', mac))
    if rng.random() < 0.1:
        addresses.append((network, 6, 'fd00:%x::%x' % (project_index + 1, number + 2), 'fixed', mac))
    return addresses


def _servers(rng, count, hypervisors, flavors, images, projects, users):
    usable = [h for h in hypervisors if h['status'] == 'enabled' and h['state'] == 'up'] or hypervisors
    free = {h['name']: [int(h['cores'] * CPU_ALLOCATION_RATIO), h['ram_mb'] - RESERVED_HOST_MEMORY_MB, h['disk_gb']]
            for h in hypervisors}
    servers = []
    for number in range(count):
        flavor = rng.choices(flavors, weights=FLAVOR_WEIGHTS)[0]
        status, vm_state, power_state, _share = _pick(rng, STATUSES)
        project_index = rng.randrange(len(projects))
        hyp = _place(rng, usable, flavor, free)
        if hyp is None:
            raise ValueError('%d hypervisors have no room for %d servers' % (len(hypervisors), count))
        if status != 'SHELVED_OFFLOADED':
            room = free[hyp['name']]
            room[0] -= flavor['vcpus']
            room[1] -= flavor['ram']
            room[2] -= flavor['disk'] + flavor['ephemeral']
        created = EPOCH + datetime.timedelta(seconds=number * 37 + rng.randint(0, 30))
        workload = WORKLOADS[number % len(WORKLOADS)]
        metadata = {}
        sla = _pick(rng, SLA_CLASSES)[0]
        if sla:
            metadata['sla'] = sla
        metadata['owner'] = 'team-%02d' % (project_index % 40 + 1)
        if rng.random() < 0.01:
            metadata['cloudmaint:origin_host'] = hyp['name']
        servers.append({
            'id': _uuid(rng), 'name': '%s-%05d' % (workload, number + 1), 'number': number,
            'project_id': projects[project_index]['id'], 'project_index': project_index,
            'user_id': users[project_index % len(users)]['id'],
            'host': None if status == 'SHELVED_OFFLOADED' else hyp['name'], 'zone': hyp['zone'],
            'status': status, 'vm_state': vm_state, 'power_state': power_state,
            'flavor': flavor, 'image_id': rng.choice(images)['id'], 'metadata': metadata,
            'addresses': _addresses(rng, project_index, number),
            'created': _stamp(created), 'updated': _stamp(created + datetime.timedelta(seconds=rng.randint(4, 90000))),
            'launched_at': (created + datetime.timedelta(seconds=4)).isoformat() + '.000000',
            'reservation_id': 'r-%08x' % rng.getrandbits(32), 'instance_name': 'instance-%08x' % (number + 1),
        })
    servers.reverse()
    return servers


def _server_groups(rng, servers, projects):
    by_project = {}
    for server in servers:
        by_project.setdefault(server['project_id'], []).append(server['id'])
    groups = []
    for index in range(len(servers) // 40):
        project = projects[index % len(projects)]
        members = by_project.get(project['id']) or []
        policy = _pick(rng, GROUP_POLICIES)[0]
        groups.append({'id': _uuid(rng), 'name': '%s-group-%04d' % (policy, index + 1), 'policy': policy,
                       'members': rng.sample(members, min(len(members), rng.randint(2, 4))),
                       'project_id': project['id']})
    return groups


def generate_fleet(hypervisors, servers, seed=2026):
    """The fleet of ``hypervisors`` compute hosts running ``servers`` servers."""
    if hypervisors < 1 or servers < 0:
        raise ValueError('need at least one hypervisor and no negative server count')
    rng = random.Random(seed)
    zones = _zones(hypervisors)
    hyps = _hypervisors(rng, hypervisors, zones)
    aggregates = _aggregates(rng, hyps, zones)
    flavors = _flavors(rng)
    images = [{'id': _uuid(rng), 'name': name} for name in ('ubuntu-24.04', 'debian-13', 'rocky-9', 'windows-2025')]
    projects = _projects(rng, servers)
    users = [{'id': _hex_id(rng), 'name': 'user-%02d' % (i + 1)} for i in range(10)]
    server_list = _servers(rng, servers, hyps, flavors, images, projects, users)
    groups = _server_groups(rng, server_list, projects)
    admin_project = {'id': _hex_id(rng), 'name': 'admin', 'description': 'Bootstrap project for initializing the cloud.'}
    admin_user = {'id': _hex_id(rng), 'name': 'admin'}
    return Fleet(seed=seed, zones=zones, hypervisors=hyps, aggregates=aggregates, flavors=flavors, images=images,
                 projects=projects, users=users, servers=server_list, server_groups=groups,
                 admin_project=admin_project, admin_user=admin_user)


def usage_by_host(fleet):
    """{host: {'VCPU': n, 'MEMORY_MB': n, 'DISK_GB': n}} allocated by the servers on each host."""
    usage = {h['name']: {'VCPU': 0, 'MEMORY_MB': 0, 'DISK_GB': 0} for h in fleet.hypervisors}
    for server in fleet.servers:
        if server['host']:
            used = usage[server['host']]
            flavor = server['flavor']
            used['VCPU'] += flavor['vcpus']
            used['MEMORY_MB'] += flavor['ram']
            used['DISK_GB'] += flavor['disk'] + flavor['ephemeral']
    return usage

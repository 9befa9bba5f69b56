# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: compute
short_description: OpenStack hypervisors (and optionally their servers) for maintenance
version_added: 0.1.0
author: cloudmaint.openstack contributors (@cloudmaint)
description:
  - Makes every nova-compute host of an OpenStack cloud an inventory host, named after its compute
    service host (for example V(hv01)), with its service state, availability zone, aggregates,
    placement capacity and the servers it runs in the C(cloudmaint_hypervisor) variable.
  - With O(with_servers=true) every server is an inventory host too, with the C(cloudmaint_server) variable.
  - The whole cloud is read with a fixed number of API requests, independent of the number of servers
    and hypervisors except for pagination (about 10 plus one per 1000 servers and one per 1000 hypervisors),
    see O(placement_detail). Run C(ansible-inventory -vvv) to see the number of requests and the time taken.
  - Needs credentials allowed to list hypervisors, compute services and the servers of all projects
    (the C(admin) role with the default policies). Project names are left out, with a warning, when the
    credentials may not list projects.
  - Uses a YAML configuration file whose name ends with C(compute.yml) or C(compute.yaml).
  - 'Groups: V(hypervisors); V(enabled) and V(disabled) (the compute service status); V(down) (the compute
    service is down or forced down); V(in_maintenance) (the compute service was disabled by this collection,
    its disabled reason starts with O(maintenance_prefix)); C(az_<zone>) per availability zone and
    C(aggregate_<name>) per host aggregate. With O(with_servers=true) also V(servers), C(sla_<class>)
    per SLA class and C(status_<status>) per server status (for example V(status_active), V(status_shutoff)).
    Group names are lower case, characters other than letters, digits and V(_) are replaced by V(_).'
  - The O(compose), O(groups) and O(keyed_groups) options are applied after these groups are built.
requirements:
  - python >= 3.10
  - openstacksdk >= 4.0.0, < 5.0.0
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description:
      - Marks the file as a configuration file of this plugin.
    type: str
    required: true
    choices: [cloudmaint.openstack.compute]
  cloud:
    description:
      - Name of the cloud in C(clouds.yaml) to read.
      - When omitted, openstacksdk uses E(OS_CLOUD), or the E(OS_AUTH_URL), E(OS_USERNAME), ... variables.
    type: str
  clouds_yaml_path:
    description:
      - C(clouds.yaml) files to read before the standard locations (C(./clouds.yaml),
        C(~/.config/openstack/clouds.yaml), C(/etc/openstack/clouds.yaml)). The first file that
        exists is used.
      - E(OS_CLIENT_CONFIG_FILE), when set, is read before all of them (openstacksdk behaviour).
    type: list
    elements: str
  region_name:
    description:
      - Region to use when the cloud has more than one.
    type: str
  validate_certs:
    description:
      - Whether to verify the TLS certificates of the API endpoints.
      - When omitted, the cloud configuration decides (openstacksdk verifies by default).
    type: bool
    aliases: [verify]
  with_servers:
    description:
      - Whether to add every server as an inventory host as well, in the V(servers) group.
      - The inventory name of a server is C(<name>_<id>) (the name cut to 40 characters, anything but letters,
        digits and C(-) replaced by C(-)). Server names are chosen by tenants; ending with the server's id, an
        inventory name can never be C(localhost), a hypervisor or a host of another inventory source. The name as
        the tenant wrote it is in C(cloudmaint_server.name).
      - C(ansible_host) is set for a server only when it has an address on one of its ports (floating IPv4, fixed
        IPv4, then the same for IPv6). C(accessIPv4) and C(accessIPv6), which the owner sets to any address, are
        never used. Nothing else of a server sets a connection variable.
      - Servers are always read, for the hypervisors' server lists; this only decides whether they become hosts.
    type: bool
    default: false
  sla_key:
    description:
      - Server metadata key holding the server's SLA class (for example V(cattle), V(pets), V(pandas)),
        as in the C(sla_key) of the maintenance policy.
    type: str
    default: sla
  default_sla_class:
    description:
      - SLA class of servers without the O(sla_key) metadata key, as in the C(default_class) of the
        maintenance policy.
      - Set to an empty string to leave such servers without a class (and out of the C(sla_*) groups).
    type: str
    default: cattle
  placement_detail:
    description:
      - How hypervisor capacity is read from Placement.
      - V(summary) reads the capacity and usage of all providers with a single allocation candidates
        query (C(resources=MEMORY_MB:1)); its capacity is (total - reserved) * allocation_ratio.
        Providers missing from it because they are full cost 2 requests each. C(max_unit) (the most of
        a class one server may take there) is the hypervisor's own total of VCPU, MEMORY_MB and
        DISK_GB, as Nova's compute drivers report it to Placement.
      - V(full) reads the inventories and usages of every hypervisor's resource provider, adding
        C(total), C(reserved) and C(allocation_ratio), and C(max_unit) as Placement has it, per resource
        class, at a cost of 2 requests per hypervisor.
    type: str
    choices: [summary, full]
    default: summary
  maintenance_prefix:
    description:
      - 'A disabled compute service whose disabled reason starts with this prefix is in maintenance
        (group V(in_maintenance)); the collection''s drain writes reasons like
        C(cloudmaint: campaign <id>: <text>), the campaign id is reported as C(maintenance_campaign).'
      - Server metadata keys starting with it are reported as the server's C(annotations).
    type: str
    default: 'cloudmaint:'
notes:
  - The cache (O(cache=true)) holds the data read from the cloud, not the resulting inventory, so
    changing O(with_servers), O(compose) or the group options takes effect without a refresh.
    C(cloudmaint_inventory.fetched_at) tells how old the data is.
  - Every hypervisor gets the group variable C(cloudmaint_inventory) (from the V(hypervisors) group)
    with C(fetched_at), C(from_cache), C(request_count) and C(placement_detail).
seealso:
  - name: Placement allocation candidates
    description: The query whose provider summaries give the capacities in O(placement_detail=summary).
    link: https://docs.openstack.org/api-ref/placement/#list-allocation-candidates
'''

EXAMPLES = r'''
# file: maintenance.compute.yml
# ansible-inventory -i maintenance.compute.yml --graph
plugin: cloudmaint.openstack.compute
cloud: production

# Servers as hosts too, exact Placement inventories, and cached for 10 minutes:
# plugin: cloudmaint.openstack.compute
# cloud: production
# with_servers: true
# placement_detail: full
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: ~/.cache/cloudmaint-inventory
# cache_timeout: 600

# Constructed groups and variables from the hypervisor data:
# plugin: cloudmaint.openstack.compute
# cloud: production
# compose:
#   free_ram_mb: cloudmaint_hypervisor.capacity.MEMORY_MB.free
# groups:
#   empty: cloudmaint_hypervisor.server_count == 0
# keyed_groups:
#   - key: cloudmaint_hypervisor.hypervisor_type
#     prefix: type
#   # mid-upgrade: which hosts run which release
#   - key: cloudmaint_hypervisor.hypervisor_version
#     prefix: version
'''

import re
import time

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.release import __version__ as ANSIBLE_CORE_VERSION

from ansible_collections.cloudmaint.openstack.plugins.module_utils.cloud_snapshot import (
    SNAPSHOT_FORMAT,
    fetch_snapshot,
    maintenance_state,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaClient, NovaError
from ansible_collections.cloudmaint.openstack.plugins.module_utils.openstack_module import (
    HAS_OPENSTACKSDK,
    MAX_SDK_VERSION,
    MIN_SDK_VERSION,
    SDK_ERRORS,
    ConnectError,
    collect_secret_values,
    connect,
    installed_sdk_version,
    masking_forms,
    scrub,
    sdk_version_supported,
    short_api_message,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import PREFIX

PLUGIN = 'cloudmaint.openstack.compute'
HYPERVISOR_VAR = 'cloudmaint_hypervisor'
SERVER_VAR = 'cloudmaint_server'
INVENTORY_VAR = 'cloudmaint_inventory'

_UNSAFE_GROUP_CHARS = re.compile(r'[^a-z0-9_]')
_UNSAFE_NAME_CHARS = re.compile(r'[^A-Za-z0-9-]+')
MAX_NAME_PART = 40

# Server names and metadata are chosen by tenants and must never be templated.
# ansible-core 2.19+ treats inventory plugin data as untrusted by itself; older
# versions need it wrapped as unsafe.
if tuple(int(part) for part in re.findall(r'\d+', ANSIBLE_CORE_VERSION)[:2]) < (2, 19):
    from ansible.utils.unsafe_proxy import wrap_var as _untrusted
else:
    def _untrusted(value):
        return value


# ---- pure: snapshot -> hosts and groups -----------------------------------------------------------

def group_name(prefix, value):
    """'az_' + 'AZ-1' -> 'az_az_1': lower case, anything but [a-z0-9_] replaced by '_'."""
    return prefix + _UNSAFE_GROUP_CHARS.sub('_', str(value).lower())


def sla_class(metadata, sla_key, default_class):
    label = metadata.get(sla_key)
    if label is not None and str(label).strip():
        return str(label).strip()
    return default_class or None


def annotations(metadata, prefix):
    if not prefix:
        return {}
    return {key: value for key, value in metadata.items() if key.startswith(prefix)}


def server_inventory_names(servers):
    """Server id -> inventory name: ``<name>_<id>``, the name cut to 40 characters of [A-Za-z0-9-].

    Tenants choose server names: a server named ``localhost``, like a hypervisor or like a host of
    another inventory source must never become that host (plays and delegations to it would reach
    the tenant's machine). Ending with the server's own id, an inventory name is unique among the
    servers and cannot be any host name that is not a server's."""
    names = {}
    for sid, server in servers.items():
        name = _UNSAFE_NAME_CHARS.sub('-', str(server.get('name') or ''))[:MAX_NAME_PART].strip('-')
        names[sid] = '%s_%s' % (name or 'server', sid)
    return names


class _Groups(dict):
    """Group name -> member host names; sanitized names are computed once per distinct value."""

    def __init__(self, *names):
        super().__init__((name, []) for name in names)
        self._names = {}

    def add(self, prefix, value, host):
        name = self._names.get((prefix, value))
        if name is None:
            name = self._names[(prefix, value)] = group_name(prefix, value)
        members = self.get(name)
        if members is None:
            self[name] = [host]
        else:
            members.append(host)


def build_inventory(snapshot, with_servers=False, sla_key='sla', default_sla_class='cattle',
                    maintenance_prefix=PREFIX):
    """The inventory for a snapshot: {'hosts': {name: hostvars}, 'groups': {group: [host names]}}.

    Pure and linear in the number of servers; every server's summary dict is
    built once and shared by its hypervisor's list and its own host variables.
    """
    hosts = {}
    groups = _Groups('hypervisors', 'enabled', 'disabled', 'down', 'in_maintenance')
    server_groups = snapshot.get('server_groups') or {}
    servers = snapshot.get('servers') or {}

    summaries = {}
    for sid, server in servers.items():
        metadata = server.get('metadata') or {}
        summaries[sid] = {'id': sid, 'name': server.get('name'), 'status': server.get('status'),
                          'sla_class': sla_class(metadata, sla_key, default_sla_class),
                          'annotations': annotations(metadata, maintenance_prefix)}

    hypervisors = snapshot.get('hypervisors') or {}
    for name in sorted(hypervisors):
        hyp = hypervisors[name]
        in_maintenance, campaign = maintenance_state(hyp.get('status'), hyp.get('disabled_reason'),
                                                     maintenance_prefix)
        hostvars = {HYPERVISOR_VAR: {
            'id': hyp.get('id'),
            'hypervisor_hostname': hyp.get('hypervisor_hostname'),
            'hypervisor_type': hyp.get('hypervisor_type'),
            'hypervisor_version': hyp.get('hypervisor_version'),
            'state': hyp.get('state'),
            'status': hyp.get('status'),
            'disabled_reason': hyp.get('disabled_reason'),
            'forced_down': hyp.get('forced_down'),
            'updated_at': hyp.get('updated_at'),
            'zone': hyp.get('zone'),
            'aggregates': hyp.get('aggregates') or [],
            'host_ip': hyp.get('host_ip'),
            'resource_provider': hyp.get('resource_provider'),
            'capacity': hyp.get('capacity') or {},
            'server_count': hyp.get('server_count', 0),
            'running_servers': hyp.get('running_servers', 0),
            'in_maintenance': in_maintenance,
            'maintenance_campaign': campaign,
            'servers': [summaries[sid] for sid in hyp.get('servers') or () if sid in summaries],
        }}
        if hyp.get('host_ip'):
            hostvars['ansible_host'] = hyp['host_ip']
        hosts[name] = hostvars

        groups['hypervisors'].append(name)
        if hyp.get('status') in ('enabled', 'disabled'):
            groups[hyp['status']].append(name)
        if hyp.get('state') == 'down' or hyp.get('forced_down'):
            groups['down'].append(name)
        if in_maintenance:
            groups['in_maintenance'].append(name)
        if hyp.get('zone'):
            groups.add('az_', hyp['zone'], name)
        for aggregate in hyp.get('aggregates') or ():
            groups.add('aggregate_', aggregate, name)

    if with_servers:
        groups['servers'] = []
        names = server_inventory_names(servers)
        for sid in sorted(servers, key=names.get):
            server = servers[sid]
            summary = summaries[sid]
            name = names[sid]
            hostvars = {SERVER_VAR: {
                'id': sid,
                'name': server.get('name'),
                'project_id': server.get('project_id'),
                'project_name': server.get('project_name'),
                'hypervisor': server.get('host'),
                'zone': server.get('zone'),
                'status': server.get('status'),
                'vm_state': server.get('vm_state'),
                'task_state': server.get('task_state'),
                'power_state': server.get('power_state'),
                'locked': server.get('locked'),
                'flavor': server.get('flavor'),
                'metadata': server.get('metadata') or {},
                'sla_class': summary['sla_class'],
                'annotations': summary['annotations'],
                'server_groups': [{'id': gid, 'name': server_groups[gid]['name'],
                                   'policy': server_groups[gid]['policy']}
                                  for gid in server.get('server_groups') or () if gid in server_groups],
                'address': server.get('address'),
                'created': server.get('created'),
                'updated': server.get('updated'),
            }}
            if server.get('address'):
                hostvars['ansible_host'] = server['address']
            hosts[name] = hostvars
            groups['servers'].append(name)
            if summary['sla_class']:
                groups.add('sla_', summary['sla_class'], name)
            if server.get('status'):
                groups.add('status_', server['status'], name)
    return {'hosts': hosts, 'groups': dict(groups)}


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = PLUGIN

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(('compute.yml', 'compute.yaml'))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)

        cache_key = self.get_cache_key(path)
        use_cache = self.get_option('cache')
        snapshot = None
        if use_cache and cache:
            try:
                snapshot = self._cache[cache_key]
            except KeyError:
                snapshot = None
            if not self._snapshot_usable(snapshot):
                snapshot = None
        from_cache = snapshot is not None
        if snapshot is None:
            snapshot = self._fetch()
            if use_cache:
                self._cache[cache_key] = snapshot

        started = time.monotonic()
        model = build_inventory(snapshot,
                                with_servers=self.get_option('with_servers'),
                                sla_key=self.get_option('sla_key'),
                                default_sla_class=self.get_option('default_sla_class'),
                                maintenance_prefix=self.get_option('maintenance_prefix'))
        self._populate(model, snapshot, from_cache)
        elapsed = time.monotonic() - started

        for warning in snapshot.get('warnings') or ():
            self.display.warning('%s: %s' % (PLUGIN, warning))
        timing = snapshot.get('timing') or {}
        source = ('from cache (fetched %s with %s requests)' % (snapshot.get('fetched_at'), snapshot.get('request_count'))
                  if from_cache else
                  '%s requests (%s HTTP incl. auth/discovery; %s), fetched in %.2fs'
                  % (snapshot.get('request_count'), snapshot.get('http_requests'),
                     ', '.join('%s %s' % item for item in (snapshot.get('requests_by_service') or {}).items()),
                     timing.get('fetch_s') or 0.0))
        self.display.vvv('%s: %s; %d hypervisors, %d servers, placement %s (%d fallbacks); inventory built in %.2fs'
                         % (PLUGIN, source, len(snapshot.get('hypervisors') or {}), len(snapshot.get('servers') or {}),
                            (snapshot.get('placement') or {}).get('detail'),
                            (snapshot.get('placement') or {}).get('fallbacks') or 0, elapsed))

    def _snapshot_usable(self, snapshot):
        return (isinstance(snapshot, dict) and snapshot.get('format') == SNAPSHOT_FORMAT
                and (snapshot.get('placement') or {}).get('detail') == self.get_option('placement_detail'))

    # ---- cloud ----------------------------------------------------------------------------------

    def _fetch(self):
        if not HAS_OPENSTACKSDK:
            raise AnsibleError('%s requires openstacksdk >= %s (pip install openstacksdk)' % (PLUGIN, MIN_SDK_VERSION))
        installed = installed_sdk_version()
        if not sdk_version_supported(installed):
            raise AnsibleError('%s: openstacksdk %s is installed; this collection needs >= %s and < %s'
                               % (PLUGIN, installed, MIN_SDK_VERSION, MAX_SDK_VERSION))
        cloud = self.get_option('cloud')
        kwargs = {'cloud': cloud} if cloud else {}
        if self.get_option('region_name'):
            kwargs['region_name'] = self.get_option('region_name')
        if self.get_option('validate_certs') is not None:
            kwargs['verify'] = self.get_option('validate_certs')
        try:
            conn = connect(kwargs, self.get_option('clouds_yaml_path') or ())
        except ConnectError as exc:
            raise AnsibleParserError('%s: %s' % (PLUGIN, exc))
        label = "'%s'" % cloud if cloud else '(from OS_CLOUD/OS_* environment)'
        secrets = masking_forms(collect_secret_values({'auth': conn.config.config.get('auth')}))
        try:
            return fetch_snapshot(NovaClient.for_connection(conn),
                                  placement_detail=self.get_option('placement_detail'))
        except NovaError as exc:
            hint = ''
            if exc.status == 403:
                hint = ' (this inventory needs credentials allowed to list hypervisors and all servers, e.g. admin)'
            raise AnsibleParserError('%s: reading cloud %s failed: %s API: %s%s'
                                     % (PLUGIN, label, exc.service, scrub(str(exc), secrets), hint))
        except SDK_ERRORS as exc:
            raise AnsibleParserError('%s: reading cloud %s failed: %s'
                                     % (PLUGIN, label, scrub(short_api_message(exc), secrets)))
        finally:
            close = getattr(conn, 'close', None)
            if close:
                close()

    # ---- inventory ------------------------------------------------------------------------------

    def _populate(self, model, snapshot, from_cache):
        inventory = self.inventory
        hosts = model['hosts']
        for name in hosts:
            hostvars = hosts[name] = _untrusted(hosts[name])
            inventory.add_host(name)
            for key, value in hostvars.items():
                inventory.set_variable(name, key, value)
        for group, members in model['groups'].items():
            group = inventory.add_group(group)
            for name in members:
                inventory.add_child(group, name)
        placement = snapshot.get('placement') or {}
        inventory.set_variable('hypervisors', INVENTORY_VAR, {
            'fetched_at': snapshot.get('fetched_at'),
            'from_cache': from_cache,
            'request_count': snapshot.get('request_count'),
            'placement_detail': placement.get('detail'),
            'placement_fallbacks': placement.get('fallbacks'),
        })

        compose = self.get_option('compose')
        composed_groups = self.get_option('groups')
        keyed_groups = self.get_option('keyed_groups')
        if not (compose or composed_groups or keyed_groups):
            return
        strict = self.get_option('strict')
        for name, hostvars in hosts.items():
            self._set_composite_vars(compose, hostvars, name, strict=strict)
            self._add_host_to_composed_groups(composed_groups, hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(keyed_groups, hostvars, name, strict=strict)

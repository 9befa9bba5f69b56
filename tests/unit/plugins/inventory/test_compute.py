# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""cloudmaint.openstack.compute: snapshot -> hosts and groups (pure), and parse() with cache and constructed options."""

from __future__ import annotations

import os
import sys

import pytest

from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, inventory_loader


def _use_ansible_collection_loader():
    """Import the collection through Ansible's collection loader, so the plugin loader can find the plugin.

    ansible-test installs that loader before anything is imported; a plain
    ``pytest tests/unit`` may have imported ``ansible_collections`` as an
    ordinary namespace package first, which the plugin loader cannot use.
    """
    import ansible_collections.cloudmaint.openstack as collection

    root = os.path.abspath(os.path.join(list(collection.__path__)[0], '..', '..', '..'))
    loader = getattr(sys.modules['ansible_collections'], '__loader__', None)
    if type(loader).__module__ != 'ansible.utils.collection_loader._collection_finder':
        for name in [name for name in sys.modules if name == 'ansible_collections'
                     or name.startswith('ansible_collections.')]:
            del sys.modules[name]
    init_plugin_loader([root])


_use_ansible_collection_loader()

from ansible_collections.cloudmaint.openstack.plugins.inventory import compute  # noqa: E402
from ansible_collections.cloudmaint.openstack.plugins.module_utils.cloud_snapshot import SNAPSHOT_FORMAT  # noqa: E402


def hyp(host, zone, status='enabled', state='up', reason=None, servers=(), aggregates=None, forced_down=False):
    return {'id': 'rp-' + host, 'host': host, 'hypervisor_hostname': host + '.example.org', 'nodes': [host],
            'hypervisor_type': 'QEMU', 'host_ip': '192.0.2.%s' % host[-1], 'service_id': 'svc-' + host,
            'state': state, 'status': status, 'disabled_reason': reason, 'forced_down': forced_down,
            'updated_at': '2026-11-21T11:27:52.000000', 'zone': zone,
            'aggregates': aggregates if aggregates is not None else ['agg-' + zone],
            'resource_provider': 'rp-' + host,
            'capacity': {'MEMORY_MB': {'capacity': 47104, 'used': 4096, 'free': 43008}},
            'servers': list(servers), 'server_count': len(servers), 'running_servers': len(servers)}


def srv(sid, name, host, status='ACTIVE', metadata=None, address=None, groups=()):
    return {'id': sid, 'name': name, 'project_id': 'p-web', 'project_name': 'web-shop', 'user_id': 'u',
            'host': host, 'node': host, 'zone': 'az1', 'status': status, 'vm_state': 'active',
            'task_state': None, 'power_state': 1, 'locked': False,
            'flavor': {'name': 'm1.small', 'vcpus': 1, 'ram': 2048, 'disk': 20, 'ephemeral': 0, 'swap': 0},
            'metadata': metadata if metadata is not None else {}, 'server_groups': list(groups),
            'address': address, 'created': 'c', 'updated': 'u'}


def snapshot():
    servers = [
        srv('aaaaaaaa-0001', 'db-01', 'hv01', metadata={'sla': 'pandas', 'cloudmaint:owner_action': 'leave'},
            groups=['sg-1']),
        srv('bbbbbbbb-0002', 'web-01', 'hv01', status='SHUTOFF', metadata={'sla': 'Cattle '}, address='10.0.0.2'),
        srv('cccccccc-0003', 'web-01', 'hv02', metadata={}),                       # duplicate name
        srv('dddddddd-0004', 'hv03', 'hv02', metadata={'sla': 'pets'}),            # named like a hypervisor
        srv('eeeeeeee-0005', 'shelved-1', None, status='SHELVED_OFFLOADED', metadata={'sla': 'pets'}),
    ]
    return {
        'format': SNAPSHOT_FORMAT,
        'fetched_at': '2026-11-21T12:00:00Z',
        'placement': {'detail': 'summary', 'probes': ['MEMORY_MB'], 'fallbacks': 0},
        'hypervisors': {
            'hv01': hyp('hv01', 'az1', servers=['aaaaaaaa-0001', 'bbbbbbbb-0002']),
            'hv02': hyp('hv02', 'az1', status='disabled', reason='cloudmaint: campaign c-7: patching',
                        servers=['cccccccc-0003', 'dddddddd-0004']),
            'hv03': hyp('hv03', 'AZ-Two', status='disabled', reason='broken fan', state='down',
                        aggregates=['GPU hosts', 'agg-AZ-Two']),
            'hv04': hyp('hv04', 'AZ-Two', forced_down=True),
        },
        'servers': {s['id']: s for s in servers},
        'server_groups': {'sg-1': {'id': 'sg-1', 'name': 'db-cluster', 'policy': 'anti-affinity', 'rules': {},
                                   'members': ['aaaaaaaa-0001'], 'project_id': 'p-web'}},
        'aggregates': {},
        'projects': {'p-web': 'web-shop'},
        'warnings': [],
        'request_count': 9,
        'http_requests': 10,
        'requests_by_service': {'compute': 6, 'identity': 1, 'placement': 2},
        'timing': {'fetch_s': 0.5, 'build_s': 0.01},
    }


# ---- pure --------------------------------------------------------------------------------------------

@pytest.mark.parametrize('prefix, value, name', [
    ('az_', 'az1', 'az_az1'),
    ('az_', 'AZ-Two', 'az_az_two'),
    ('aggregate_', 'GPU hosts', 'aggregate_gpu_hosts'),
    ('aggregate_', 'agg.rack/7', 'aggregate_agg_rack_7'),
    ('status_', 'SHELVED_OFFLOADED', 'status_shelved_offloaded'),
    ('sla_', 'Pandas', 'sla_pandas'),
])
def test_group_name(prefix, value, name):
    assert compute.group_name(prefix, value) == name


def test_hypervisor_groups():
    groups = compute.build_inventory(snapshot())['groups']
    assert groups['hypervisors'] == ['hv01', 'hv02', 'hv03', 'hv04']
    assert groups['enabled'] == ['hv01', 'hv04']
    assert groups['disabled'] == ['hv02', 'hv03']
    assert groups['down'] == ['hv03', 'hv04']
    assert groups['in_maintenance'] == ['hv02']
    assert groups['az_az1'] == ['hv01', 'hv02']
    assert groups['az_az_two'] == ['hv03', 'hv04']
    assert groups['aggregate_agg_az1'] == ['hv01', 'hv02']
    assert groups['aggregate_gpu_hosts'] == ['hv03']
    assert not [g for g in groups if g.startswith(('servers', 'sla_', 'status_'))]


def test_hypervisor_hostvars():
    hosts = compute.build_inventory(snapshot())['hosts']
    assert sorted(hosts) == ['hv01', 'hv02', 'hv03', 'hv04']
    hv02 = hosts['hv02']
    assert hv02['ansible_host'] == '192.0.2.2'
    data = hv02['cloudmaint_hypervisor']
    assert data['in_maintenance'] is True
    assert data['maintenance_campaign'] == 'c-7'
    assert data['capacity']['MEMORY_MB']['free'] == 43008
    assert data['servers'] == [
        {'id': 'cccccccc-0003', 'name': 'web-01', 'status': 'ACTIVE', 'sla_class': 'cattle', 'annotations': {}},
        {'id': 'dddddddd-0004', 'name': 'hv03', 'status': 'ACTIVE', 'sla_class': 'pets', 'annotations': {}},
    ]
    db = hosts['hv01']['cloudmaint_hypervisor']['servers'][0]
    assert db == {'id': 'aaaaaaaa-0001', 'name': 'db-01', 'status': 'ACTIVE', 'sla_class': 'pandas',
                  'annotations': {'cloudmaint:owner_action': 'leave'}}
    assert hosts['hv03']['cloudmaint_hypervisor']['in_maintenance'] is False


def test_servers_as_hosts():
    model = compute.build_inventory(snapshot(), with_servers=True)
    hosts, groups = model['hosts'], model['groups']
    assert groups['servers'] == ['db-01_aaaaaaaa-0001', 'hv03_dddddddd-0004', 'shelved-1_eeeeeeee-0005',
                                 'web-01_bbbbbbbb-0002', 'web-01_cccccccc-0003']
    assert groups['sla_pandas'] == ['db-01_aaaaaaaa-0001']
    assert groups['sla_cattle'] == ['web-01_bbbbbbbb-0002', 'web-01_cccccccc-0003']
    assert groups['sla_pets'] == ['hv03_dddddddd-0004', 'shelved-1_eeeeeeee-0005']
    assert groups['status_active'] == ['db-01_aaaaaaaa-0001', 'hv03_dddddddd-0004', 'web-01_cccccccc-0003']
    assert groups['status_shutoff'] == ['web-01_bbbbbbbb-0002']
    assert groups['status_shelved_offloaded'] == ['shelved-1_eeeeeeee-0005']
    db = hosts['db-01_aaaaaaaa-0001']
    assert 'ansible_host' not in db
    assert db['cloudmaint_server']['hypervisor'] == 'hv01'
    assert db['cloudmaint_server']['server_groups'] == [{'id': 'sg-1', 'name': 'db-cluster',
                                                        'policy': 'anti-affinity'}]
    assert db['cloudmaint_server']['annotations'] == {'cloudmaint:owner_action': 'leave'}
    assert hosts['web-01_bbbbbbbb-0002']['ansible_host'] == '10.0.0.2'
    assert hosts['web-01_bbbbbbbb-0002']['cloudmaint_server']['sla_class'] == 'Cattle'
    assert hosts['hv03']['cloudmaint_hypervisor']['hypervisor_hostname'] == 'hv03.example.org'


def test_sla_default_class_and_prefix_options():
    model = compute.build_inventory(snapshot(), with_servers=True, default_sla_class='',
                                    maintenance_prefix='maint/')
    assert 'web-01_cccccccc-0003' not in model['groups']['sla_cattle']
    assert model['hosts']['web-01_cccccccc-0003']['cloudmaint_server']['sla_class'] is None
    assert model['groups']['in_maintenance'] == []
    assert model['hosts']['db-01_aaaaaaaa-0001']['cloudmaint_server']['annotations'] == {}
    custom_key = compute.build_inventory(snapshot(), with_servers=True, sla_key='tier')
    assert custom_key['groups']['sla_cattle'] == custom_key['groups']['servers']


def test_server_inventory_names_can_never_be_another_host():
    servers = {'11111111-a': {'name': 'x'}, '22222222-b': {'name': 'x'}, '33333333-c': {'name': 'hv01'},
               '44444444-d': {'name': None}, '55555555-e': {'name': 'localhost'},
               '66666666-f': {'name': 'x_11111111-a'}, '77777777-g': {'name': '../etc; $(rm) ' + 'z' * 300}}
    names = compute.server_inventory_names(servers)
    assert names == {'11111111-a': 'x_11111111-a', '22222222-b': 'x_22222222-b', '33333333-c': 'hv01_33333333-c',
                     '44444444-d': 'server_44444444-d', '55555555-e': 'localhost_55555555-e',
                     '66666666-f': 'x-11111111-a_66666666-f',
                     '77777777-g': 'etc-rm-' + 'z' * 32 + '_77777777-g'}
    assert len(set(names.values())) == len(servers)


# ---- the plugin --------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def plugin_loader():
    return inventory_loader


@pytest.fixture
def run(plugin_loader, tmp_path):
    """parse() a config (dict) as ansible-inventory would; the cloud is replaced by snapshot()."""
    fetches = []

    def parse(config, cache=True, name='test.compute.yml', data=None):
        path = tmp_path / name
        lines = ['plugin: cloudmaint.openstack.compute'] + ['%s: %s' % item for item in config.items()]
        path.write_text('\n'.join(lines) + '\n')
        plugin = plugin_loader.get('cloudmaint.openstack.compute')
        assert plugin.verify_file(str(path))
        plugin._fetch = lambda: fetches.append(1) or (data or snapshot())
        inventory = InventoryData()
        plugin.parse(inventory, DataLoader(), str(path), cache=cache)
        try:  # what InventoryManager does after parse()
            plugin.update_cache_if_changed()
        except AttributeError:  # caching disabled
            pass
        return inventory

    parse.fetches = fetches
    return parse


def members(inventory, group):
    return sorted(host.name for host in inventory.groups[group].get_hosts())


def test_verify_file(plugin_loader, tmp_path):
    plugin = plugin_loader.get('cloudmaint.openstack.compute')
    for name, accepted in (('a.compute.yml', True), ('compute.yaml', True), ('openstack.yml', False),
                           ('compute.yml.bak', False)):
        path = tmp_path / name
        path.write_text('plugin: cloudmaint.openstack.compute\n')
        assert plugin.verify_file(str(path)) is accepted, name


def test_parse_builds_groups_and_vars(run):
    inventory = run({'with_servers': 'true'})
    assert members(inventory, 'hypervisors') == ['hv01', 'hv02', 'hv03', 'hv04']
    assert members(inventory, 'in_maintenance') == ['hv02']
    assert members(inventory, 'sla_pandas') == ['db-01_aaaaaaaa-0001']
    hv01 = inventory.get_host('hv01').get_vars()
    assert hv01['ansible_host'] == '192.0.2.1'
    assert hv01['cloudmaint_hypervisor']['zone'] == 'az1'
    assert inventory.groups['hypervisors'].get_vars()['cloudmaint_inventory'] == {
        'fetched_at': '2026-11-21T12:00:00Z', 'from_cache': False, 'request_count': 9,
        'placement_detail': 'summary', 'placement_fallbacks': 0}


def test_parse_applies_constructed_options(run):
    inventory = run({
        'compose': '{"free_ram": "cloudmaint_hypervisor.capacity.MEMORY_MB.free"}',
        'groups': '{"roomy": "(cloudmaint_hypervisor.capacity.MEMORY_MB.free | int) > 40000"}',
        'keyed_groups': '[{"key": "cloudmaint_hypervisor.hypervisor_type", "prefix": "type"}]',
    })
    assert inventory.get_host('hv01').get_vars()['free_ram'] == 43008
    assert members(inventory, 'roomy') == ['hv01', 'hv02', 'hv03', 'hv04']
    assert members(inventory, 'type_QEMU') == ['hv01', 'hv02', 'hv03', 'hv04']


def test_parse_uses_and_refreshes_the_cache(run, tmp_path):
    config = {'cache': 'true', 'cache_plugin': 'ansible.builtin.jsonfile',
              'cache_connection': str(tmp_path / 'cache'), 'cache_timeout': 600}
    run(config)
    assert len(run.fetches) == 1
    inventory = run(config)                       # cache hit
    assert len(run.fetches) == 1
    assert inventory.groups['hypervisors'].get_vars()['cloudmaint_inventory']['from_cache'] is True
    assert members(inventory, 'in_maintenance') == ['hv02']
    run(config, cache=False)                      # --flush-cache
    assert len(run.fetches) == 2
    run(dict(config, placement_detail='full'))    # cached data of the other detail is not used
    assert len(run.fetches) == 3
    run(dict(config, cache='false'))
    assert len(run.fetches) == 4


def test_parse_reports_warnings_and_request_count(run, monkeypatch):
    shown = {'warning': [], 'vvv': []}
    display = compute.InventoryModule().display
    monkeypatch.setattr(display, 'warning', lambda msg, *a, **k: shown['warning'].append(msg))
    monkeypatch.setattr(display, 'vvv', lambda msg, *a, **k: shown['vvv'].append(msg))
    data = snapshot()
    data['warnings'] = ['servers on host gone, which is not a known compute host']
    run({}, data=data)
    assert shown['warning'] == ['cloudmaint.openstack.compute: servers on host gone, which is not a known compute host']
    assert [m for m in shown['vvv'] if m.startswith(
        'cloudmaint.openstack.compute: 9 requests (10 HTTP incl. auth/discovery; compute 6, identity 1, placement 2)')]

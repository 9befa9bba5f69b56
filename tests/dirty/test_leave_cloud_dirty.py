# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Leaves the sandbox as a careless operator, an aborted campaign and a busy tenant would: not a
test of the collection, but the worst start for the suite (``make dirty-check`` runs it, then
the integration suite and the molecule scenarios, which must pass anyway).

Deliberately no cleanup: a host disabled by someone else, a fault armed, servers moved off their
seeded hosts, one host at a newer hypervisor version and one with a version pending, a stale
campaign ledger and forged campaign records, and every host full but one.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import openstack.config
import openstack.connection

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SANDBOX = os.environ.get('CLOUDMAINT_SANDBOX_DIR', os.path.join(REPO, '.sandbox'))
CLOUDCTL = os.path.join(REPO, 'sandbox', 'cloudctl')


def cloudctl(*args):
    subprocess.run([CLOUDCTL] + list(args), check=True, capture_output=True, text=True, timeout=300)


def admin():
    config = openstack.config.OpenStackConfig(config_files=[os.path.join(SANDBOX, 'clouds.yaml')])
    return openstack.connection.Connection(config=config.get_one(cloud='sandbox'))


def settle(conn, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [s.name for s in conn.compute.servers(all_projects=True) if s.task_state]
        if not busy:
            return
        time.sleep(2)
    raise AssertionError('servers still busy: %s' % busy)


def free_mb(conn, host):
    provider = conn.placement.get('/resource_providers', params={'name': host}, microversion='1.29').json()
    uuid_ = provider['resource_providers'][0]['uuid']
    inventory = conn.placement.get('/resource_providers/%s/inventories' % uuid_,
                                   microversion='1.29').json()['inventories']['MEMORY_MB']
    used = conn.placement.get('/resource_providers/%s/usages' % uuid_,
                              microversion='1.29').json()['usages'].get('MEMORY_MB', 0)
    return int((inventory['total'] - inventory['reserved']) * inventory['allocation_ratio']) - used


def test_leave_the_cloud_dirty():
    conn = admin()
    tenant = conn.connect_as_project('web-shop')
    hosts = sorted(h.name for h in conn.compute.hypervisors())

    # servers moved off their seeded hosts, by the scheduler
    moved = [s for s in conn.compute.servers(all_projects=True, details=True) if s.status == 'ACTIVE'][:4]
    for srv in moved:
        conn.compute.live_migrate_server(srv, host=None, block_migration='auto')
    settle(conn)

    # a stale ledger and a forged campaign record on a tenant's server
    ledger = conn.compute.create_aggregate(name='cloudmaint-ledger')
    conn.compute.set_aggregate_metadata(ledger, {'it-dirty:hv01': 'started|2026-01-01T00:00:00Z|'})
    victim = next(s for s in tenant.compute.servers() if s.status == 'ACTIVE')
    tenant.compute.set_server_metadata(victim, **{'cloudmaint:campaign': 'it-dirty', 'cloudmaint:state': 'moved',
                                                  'cloudmaint:origin_host': 'hv02'})
    # a campaign's records of a drain never restored, and the lock it set
    records = conn.compute.create_aggregate(name='cloudmaint-ledger:it-dirty:hv01')
    conn.compute.set_aggregate_metadata(records, {'cloudmaint:campaign': 'it-dirty', 'cloudmaint:host': 'hv01',
                                                  victim.id: 'stop|stopped|ACTIVE|2026-01-01T00:00:00Z|locked'})
    conn.compute.lock_server(victim)

    # every host full but the one with most room
    spare = max(hosts, key=lambda h: free_mb(conn, h))
    assert free_mb(conn, spare) >= 8192, {h: free_mb(conn, h) for h in hosts}
    flavor = conn.compute.find_flavor('m1.large').id
    image = conn.image.find_image('cirros-sim').id
    for host in hosts:
        if host == spare:
            continue
        while free_mb(conn, host) >= 8192:
            response = tenant.compute.post('/servers', microversion='2.74', json={'server': {
                'name': 'dirty-filler-%s' % uuid.uuid4().hex[:6], 'flavorRef': flavor, 'imageRef': image,
                'networks': 'none', 'host': host, 'metadata': {'sla': 'pets'}}})
            assert response.status_code == 202, response.text
            sid = response.json()['server']['id']
            conn.compute.wait_for_server(conn.compute.get_server(sid), wait=120)
    full = [h for h in hosts if free_mb(conn, h) < 8192]
    assert sorted(full) == sorted(set(hosts) - {spare}), full

    # versions: one host newer now, one with a version pending its reboot
    cloudctl('patch', 'hv04', '--now')
    cloudctl('patch', 'hv01')
    versions = {h.name: h.hypervisor_version for h in conn.compute.hypervisors(details=True)}
    assert versions['hv04'] > min(versions.values()), versions

    # a host disabled by someone else, and a fault armed
    service = next(s for s in conn.compute.services(binary='nova-compute') if s.host == 'hv02')
    conn.compute.disable_service(service, disabled_reason='fan replacement (not a cloudmaint campaign)')
    cloudctl('fault', 'fail-live-migration', 'hv03')
    assert next(s for s in conn.compute.services(binary='nova-compute') if s.host == 'hv02').status == 'disabled'

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Nova drives each path of the honest simulated hypervisor (sandbox/cmsandbox/physics.py), with
Nova's libvirt defaults: the downtime ramp, the block copy of a root disk without shared storage,
force-complete pausing the guest when post-copy is not permitted, shelve-offload deleting the
local disk, and concurrent transfers sharing a host's link.

Every migration here is requested through Nova's API and timed by the driver that ran it (its
events file); the expected figures are worked out from Nova's formulas in each test.
"""

from __future__ import annotations

import configparser
import json
import os
import sys
import time

import pytest

from conftest import REPO, SANDBOX, events_of, level_versions, migrations_of, wait_until

sys.path.insert(0, os.path.join(REPO, 'sandbox'))
from cmsandbox import physics  # noqa: E402  pylint: disable=wrong-import-position

AZ2 = ['hv04', 'hv05', 'hv06']
RAM, DIRTY, DISK, HOT = (physics.META_RAM_USED, physics.META_DIRTY_RATE, physics.META_DISK_USED,
                         physics.META_WORKING_SET)
ENDED = ('completed', 'error', 'failed', 'cancelled')
PAUSED = 3      # nova.compute.power_state.PAUSED


def option(host, section, name):
    parser = configparser.RawConfigParser(strict=False)
    assert parser.read(os.path.join(SANDBOX, 'etc', 'nova', 'nova-compute-%s.conf' % host))
    return parser.get(section, name)


def link(host):
    return float(option(host, 'cloudmaint_sim', 'bandwidth_mbps'))


@pytest.fixture(scope='module', autouse=True)
def nova_defaults(conn):
    """The paths below are Nova's defaults: no post-copy, no shared storage, the 75 s/GiB ramp."""
    for host in AZ2:
        assert option(host, 'libvirt', 'live_migration_permit_post_copy') == 'false'
        assert option(host, 'cloudmaint_sim', 'shared_storage') == 'false'
        assert (option(host, 'libvirt', 'live_migration_downtime'),
                option(host, 'libvirt', 'live_migration_downtime_steps'),
                option(host, 'libvirt', 'live_migration_downtime_delay')) == ('500', '10', '75')
    level_versions(conn, AZ2)      # Nova refuses to live-migrate to an older hypervisor


def boot(conn, servers, host, metadata, flavor='m1.small'):
    return servers.boot(host, flavor=flavor, metadata=metadata)


def live_migrate(conn, server, dest):
    known = {m.id for m in migrations_of(conn, server.id)}
    conn.compute.live_migrate_server(server, host=dest, block_migration='auto')

    def record():
        found = [m for m in migrations_of(conn, server.id)
                 if m.id not in known and m.migration_type == 'live-migration']
        return found[-1] if found else None
    return record


def wait_status(record, statuses, timeout):
    def reached():
        found = record()
        return found if found and found.status in statuses else None
    return wait_until('live migration to be %s' % '/'.join(statuses), reached, timeout, interval=0.5)


def migration_events(host, server_id):
    return [e for e in events_of(host) if e['instance'] == server_id and e['event'] == 'live_migration']


def in_progress(conn, server):
    """Nova's in-progress record of the server's migration (memory counters), or None."""
    for item in conn.compute.server_migrations(server):
        return item
    return None


# ---------------------------------------------------------------- block migration

def test_block_migration_copies_the_disk_before_the_memory(conn, servers):
    source, dest = 'hv04', 'hv05'
    ram, disk_gb = 1024, 4
    server = boot(conn, servers, source, {RAM: str(ram), DIRTY: '0', DISK: str(disk_gb)})
    bandwidth = link(source)
    block_s = disk_gb * 1024.0 / bandwidth          # 4096 MiB at 1250 MiB/s = 3.28 s
    memory_s = ram / bandwidth                      # 0.82 s

    record = live_migrate(conn, server, dest)
    assert wait_status(record, ENDED, 120).status == 'completed'
    assert servers.wait_status(server.id, 'ACTIVE').compute_host == dest

    [event] = migration_events(source, server.id)
    print(event)
    assert event['block_migration'] is True and event['disk_gb'] == disk_gb
    # Nova's data size for the ramp and the timeout: 2 GiB of flavor RAM + 4 GiB of disk
    assert event['data_gb'] == pytest.approx(6.0)
    assert event['block_copy_s'] == pytest.approx(block_s, rel=0.05)
    assert event['seconds'] >= block_s + memory_s
    # an idle guest: the memory goes in round 0, nothing is dirtied, nothing paused
    assert (event['mode'], event['paused'], event['rounds']) == ('precopy', False, 1)


# ---------------------------------------------------------------- force-complete, post-copy off

def test_force_complete_without_post_copy_pauses_until_the_copy_ends(conn, servers, ctl):
    source, dest = 'hv05', 'hv06'
    slow = 125.0                       # MiB/s: a pause long enough to be seen from outside
    # 1024 MiB dirtied at 3000 MiB/s: never converges; every round resends all of it
    server = boot(conn, servers, source, {RAM: '1024', DIRTY: '3000', DISK: '0.5'})
    ctl('fault', 'bandwidth', source, str(slow))
    record = live_migrate(conn, server, dest)
    wait_status(record, ('running',), 60)
    # past the 0.5 GiB block copy (4.1 s at 125 MiB/s) and a few rounds of memory

    def memory_sent():
        found = in_progress(conn, server)
        return found and (found.memory_processed_bytes or 0) > 1024 * 1024 * 1024
    wait_until('memory progress', memory_sent, timeout=60)
    assert record().status == 'running'

    conn.compute.force_complete_server_migration(record().id, server)
    # post-copy is not permitted: the guest is paused on its source while the rest is sent
    wait_until('guest paused on its source', lambda: guest_power_state(source, server.id) == PAUSED,
               timeout=10, interval=0.1)
    assert wait_status(record, ENDED, 60).status == 'completed'
    server = servers.wait_status(server.id, 'ACTIVE')
    assert server.compute_host == dest

    [event] = migration_events(source, server.id)
    print(event)
    assert (event['mode'], event['paused']) == ('paused', True)
    assert 'slowdown_s' not in event                 # no post-copy happened
    # downtime = what was left when it paused, at the link speed
    expected_ms = event['rest_mb_at_pause'] / slow * 1000.0
    assert 0 < event['rest_mb_at_pause'] <= 1024
    assert event['downtime_ms'] == pytest.approx(expected_ms, rel=0.05, abs=5)
    # far beyond the 500 ms a pre-copy may take
    assert event['downtime_ms'] > 500 or event['rest_mb_at_pause'] < 0.5 * slow


def guest_power_state(host, server_id):
    try:
        with open(os.path.join(SANDBOX, 'computes', host, 'guests.json')) as handle:
            return json.load(handle)['guests'].get(server_id, {}).get('state')
    except (IOError, ValueError):
        return None


# ---------------------------------------------------------------- link sharing

def test_two_concurrent_migrations_into_one_host_each_get_half_its_link(conn, servers, ctl):
    dest = 'hv06'
    dest_link = 400.0      # hv06's link: slower than the sources', so its side is shared
    meta = {RAM: '3000', DIRTY: '0', DISK: '0'}
    a = boot(conn, servers, 'hv04', meta)
    b = boot(conn, servers, 'hv05', meta)
    ctl('fault', 'bandwidth', dest, str(dest_link))

    solo = live_migrate(conn, a, dest)
    assert wait_status(solo, ENDED, 120).status == 'completed'
    assert servers.wait_status(a.id, 'ACTIVE').compute_host == dest
    [alone] = migration_events('hv04', a.id)
    conn.compute.live_migrate_server(a, host='hv04', block_migration='auto')   # back (no event on hv04)
    wait_until('a back on hv04', lambda: conn.compute.get_server(a.id).compute_host == 'hv04'
               and not conn.compute.get_server(a.id).task_state, timeout=120)
    wait_until('a back migration completed',
               lambda: migrations_of(conn, a.id)[-1].status == 'completed', timeout=60)

    first = live_migrate(conn, a, dest)
    second = live_migrate(conn, b, dest)
    assert wait_status(first, ENDED, 180).status == 'completed'
    assert wait_status(second, ENDED, 180).status == 'completed'
    shared_a = migration_events('hv04', a.id)[-1]
    [shared_b] = migration_events('hv05', b.id)
    print(alone, shared_a, shared_b)

    def rate(event):
        return event['transferred_mb'] / event['seconds']
    assert alone['lowest_rate_mbps'] == pytest.approx(dest_link)
    assert shared_a['lowest_rate_mbps'] == pytest.approx(dest_link / 2)
    assert shared_b['lowest_rate_mbps'] == pytest.approx(dest_link / 2)
    # measured: while both run each gets about half; they start a second or so apart
    for shared in (shared_a, shared_b):
        ratio = rate(shared) / rate(alone)
        print('rate ratio %.2f' % ratio)
        assert 0.4 <= ratio <= 0.75, (ratio, shared, alone)


# ---------------------------------------------------------------- shelve-offload

def test_offload_deletes_the_disk_and_unshelve_downloads_the_image(conn, servers):
    host, disk_gb = 'hv04', 2
    server = boot(conn, servers, host, {DISK: str(disk_gb)})
    image_name = server.name + '-shelved'
    glance = float(option(host, 'cloudmaint_sim', 'glance_mbps'))
    download_s = disk_gb * 1024.0 / glance            # 2048 MiB at 400 MiB/s = 5.12 s
    try:
        conn.compute.shelve_server(server)
        servers.wait_status(server.id, 'SHELVED', timeout=120)
        conn.compute.shelve_offload_server(server)
        servers.wait_status(server.id, 'SHELVED_OFFLOADED', timeout=120)
        offloads = [e for e in events_of(host) if e['instance'] == server.id and e['event'] == 'offload']
        assert [(e['disk_kept'], e['shared_storage']) for e in offloads] == [(False, False)]

        started = time.monotonic()
        conn.compute.unshelve_server(server)
        server = servers.wait_status(server.id, 'ACTIVE', timeout=180)
        elapsed = time.monotonic() - started
        landed = server.compute_host
        unshelves = [e for e in events_of(landed) if e['instance'] == server.id and e['event'] == 'unshelve']
        print(landed, elapsed, unshelves)
        # wherever it lands, even on its origin host, the disk comes from the image
        assert [e['path'] for e in unshelves] == ['image_download']
        assert unshelves[0]['download_s'] == pytest.approx(download_s, rel=0.05)
        assert elapsed >= download_s
    finally:
        for image in conn.image.images(name=image_name):
            conn.image.delete_image(image, ignore_missing=True)


# ---------------------------------------------------------------- the downtime ramp

@pytest.mark.slow
def test_a_busy_guest_converges_only_once_the_ramp_allows_its_downtime(conn, servers):
    source, dest = 'hv05', 'hv04'
    # 100 MiB of hot pages dirtied at 2000 MiB/s: each round resends them, 100/1250 = 80 ms.
    # Nova's ramp for 2 GiB of flavor RAM + 2 GiB (the minimum) of block-migrated disk:
    # int(75 * 4) = 300 s per step, 50 ms first, 95 ms after 300 s. A fixed 500 ms would let it
    # end after round 0, in about 2 s.
    server = boot(conn, servers, source, {RAM: '1024', DIRTY: '2000', HOT: '100', DISK: '1'})
    bandwidth = link(source)
    ramp = physics.downtime_steps(4.0)
    assert ramp[:2] == [(0, 50), (300, 95)]
    hot_ms = 100 / bandwidth * 1000.0
    assert ramp[0][1] < hot_ms <= ramp[1][1]

    record = live_migrate(conn, server, dest)
    wait_status(record, ('running',), 60)
    time.sleep(30)
    assert record().status == 'running', 'converged before the ramp allowed it'
    assert wait_status(record, ENDED, 600).status == 'completed'
    assert servers.wait_status(server.id, 'ACTIVE').compute_host == dest

    [event] = migration_events(source, server.id)
    print(event)
    assert (event['mode'], event['paused']) == ('precopy', False)
    assert event['seconds'] >= ramp[1][0]
    assert event['allowed_downtime_ms'] == pytest.approx(95)
    assert ramp[0][1] < event['downtime_ms'] <= 95
    assert event['rounds'] > 1000

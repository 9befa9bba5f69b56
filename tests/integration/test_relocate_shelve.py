# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""server_relocate and shelve_partial run through ansible-playbook against the sandbox cloud.

Servers are booted on hv03 (emptied of seeded servers by modules_support.drained_host) and moved
to hv01/hv02 only; results are checked against the servers, migration records and the simulated
hypervisor's event log.
"""

from __future__ import annotations


from conftest import events_of, wait_until
from modules_support import (  # noqa: F401  pylint: disable=unused-import
    DRAINED,
    OTHERS,
    boot,
    concurrently,
    disabled_other,
    drained_host,
    host_of,
    migrations,
    play,
    record_of,
    server,
    server_action,
    task,
    view,
    vms,
)


def test_relocate_live_and_cold(conn, cloud_env, vms, tmp_path, drained_host):
    """Live: scheduler, checked and forced destinations, idempotence. Cold (running, and
    ``auto`` on a stopped server), started first and waited for at the end."""
    booted = boot(conn, vms, {'sched': {}, 'checked': {}, 'forced': {}, 'cold': {},
                              'stopped': {}})
    ids = {role: s['id'] for role, s in booted.items()}
    names = {role: s['name'] for role, s in booted.items()}
    server_action(conn, ids['stopped'], {'os-stop': None}, 'SHUTOFF', DRAINED)
    unfit, undo = disabled_other(conn, 'it-relocate')
    cold = concurrently(
        task('server_relocate', 'cold', server=ids['cold'], strategy='cold'),
        task('server_relocate', 'auto', server=ids['stopped']))
    try:
        r = play(cloud_env, tmp_path, cold[:2] + [
            task('server_relocate', 'sched', server=names['sched'], strategy='live'),
            task('server_relocate', 'away', server=names['sched'], strategy='live',
                 away_from=DRAINED),
            task('server_relocate', 'checked', server=ids['checked'], strategy='live',
                 destination='hv02'),
            task('server_relocate', 'there', server=ids['checked'], strategy='live',
                 destination='hv02'),
            task('server_relocate', 'refused', ignore_errors=True, server=ids['forced'],
                 strategy='live', destination=unfit),
            task('server_relocate', 'forced', server=ids['forced'], strategy='live',
                 destination=unfit, destination_mode='forced'),
        ] + cold[2:])
    finally:
        undo()

    sched = r['sched']
    assert sched['changed'] is True and sched['strategy_used'] == 'live'
    assert sched['source'] == DRAINED
    assert sched['destination'] in OTHERS and sched['destination'] != unfit
    srv = server(conn, ids['sched'])
    assert (host_of(srv), srv['status']) == (sched['destination'], 'ACTIVE')
    done = migrations(conn, ids['sched'], 'live-migration')
    assert [(m['id'], m['status']) for m in done] == [(sched['migration_id'], 'completed')]
    assert r['away']['changed'] is False
    assert r['away']['msg'] == 'nothing to do: server is on %s' % sched['destination']

    assert r['checked']['changed'] is True and r['checked']['destination'] == 'hv02'
    assert r['checked']['attempts'][0]['forced_destination'] is False
    assert host_of(server(conn, ids['checked'])) == 'hv02'
    assert r['there']['changed'] is False

    refused = r['refused']
    assert refused['failed'] is True
    assert 'No valid host' in refused['msg'], refused['msg']
    forced = r['forced']
    assert forced['changed'] is True and forced['destination'] == unfit
    assert forced['attempts'][0]['forced_destination'] is True
    srv = server(conn, ids['forced'])
    # The scheduler would not use the disabled host: only a forced move gets there.
    assert (host_of(srv), srv['status']) == (unfit, 'ACTIVE')
    assert [m['status'] for m in migrations(conn, ids['forced'], 'live-migration')] == \
        ['error', 'completed']

    for role, name, status in (('cold', 'cold', 'ACTIVE'), ('stopped', 'auto', 'SHUTOFF')):
        result = r[name]
        assert result['changed'] is True and result['strategy_used'] == 'cold', result
        assert result['destination'] in OTHERS
        assert migrations(conn, ids[role], 'live-migration') == [], 'no live attempt first'
        srv = server(conn, ids[role])
        assert (host_of(srv), srv['status'], srv.get('OS-EXT-STS:task_state')) == \
            (result['destination'], status, None)
        # The resize was confirmed: nothing is left waiting in VERIFY_RESIZE.
        assert [m['status'] for m in migrations(conn, ids[role], 'migration')] == ['confirmed']


def test_relocate_wait_false_then_abort(conn, cloud_env, vms, tmp_path, drained_host):
    booted = boot(conn, vms, {'hot': {'sim:dirty_mbps': '1800'}})
    sid = booted['hot']['id']

    r = play(cloud_env, tmp_path, [task('server_relocate', 'started', server=sid,
                                        strategy='live', wait=False)])
    started = r['started']
    assert started['changed'] is True
    migration_id = started['migration_id']
    assert isinstance(migration_id, int)
    # The guest never converges: the module returned while its migration runs.
    running = migrations(conn, sid, 'live-migration')
    assert [m['id'] for m in running] == [migration_id]
    assert running[0]['status'] in ('queued', 'preparing', 'running')
    srv = server(conn, sid)
    assert (host_of(srv), srv['status']) == (DRAINED, 'MIGRATING')

    def aborted():
        response = conn.compute.delete('/servers/%s/migrations/%s' % (sid, migration_id),
                                       microversion='2.65')
        return response.status_code == 202
    wait_until('the migration to accept an abort', aborted, timeout=60, interval=1)
    wait_until('the migration to be cancelled', lambda: migrations(
        conn, sid, 'live-migration')[-1]['status'] == 'cancelled', timeout=60)

    r = play(cloud_env, tmp_path, [task('server_relocate', 'abort', ignore_errors=True,
                                        server=sid, strategy='live', completion_timeout=5,
                                        on_timeout='abort')])
    result = r['abort']
    assert result['failed'] is True
    assert 'aborted after 5s' in result['msg'], result['msg']
    attempt = result['attempts'][0]
    assert attempt['aborted'] is True and attempt['force_completed'] is False
    assert len(result['attempts']) == 1, 'on_timeout abort: no cold migration afterwards'
    assert migrations(conn, sid, 'migration') == [], 'on_timeout abort: no cold migration afterwards'
    srv = server(conn, sid)
    assert (host_of(srv), srv['status']) == (DRAINED, 'ACTIVE')
    assert [m['status'] for m in migrations(conn, sid, 'live-migration')] == \
        ['cancelled', 'cancelled']


def test_shelve_partial_keep_and_offload(conn, cloud_env, vms, tmp_path, drained_host):
    booted = boot(conn, vms, {'keep': {'sla': 'pets'}, 'offload': {'sla': 'pets'}})
    ids = {role: s['id'] for role, s in booted.items()}
    before = {role: view(conn, sid) for role, sid in ids.items()}

    r = play(cloud_env, tmp_path, [
        task('shelve_partial', 'keep', check_mode=True, server=ids['keep']),
        task('shelve_partial', 'offload', check_mode=True, server=ids['offload'], offload=True),
    ])
    assert r['keep']['changed'] is True and r['offload']['changed'] is True
    assert {role: view(conn, sid) for role, sid in ids.items()} == before

    r = play(cloud_env, tmp_path, concurrently(
        task('shelve_partial', 'keep', server=ids['keep']),
        task('shelve_partial', 'offload', server=ids['offload'], offload=True),
    ) + [task('shelve_partial', 'plan_back', check_mode=True, server=ids['keep'],
              state='unshelved')])
    assert (r['keep']['status'], r['keep']['host']) == ('SHELVED', DRAINED)
    assert (r['offload']['status'], r['offload']['host']) == ('SHELVED_OFFLOADED', None)
    assert r['plan_back']['changed'] is True
    for role, status, host in (('keep', 'SHELVED', DRAINED),
                               ('offload', 'SHELVED_OFFLOADED', None)):
        srv = server(conn, ids[role])
        assert (srv['status'], host_of(srv)) == (status, host)
        record = record_of(conn, srv)
        assert (record['action'], record['origin_host'], record['campaign']) == ('shelve_partial', DRAINED, 'manual')

    r = play(cloud_env, tmp_path, concurrently(
        task('shelve_partial', 'keep', server=ids['keep'], state='unshelved'),
        task('shelve_partial', 'offload', server=ids['offload'], state='unshelved'),
    ))
    keep, offload = r['keep'], r['offload']
    assert keep['path'] == 'in_place', keep
    assert offload['path'] == 'origin_host', offload
    for role in ('keep', 'offload'):
        srv = server(conn, ids[role])
        assert (srv['status'], host_of(srv)) == ('ACTIVE', DRAINED)
        assert record_of(conn, srv) == {}
    # Unshelved in place: the guest was never destroyed, so nothing was spawned from a disk or an
    # image. The offloaded one lost its local disk (no shared storage, as libvirt's default): back
    # on its origin host it is spawned from the snapshot image, downloaded again.
    assert [e for e in events_of(DRAINED) if e['event'] == 'unshelve' and e['instance'] == ids['keep']] == []
    offloads = [e for e in events_of(DRAINED) if e['event'] == 'offload' and e['instance'] == ids['offload']]
    assert [(e['disk_kept'], e['shared_storage']) for e in offloads] == [(False, False)]
    unshelves = [e for e in events_of(DRAINED)
                 if e['event'] == 'unshelve' and e['instance'] == ids['offload']]
    assert [e['path'] for e in unshelves] == ['image_download']
    assert unshelves[0]['download_s'] > 0
    assert offload['duration_s'] >= unshelves[0]['download_s'] > 0

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the module tests (test_host_drain, test_relocate_shelve, test_modules) share.

The modules run the way operators run them: ``ansible-playbook`` on localhost, connection options
from ``module_defaults`` of the action group, results registered and dumped as JSON for the test
to read. The cloud's own state is read through the admin connection, never only the module output.

Only hv01, hv02 and hv03 (zone az1) are used: hv03 is the host the tests drain, hv01 and hv02 are
where servers go. Test servers are booted in az1 so that the scheduler never sends them to the
other zone (other engineers' hosts).
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import time
import uuid

import pytest

from conftest import REPO, SANDBOX, level_versions, run_ansible, wait_until

ZONE = 'az1'
DRAINED = 'hv03'
OTHERS = ('hv01', 'hv02')
PREFIX = 'it-mod-'
# Room the tests need on the hosts the scheduler may choose (enabled, zone az1, not hv03): a test
# moves up to four m1.small (2 GiB each) there, plus a margin.
NEEDED_MB = 12288
MV = '2.96'
PYTHON = os.path.join(REPO, '.venv', 'bin', 'python')
LOCK_PATH = os.path.join(SANDBOX, 'it-modules-hv01-hv03.lock')
RECORD_FIELDS = ('action', 'state', 'prior_status', 'at', 'locked')
_counter = itertools.count(1)


# ---- running playbooks ------------------------------------------------------------------------

def play(cloud_env, tmp_path, tasks, extra_vars=None, expect_rc=0):
    """Runs ``tasks`` in one play on localhost; returns {register name: result}.

    Every registered result is written to a JSON file in an ``always`` section, so a failing
    task (``ignore_errors: true`` where a failure is expected) still leaves the others readable.
    """
    number = next(_counter)
    registered = [t['register'] for t in tasks if 'register' in t]
    out = tmp_path / ('results-%d.json' % number)
    dump = '{{ {%s} | to_json }}' % ', '.join(
        "'%s': (%s | default(None))" % (name, name) for name in registered)
    playbook = [{
        'name': 'cloudmaint.openstack module test %d' % number,
        'hosts': 'localhost',
        'gather_facts': False,
        'module_defaults': {'group/cloudmaint.openstack.openstack': {'cloud': 'sandbox'}},
        'tasks': [{'name': 'Module calls', 'block': tasks, 'always': [{
            'name': 'Dump the registered results',
            'ansible.builtin.copy': {'content': dump, 'dest': str(out), 'mode': '0600'},
        }]}],
    }]
    path = tmp_path / ('play-%d.yml' % number)
    path.write_text(json.dumps(playbook, indent=2))
    argv = ['ansible-playbook', '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % PYTHON]
    if extra_vars:
        vars_path = tmp_path / ('vars-%d.json' % number)
        vars_path.write_text(json.dumps(extra_vars))
        argv += ['-e', '@%s' % vars_path]
    started = time.monotonic()
    result = run_ansible(cloud_env, argv + [str(path)], check=False)
    print('play %d (%s): %.1fs' % (number, ', '.join(registered), time.monotonic() - started))
    if expect_rc is not None and result.returncode != expect_rc:
        raise AssertionError('ansible-playbook exited %d (expected %d):\n%s\n%s' % (
            result.returncode, expect_rc, result.stdout[-8000:], result.stderr[-3000:]))
    assert out.exists(), 'no results written:\n%s\n%s' % (result.stdout[-8000:], result.stderr[-3000:])
    return json.loads(out.read_text())


def task(module, register, check_mode=False, ignore_errors=False, **params):
    entry = {'name': '%s (%s)' % (module, register),
             'cloudmaint.openstack.%s' % module: params, 'register': register}
    if check_mode:
        entry['check_mode'] = True
    if ignore_errors:
        entry['ignore_errors'] = True
    return entry


def concurrently(*tasks):
    """``tasks`` started at once (async, poll 0), then waited for with async_status; each
    result is registered under its task's own name. The ``until`` loop sets the result's
    ``attempts`` to its retry count: a module's own ``attempts`` is not readable that way."""
    started, waits = [], []
    for entry in tasks:
        name = entry['register']
        job = {k: v for k, v in entry.items() if k != 'ignore_errors'}
        job.update({'register': name + '_job', 'async': 900, 'poll': 0})
        started.append(job)
        wait = {'name': 'Wait for %s' % name, 'register': name,
                'ansible.builtin.async_status': {'jid': '{{ %s_job.ansible_job_id }}' % name},
                'until': '%s.finished' % name, 'retries': 900, 'delay': 1}
        if entry.get('ignore_errors'):
            wait['ignore_errors'] = True
        waits.append(wait)
    return started + waits


def by_name(entries):
    return {e['name']: e for e in entries or []}


# ---- reading the cloud ------------------------------------------------------------------------

def server(conn, server_id):
    response = conn.compute.get('/servers/%s' % server_id, microversion=MV)
    if response.status_code == 404:
        return None
    return response.json()['server']


def host_of(srv):
    return srv.get('OS-EXT-SRV-ATTR:host')


def servers_on(conn, host):
    params = {'all_tenants': 'True', 'host': host}
    found = conn.compute.get('/servers/detail', params=params, microversion=MV).json()['servers']
    return [s for s in found if host_of(s) == host]


def view(conn, server_id):
    """What a test compares before and after: host, status, task and metadata."""
    srv = server(conn, server_id)
    if srv is None:
        return None
    return {'host': host_of(srv), 'status': srv['status'],
            'task_state': srv.get('OS-EXT-STS:task_state'), 'metadata': srv.get('metadata') or {}}


def records(conn, host=None, campaign=None):
    """The campaign records where the collection keeps them (admin-only host aggregates
    ``cloudmaint-ledger:<campaign>:<host>``), read with the admin's credentials:
    {server id: [record, ...]}, each record with its origin host and campaign."""
    found = {}
    for aggregate in conn.compute.get('/os-aggregates', microversion='2.41').json()['aggregates']:
        metadata = aggregate.get('metadata') or {}
        if not aggregate['name'].startswith('cloudmaint-ledger:') or 'cloudmaint:host' not in metadata:
            continue
        if host and metadata['cloudmaint:host'] != host or campaign and metadata['cloudmaint:campaign'] != campaign:
            continue
        for key, value in metadata.items():
            if key.startswith('cloudmaint:'):
                continue
            record = dict(zip(RECORD_FIELDS, value.split('|')))
            record.update(origin_host=metadata['cloudmaint:host'], campaign=metadata['cloudmaint:campaign'])
            found.setdefault(key, []).append(record)
    return found


def record_of(conn, srv):
    """The one campaign record of a server ({} when there is none)."""
    found = records(conn).get(srv['id'] if isinstance(srv, dict) else srv, [])
    assert len(found) <= 1, found
    return found[0] if found else {}


def service(conn, host):
    found = conn.compute.get('/os-services', params={'binary': 'nova-compute', 'host': host},
                             microversion='2.53').json()['services']
    return found[0]


def set_service(conn, host, enabled, reason=None):
    body = {'status': 'enabled' if enabled else 'disabled'}
    if not enabled:
        body['disabled_reason'] = reason
    response = conn.compute.put('/os-services/%s' % service(conn, host)['id'], json=body,
                                microversion='2.53')
    assert response.status_code < 400, response.text


def free(conn, host):
    """Free MEMORY_MB and DISK_GB of a host, from Placement."""
    providers = conn.placement.get('/resource_providers', params={'name': host},
                                   microversion='1.29').json()['resource_providers']
    uuid_ = providers[0]['uuid']
    inventories = conn.placement.get('/resource_providers/%s/inventories' % uuid_,
                                     microversion='1.29').json()['inventories']
    usages = conn.placement.get('/resource_providers/%s/usages' % uuid_,
                                microversion='1.29').json()['usages']
    return {rc: int((inv['total'] - inv['reserved']) * inv['allocation_ratio']) - usages.get(rc, 0)
            for rc, inv in inventories.items() if rc in ('MEMORY_MB', 'DISK_GB')}


def migrations(conn, server_id, migration_type=None):
    params = {'instance_uuid': server_id}
    if migration_type:
        params['migration_type'] = migration_type
    found = conn.compute.get('/os-migrations', params=params, microversion='2.80').json()
    return sorted(found['migrations'], key=lambda m: m['id'])


def actions_of(conn, server_id):
    return [a['action'] for a in conn.compute.get(
        '/servers/%s/os-instance-actions' % server_id, microversion='2.84').json()['instanceActions']]


def wait_settled(conn, server_id, status, host=None, timeout=180):
    def reached():
        srv = server(conn, server_id)
        if srv is None:
            raise AssertionError('server %s disappeared' % server_id)
        if srv['status'] == 'ERROR' and status != 'ERROR':
            raise AssertionError('server %s went to ERROR: %s' % (server_id, srv.get('fault')))
        if srv['status'] == status and not srv.get('OS-EXT-STS:task_state') and \
                (host is None or host_of(srv) == host):
            return srv
        return None
    return wait_until('server %s %s on %s' % (server_id, status, host or 'any host'), reached,
                      timeout)


def disabled_other(conn, campaign):
    """An az1 host other than hv03 that is disabled: hv01 if it is, else hv01 disabled now.

    Returns (host, undo) where undo() re-enables it if this call disabled it.
    """
    for host in OTHERS:
        if service(conn, host)['status'] == 'disabled':
            return host, lambda: None
    set_service(conn, 'hv01', False, 'cloudmaint: campaign %s: unfit destination for a test'
                % campaign)

    def undo():
        current = service(conn, 'hv01')
        if (current.get('disabled_reason') or '').startswith('cloudmaint: campaign %s' % campaign):
            set_service(conn, 'hv01', True)
    return 'hv01', undo


# ---- servers ----------------------------------------------------------------------------------

def boot(conn, factory, specs, host=DRAINED):
    """Boots m1.small servers on ``host`` in zone az1 at once; ``specs``: {role: metadata}.

    The ``servers`` fixture's factory deletes them after the test. Returns {role: server dict}.
    """
    project = conn.connect_as_project('web-shop')
    flavor_id = conn.compute.find_flavor('m1.small').id
    image_id = conn.image.find_image('cirros-sim').id
    tag = uuid.uuid4().hex[:5]
    ids = {}
    for role, metadata in specs.items():
        body = {'server': {'name': '%s%s-%s' % (PREFIX, role, tag), 'flavorRef': flavor_id,
                           'imageRef': image_id, 'networks': 'none', 'host': host,
                           'availability_zone': ZONE, 'metadata': metadata or {}}}
        response = project.compute.post('/servers', json=body, microversion='2.74')
        assert response.status_code < 400, response.text
        ids[role] = response.json()['server']['id']
        factory.created.append(ids[role])
    return {role: wait_settled(conn, server_id, 'ACTIVE', host) for role, server_id in ids.items()}


def server_action(conn, server_id, body, status, host=None):
    response = conn.compute.post('/servers/%s/action' % server_id, json=body, microversion='2.1')
    assert response.status_code < 400, response.text
    return wait_settled(conn, server_id, status, host)


def delete_and_wait(conn, server_id):
    conn.compute.delete('/servers/%s' % server_id, microversion='2.1')
    wait_until('server %s deleted' % server_id, lambda: server(conn, server_id) is None, 120)


def enable_drained_host(conn):
    """Puts hv03 back into service if a test left it disabled."""
    if service(conn, DRAINED)['status'] != 'enabled':
        set_service(conn, DRAINED, True)


# ---- a host whose content the tests control ---------------------------------------------------

def _moves_off(servers, room, enabled):
    """server_relocate / shelve_partial items that take ``servers`` to hv01/hv02.

    Largest first. A running server goes to the enabled host with most room as long as the
    enabled hosts keep NEEDED_MB free, else it is forced onto a disabled host; a stopped one can
    only be cold migrated (to an enabled host); shelved ones are offloaded (their disk then lives
    in Glance). ``room`` is updated.
    """
    relocations, offloads, stuck = [], [], []
    for srv in sorted(servers, key=lambda s: -s['flavor']['ram']):
        ram, disk, status = srv['flavor']['ram'], srv['flavor']['disk'], srv['status']
        if status == 'SHELVED':
            offloads.append({'server': srv['id'], 'name': srv['name']})
            continue
        fits = sorted((h for h in OTHERS
                       if room[h]['MEMORY_MB'] >= ram and room[h]['DISK_GB'] >= disk),
                      key=lambda h: -room[h]['MEMORY_MB'])
        usable_room = sum(room[h]['MEMORY_MB'] for h in OTHERS if enabled[h])
        on_enabled = [h for h in fits if enabled[h]]
        on_disabled = [h for h in fits if not enabled[h]]
        if status in ('ACTIVE', 'PAUSED'):
            if on_enabled and usable_room - ram >= NEEDED_MB:
                dest, mode = on_enabled[0], 'checked'
            elif on_disabled:
                dest, mode = on_disabled[0], 'forced'
            elif on_enabled:
                dest, mode = on_enabled[0], 'checked'
            else:
                stuck.append('%s (%s)' % (srv['name'], status))
                continue
            strategy = 'live'
        elif status == 'SHUTOFF' and on_enabled:
            dest, mode, strategy = on_enabled[0], 'checked', 'cold'
        else:
            stuck.append('%s (%s)' % (srv['name'], status))
            continue
        room[dest]['MEMORY_MB'] -= ram
        room[dest]['DISK_GB'] -= disk
        relocations.append({'server': srv['id'], 'name': srv['name'], 'destination': dest,
                            'mode': mode, 'strategy': strategy})
    return relocations, offloads, stuck


def clear_drained_host(conn, cloud_env, tmp_path):
    """Empties hv03 of every server the tests did not boot, and makes room for them on hv01/hv02.

    Seeded servers are moved with server_relocate (their metadata, including another campaign's
    records, is left as it is), not drained, and stay where they went. If the hosts the scheduler
    may use (enabled) have too little room, running seeded servers are moved from them onto a
    disabled az1 host (forced live migration, the scheduler skips disabled hosts).
    """
    from conftest import cloudctl
    cloudctl('fault', 'clear', DRAINED, check=False)
    enable_drained_host(conn)
    for srv in servers_on(conn, DRAINED):
        if srv['name'].startswith(PREFIX):      # left by an interrupted run
            delete_and_wait(conn, srv['id'])
    seeded = servers_on(conn, DRAINED)
    room = {h: free(conn, h) for h in OTHERS}
    enabled = {h: service(conn, h)['status'] == 'enabled' and service(conn, h)['state'] == 'up'
               for h in OTHERS}
    relocations, offloads, stuck = _moves_off(seeded, room, enabled)
    if stuck:
        pytest.fail('cannot clear %s of %s: no room on %s'
                    % (DRAINED, ', '.join(stuck), ', '.join(OTHERS)))
    usable_room = sum(room[h]['MEMORY_MB'] for h in OTHERS if enabled[h])
    if usable_room < NEEDED_MB:
        grouped = set()
        for group in conn.compute.get('/os-server-groups', params={'all_projects': 'True'},
                                      microversion='2.64').json()['server_groups']:
            grouped.update(group.get('members') or [])
        for host in (h for h in OTHERS if enabled[h]):
            candidates = [s for s in servers_on(conn, host)
                          if s['status'] in ('ACTIVE', 'PAUSED') and s['id'] not in grouped
                          and not s['name'].startswith(PREFIX)]
            for srv in sorted(candidates, key=lambda s: -s['flavor']['ram']):
                if usable_room >= NEEDED_MB:
                    break
                target = [h for h in OTHERS if not enabled[h]
                          and room[h]['MEMORY_MB'] >= srv['flavor']['ram'] + 2048
                          and room[h]['DISK_GB'] >= srv['flavor']['disk'] + 20]
                if not target:
                    continue
                room[target[0]]['MEMORY_MB'] -= srv['flavor']['ram']
                room[target[0]]['DISK_GB'] -= srv['flavor']['disk']
                usable_room += srv['flavor']['ram']
                relocations.append({'server': srv['id'], 'name': srv['name'],
                                    'destination': target[0], 'mode': 'forced',
                                    'strategy': 'live'})
        if usable_room < NEEDED_MB:
            pytest.fail('zone az1 has %d MiB free on the hosts the scheduler may use besides %s; '
                        'the tests need %d' % (usable_room, DRAINED, NEEDED_MB))
    if relocations or offloads:
        tasks = []
        if relocations:
            tasks.append({
                'name': 'Move seeded servers off %s' % DRAINED, 'register': 'moved',
                'loop': '{{ relocations }}', 'loop_control': {'label': '{{ item.name }}'},
                'cloudmaint.openstack.server_relocate': {
                    'server': '{{ item.server }}', 'strategy': '{{ item.strategy }}',
                    'destination': '{{ item.destination }}',
                    'destination_mode': '{{ item.mode }}',
                    'completion_timeout': 15, 'on_timeout': 'force_complete'}})
        if offloads:
            tasks.append({
                'name': 'Offload shelved seeded servers', 'register': 'offloaded',
                'loop': '{{ offloads }}', 'loop_control': {'label': '{{ item.name }}'},
                'cloudmaint.openstack.shelve_partial': {
                    'server': '{{ item.server }}', 'offload': True, 'record': False}})
        play(cloud_env, tmp_path, tasks,
             extra_vars={'relocations': relocations, 'offloads': offloads})
    left = [s['name'] for s in servers_on(conn, DRAINED)]
    assert not left, 'still on %s: %s' % (DRAINED, left)
    return relocations, offloads


@pytest.fixture
def vms(conn, servers):
    """The ``servers`` factory, and before its cleanup any live migration of the test's servers
    still running is aborted: the simulated hypervisor goes on migrating a deleted server (up to
    its own 800 s timeout), which would hold hv03's only live-migration slot."""
    yield servers
    for server_id in servers.created:
        response = conn.compute.get('/servers/%s/migrations' % server_id, microversion='2.80')
        if response.status_code == 404:  # the server is gone: nothing to abort
            continue
        assert response.status_code == 200, response.text
        running = response.json().get('migrations', [])
        for migration in running:
            conn.compute.delete('/servers/%s/migrations/%s' % (server_id, migration['id']),
                                microversion='2.65')
        if running:
            wait_until('live migrations of %s to end' % server_id, lambda: not conn.compute.get(
                '/servers/%s/migrations' % server_id, microversion='2.80').json().get(
                    'migrations'), timeout=60)


@contextlib.contextmanager
def hosts_lock(timeout=1800):
    """Only one run of these tests at a time uses hv01-hv03 (`pytest tests/integration` in
    another shell would otherwise drain this run's servers along with its own)."""
    with open(LOCK_PATH, 'a') as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail('another run of the module tests held %s for %ss'
                                % (LOCK_PATH, timeout))
                time.sleep(2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope='module')
def drained_host(conn, cloud_env, tmp_path_factory):
    """hv03 with nothing on it but what the tests boot, and re-enabled after the module. Campaigns
    of the fault suite patch hv03 alone: zone az1 first comes to one hypervisor version, or Nova
    would refuse to live-migrate hv03's servers to hv01 and hv02."""
    with hosts_lock():
        level_versions(conn, ('hv01', 'hv02', DRAINED))
        clear_drained_host(conn, cloud_env, tmp_path_factory.mktemp('clear-hv03'))
        yield DRAINED
        enable_drained_host(conn)

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The main job, playbooks/rolling_patch.yml, against the sandbox cloud, on hv04 and hv05 only.

Campaigns run with tests/molecule/inventory: hv04 and hv05 (zone az2) with the sandbox's
group_vars, one host per batch, each test with a campaign id of its own. Other suites drain and
reboot hv01-hv03 and hv06 meanwhile, so only hv04, hv05 and the servers that were on them are
compared. Probe servers are booted in zone az2, so nothing these campaigns move lands in az1.
Campaigns leave servers where they went, as rolling campaigns do; the next module starts from the
seeded layout again (conftest.seeded_layout).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import signal
import subprocess
import uuid

import psutil
import pytest

from conftest import REPO, level_versions, migrations_of, run_ansible, wait_until
from modules_support import free
from modules_support import records as campaign_records

PAIR = ('hv04', 'hv05')
INVENTORY = os.path.join(REPO, 'tests', 'molecule', 'inventory')
PLAYBOOK = os.path.join(REPO, 'playbooks', 'rolling_patch.yml')
RESTORE_PLAYBOOK = os.path.join(REPO, 'playbooks', 'restore.yml')
VENV_BIN = os.path.join(REPO, '.venv', 'bin')
LEDGER = 'cloudmaint-ledger'
# Migration statuses (live and cold): a move that happened, and a record that is over.
MOVED = ('completed', 'finished', 'confirmed', 'done')
OVER = MOVED + ('error', 'failed', 'cancelled', 'reverted', 'aborted')
# "Show the plan": "N migrations for M servers, K extra"
EXTRA = re.compile(r'\d+\s+migrations\s+for\s+\d+\s+servers,\s+(\d+)\s+extra')


# ---- helpers ------------------------------------------------------------------------------------

def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def nova_time(text):
    """Nova's created_at ('2026-11-21T11:43:17.000000', UTC without a zone) as an aware datetime."""
    when = datetime.datetime.fromisoformat(text.rstrip('Z'))
    return when.replace(tzinfo=datetime.timezone.utc) if when.tzinfo is None else when


def campaign_argv(campaign, report_dir, *extra):
    return [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', INVENTORY, PLAYBOOK,
            '-e', 'cloudmaint_campaign=%s' % campaign, '-e', 'cloudmaint_batch_size=1',
            '-e', 'cloudmaint_report_dir=%s' % report_dir] + list(extra)


def services_of_pair(conn):
    return {s.host: {'status': s.status, 'state': s.state, 'disabled_reason': s.disabled_reason}
            for s in conn.compute.services(binary='nova-compute') if s.host in PAIR}


def all_servers(conn):
    return {s.id: s for s in conn.compute.servers(all_projects=True, details=True)}


def servers_on_pair(conn):
    """id -> {name, host, status} of every server on hv04 or hv05."""
    return {sid: {'name': s.name, 'host': s.compute_host, 'status': s.status}
            for sid, s in all_servers(conn).items() if s.compute_host in PAIR}


def ledger_of(conn, campaign):
    """{host: 'state|time|note'} of a campaign in the ledger aggregate."""
    prefix = campaign + ':'
    for aggregate in conn.compute.aggregates():
        if aggregate.name == LEDGER:
            return {key[len(prefix):]: value for key, value in (aggregate.metadata or {}).items()
                    if key.startswith(prefix)}
    return {}


def migrations_since(conn, server_id, since):
    return [m for m in migrations_of(conn, server_id) if nova_time(m.created_at) >= since]


def boot_in_az2(factory, host, flavor='m1.small', ram_used_mb=1900, dirty_mbps=10):
    """A cattle server on ``host``, pinned to zone az2 (ServerFactory's servers have no zone and
    could be moved to az1, where other suites work). Deleted with the factory's servers."""
    conn = factory.conn.connect_as_project('web-shop')
    body = {'server': {
        'name': 'rp-%s' % uuid.uuid4().hex[:8],
        'flavorRef': factory.conn.compute.find_flavor(flavor).id,
        'imageRef': factory.conn.image.find_image('cirros-sim').id,
        'networks': 'none', 'host': host, 'availability_zone': 'az2',
        'metadata': {'sla': 'cattle', 'sim:ram_used_mb': str(ram_used_mb),
                     'sim:dirty_mbps': str(dirty_mbps)}}}
    response = conn.compute.post('/servers', json=body, microversion='2.74')
    assert response.status_code < 400, response.text
    server_id = response.json()['server']['id']
    factory.created.append(server_id)
    return factory.wait_status(server_id, 'ACTIVE')


def kill_tree(process):
    """SIGKILL ansible-playbook and everything it started, as a dead controller (or a deleted AWX
    container) would leave it. Killing its process group is not enough: ansible-core's workers
    call setsid(), so they and the modules they run (host_drain) would carry on."""
    try:
        root = psutil.Process(process.pid)
    except psutil.NoSuchProcess:
        return []
    # Freeze the tree first so that nothing forks while it is collected, then kill all at once.
    tree = [root]
    seen = set()
    while True:
        for proc in tree:
            if proc.pid not in seen:
                try:
                    proc.send_signal(signal.SIGSTOP)
                except psutil.NoSuchProcess:
                    pass
                seen.add(proc.pid)
        try:
            grown = [root] + root.children(recursive=True)
        except psutil.NoSuchProcess:
            grown = tree
        if {p.pid for p in grown} <= seen:
            break
        tree = grown
    for proc in tree:
        try:
            proc.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    process.wait(timeout=30)
    _gone, alive = psutil.wait_procs(tree, timeout=30)
    assert not alive, 'still running after SIGKILL: %s' % alive
    return [p.pid for p in tree]


# ---- fixtures -----------------------------------------------------------------------------------

@pytest.fixture
def pair_ready(conn):
    """hv04 and hv05 enabled and up before a campaign starts (a previous run is undone by its own
    teardown; anything else is somebody's work in progress, not ours to change), and zone az2 on
    one hypervisor version (level_versions)."""
    level_versions(conn, ('hv04', 'hv05', 'hv06'))

    def ready():
        services = services_of_pair(conn)
        return services if all(s['status'] == 'enabled' and s['state'] == 'up'
                               for s in services.values()) else None
    return wait_until('hv04 and hv05 enabled and up', ready, timeout=120, interval=2)


@pytest.fixture
def campaign(cloud_env, tmp_path):
    """A fresh campaign id. Afterwards hv04 and hv05 are restored from whatever the campaign left
    (servers stay where they went, as in a rolling campaign) and its ledger is closed."""
    name = 'itest-%s' % uuid.uuid4().hex[:8]
    yield name
    run_ansible(cloud_env, [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', INVENTORY,
                            RESTORE_PLAYBOOK, '-e', 'cloudmaint_drain_campaign=%s' % name,
                            '-e', 'cloudmaint_rolling=true'], timeout=900)
    run_ansible(cloud_env, [os.path.join(VENV_BIN, 'ansible'), '-i', INVENTORY, 'localhost',
                            '-m', 'cloudmaint.openstack.campaign_state',
                            '-a', 'cloud=sandbox campaign=%s state=absent' % name], timeout=300)


# ---- bad input stops the campaign before anything changes --------------------------------------

def assert_untouched(conn, campaign, services_before, servers_before, since):
    """Same service status and reason on hv04 and hv05, every server that was there still there in
    the same status, none of them migrated, nothing in the campaign's ledger."""
    assert services_of_pair(conn) == services_before
    now = servers_on_pair(conn)
    for sid, was in servers_before.items():
        assert now.get(sid) == was, '%s: was %s, now %s' % (was['name'], was, now.get(sid))
        assert migrations_since(conn, sid, since) == [], '%s was migrated' % was['name']
    assert ledger_of(conn, campaign) == {}


def test_policy_typo_fails_in_preflight_with_its_path(conn, cloud_env, pair_ready, campaign, tmp_path):
    since = utcnow() - datetime.timedelta(seconds=2)
    services, servers = services_of_pair(conn), servers_on_pair(conn)
    typo = {'cloudmaint_policy': {'classes': {'pets': {'fallbacks': ['cold_migrat']}}}}

    result = run_ansible(cloud_env, campaign_argv(campaign, tmp_path, '-e', json.dumps(typo)),
                         check=False, timeout=600)

    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-4000:]
    assert 'cloudmaint_policy.classes.pets.fallbacks[0]' in output, output[-4000:]
    assert "did you mean 'cold_migrate'" in output, output[-4000:]
    assert 'TASK [Record that work on this host began]' not in output, output[-4000:]
    assert_untouched(conn, campaign, services, servers, since)


@pytest.mark.parametrize('variable, value, complaint', [
    ('cloudmaint_reboot_method', 'teleport', 'must be one of'),     # a choice of role reboot
    ('cloudmaint_verify_timeout', 'soon', 'int'),                    # a type of role verify
], ids=['reboot_method-choice', 'verify_timeout-type'])
def test_wrong_role_variable_fails_in_argument_validation(conn, cloud_env, pair_ready, campaign,
                                                          tmp_path, variable, value, complaint):
    since = utcnow() - datetime.timedelta(seconds=2)
    services, servers = services_of_pair(conn), servers_on_pair(conn)

    result = run_ansible(cloud_env, campaign_argv(campaign, tmp_path, '-e',
                                                  '%s=%s' % (variable, value)),
                         check=False, timeout=900)

    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-4000:]
    assert 'Validation of arguments failed' in output, output[-4000:]
    assert variable in output and complaint in output, output[-4000:]
    assert 'TASK [Record that work on this host began]' not in output, output[-4000:]
    assert_untouched(conn, campaign, services, servers, since)


# ---- a controller killed in the middle of a drain -----------------------------------------------

def drain_under_way(conn, campaign, host, watched, since):
    """The in-flight migration of one of ``watched`` off ``host``, once ``host`` is disabled by
    ``campaign``; None before."""
    service = services_of_pair(conn)[host]
    if service['status'] != 'disabled' or campaign not in (service['disabled_reason'] or ''):
        return None
    for sid in watched:
        for migration in migrations_since(conn, sid, since):
            if migration.source_compute == host and migration.status not in OVER:
                return migration
    return None


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_killed_campaign_resumes_without_moving_a_server_twice(conn, cloud_env, servers, pair_ready,
                                                               campaign, tmp_path):
    """A controller killed (SIGKILL, its whole process tree) while the first host of the plan is
    being drained, then the same campaign run again to the end, on hv04 and hv05 one at a time.

    "Moved at most once": from the seeded layout the plan of either run needs no extra move (hv06
    has room, and the host done first takes what leaves the second; both runs print "0 extra"), so
    across the killed run and the re-run together every server that was on hv04 or hv05 has at
    most one completed migration (live or cold) since the test began, whatever its hosts. A
    migration that failed before a fallback moved the server does not count; none may still be
    running at the end.
    """
    since = utcnow() - datetime.timedelta(seconds=2)
    # hv06 empty (its seeded servers deleted; the next module starts from the seeded layout
    # again), so that the plan needs no extra move: what leaves the first host fits on hv06, what
    # leaves the second on the first.
    spare = [s for s in conn.compute.servers(all_projects=True, details=True) if s.compute_host == 'hv06']
    for srv in spare:
        conn.compute.delete_server(srv)
    wait_until('hv06 empty, its room back in Placement', lambda: not [
        s for s in conn.compute.servers(all_projects=True, details=True) if s.compute_host == 'hv06']
        and free(conn, 'hv06')['MEMORY_MB'] >= 40000, timeout=180, interval=2)
    # Probes that either host's drain has to live-migrate (the plan picks which host goes first),
    # a few seconds each.
    probes = [boot_in_az2(servers, host) for host in PAIR for _copy in range(2)]
    before = servers_on_pair(conn)
    assert all(p.id in before for p in probes)
    argv = campaign_argv(campaign, tmp_path)
    env = dict(cloud_env, PATH=VENV_BIN + os.pathsep + cloud_env.get('PATH', ''))

    def under_way():
        for host in PAIR:
            on_host = [sid for sid, server in before.items() if server['host'] == host]
            migration = drain_under_way(conn, campaign, host, on_host, since)
            if migration:
                return host, migration
        return None

    with open(tmp_path / 'killed-run.log', 'w') as log:
        process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            found = wait_until(
                'a host disabled by %s and a migration off it running' % campaign,
                lambda: (process.poll() is None and under_way())
                or (process.poll() is not None and 'exited'),
                timeout=300, interval=0.2)
        finally:
            kill_tree(process)
    assert found != 'exited', (tmp_path / 'killed-run.log').read_text()[-4000:]
    first, in_flight = found
    print('killed during migration %s of %s (%s)' % (in_flight.id, in_flight.server_id,
                                                     in_flight.status))
    assert services_of_pair(conn)[first]['status'] == 'disabled'
    assert ledger_of(conn, campaign).get(first, '').startswith('started|')

    rerun = run_ansible(cloud_env, argv, timeout=1500)
    print(rerun.stdout[-3000:])
    killed_plan = EXTRA.findall((tmp_path / 'killed-run.log').read_text())
    assert killed_plan == ['0'], 'the killed run planned extra moves: %s' % killed_plan
    assert EXTRA.findall(rerun.stdout) == ['0'], 'the re-run planned extra moves'

    services = services_of_pair(conn)
    assert all(s['status'] == 'enabled' for s in services.values()), services
    now = all_servers(conn)
    left_records = campaign_records(conn, campaign=campaign)
    for sid, was in before.items():
        assert sid in now, '%s (was on %s) is gone' % (was['name'], was['host'])
        server = now[sid]
        assert server.status != 'ERROR', '%s in ERROR: %s' % (was['name'], server.fault)
        if was['status'] == 'ACTIVE':
            assert server.status == 'ACTIVE', '%s: was ACTIVE, now %s' % (was['name'], server.status)
        assert sid not in left_records, '%s still has a campaign record: %s' % (was['name'], left_records[sid])
        assert not server.is_locked, '%s is still locked' % was['name']

        migrations = migrations_since(conn, sid, since)
        running = [m for m in migrations if m.status not in OVER]
        assert not running, '%s: migrations still running: %s' % (was['name'], running)
        completed = [m for m in migrations if m.status in MOVED]
        assert len(completed) <= 1, '%s moved %d times: %s' % (
            was['name'], len(completed), [(m.source_compute, m.dest_compute, m.status,
                                           m.migration_type) for m in migrations])
    assert any(m.status in MOVED for m in migrations_since(conn, in_flight.server_id, since))
    assert ledger_of(conn, campaign) == {}, 'campaign %s still open' % campaign

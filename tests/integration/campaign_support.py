# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What test_faults, test_bad_input and test_secrets share: the playbooks run the way operators
run them (drain.yml / restore.yml with the sandbox inventory, rolling_patch.yml with an inventory
of hv03 alone), the census through the server_census module, and az1 put back in order.

Only hv01, hv02 and hv03 (zone az1) are changed, always under modules_support.hosts_lock (the
``drained_host`` fixture holds it for a whole test module).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import REPO, SANDBOX, cloudctl, level_versions, run_ansible, wait_until
from modules_support import (
    DRAINED,
    OTHERS,
    play,
    service,
    servers_on,
    set_service,
    task,
)

AZ1 = ('hv01', 'hv02', 'hv03')
OTHER_ZONE = ['hv04', 'hv05', 'hv06']
VENV_BIN = os.path.join(REPO, '.venv', 'bin')
SANDBOX_INVENTORY = os.path.join(REPO, 'sandbox', 'inventory')
CLOUDCTL = os.path.join(REPO, 'sandbox', 'cloudctl')
PLAYBOOKS = os.path.join(REPO, 'playbooks')
LEDGER = 'cloudmaint-ledger'
ALERTMANAGER = 'http://127.0.0.1:39093'
# Migrations of these sizes take about a second (10 Gbit/s).
SMALL = {'sim:ram_used_mb': '512', 'sim:dirty_mbps': '10'}

if os.path.join(REPO, 'sandbox') not in sys.path:
    sys.path.insert(0, os.path.join(REPO, 'sandbox'))


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(when):
    return when.strftime('%Y-%m-%dT%H:%M:%SZ')


def alertmanager_silences():
    """Every silence the sandbox's Alertmanager holds, expired ones included."""
    with urllib.request.urlopen(ALERTMANAGER + '/api/v2/silences', timeout=10) as answer:
        return json.load(answer)


# ---- playbooks ----------------------------------------------------------------------------------

def playbook(cloud_env, name, inventory, *extra, verbosity=0, timeout=900, env=None):
    """ansible-playbook playbooks/<name> with extra vars; returns the CompletedProcess (not
    checked) with ``seconds`` added."""
    argv = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', inventory,
            os.path.join(PLAYBOOKS, name)]
    if verbosity:
        argv.append('-' + 'v' * verbosity)
    for item in extra:
        argv += ['-e', item if isinstance(item, str) else json.dumps(item)]
    started = time.monotonic()
    result = run_ansible(env or cloud_env, argv, check=False, timeout=timeout)
    result.seconds = time.monotonic() - started
    print('%s: rc %d in %.1fs' % (name, result.returncode, result.seconds))
    return result


def output_of(result):
    return result.stdout + result.stderr


def drain_playbook(cloud_env, campaign, *extra, **kwargs):
    """drain.yml on hv03 with the sandbox inventory; the other zone may be rebooting."""
    return playbook(cloud_env, 'drain.yml', SANDBOX_INVENTORY,
                    {'cloudmaint_hosts': DRAINED, 'cloudmaint_drain_campaign': campaign,
                     'cloudmaint_allow_down_hosts': OTHER_ZONE}, *extra, **kwargs)


def restore_playbook(cloud_env, campaign, *extra, **kwargs):
    return playbook(cloud_env, 'restore.yml', SANDBOX_INVENTORY,
                    {'cloudmaint_hosts': DRAINED, 'cloudmaint_drain_campaign': campaign},
                    *extra, **kwargs)


def hv03_inventory(tmp_path, **variables):
    """An inventory of hv03 alone for rolling_patch.yml: the sandbox's group_vars, the sandbox's
    cloudctl, hosts of the other zone allowed to be down (other suites reboot them)."""
    root = tmp_path / 'inventory-hv03'
    (root / 'group_vars' / 'all').mkdir(parents=True, exist_ok=True)
    (root / 'hosts.yml').write_text(json.dumps({'hypervisors': {'hosts': {DRAINED: {}}}}))
    sandbox_vars = root / 'group_vars' / 'all' / '10-sandbox.yml'
    if not sandbox_vars.exists():
        sandbox_vars.symlink_to(os.path.join(SANDBOX_INVENTORY, 'group_vars', 'all.yml'))
    settings = {
        'cloudmaint_patch_command': 'true',
        'cloudmaint_reboot_command': '%s reboot %s --no-wait' % (CLOUDCTL, DRAINED),
        'cloudmaint_batch_size': 1,
        'cloudmaint_allow_down_hosts': OTHER_ZONE,
    }
    settings.update(variables)
    (root / 'group_vars' / 'all' / '20-faults.yml').write_text(json.dumps(settings))
    return str(root)


def names_ids(booted):
    """{role: name}, {role: id} of what modules_support.boot returned."""
    return ({role: s['name'] for role, s in booted.items()},
            {role: s['id'] for role, s in booted.items()})


# ---- census -------------------------------------------------------------------------------------

def census(cloud_env, tmp_path, before=None, since=None, expected=None, phase='restored',
           allow_delete=False, hosts=(DRAINED,), env=None):
    """server_census through a play; with ``before`` the comparison, never failing the play
    (the test asserts on ``ok`` and ``findings``)."""
    params = {'hosts': list(hosts)}
    if before is not None:
        params.update(before=before, phase=phase, allow_delete=allow_delete,
                      fail_on_findings=False)
        if since:
            params['since'] = since
        if expected is not None:
            params['expected'] = expected
    return play(env or cloud_env, tmp_path, [task('server_census', 'census', **params)])['census']


def assert_census_ok(result, verdicts=None):
    assert result['ok'] is True, result['msg'] if 'msg' in result else result
    if verdicts:
        got = {s['name']: s['verdict'] for s in result['servers']}
        for name, verdict in verdicts.items():
            assert got.get(name) == verdict, (name, got)


# ---- putting az1 back in order ------------------------------------------------------------------

def compute_pid(host):
    """The pid of ``host``'s nova-compute as the sandbox recorded it, or None."""
    pidfile = os.path.join(SANDBOX, 'run', 'compute-%s.pid' % host)
    try:
        with open(pidfile) as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def compute_running(host):
    pid = compute_pid(host)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def service_up(conn, host, timeout=120):
    """Starts ``host``'s nova-compute if a test stopped it and waits until Nova sees it up."""
    if not compute_running(host):
        cloudctl('fault', 'service-up', host)
    wait_until('%s up' % host, lambda: service(conn, host)['state'] == 'up', timeout, interval=2)


def service_down(conn, host, timeout=90):
    """Kills ``host``'s nova-compute and waits until Nova marks it down."""
    cloudctl('fault', 'service-down', host)
    wait_until('%s marked down' % host, lambda: service(conn, host)['state'] == 'down', timeout,
               interval=2)


def settle_az1(conn, timeout=300):
    """No server of az1 busy (a migration the test interrupted ends first)."""
    def quiet():
        busy = [s['name'] for h in AZ1 for s in servers_on(conn, h)
                if s.get('OS-EXT-STS:task_state')]
        return not busy or None
    wait_until('az1 servers to settle', quiet, timeout, interval=2)


def az1_in_order(conn):
    """Faults cleared, every az1 compute service running, up and enabled."""
    for host in AZ1:
        cloudctl('fault', 'clear', host, check=False)
    for host in AZ1:
        service_up(conn, host)
    for host in AZ1:
        if service(conn, host)['status'] != 'enabled':
            set_service(conn, host, True)


def ledger_of(conn, campaign):
    prefix = campaign + ':'
    for aggregate in conn.compute.aggregates():
        if aggregate.name == LEDGER:
            return {k[len(prefix):]: v for k, v in (aggregate.metadata or {}).items()
                    if k.startswith(prefix)}
    return {}


def close_campaign(cloud_env, campaign):
    run_ansible(cloud_env, [os.path.join(VENV_BIN, 'ansible'), '-i', 'localhost,', 'localhost',
                            '-c', 'local', '-m', 'cloudmaint.openstack.campaign_state',
                            '-a', 'cloud=sandbox campaign=%s state=absent' % campaign],
                check=False, timeout=300)


def reset_state(conn, server_id, state='error'):
    response = conn.compute.post('/servers/%s/action' % server_id,
                                 json={'os-resetState': {'state': state}}, microversion='2.1')
    assert response.status_code < 400, response.text


def run_in_background(cloud_env, argv, log_path):
    env = dict(cloud_env, PATH=VENV_BIN + os.pathsep + cloud_env.get('PATH', ''))
    log = open(log_path, 'w')
    return subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True), log


__all__ = ['OTHERS']


@pytest.fixture(autouse=True)
def az1_restored(conn, drained_host):  # pylint: disable=unused-argument
    """hv01-hv03 in order before and after each test of a module that imports it (with
    modules_support.drained_host, which holds the az1 lock). The campaigns patch hv03 alone: before
    each test zone az1 comes back to one hypervisor version (see conftest.level_versions)."""
    az1_in_order(conn)
    level_versions(conn, AZ1)
    yield
    try:
        settle_az1(conn)
    finally:
        az1_in_order(conn)

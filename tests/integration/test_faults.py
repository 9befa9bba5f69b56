# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Faults injected while hv03 is drained, patched, rebooted and restored: every test checks the
campaign's invariant with the server_census module (every server still there, in the status its
policy promised, flavor and volumes unchanged; servers in ERROR before are left alone) and that
the run ends the documented way.

hv03 is emptied of seeded servers once (modules_support.drained_host, which holds the az1 lock
for the whole module); destinations are hv01/hv02. After every test faults are cleared and hv01,
hv02 and hv03 are running, up and enabled again.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from campaign_support import (  # noqa: F401  pylint: disable=unused-import
    SMALL,
    alertmanager_silences,
    az1_restored,
    census,
    assert_census_ok,
    close_campaign,
    drain_playbook,
    hv03_inventory,
    iso,
    names_ids,
    ledger_of,
    output_of,
    playbook,
    reset_state,
    restore_playbook,
    run_in_background,
    service_down,
    service_up,
    settle_az1,
    utcnow,
)
from conftest import REPO, SANDBOX, events_of, wait_until
from modules_support import (  # noqa: F401  pylint: disable=unused-import
    DRAINED,
    OTHERS,
    PYTHON,
    record_of,
    boot,
    by_name,
    drained_host,
    host_of,
    migrations,
    play,
    server,
    service,
    task,
    vms,
)

pytestmark = pytest.mark.faults


# ---- live migration fails: the fallback chain; a server in ERROR before is left alone ----------

def test_failed_live_migration_falls_back_and_error_server_is_left_alone(
        conn, cloud_env, vms, tmp_path, ctl):
    """drain.yml and restore.yml, as an operator runs them, on hv03."""
    booted = boot(conn, vms, {'cattle': dict(SMALL, sla='cattle'),
                              'broken': dict(SMALL, sla='cattle')})
    names, ids = names_ids(booted)
    reset_state(conn, ids['broken'], 'error')
    wait_until('server in ERROR', lambda: server(conn, ids['broken'])['status'] == 'ERROR')
    campaign = 'it-fault-lm-%d' % (time.time() % 100000)
    since = iso(utcnow())
    before = census(cloud_env, tmp_path)
    assert {e['name'] for e in before['census']} == set(names.values())

    ctl('fault', 'fail-live-migration', DRAINED)
    # reset-state leaves the guest running: a reboot would kill it, so the drain stops, naming it,
    # until the operator accepts that (cloudmaint_reboot_in_error); the re-run moves nothing again.
    refused = drain_playbook(cloud_env, campaign)
    assert refused.returncode != 0
    assert 'still running on it: %s' % names['broken'] in output_of(refused), output_of(refused)[-6000:]
    drained = drain_playbook(cloud_env, campaign, {'cloudmaint_reboot_in_error': [ids['broken']]})
    out = output_of(drained)
    assert drained.returncode == 0, out[-6000:]
    srv = server(conn, ids['cattle'])
    assert (host_of(srv), srv['status']) in {(h, 'ACTIVE') for h in OTHERS}, srv
    assert [m['status'] for m in migrations(conn, ids['cattle'])] == ['error', 'confirmed']
    assert record_of(conn, srv)['action'] == 'cold_migrate'
    injected = [e for e in events_of(DRAINED) if e.get('instance') == ids['cattle']
                and e['event'] == 'live_migration']
    assert injected and injected[-1]['outcome'] == 'error'
    broken = server(conn, ids['broken'])
    assert (host_of(broken), broken['status'], broken['locked']) == (DRAINED, 'ERROR', True)
    assert 'left_in_error' in out, out[-4000:]
    assert service(conn, DRAINED)['status'] == 'disabled'

    after = census(cloud_env, tmp_path, before=before['census'], since=since, phase='drained',
                   expected={ids['cattle']: 'cold_migrate'})
    assert_census_ok(after, {names['cattle']: 'ok', names['broken']: 'left_alone'})

    restored = restore_playbook(cloud_env, campaign)
    assert restored.returncode == 0, output_of(restored)[-6000:]
    srv = server(conn, ids['cattle'])
    assert (host_of(srv), srv['status']) == (DRAINED, 'ACTIVE'), 'moved back after a drain'
    assert server(conn, ids['broken'])['locked'] is False, 'restore releases the lock it set'
    assert service(conn, DRAINED)['status'] == 'enabled'
    after = census(cloud_env, tmp_path, before=before['census'], since=since,
                   expected={ids['cattle']: 'cold_migrate'})
    assert_census_ok(after, {names['cattle']: 'ok', names['broken']: 'left_alone'})
    assert after['deleted'] == []


# ---- live migration stalls: the completion policy ---------------------------------------------

def test_stalled_live_migration_aborted_or_forced_by_policy(conn, cloud_env, vms, tmp_path, ctl):
    # 2 GiB do not fit the 500 ms downtime budget: a stalled guest never converges unaided.
    booted = boot(conn, vms, {'stuck': {'sla': 'cattle', 'sim:ram_used_mb': '2048'}})
    names, ids = names_ids(booted)
    quick = {'completion_timeout_s': 3}
    low = {'live_migration': {'low': {'cattle': dict(quick, on_timeout='abort')}}}
    medium = {'live_migration': {'medium': {'cattle': dict(quick, on_timeout='force_complete')}}}
    before = census(cloud_env, tmp_path)

    ctl('fault', 'stall-live-migration', DRAINED)
    r = play(cloud_env, tmp_path, [
        task('host_drain', 'low', ignore_errors=True, host=DRAINED, campaign='it-fault-stall',
             importance='low', policy=low),
        task('server_census', 'after', hosts=[DRAINED], before=before['census'],
             expected='{{ low.servers }}', phase='drained', fail_on_findings=False),
    ])
    low_run = r['low']
    assert low_run['failed'] is True
    assert low_run['msg'] == ('drain of hv03 incomplete: 1 server(s) still running on it: %s'
                              % names['stuck'])
    entry = by_name(low_run['servers'])[names['stuck']]
    assert (entry['outcome'], entry['aborted'], entry['fallbacks_used']) == ('failed', True, [])
    assert (host_of(server(conn, ids['stuck'])), server(conn, ids['stuck'])['status']) == \
        (DRAINED, 'ACTIVE')
    assert_census_ok(r['after'], {names['stuck']: 'ok'})

    ctl('fault', 'stall-live-migration', DRAINED)
    r = play(cloud_env, tmp_path, [
        task('host_drain', 'medium', host=DRAINED, campaign='it-fault-stall', policy=medium),
        task('server_census', 'drained', hosts=[DRAINED], before=before['census'],
             expected='{{ medium.servers }}', phase='drained', fail_on_findings=False),
        task('host_restore', 'restore', host=DRAINED, campaign='it-fault-stall'),
        task('server_census', 'restored', hosts=[DRAINED], before=before['census'],
             expected='{{ medium.servers }}', fail_on_findings=False),
    ])
    entry = by_name(r['medium']['servers'])[names['stuck']]
    assert (entry['action'], entry['outcome'], entry['force_completed']) == \
        ('live_migrate', 'done', True), entry
    events = [e for e in events_of(DRAINED)
              if e.get('instance') == ids['stuck'] and e['event'] == 'live_migration']
    # No post-copy (Nova's default): forcing paused the guest until the copy ended, a pause
    # within the cattle's 30 s limit, as the drain estimated before it asked.
    assert [e.get('mode') or e['outcome'] for e in events][-2:] == ['cancelled', 'paused']
    assert 0 < entry['pause_estimate_ms'] <= 30000
    assert 0 < events[-1]['downtime_ms'] <= 30000
    assert_census_ok(r['drained'], {names['stuck']: 'ok'})
    assert_census_ok(r['restored'], {names['stuck']: 'ok'})
    assert host_of(server(conn, ids['stuck'])) == DRAINED


# ---- the draining host's compute service dies mid-drain ---------------------------------------

def test_compute_service_dies_mid_drain(conn, cloud_env, vms, tmp_path):
    """hv03's nova-compute is killed while its first live migration runs: the drain must end
    (bounded by the policy's timeouts), fail naming the servers still there, and lose none; a
    server the dying host leaves in ERROR is named by the census."""
    big = {'sla': 'cattle', 'sim:ram_used_mb': '6000', 'sim:dirty_mbps': '10'}
    booted = boot(conn, vms, {'first': big, 'second': big})
    names, ids = names_ids(booted)
    before = census(cloud_env, tmp_path)
    quick = {'completion_timeout_s': 10, 'on_timeout': 'force_complete'}
    # Every class's timeout is short: the module waits for the longest one of the importance.
    policy = {'classes': {'cattle': {'action': 'live_migrate', 'fallbacks': ['cold_migrate']}},
              'live_migration': {'medium': {'cattle': quick, 'pets': quick, 'pandas': quick,
                                            'default': quick}}}
    playbook_path = tmp_path / 'drain-bg.yml'
    result_path = tmp_path / 'drain-bg.json'
    playbook_path.write_text(json.dumps([{
        'hosts': 'localhost', 'gather_facts': False,
        'tasks': [{'name': 'Drain', 'cloudmaint.openstack.host_drain': {
            'cloud': 'sandbox', 'host': DRAINED, 'campaign': 'it-fault-down', 'policy': policy,
            'timeout': 40}, 'register': 'drain', 'ignore_errors': True},
            {'name': 'Keep the result', 'ansible.builtin.copy': {
                'content': '{{ drain | to_json }}', 'dest': str(result_path), 'mode': '0600'}}],
    }]))
    argv = ['ansible-playbook', '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % PYTHON, str(playbook_path)]
    started = time.monotonic()
    process, log = run_in_background(cloud_env, argv, tmp_path / 'drain-bg.log')
    try:
        def migrating():
            if process.poll() is not None:
                return 'exited'
            for sid in ids.values():
                running = [m for m in migrations(conn, sid, 'live-migration')
                           if m['status'] in ('running', 'preparing', 'queued')]
                if running:
                    return running[0]
            return None
        first = wait_until('a live migration off hv03', migrating, 180, interval=0.3)
        assert first != 'exited', (tmp_path / 'drain-bg.log').read_text()[-4000:]
        killed_at = time.monotonic()
        service_down(conn, DRAINED)
        process.wait(timeout=900)
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    took = time.monotonic() - started
    print('drain ended %.0fs after the kill, %.0fs in all' % (time.monotonic() - killed_at, took))
    result = json.loads(result_path.read_text())
    print(json.dumps({k: result.get(k) for k in ('msg', 'summary')}, indent=1))
    for entry in result.get('servers') or []:
        print(entry['name'], entry['action'], entry['outcome'], entry.get('error'),
              [(a['action'], a['outcome'], a.get('detail')) for a in entry.get('attempts', [])])
    assert result['failed'] is True
    assert result['msg'].startswith('compute service of hv03 went down during the drain; still on it: '), \
        result['msg']
    assert any(e.get('service_down') for e in result['servers']), result['servers']
    on_hv03 = [s['name'] for s in (server(conn, i) for i in ids.values())
               if host_of(s) == DRAINED and s['status'] != 'ERROR']
    for name in on_hv03:
        assert name in result['msg'], (result['msg'], on_hv03)

    service_up(conn, DRAINED)
    settle_az1(conn)
    after = census(cloud_env, tmp_path, before=before['census'], phase='drained',
                   expected=result['servers'])
    print(after.get('msg'))
    assert not [f for f in after['findings'] if f['kind'] in ('missing', 'deleted')], after['msg']
    in_error = [s['name'] for s in (server(conn, i) for i in ids.values()) if s['status'] == 'ERROR']
    assert sorted(f['name'] for f in after['findings'] if f['kind'] == 'error') == sorted(in_error)
    r = play(cloud_env, tmp_path, [
        task('host_restore', 'restore', host=DRAINED, campaign='it-fault-down'),
        task('server_census', 'restored', hosts=[DRAINED], before=before['census'],
             fail_on_findings=False),
    ])
    print(r['restored'].get('msg'))
    assert not [f for f in r['restored']['findings'] if f['kind'] not in ('error',)], \
        r['restored']['msg']


# ---- the chosen destination is down -----------------------------------------------------------

def test_destination_host_down_scheduler_chooses_another(conn, cloud_env, vms, tmp_path):
    booted = boot(conn, vms, {'mover': dict(SMALL, sla='cattle')})
    names, ids = names_ids(booted)
    before = census(cloud_env, tmp_path)
    service_down(conn, 'hv02')
    r = play(cloud_env, tmp_path, [
        task('host_drain', 'drain', host=DRAINED, campaign='it-fault-dest',
             destinations={ids['mover']: 'hv02'}),
        task('server_census', 'drained', hosts=[DRAINED], before=before['census'],
             expected='{{ drain.servers }}', phase='drained', fail_on_findings=False),
    ])
    entry = by_name(r['drain']['servers'])[names['mover']]
    assert (entry['action'], entry['outcome'], entry['to']) == ('live_migrate', 'done', 'hv01')
    assert entry['destination_fallback'] is True, entry
    assert_census_ok(r['drained'], {names['mover']: 'ok'})
    service_up(conn, 'hv02')
    r = play(cloud_env, tmp_path, [
        task('host_restore', 'restore', host=DRAINED, campaign='it-fault-dest'),
        task('server_census', 'restored', hosts=[DRAINED], before=before['census'],
             fail_on_findings=False)])
    assert_census_ok(r['restored'], {names['mover']: 'ok'})


# ---- a reboot that never comes back -----------------------------------------------------------

def test_reboot_that_does_not_come_back_stops_the_campaign(conn, cloud_env, vms, tmp_path):
    """rolling_patch.yml on hv03 whose "reboot" leaves the compute service dead: verify times out,
    the ledger says failed, hv03 stays disabled and nothing is restored onto it."""
    booted = boot(conn, vms, {'mover': dict(SMALL, sla='cattle'),
                              'stopped': dict(SMALL, sla='cattle',
                                              **{'cloudmaint:owner_action': 'stop'})})
    names, ids = names_ids(booted)
    campaign = 'it-fault-reboot-%d' % (time.time() % 100000)
    since = iso(utcnow())
    before = census(cloud_env, tmp_path)
    inventory = hv03_inventory(
        tmp_path, cloudmaint_reboot_command='%s fault service-down %s' % (
            os.path.join(REPO, 'sandbox', 'cloudctl'), DRAINED),
        cloudmaint_verify_timeout=30)
    try:
        run = playbook(cloud_env, 'rolling_patch.yml', inventory,
                       {'cloudmaint_campaign': campaign,
                        'cloudmaint_report_dir': str(tmp_path / 'reports')})
        out = output_of(run)
        assert run.returncode != 0, out[-6000:]
        assert 'TASK [cloudmaint.openstack.verify : Wait until the compute service reports' in out
        assert 'Stop the campaign; the host stays disabled' in out, out[-6000:]
        assert 'TASK [cloudmaint.openstack.restore' not in out, 'nothing restored onto hv03'
        assert ledger_of(conn, campaign).get(DRAINED, '').startswith('failed|'), \
            ledger_of(conn, campaign)
        svc = service(conn, DRAINED)
        assert svc['status'] == 'disabled' and campaign in svc['disabled_reason']
        mover, stopped = server(conn, ids['mover']), server(conn, ids['stopped'])
        assert host_of(mover) in OTHERS and mover['status'] == 'ACTIVE'
        assert (host_of(stopped), stopped['status']) == (DRAINED, 'SHUTOFF')
        after = census(cloud_env, tmp_path, before=before['census'], since=since,
                       phase='drained', expected={ids['mover']: 'live_migrate',
                                                  ids['stopped']: 'stop'})
        assert_census_ok(after)
        # The stopped campaign still wrote its report, with the failure in it.
        report = json.loads((tmp_path / 'reports' / ('%s.json' % campaign)).read_text())
        assert report['ledger'][DRAINED]['state'] == 'failed', report['ledger']
        assert report['census'].get('findings') is not None, report.get('census')
        assert (tmp_path / 'reports' / ('%s.html' % campaign)).stat().st_size > 0
        # The campaign stopped: hv03's alerts are no longer silenced.
        silences = [s for s in alertmanager_silences() if s['comment'].startswith(
            '[cloudmaint campaign=%s host=%s]' % (campaign, DRAINED))]
        assert [s['status']['state'] for s in silences] == ['expired'], silences

        # The operator fixes the host and restores it.
        service_up(conn, DRAINED)
        restored = playbook(cloud_env, 'restore.yml', os.path.join(REPO, 'sandbox', 'inventory'),
                            {'cloudmaint_hosts': DRAINED, 'cloudmaint_drain_campaign': campaign,
                             'cloudmaint_rolling': True})
        assert restored.returncode == 0, output_of(restored)[-6000:]
        after = census(cloud_env, tmp_path, before=before['census'], since=since,
                       expected={ids['mover']: 'live_migrate', ids['stopped']: 'stop'})
        assert_census_ok(after, {names['mover']: 'ok', names['stopped']: 'ok'})
    finally:
        service_up(conn, DRAINED)
        close_campaign(cloud_env, campaign)


# ---- the Compute API answers 5xx, or late, for a while ----------------------------------------
# The sandbox's Nova API is shared with other suites, so faults are injected in a front of this
# test's own (sandbox/cmsandbox/api_faults.py: the same middleware `cloudctl fault api-error`
# would put in Nova itself) that only this test's cloud `sandbox-faulty` goes through.

@pytest.fixture
def faulty_api(cloud_env, tmp_path):
    import yaml
    from cmsandbox import api_faults

    faults_path = str(tmp_path / 'api_faults.json')
    front = api_faults.serve(api_faults.wrap('nova', api_faults.proxy('http://127.0.0.1:38774'),
                                             faults_path))
    with open(os.path.join(SANDBOX, 'clouds.yaml')) as handle:
        clouds = yaml.safe_load(handle)
    faulty = dict(clouds['clouds']['sandbox'])
    faulty['compute_endpoint_override'] = 'http://127.0.0.1:%d/v2.1' % front.server_port
    faulty['api_timeout'] = 4
    clouds['clouds']['sandbox-faulty'] = faulty
    path = tmp_path / 'clouds-faulty.yaml'
    path.write_text(yaml.safe_dump(clouds))
    path.chmod(0o600)
    env = dict(cloud_env, OS_CLIENT_CONFIG_FILE=str(path))

    class Faulty(object):
        def arm(self, **kwargs):
            api_faults.arm('nova', path=faults_path, **kwargs)

        def clear(self):
            api_faults.clear(path=faults_path)

        def injected(self):
            log = faults_path + '.log'
            if not os.path.exists(log):
                return []
            with open(log) as handle:
                return [json.loads(line) for line in handle if line.strip()]

        def play(self, tasks, **kwargs):
            for entry in tasks:
                for key, params in entry.items():
                    if key.startswith('cloudmaint.openstack.'):
                        params['cloud'] = 'sandbox-faulty'
            started = time.monotonic()
            result = play(env, tmp_path, tasks, **kwargs)
            self.seconds = time.monotonic() - started
            return result
    yield Faulty()
    front.shutdown()
    api_faults.clear(path=faults_path)


# Reads the drain makes (service, servers, migrations), not the version document the client
# reads when it connects.
READS = ['/v2.1/os-services', '/v2.1/servers', '/v2.1/os-migrations', '/v2.1/os-hypervisors']


def test_api_errors_for_a_while_retried_then_a_clear_failure(conn, cloud_env, vms, tmp_path,
                                                             faulty_api):
    booted = boot(conn, vms, {'mover': dict(SMALL, sla='cattle')})
    names, ids = names_ids(booted)
    before = census(cloud_env, tmp_path)

    # A short outage of reads: retried with backoff, the drain carries on.
    faulty_api.arm(status=503, count=3, methods=['GET'], paths=READS)
    r = faulty_api.play([task('host_drain', 'drain', host=DRAINED, campaign='it-fault-api')])
    assert [e['fault'] for e in faulty_api.injected()] == [503, 503, 503]
    entry = by_name(r['drain']['servers'])[names['mover']]
    assert (entry['action'], entry['outcome']) == ('live_migrate', 'done'), entry
    r = faulty_api.play([
        task('host_restore', 'restore', host=DRAINED, campaign='it-fault-api'),
        task('server_census', 'after', hosts=[DRAINED], before=before['census'],
             fail_on_findings=False)])
    assert_census_ok(r['after'], {names['mover']: 'ok'})

    # A longer outage: bounded retries, then a failure that says what answered what; nothing
    # changed.
    faulty_api.clear()
    faulty_api.arm(status=503, seconds=300, paths=READS)
    r = faulty_api.play([task('host_drain', 'drain', ignore_errors=True, host=DRAINED,
                              campaign='it-fault-api')])
    print('503 outage: %.1fs, %s' % (faulty_api.seconds, r['drain']['msg']))
    assert r['drain']['failed'] is True
    assert 'Compute API' in r['drain']['msg'], r['drain']['msg']
    assert r['drain'].get('details', {}).get('status_code') == 503, r['drain']
    assert 4 <= len(faulty_api.injected()) - 3 <= 8, 'bounded retries'
    assert service(conn, DRAINED)['status'] == 'enabled'
    assert host_of(server(conn, ids['mover'])) == DRAINED

    # The API answers too late (client timeout 4 s): retried, then a clear failure.
    faulty_api.clear()
    faulty_api.arm(delay_s=10, seconds=300, paths=READS)
    r = faulty_api.play([task('host_drain', 'drain', ignore_errors=True, host=DRAINED,
                              campaign='it-fault-api')])
    print('late answers: %.1fs, %s' % (faulty_api.seconds, r['drain']['msg']))
    assert r['drain']['failed'] is True
    assert 'no answer from the Compute API' in r['drain']['msg'], r['drain']['msg']
    late = [e for e in faulty_api.injected() if str(e['fault']).startswith('delay')]
    assert 1 <= len(late) <= 8, 'bounded retries: %d late answers' % len(late)
    assert service(conn, DRAINED)['status'] == 'enabled'
    faulty_api.clear()
    after = census(cloud_env, tmp_path, before=before['census'])
    assert_census_ok(after, {names['mover']: 'ok'})


def test_api_error_on_an_action_loses_nothing(conn, cloud_env, vms, tmp_path, faulty_api):
    """One 503 on the live migration request itself: the request is sent again (Nova had not
    started it), the server is live-migrated, not cold-migrated, and the invariant holds."""
    booted = boot(conn, vms, {'mover': dict(SMALL, sla='cattle')})
    names, ids = names_ids(booted)
    before = census(cloud_env, tmp_path)
    faulty_api.arm(status=503, count=1, methods=['POST'],
                   paths=['/v2.1/servers/%s/action' % ids['mover']])
    r = faulty_api.play([
        task('host_drain', 'drain', host=DRAINED, campaign='it-fault-api-action'),
        task('server_census', 'drained', hosts=[DRAINED], before=before['census'],
             expected='{{ drain.servers }}', phase='drained', fail_on_findings=False),
        task('host_restore', 'restore', host=DRAINED, campaign='it-fault-api-action'),
        task('server_census', 'restored', hosts=[DRAINED], before=before['census'],
             fail_on_findings=False)])
    entry = by_name(r['drain']['servers'])[names['mover']]
    print('after one 503 on os-migrateLive:', entry['action'], entry['outcome'],
          [(a['action'], a['outcome'], a.get('detail')) for a in entry['attempts']])
    assert [e['fault'] for e in faulty_api.injected()] == [503]
    assert (entry['action'], entry['outcome'], entry['fallbacks_used']) == ('live_migrate', 'done', []), entry
    assert_census_ok(r['drained'], {names['mover']: 'ok'})
    assert_census_ok(r['restored'], {names['mover']: 'ok'})


def test_lost_answer_on_an_action_is_found_done_not_repeated(conn, cloud_env, vms, tmp_path, faulty_api):
    """The live migration request reaches Nova and Nova starts it, but its answer is lost (a 503
    after forwarding, as a load balancer timing out would give): the drain finds out what Nova
    did, waits for that migration, and sends no second request, so the server has exactly one
    live migration and no fallback."""
    booted = boot(conn, vms, {'mover': dict(SMALL, sla='cattle')})
    names, ids = names_ids(booted)
    before = census(cloud_env, tmp_path)
    faulty_api.arm(status=503, count=1, methods=['POST'], forward=True,
                   paths=['/v2.1/servers/%s/action' % ids['mover']])
    r = faulty_api.play([
        task('host_drain', 'drain', host=DRAINED, campaign='it-fault-lost-answer'),
        task('server_census', 'drained', hosts=[DRAINED], before=before['census'],
             expected='{{ drain.servers }}', phase='drained', fail_on_findings=False)])
    entry = by_name(r['drain']['servers'])[names['mover']]
    print('after a lost answer to os-migrateLive:', entry['action'], entry['outcome'],
          [(a['action'], a['outcome'], a.get('detail')) for a in entry['attempts']])
    assert [e['fault'] for e in faulty_api.injected()] == ['503 after forwarding']
    assert (entry['action'], entry['outcome'], entry['fallbacks_used']) == ('live_migrate', 'done', []), entry
    lives = migrations(conn, ids['mover'], 'live-migration')
    assert [m['status'] for m in lives] == ['completed'], lives
    assert migrations(conn, ids['mover'], 'migration') == [], 'no cold migration'
    assert_census_ok(r['drained'], {names['mover']: 'ok'})
    r = play(cloud_env, tmp_path, [
        task('host_restore', 'restore', host=DRAINED, campaign='it-fault-lost-answer'),
        task('server_census', 'restored', hosts=[DRAINED], before=before['census'],
             fail_on_findings=False)])
    assert_census_ok(r['restored'], {names['mover']: 'ok'})

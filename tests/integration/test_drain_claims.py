# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the README and docs/policy.md promise of a drain, each shown against the sandbox on hv03:
the reboot interlock refuses a reboot, ``on_timeout: fallback`` cancels a live migration that
does not converge and goes on with the chain, an anti-affinity member goes where its group
allows, and a drain in the middle of an upgrade never asks Nova for a live migration to an older
hypervisor.

hv03 is emptied of seeded servers first (modules_support.drained_host); destinations are hv01 and
hv02. After every test hv01-hv03 are running, up, enabled and at one version (campaign_support).
"""

from __future__ import annotations

import json
import os

from campaign_support import (  # noqa: F401  pylint: disable=unused-import
    SMALL,
    az1_restored,
    assert_census_ok,
    census,
    compute_pid,
    compute_running,
    hv03_inventory,
    names_ids,
    VENV_BIN,
    output_of,
)
from conftest import cloudctl, level_versions, run_ansible
from modules_support import (  # noqa: F401  pylint: disable=unused-import
    DRAINED,
    OTHERS,
    boot,
    by_name,
    drained_host,
    host_of,
    migrations,
    play,
    server,
    task,
    vms,
)

# Dirties memory faster than the link copies it: a live migration of it never converges.
HOT = {'sim:ram_used_mb': '1536', 'sim:dirty_mbps': '1800'}


def test_reboot_interlock_refuses_a_host_where_a_server_runs(conn, cloud_env, vms, tmp_path):
    """The reboot role, as rolling_patch.yml runs it, on hv03 with a server still running there:
    the run fails naming the server, the reboot command never runs, the host never goes down."""
    booted = boot(conn, vms, {'running': dict(SMALL, sla='cattle')})
    names, ids = names_ids(booted)
    marker = tmp_path / 'rebooted'
    pid = compute_pid(DRAINED)
    inventory = hv03_inventory(tmp_path, cloudmaint_reboot_command='touch %s' % marker,
                               cloudmaint_campaign='it-interlock')
    play_path = tmp_path / 'reboot.yml'
    play_path.write_text(json.dumps([{
        'name': 'Reboot hv03 only if nothing runs there', 'hosts': 'hypervisors',
        'gather_facts': False,
        'module_defaults': {'group/cloudmaint.openstack.openstack': {'cloud': 'sandbox'}},
        'roles': [{'role': 'cloudmaint.openstack.reboot'}]}]))
    result = run_ansible(cloud_env, [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', inventory,
                                     str(play_path)], check=False, timeout=600)
    output = output_of(result)
    assert result.returncode != 0, output[-4000:]
    assert 'refusing to reboot %s: still running there: %s' % (DRAINED, names['running']) in output, \
        output[-4000:]
    assert not marker.exists(), 'the reboot command ran'
    assert pid is not None and compute_running(DRAINED) and compute_pid(DRAINED) == pid, \
        'nova-compute of hv03 restarted'
    srv = server(conn, ids['running'])
    assert (host_of(srv), srv['status']) == (DRAINED, 'ACTIVE')


def test_on_timeout_fallback_cancels_the_live_migration_and_goes_on_with_the_chain(
        conn, cloud_env, vms, tmp_path):
    """docs/policy.md: ``on_timeout: fallback`` (the pandas default at medium importance) cancels
    a live migration that has not completed within ``completion_timeout_s`` and goes on with the
    next action of the chain: here the cold migration."""
    booted = boot(conn, vms, {'hot': dict(HOT, sla='pandas')})
    names, ids = names_ids(booted)
    before = census(cloud_env, tmp_path)
    policy = {'sla_key': 'sla',
              'classes': {'pandas': {'action': 'live_migrate', 'fallbacks': ['cold_migrate']}},
              'live_migration': {'medium': {'pandas': {'completion_timeout_s': 5, 'on_timeout': 'fallback'}}}}
    r = play(cloud_env, tmp_path, [
        task('host_drain', 'drain', host=DRAINED, campaign='it-on-timeout', policy=policy),
        task('server_census', 'drained', hosts=[DRAINED], before=before['census'],
             expected='{{ drain.servers }}', phase='drained', fail_on_findings=False),
        task('host_restore', 'restore', host=DRAINED, campaign='it-on-timeout', rolling=True)])
    entry = by_name(r['drain']['servers'])[names['hot']]
    print('on_timeout fallback:', [(a['action'], a['outcome'], a.get('detail')) for a in entry['attempts']])
    assert (entry['outcome'], entry['fallbacks_used']) == ('done', ['cold_migrate']), entry
    assert [(a['action'], a['outcome']) for a in entry['attempts']] == \
        [('live_migrate', 'failed'), ('cold_migrate', 'done')], entry['attempts']
    assert entry['attempts'][0]['detail'] == 'aborted after 5s (policy: fallback)'
    assert [m['status'] for m in migrations(conn, ids['hot'], 'live-migration')] == ['cancelled']
    assert [m['status'] for m in migrations(conn, ids['hot'], 'migration')] == ['confirmed']
    srv = server(conn, ids['hot'])
    assert host_of(srv) in OTHERS and srv['status'] == 'ACTIVE'
    assert_census_ok(r['drained'], {names['hot']: 'ok'})


def test_anti_affinity_member_is_drained_where_its_group_allows(conn, cloud_env, vms, tmp_path):
    """Two members of an anti-affinity group, on hv03 and hv01: draining hv03 sends its member to
    hv02, the only host the group leaves, and the group's rule still holds afterwards."""
    tenant = conn.connect_as_project('web-shop')
    response = tenant.compute.post('/os-server-groups', microversion='2.64', json={
        'server_group': {'name': 'it-claims-anti', 'policy': 'anti-affinity'}})
    assert response.status_code == 200, response.text
    group = response.json()['server_group']['id']
    try:
        on_hv03 = vms.boot(DRAINED, metadata=dict(SMALL, sla='cattle'), group=group, zone='az1')
        on_hv01 = vms.boot('hv01', metadata=dict(SMALL, sla='cattle'), group=group, zone='az1')
        r = play(cloud_env, tmp_path, [
            task('host_drain', 'drain', host=DRAINED, campaign='it-group'),
            task('host_restore', 'restore', host=DRAINED, campaign='it-group', rolling=True)])
        entry = by_name(r['drain']['servers'])[on_hv03.name]
        assert (entry['action'], entry['outcome'], entry['to']) == ('live_migrate', 'done', 'hv02'), entry
        hosts = {host_of(server(conn, s.id)) for s in (on_hv03, on_hv01)}
        assert hosts == {'hv01', 'hv02'}, hosts
    finally:
        vms.cleanup()
        vms.created = []
        tenant.compute.delete('/os-server-groups/%s' % group, microversion='2.64')


def test_drain_mid_upgrade_never_asks_for_a_live_migration_to_an_older_host(
        conn, cloud_env, vms, tmp_path):
    """hv02 and hv03 one release ahead of hv01: the plan and the drain, as rolling_patch.yml
    chains them, send hv03's servers live only to hv02, or cold to hv01 as their policy's planned
    fallback; Nova refuses nothing."""
    level_versions(conn, ('hv01', 'hv02', DRAINED))
    newest = max(h.hypervisor_version for h in conn.compute.hypervisors(details=True)
                 if h.name in ('hv01', 'hv02', DRAINED)) + 1
    for host in ('hv02', DRAINED):
        cloudctl('patch', host, '--version', '%d.%d' % divmod(newest, 1000), '--now')
    booted = boot(conn, vms, {'one': dict(SMALL, sla='cattle'), 'two': dict(SMALL, sla='pets')})
    names, ids = names_ids(booted)
    before = census(cloud_env, tmp_path)
    r = play(cloud_env, tmp_path, [
        task('maintenance_plan', 'plan', hosts=[DRAINED]),
        task('host_drain', 'drain', host=DRAINED, campaign='it-mid-upgrade',
             destinations='{{ plan.destinations_by_host[%r] | default({}) }}' % DRAINED,
             planned_actions='{{ plan.actions_by_host[%r] | default({}) }}' % DRAINED),
        task('server_census', 'drained', hosts=[DRAINED], before=before['census'],
             expected='{{ drain.servers }}', phase='drained', fail_on_findings=False),
        task('host_restore', 'restore', host=DRAINED, campaign='it-mid-upgrade', rolling=True)])
    moves = {m['server']: m for m in r['plan']['moves']}
    assert set(ids.values()) <= set(moves), r['plan']
    for role, sid in ids.items():
        move, entry = moves[sid], by_name(r['drain']['servers'])[names[role]]
        assert move['to'] == 'hv02' and move['action'] == 'live_migrate' or \
            move['to'] == 'hv01' and move['action'] == 'cold_migrate' and move['fallback'], move
        assert (entry['action'], entry['outcome'], entry['to']) == (move['action'], 'done', move['to']), entry
        refused = [m for m in migrations(conn, sid, 'live-migration') if m['status'] == 'error']
        assert refused == [], 'Nova refused a live migration of %s: %s' % (names[role], refused)
        assert host_of(server(conn, sid)) == move['to']
    assert_census_ok(r['drained'])

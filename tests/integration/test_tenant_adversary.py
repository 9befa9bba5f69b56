# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a tenant can make this admin tool do (docs/security.md): nothing but choose among what the
operator's policy allows. Every tenant step runs with the tenant's own credentials (clouds.yaml
``sandbox-tenant``, the owner of web-shop), never the admin acting for them; the admin only boots
the servers on the host under test (placing a server on a host is admin-only) and runs the
collection as an operator would.

hv03 is emptied of seeded servers first (modules_support.drained_host); destinations are hv01 and
hv02. Every test ends with a census: nothing lost.
"""

from __future__ import annotations

import datetime
import json
import os

from campaign_support import (  # noqa: F401  pylint: disable=unused-import
    SMALL,
    VENV_BIN,
    assert_census_ok,
    az1_restored,
    census,
    iso,
    names_ids,
    utcnow,
)
from conftest import REPO, run_ansible
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
    server_action,
    task,
    vms,
)

# An address the tenant writes as their server's accessIPv4 (TEST-NET-1: nothing answers there).
TENANT_ADDRESS = '192.0.2.66'
# The records the first versions kept in server metadata, as a tenant would forge them.
FORGED_MOVED = {'cloudmaint:action': 'live_migrate', 'cloudmaint:state': 'moved',
                'cloudmaint:origin_host': 'hv02', 'cloudmaint:prior_status': 'ACTIVE'}


def as_tenant(tenant, method, url, body=None, microversion='2.1'):
    send = getattr(tenant.compute, method.lower())
    kwargs = {'microversion': microversion}
    if body is not None:
        kwargs['json'] = body
    response = send(url, **kwargs)
    return response.status_code, response.text


def trusted(value):
    """A value as ansible-inventory --list prints what it read from the cloud (marked unsafe)."""
    return value['__ansible_unsafe'] if isinstance(value, dict) and '__ansible_unsafe' in value else value


def tenant_sets_metadata(tenant, server_id, metadata):
    status, text = as_tenant(tenant, 'POST', '/servers/%s/metadata' % server_id, {'metadata': metadata})
    assert status == 200, text


def tenant_renames(tenant, server_id, name):
    status, text = as_tenant(tenant, 'PUT', '/servers/%s' % server_id, {'server': {'name': name}})
    assert status == 200, text


def test_the_campaign_records_are_out_of_the_tenants_reach(tenant):
    """Where the drain keeps its records (host aggregates) a tenant can neither read nor write."""
    status, _text = as_tenant(tenant, 'GET', '/os-aggregates', microversion='2.41')
    assert status == 403
    status, _text = as_tenant(tenant, 'POST', '/os-aggregates', {'aggregate': {'name': 'cloudmaint-ledger:x:hv03'}},
                              microversion='2.41')
    assert status == 403


def test_servers_named_localhost_or_like_a_hypervisor_become_neither(conn, cloud_env, vms, tenant, tmp_path):
    booted = boot(conn, vms, {'a': dict(SMALL), 'b': dict(SMALL)})
    _names, ids = names_ids(booted)
    tenant_renames(tenant, ids['a'], 'localhost')
    tenant_renames(tenant, ids['b'], 'hv01')
    status, _text = as_tenant(tenant, 'PUT', '/servers/%s' % ids['a'], {'server': {'accessIPv4': TENANT_ADDRESS}})
    assert status == 200
    source = tmp_path / 'compute.yml'
    source.write_text(json.dumps({'plugin': 'cloudmaint.openstack.compute', 'cloud': 'sandbox',
                                  'with_servers': True, 'cache': False}))
    result = run_ansible(cloud_env, [os.path.join(VENV_BIN, 'ansible-inventory'), '-i', str(source), '--list'])
    inventory = json.loads(result.stdout)
    hostvars = inventory['_meta']['hostvars']
    assert 'localhost' not in hostvars, hostvars.get('localhost')
    assert 'cloudmaint_server' not in hostvars['hv01'] and 'cloudmaint_hypervisor' in hostvars['hv01']
    assert trusted(hostvars['localhost_%s' % ids['a']]['cloudmaint_server']['name']) == 'localhost'
    assert 'ansible_host' not in hostvars['localhost_%s' % ids['a']]
    assert trusted(hostvars['hv01_%s' % ids['b']]['cloudmaint_server']['id']) == ids['b']

    # What a play on localhost (every module of the collection runs there) connects to.
    probe = tmp_path / 'probe.yml'
    probe.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'ansible.builtin.debug': {'msg': "{{ ansible_connection | default('unset') }} "
                                          "{{ ansible_host | default('unset') }}"}}]}]))
    result = run_ansible(cloud_env, [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', str(source), str(probe)])
    assert 'msg: local 127.0.0.1' in result.stdout and TENANT_ADDRESS not in result.stdout, result.stdout[-3000:]


def test_forged_campaign_records_move_nothing_and_hide_nothing(conn, cloud_env, vms, tenant, tmp_path):
    """A tenant forges the records the first versions kept in server metadata: a ``moved`` record
    naming hv03 as origin on a server of hv01 (restore would have moved it to the host of the
    tenant's choice), a ``left`` record on a PAUSED server of hv03 (the drain would have left it
    and the reboot check ignored it), a ``rebuild_pending`` one (restore would have wiped it).
    None is acted on: the drain moves the paused server, restore moves nothing onto hv03 and
    rebuilds nothing, the campaign does not stop."""
    campaign = 'it-forged'
    booted = boot(conn, vms, {'paused': dict(SMALL), 'wipe': dict(SMALL)})
    names, ids = names_ids(booted)
    elsewhere = vms.boot('hv01', metadata=dict(SMALL), zone='az1')
    server_action(conn, ids['paused'], {'pause': None}, 'PAUSED', DRAINED)
    before = census(cloud_env, tmp_path, hosts=(DRAINED, 'hv01'))
    tenant_sets_metadata(tenant, elsewhere.id, dict(FORGED_MOVED, **{
        'cloudmaint:origin_host': DRAINED, 'cloudmaint:campaign': campaign}))
    tenant_sets_metadata(tenant, ids['paused'], {
        'cloudmaint:action': 'leave', 'cloudmaint:state': 'left', 'cloudmaint:origin_host': DRAINED,
        'cloudmaint:campaign': campaign, 'cloudmaint:prior_status': 'PAUSED'})
    tenant_sets_metadata(tenant, ids['wipe'], {
        'cloudmaint:action': 'rebuild', 'cloudmaint:state': 'rebuild_pending', 'cloudmaint:origin_host': DRAINED,
        'cloudmaint:campaign': campaign, 'cloudmaint:prior_status': 'ACTIVE'})
    policy = {'restore': {'move_back': 'always'}}
    r = play(cloud_env, tmp_path, [
        task('host_drain', 'drain', host=DRAINED, campaign=campaign, policy=policy),
        task('compute_host_info', 'info', host=DRAINED, campaign=campaign),
        task('host_restore', 'restore', host=DRAINED, campaign=campaign, policy=policy)])
    drained = by_name(r['drain']['servers'])
    assert drained[names['paused']]['outcome'] == 'done' and drained[names['paused']]['to'] in OTHERS
    assert drained[names['wipe']]['outcome'] == 'done' and drained[names['wipe']]['action'] == 'live_migrate'
    assert r['info']['servers'] == [] and r['info']['reboot_blockers'] == []
    restored = {e['id']: e for e in r['restore']['servers']}
    assert elsewhere.id not in restored
    assert host_of(server(conn, elsewhere.id)) == 'hv01'
    assert not migrations(conn, elsewhere.id)
    actions = [a['action'] for a in conn.compute.get(
        '/servers/%s/os-instance-actions' % ids['wipe'], microversion='2.84').json()['instanceActions']]
    assert 'rebuild' not in actions, actions
    after = census(cloud_env, tmp_path, before=before['census'], hosts=(DRAINED, 'hv01'),
                   phase='drained', expected=r['drain']['servers'])
    assert_census_ok(after)


def test_a_name_override_touches_no_same_named_server(conn, cloud_env, vms, tmp_path):
    """``servers: {scratch-1: {action: delete}}`` with deletes allowed, and a server called
    scratch-1 in two projects: a name is the tenant's choice, so neither is deleted; the override
    by id deletes exactly the server it names."""
    shop = vms.boot(DRAINED, metadata=dict(SMALL), name='scratch-1', zone='az1')
    lab = vms.boot(DRAINED, metadata=dict(SMALL), name='scratch-1', zone='az1', project='data-lab')
    doomed = vms.boot(DRAINED, metadata=dict(SMALL), zone='az1', project='data-lab')
    before = census(cloud_env, tmp_path)
    since = iso(utcnow())
    policy = {'allow_delete': True, 'servers': {'scratch-1': {'action': 'delete'},
                                                doomed.id: {'action': 'delete'}}}
    r = play(cloud_env, tmp_path, [
        task('host_drain', 'drain', host=DRAINED, campaign='it-names', policy=policy),
        task('host_restore', 'restore', host=DRAINED, campaign='it-names', rolling=True)])
    drained = {e['id']: e for e in r['drain']['servers']}
    for same_named in (shop, lab):
        entry = drained[same_named.id]
        assert entry['action'] == 'live_migrate' and entry['outcome'] == 'done', entry
        assert any('scratch-1' in note and 'ignored' in note for note in entry['notes']), entry['notes']
        assert host_of(server(conn, same_named.id)) in OTHERS
    assert (drained[doomed.id]['action'], drained[doomed.id]['outcome']) == ('delete', 'done')
    assert server(conn, doomed.id) is None
    after = census(cloud_env, tmp_path, before=before['census'], allow_delete=True, since=since,
                   expected=r['drain']['servers'])
    assert_census_ok(after, {'scratch-1': 'ok'})


def test_a_stopped_server_stays_stopped_until_restore(conn, cloud_env, vms, tenant, tmp_path):
    """Between the drain and the reboot the servers kept on the host are locked: their owner's
    start (or rebuild) is refused, so the reboot check holds and no guest is killed. Restore
    releases the lock; the owner may start it again."""
    campaign = 'it-lock'
    booted = boot(conn, vms, {'stopped': dict(SMALL), 'running': dict(SMALL)})
    names, ids = names_ids(booted)
    server_action(conn, ids['stopped'], {'os-stop': None}, 'SHUTOFF', DRAINED)
    before = census(cloud_env, tmp_path)
    policy = {'servers': {ids['running']: {'action': 'stop'}, ids['stopped']: {'action': 'leave'}}}
    r = play(cloud_env, tmp_path, [task('host_drain', 'drain', host=DRAINED, campaign=campaign, policy=policy)])
    drained = by_name(r['drain']['servers'])
    for role in ('stopped', 'running'):
        assert drained[names[role]]['locked'] is True, drained[names[role]]
        srv = server(conn, ids[role])
        assert (host_of(srv), srv['status'], srv['locked']) == (DRAINED, 'SHUTOFF', True)
        assert campaign in srv['locked_reason']
        status, text = as_tenant(tenant, 'POST', '/servers/%s/action' % ids[role], {'os-start': None})
        assert status == 409 and 'locked' in text.lower(), (status, text)
        status, text = as_tenant(tenant, 'POST', '/servers/%s/action' % ids[role], {'unlock': None})
        assert status >= 400, (status, text)
    info = play(cloud_env, tmp_path, [task('compute_host_info', 'info', host=DRAINED, campaign=campaign)])['info']
    assert info['reboot_blockers'] == []

    r = play(cloud_env, tmp_path, [task('host_restore', 'restore', host=DRAINED, campaign=campaign)])
    restored = by_name(r['restore']['servers'])
    assert restored[names['running']]['unlocked'] is True
    assert server(conn, ids['running'])['status'] == 'ACTIVE'
    assert server(conn, ids['stopped'])['locked'] is False
    assert server(conn, ids['stopped'])['status'] == 'SHUTOFF'
    after = census(cloud_env, tmp_path, before=before['census'])
    assert_census_ok(after)
    status, text = as_tenant(tenant, 'POST', '/servers/%s/action' % ids['stopped'], {'os-start': None})
    assert status == 202, text


def test_restore_without_a_campaign_restores_every_record_of_the_host(conn, cloud_env, vms, tmp_path):
    """The recovery after a failed run (playbooks/restore.yml without a campaign) finds the records
    whatever campaign wrote them; a campaign that holds no record of the host fails before the host
    is re-enabled."""
    booted = boot(conn, vms, {'web': dict(SMALL)})
    names, ids = names_ids(booted)
    r = play(cloud_env, tmp_path, [
        task('host_drain', 'drain', host=DRAINED, campaign='it-recover',
             policy={'servers': {ids['web']: {'action': 'stop'}}}),
        task('host_restore', 'wrong', host=DRAINED, campaign='drain-%s' % DRAINED, ignore_errors=True),
        task('compute_host_info', 'info', host=DRAINED)])
    assert r['wrong']['failed'] and 'it-recover' in r['wrong']['msg'], r['wrong']
    assert r['info']['service']['status'] == 'disabled'
    result = run_ansible(cloud_env, [os.path.join(VENV_BIN, 'ansible-playbook'), '-i',
                                     os.path.join(REPO, 'sandbox', 'inventory'),
                                     'playbooks/restore.yml', '-e', 'cloudmaint_hosts=%s' % DRAINED])
    assert result.returncode == 0
    srv = server(conn, ids['web'])
    assert (srv['status'], srv['locked']) == ('ACTIVE', False), (srv['status'], srv['locked'])
    assert names['web']


def utc_seconds(text):
    return datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ').replace(
        tzinfo=datetime.timezone.utc).timestamp()


def forged_event(event_id, campaign, not_before, **extra):
    """An event as the collection writes it (docs/notices.md), with terms of the tenant's choosing."""
    return json.dumps(dict({'v': 1, 'id': event_id, 'campaign': campaign, 'action': 'live_migration',
                            'not_before': not_before, 'ack': 'cloudmaint:ack', 'defer': 'cloudmaint:defer'},
                           **extra), separators=(',', ':'))


def test_forged_notice_events_neither_hold_nor_crash_the_notice(conn, cloud_env, vms, tenant, tmp_path):
    """The tenant guesses the campaign id and writes its own ``cloudmaint:event`` before the
    notice: a ``not_before`` in 2099 with a week's deferral offered and asked for, on cattle whose
    policy gives 8 s and no deferral; a year-9999 date; a deferral too large for any date; an
    event of another campaign. The
    notice neither waits for 2099 nor crashes: each server gets a fresh event within its class,
    the module's wait has a finite bound, and the guests see the new events."""
    campaign = 'it-forged-events'
    policy = {'sla_key': 'sla', 'classes': {'cattle': {
        'action': 'live_migrate', 'notice': {'period_s': 8, 'max_period_s': 8, 'max_defer_s': 0}}}}
    booted = boot(conn, vms, {r: dict(SMALL, sla='cattle') for r in ('far', 'y9999', 'huge', 'other')})
    names, ids = names_ids(booted)
    before = census(cloud_env, tmp_path)
    forged = {
        'far': forged_event('0123456789ab', campaign, '2099-01-01T00:00:00Z', max_defer_s=604800),
        'y9999': forged_event('0123456789ac', campaign, '9999-12-31T23:59:59Z'),
        'huge': forged_event('0123456789ad', campaign, '2030-01-01T00:00:00Z', max_defer_s=10 ** 30),
        'other': forged_event('0123456789ae', 'another-campaign', '2099-01-01T00:00:00Z', max_defer_s=604800),
    }
    for role, event in forged.items():
        metadata = {'cloudmaint:event': event}
        if role == 'far':
            metadata['cloudmaint:defer'] = '604800'
        tenant_sets_metadata(tenant, ids[role], metadata)

    out = play(cloud_env, tmp_path, [task('maintenance_notice', 'notice', servers=list(ids.values()),
                                          campaign=campaign, policy=policy, wait=True, poll_interval=1)])
    finished_at = utcnow().timestamp()
    result = out['notice']
    entries = by_name(result['servers'])
    print('forged events: module waited %.1fs (bound %.0fs); notes %s' % (
        result['waited_s'], result['timeout_s'], {r: entries[names[r]]['notes'] for r in ids}))
    assert result['all_ready'] is True
    # The bound is the policy's (8 s of notice, no deferral, and the module's margin), not 2099's.
    assert result['timeout_s'] < 3600
    for role, server_id in ids.items():
        entry = entries[names[role]]
        assert entry['notified']['metadata'] == 'replaced', (role, entry)
        assert entry['ready_reason'] == 'notice_over', (role, entry)
        event = json.loads(server(conn, server_id)['metadata']['cloudmaint:event'])
        assert event['id'] != json.loads(forged[role])['id'], role
        assert event['campaign'] == campaign and event.get('max_defer_s', 0) == 0
        assert event.get('deferred_s', 0) == 0, (role, event)
        # The notice was over when the module returned: its end is the policy's, not the tenant's.
        assert utc_seconds(event['not_before']) <= finished_at, (role, event)
        assert entry['notes'], (role, entry)
    # The week's deferral asked for on cattle was clamped to what the class allows (none).
    assert any('defer' in note for note in entries[names['far']]['notes']), entries[names['far']]['notes']
    assert_census_ok(census(cloud_env, tmp_path, before=before['census']))


def test_a_label_changed_after_the_notice_does_not_change_what_is_done(conn, cloud_env, vms, tenant, tmp_path):
    """The notice announces what the owner chose (stop); the tenant then asks for a live migration
    instead. The drain of that campaign does what was announced; the change would need a new
    notice. Restore starts the server again; nothing is lost."""
    campaign = 'it-announced'
    policy = {'owner_choice': {'enabled': True, 'actions': ['live_migrate', 'stop']},
              'classes': {'cattle': {'notice': {'period_s': 0, 'max_period_s': 0, 'max_defer_s': 0}}}}
    booted = boot(conn, vms, {'chooser': dict(SMALL, sla='cattle', **{'cloudmaint:owner_action': 'stop'})})
    names, ids = names_ids(booted)
    before = census(cloud_env, tmp_path)
    r = play(cloud_env, tmp_path, [task('maintenance_notice', 'notice', host=DRAINED, campaign=campaign,
                                        policy=policy, wait=True, poll_interval=1)])
    [entry] = [e for e in r['notice']['servers'] if e['id'] == ids['chooser']]
    assert entry['announced'][0] == 'stop', entry
    tenant_sets_metadata(tenant, ids['chooser'], {'cloudmaint:owner_action': 'live_migrate'})
    r = play(cloud_env, tmp_path, [
        task('host_drain', 'drain', host=DRAINED, campaign=campaign, policy=policy),
        task('host_restore', 'restore', host=DRAINED, campaign=campaign, policy=policy)])
    drained = by_name(r['drain']['servers'])[names['chooser']]
    assert (drained['action'], drained['source'], drained['outcome']) == ('stop', 'announced', 'done'), drained
    assert any('needs a new notice' in note for note in drained['notes']), drained['notes']
    assert not migrations(conn, ids['chooser'])
    srv = server(conn, ids['chooser'])
    assert (host_of(srv), srv['status'], srv['locked']) == (DRAINED, 'ACTIVE', False)
    assert_census_ok(census(cloud_env, tmp_path, before=before['census']))

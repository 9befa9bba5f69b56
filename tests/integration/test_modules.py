# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""campaign_preflight and campaign_state run through ansible-playbook against
the sandbox cloud. host_drain, host_restore and compute_host_info (its reboot interlock, checked
around a drain): test_host_drain.py; server_relocate and shelve_partial: test_relocate_shelve.py;
what they share: modules_support.py.

Only hv01-hv03 are used (other engineers work on hv04-hv06 meanwhile).
"""

from __future__ import annotations

import uuid

from modules_support import (  # noqa: F401  pylint: disable=unused-import
    DRAINED,
    drained_host,
    play,
    service,
    task,
)


def test_campaign_preflight_refuses_bad_policy_and_unknown_host(conn, cloud_env, tmp_path,
                                                                drained_host):
    typo = {'classes': {'pets': {'fallbacks': ['cold_migrat']}},
            'live_migration': {'medium': {'pet': {'completion_timeout_s': 60}}},
            'projects': {'web-shop': {'action': 'delete'}}}
    before = service(conn, DRAINED)['status'], service(conn, DRAINED)['disabled_reason']

    r = play(cloud_env, tmp_path, [
        task('campaign_preflight', 'typo', ignore_errors=True, hosts=[DRAINED], policy=typo),
        task('host_drain', 'drain_typo', ignore_errors=True, host=DRAINED, campaign='it-typo',
             policy=typo),
        task('campaign_preflight', 'unknown', ignore_errors=True, hosts=[DRAINED, 'hv77']),
        task('host_drain', 'drain_unknown', ignore_errors=True, host='hv77', campaign='it-typo'),
    ])

    for name in ('typo', 'drain_typo'):
        result = r[name]
        assert result['failed'] is True
        assert result['changed'] is False
        msg = result['msg']
        assert ("cloudmaint_policy.classes.pets.fallbacks[0]: unknown action 'cold_migrat' "
                "(did you mean 'cold_migrate'?)") in msg
        assert "cloudmaint_policy.live_migration.medium.pet: no SLA class 'pet' " \
               "(did you mean 'pets'?)" in msg
        assert ("cloudmaint_policy.projects.web-shop.action: 'delete' is only allowed with "
                "allow_delete: true") in msg
        paths = {e['path'] for e in result['errors']}
        assert 'cloudmaint_policy.classes.pets.fallbacks[0]' in paths
    # Nothing changed: the host is still in service (the drain stopped before disabling it).
    assert (service(conn, DRAINED)['status'], service(conn, DRAINED)['disabled_reason']) == before

    for name in ('unknown', 'drain_unknown'):
        assert r[name]['failed'] is True
        assert 'hv77' in r[name]['msg']
        for known in ('hv01', 'hv02', 'hv03', 'hv04', 'hv05', 'hv06'):
            assert known in r[name]['msg'], r[name]['msg']
    assert r['unknown']['msg'].startswith('unknown host(s): hv77 ')


def test_campaign_state_ledger(conn, cloud_env, tmp_path):
    campaign = 'it-ledger-%s' % uuid.uuid4().hex[:6]
    r = play(cloud_env, tmp_path, [
        task('campaign_state', 'started', campaign=campaign, state='present', host=DRAINED,
             host_state='started', note='drain begins'),
        task('campaign_state', 'done', campaign=campaign, state='present', host=DRAINED,
             host_state='done'),
        task('campaign_state', 'again', campaign=campaign, state='present', host=DRAINED,
             host_state='done'),
        task('campaign_state', 'closed', campaign=campaign, state='absent'),
    ])
    assert r['started']['changed'] is True
    assert r['started']['hosts_started'] == [DRAINED]
    assert r['started']['hosts'][DRAINED]['note'] == 'drain begins'
    assert r['done']['changed'] is True
    again = r['again']
    assert again['changed'] is False
    assert (again['hosts_done'], again['hosts_started']) == ([DRAINED], [])
    assert again['hosts'][DRAINED]['state'] == 'done'
    assert r['closed']['changed'] is True and r['closed']['hosts'] == {}
    # The ledger is a host aggregate's metadata in the cloud, not a file on the controller.
    ledger = [a for a in conn.compute.get('/os-aggregates', microversion='2.41').json()['aggregates']
              if a['name'] == 'cloudmaint-ledger']
    assert ledger and not any(k.startswith(campaign + ':') for k in ledger[0]['metadata'])

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""alert_silence against the sandbox's real Alertmanager (Debian's prometheus-alertmanager, API v2).

Each test uses a campaign id of its own and expires what it made, so it never meets another test's
silences; Alertmanager's own listing is the evidence, never only the module's result.
"""

from __future__ import annotations

import datetime
import json
import time
import urllib.request
import uuid

import pytest

from campaign_support import (
    ALERTMANAGER,
    SMALL,
    alertmanager_silences,
    close_campaign,
    hv03_inventory,
    output_of,
    playbook,
)
from modules_support import DRAINED, boot, drained_host, play, service, vms  # noqa: F401  pylint: disable=unused-import


def live(campaign):
    tag = '[cloudmaint campaign=%s ' % campaign
    return [s for s in alertmanager_silences()
            if s['comment'].startswith(tag) and s['status']['state'] in ('active', 'pending')]


def post_alert(labels):
    body = json.dumps([{'labels': labels}]).encode()
    request = urllib.request.Request(ALERTMANAGER + '/api/v2/alerts', data=body, method='POST',
                                     headers={'Content-Type': 'application/json'})
    urllib.request.urlopen(request, timeout=10).close()


def alert_state(alertname, instance):
    url = ALERTMANAGER + '/api/v2/alerts?filter=alertname%%3D%%22%s%%22&filter=instance%%3D%%22%s%%22' % (
        alertname, instance)
    with urllib.request.urlopen(url, timeout=10) as answer:
        alerts = json.load(answer)
    return alerts[0]['status'] if alerts else None


@pytest.fixture
def campaign():
    name = 'it-silence-%s' % uuid.uuid4().hex[:8]
    yield name
    for silence in live(name):
        urllib.request.urlopen(urllib.request.Request(
            ALERTMANAGER + '/api/v2/silence/%s' % silence['id'], method='DELETE'), timeout=10).close()


def silence_task(campaign, register, host='hv01', state='present', **extra):
    args = dict(dict(url=ALERTMANAGER, campaign=campaign, state=state), **extra)
    if host:
        args['host'] = host
    if state == 'present':
        args.setdefault('matchers', [{'name': 'instance', 'value': '%s:9100' % host}])
    return {'name': register, 'cloudmaint.openstack.alert_silence': args, 'register': register}


def test_silence_made_reused_and_expired_and_an_alert_of_the_host_is_muted(cloud_env, tmp_path, campaign):
    alertname = 'HostRebooted_%s' % campaign.replace('-', '_')
    results = play(cloud_env, tmp_path, [
        silence_task(campaign, 'made', duration=3600),
        silence_task(campaign, 'again', duration=3600),
        silence_task(campaign, 'other_host', host='hv02'),
    ])
    assert results['made']['changed'] and results['made']['action'] == 'created'
    assert not results['again']['changed'] and results['again']['action'] == 'unchanged'
    assert results['again']['silence']['id'] == results['made']['silence']['id']
    [hv01] = [s for s in live(campaign) if 'host=hv01]' in s['comment']]
    assert hv01['id'] == results['made']['silence']['id']
    assert hv01['matchers'] == [{'name': 'instance', 'value': 'hv01:9100', 'isRegex': False, 'isEqual': True}]
    assert hv01['createdBy'] == 'cloudmaint.openstack'
    assert len(live(campaign)) == 2

    # Alertmanager itself mutes the host's alert, and only that host's.
    post_alert({'alertname': alertname, 'instance': 'hv01:9100'})
    post_alert({'alertname': alertname, 'instance': 'hv03:9100'})
    muted = alert_state(alertname, 'hv01:9100')
    assert muted['state'] == 'suppressed' and muted['silencedBy'] == [hv01['id']]
    assert alert_state(alertname, 'hv03:9100')['state'] == 'active'

    results = play(cloud_env, tmp_path, [
        silence_task(campaign, 'check', host='hv01', state='absent'),
    ], extra_vars=None)
    assert results['check']['changed']
    assert [s['id'] for s in results['check']['expired']] == [hv01['id']]
    assert [s['comment'] for s in live(campaign)] == ['[cloudmaint campaign=%s host=hv02] hypervisor maintenance'
                                                      % campaign]
    assert alert_state(alertname, 'hv01:9100')['state'] == 'active'


def test_check_mode_changes_nothing_and_absent_without_host_ends_the_campaign(cloud_env, tmp_path, campaign):
    probe = dict(silence_task(campaign, 'dry'), check_mode=True)
    results = play(cloud_env, tmp_path, [probe])
    assert results['dry']['changed'] and results['dry']['action'] == 'created'
    assert live(campaign) == []
    results = play(cloud_env, tmp_path, [
        silence_task(campaign, 'one', host='hv01'),
        silence_task(campaign, 'two', host='hv02'),
        silence_task(campaign, 'all', host=None, state='absent'),
        silence_task(campaign, 'none_left', host=None, state='absent'),
    ])
    assert len(results['all']['expired']) == 2
    assert not results['none_left']['changed']
    assert live(campaign) == []


def test_bad_matchers_and_an_unreachable_alertmanager_fail_clearly(cloud_env, tmp_path, campaign):
    results = play(cloud_env, tmp_path, [
        dict(silence_task(campaign, 'everything', matchers=[{'name': 'instance', 'value': '.*', 'is_regex': True}]),
             ignore_errors=True),
        dict(silence_task(campaign, 'nobody', url='http://user:s3cret@127.0.0.1:9/'), ignore_errors=True),
    ])
    assert results['everything']['failed']
    assert "matchers[0].value: '.*' matches every value of instance" in results['everything']['msg']
    assert results['nobody']['failed']
    assert results['nobody']['msg'].startswith('Alertmanager: GET http://127.0.0.1:9/api/v2/silences: no answer')
    assert 's3cret' not in json.dumps(results['nobody'])
    assert live(campaign) == []


def _second(stamp):
    """A time of Alertmanager's or of the report's, to the second (the report's times are truncated)."""
    return datetime.datetime.strptime(stamp[:19], '%Y-%m-%dT%H:%M:%S')


def test_a_campaign_silences_its_host_from_before_the_disable_until_after_the_restore(
        conn, cloud_env, drained_host, vms, tmp_path):  # noqa: F811  pylint: disable=redefined-outer-name
    boot(conn, vms, {'mover': dict(SMALL, sla='cattle')})
    campaign = 'it-silence-run-%d' % (time.time() % 100000)
    reports = tmp_path / 'reports'
    try:
        run = playbook(cloud_env, 'rolling_patch.yml', hv03_inventory(tmp_path),
                       {'cloudmaint_campaign': campaign, 'cloudmaint_report_dir': str(reports)})
        assert run.returncode == 0, output_of(run)[-6000:]
    finally:
        close_campaign(cloud_env, campaign)
    report = json.loads((reports / ('%s.json' % campaign)).read_text())
    host = report['hosts'][DRAINED]
    [silence] = [s for s in alertmanager_silences()
                 if s['comment'].startswith('[cloudmaint campaign=%s host=%s]' % (campaign, DRAINED))]
    # Alertmanager's own record: made before the host was disabled and warned about, expired after
    # its servers were back.
    assert silence['status']['state'] == 'expired'
    assert _second(silence['startsAt']) <= _second(host['notice_started']), (silence, host)
    assert _second(silence['endsAt']) >= _second(host['restore_ended']), (silence, host)
    assert silence['matchers'] == [{'name': 'instance', 'value': '%s(\\..+)?(:[0-9]+)?' % DRAINED,
                                    'isRegex': True, 'isEqual': True}]


def test_an_unreachable_alertmanager_stops_the_campaign_before_the_host_is_disabled(
        conn, cloud_env, drained_host, tmp_path):  # noqa: F811  pylint: disable=redefined-outer-name
    campaign = 'it-silence-down-%d' % (time.time() % 100000)
    inventory = hv03_inventory(tmp_path, cloudmaint_alertmanager_url='http://127.0.0.1:9')
    try:
        run = playbook(cloud_env, 'rolling_patch.yml', inventory,
                       {'cloudmaint_campaign': campaign, 'cloudmaint_report_dir': str(tmp_path)})
        out = output_of(run)
        assert run.returncode != 0
        assert 'Alertmanager: GET http://127.0.0.1:9/api/v2/silences: no answer' in out, out[-4000:]
        assert 'TASK [cloudmaint.openstack.drain' not in out, out[-4000:]
        svc = service(conn, DRAINED)
        assert svc['status'] == 'enabled', svc
    finally:
        close_campaign(cloud_env, campaign)

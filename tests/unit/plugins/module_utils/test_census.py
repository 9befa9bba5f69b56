# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.cloudmaint.openstack.plugins.module_utils import census


def api_server(sid, name, status='ACTIVE', host='hv03', power=1, flavor='m1.small',
               volumes=(), task=None, project='p1'):
    return {'id': sid, 'name': name, 'tenant_id': project, 'status': status,
            'OS-EXT-STS:power_state': power, 'OS-EXT-SRV-ATTR:host': host,
            'OS-EXT-STS:task_state': task,
            'flavor': {'original_name': flavor, 'ram': 2048},
            'os-extended-volumes:volumes_attached': [{'id': v} for v in volumes]}


def one(**kwargs):
    kwargs.setdefault('sid', 's1')
    kwargs.setdefault('name', 'web-1')
    return census.entry(api_server(**kwargs))


def test_entry_is_compact_and_sorted_volumes():
    e = census.entry(api_server('s1', 'web-1', volumes=('v2', 'v1')))
    assert e == {'id': 's1', 'name': 'web-1', 'project_id': 'p1', 'status': 'ACTIVE',
                 'power_state': 1, 'host': 'hv03', 'flavor': 'm1.small', 'volumes': ['v1', 'v2'],
                 'task_state': None}


def test_flavor_label_old_microversion_uses_id():
    assert census.flavor_label({'flavor': {'id': '42', 'links': []}}) == '42'


def test_snapshot_dedups_and_sorts():
    servers = [api_server('b', 'zz'), api_server('a', 'aa'), api_server('b', 'zz', host='hv01')]
    snap = census.snapshot(servers)
    assert [e['id'] for e in snap] == ['a', 'b']
    assert snap[1]['host'] == 'hv01'


# (action, phase, before status, after status, verdict)
CASES = [
    ('live_migrate', 'drained', 'ACTIVE', 'ACTIVE', 'ok'),
    ('live_migrate', 'restored', 'ACTIVE', 'SHUTOFF', 'status'),
    ('cold_migrate', 'restored', 'SHUTOFF', 'SHUTOFF', 'ok'),
    ('stop', 'drained', 'ACTIVE', 'SHUTOFF', 'ok'),
    ('stop', 'restored', 'ACTIVE', 'SHUTOFF', 'status'),
    ('stop', 'restored', 'ACTIVE', 'ACTIVE', 'ok'),
    ('leave', 'drained', 'ACTIVE', 'SHUTOFF', 'ok'),
    ('leave', 'drained', 'PAUSED', 'PAUSED', 'ok'),
    ('leave', 'restored', 'ACTIVE', 'ACTIVE', 'ok'),
    ('shelve_partial', 'drained', 'ACTIVE', 'SHELVED', 'ok'),
    ('shelve_partial', 'drained', 'ACTIVE', 'SHELVED_OFFLOADED', 'ok'),
    ('shelve_partial', 'restored', 'ACTIVE', 'SHELVED', 'status'),
    ('shelve_partial', 'restored', 'ACTIVE', 'ACTIVE', 'ok'),
    ('suspend', 'drained', 'ACTIVE', 'SUSPENDED', 'ok'),
    ('rebuild', 'drained', 'ACTIVE', 'SHUTOFF', 'ok'),
    ('none', 'restored', 'ACTIVE', 'ACTIVE', 'ok'),
    (None, 'drained', 'ACTIVE', 'SHUTOFF', 'status'),
    ('live_migrate', 'restored', 'ACTIVE', 'ERROR', 'error'),
]


@pytest.mark.parametrize('action, phase, prior, now, verdict', CASES)
def test_expected_status_by_action_and_phase(action, phase, prior, now, verdict):
    power = census.POWER_OF_STATUS.get
    before = [one(status=prior, power=power(prior, 4))]
    after = [one(status=now, power=power(now, 4), host='hv01')]
    result = census.compare(before, after, expected={'s1': action} if action else None,
                            phase=phase)
    assert result['servers'][0]['verdict'] == verdict, result
    assert result['ok'] is (verdict == 'ok')
    if verdict != 'ok':
        assert result['findings'][0]['name'] == 'web-1'
        assert 'web-1' in census.message(result)


def test_error_before_is_left_alone_not_a_failure():
    before = [one(status='ERROR', power=0)]
    after = [one(status='ERROR', power=0)]
    result = census.compare(before, after, expected={'s1': 'live_migrate'})
    assert result['ok'] is True
    assert result['servers'][0]['verdict'] == 'left_alone'
    assert result['summary'] == {'left_alone': 1}


def test_error_before_then_gone_is_missing():
    result = census.compare([one(status='ERROR', power=0)], [])
    assert [f['kind'] for f in result['findings']] == ['missing']


@pytest.mark.parametrize('action, allow, deleted, verdict', [
    ('delete', True, True, 'deleted_as_allowed'),
    ('delete', False, True, 'deleted'),
    ('live_migrate', True, True, 'deleted'),
    ('live_migrate', False, False, 'missing'),
])
def test_gone_servers(action, allow, deleted, verdict):
    result = census.compare([one()], [], expected={'web-1': action}, allow_delete=allow,
                            deleted_ids={'s1'} if deleted else ())
    assert result['servers'][0]['verdict'] == verdict
    assert result['ok'] is (verdict == 'deleted_as_allowed')


def test_delete_allowed_but_server_still_there():
    result = census.compare([one()], [one()], expected={'s1': 'delete'}, allow_delete=True)
    assert [f['kind'] for f in result['findings']] == ['status']


def test_flavor_volumes_project_busy_and_power_state():
    before = [one(volumes=('v1', 'v2'))]
    after = [one(flavor='m1.large', volumes=('v2', 'v3'), project='p2', task='migrating',
                 power=4)]
    result = census.compare(before, after, expected={'s1': 'live_migrate'})
    kinds = [f['kind'] for f in result['findings']]
    assert kinds == ['power_state', 'busy', 'flavor', 'volumes', 'project']
    text = census.message(result)
    assert 'detached: v1; attached: v3' in text
    assert 'power state SHUTDOWN, expected RUNNING' in text
    assert text.startswith('census: 5 finding(s) on 1 server(s):')


def test_new_servers_are_listed_not_findings():
    result = census.compare([one()], [one(), one(sid='s2', name='intruder')])
    assert [e['name'] for e in result['new']] == ['intruder']
    assert result['ok'] is True
    assert census.message(result) == 'census: all 1 server(s) accounted for'


def test_expected_from_drain_entries_failed_counts_as_none():
    entries = [{'id': 's1', 'action': 'live_migrate', 'outcome': 'failed'},
               {'id': 's2', 'action': 'stop', 'outcome': 'done'}, {'name': 'no-id'}]
    assert census.expected_actions(entries) == {'s1': 'none', 's2': 'stop'}


def test_bad_phase_and_action_refused():
    with pytest.raises(ValueError, match='phase'):
        census.compare([], [], phase='during')
    with pytest.raises(ValueError, match='teleport'):
        census.compare([], [], expected={'s1': 'teleport'})

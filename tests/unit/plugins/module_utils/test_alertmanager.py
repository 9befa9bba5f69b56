# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Silences around a host's maintenance, against a fake Alertmanager that keeps silences as API v2 does."""

from __future__ import annotations

import datetime
import io
import json
from urllib.error import HTTPError, URLError

import pytest

from ansible_collections.cloudmaint.openstack.plugins.module_utils import alertmanager as am

NOW = datetime.datetime(2026, 12, 5, 12, 0, 0, tzinfo=datetime.timezone.utc)
HOST_MATCHERS = [{'name': 'instance', 'value': 'hv01:9100'}]


class FakeAlertmanager(object):
    """POST with an id and the same matchers updates in place; other matchers expire it and make a new one."""

    def __init__(self):
        self.silences = {}
        self.calls = []
        self.next_id = 0

    def __call__(self, method, path, body):
        self.calls.append((method, path))
        if method == 'GET' and path == '/api/v2/silences':
            return [json.loads(json.dumps(s)) for s in self.silences.values()]
        if method == 'POST' and path == '/api/v2/silences':
            old = self.silences.get(body.get('id'))
            if old is not None and old['matchers'] == body['matchers']:
                old.update(endsAt=body['endsAt'], comment=body['comment'])
                return {'silenceID': old['id']}
            if old is not None:
                old['status']['state'] = 'expired'
            self.next_id += 1
            silence = dict(body, id='s-%d' % self.next_id, status={'state': 'active'})
            self.silences[silence['id']] = silence
            return {'silenceID': silence['id']}
        if method == 'DELETE' and path.startswith('/api/v2/silence/'):
            self.silences[path.rsplit('/', 1)[1]]['status']['state'] = 'expired'
            return None
        raise AssertionError('unexpected %s %s' % (method, path))

    def live(self):
        return [s for s in self.silences.values() if s['status']['state'] == 'active']


def silences(fake, now=NOW, campaign='patch-12', check_mode=False):
    return am.Silences(fake, campaign, check_mode=check_mode, now=now)


def test_a_host_gets_one_silence_tagged_with_campaign_and_host():
    fake = FakeAlertmanager()
    action, silence = silences(fake).ensure('hv01', HOST_MATCHERS, 3600, 'kernel patch')
    assert action == 'created'
    [made] = fake.live()
    assert made['comment'] == '[cloudmaint campaign=patch-12 host=hv01] kernel patch'
    assert made['createdBy'] == 'cloudmaint.openstack'
    assert made['matchers'] == [{'name': 'instance', 'value': 'hv01:9100', 'isRegex': False, 'isEqual': True}]
    assert (made['startsAt'], made['endsAt']) == ('2026-12-05T12:00:00.000Z', '2026-12-05T13:00:00.000Z')
    assert am.view(silence)['id'] == made['id']


def test_a_rerun_soon_after_changes_nothing_and_a_late_one_extends_the_same_silence():
    fake = FakeAlertmanager()
    silences(fake).ensure('hv01', HOST_MATCHERS, 3600, 'kernel patch')
    soon = silences(fake, NOW + datetime.timedelta(minutes=20))
    assert soon.ensure('hv01', HOST_MATCHERS, 3600, 'kernel patch')[0] == 'unchanged'
    assert not soon.changed
    later = silences(fake, NOW + datetime.timedelta(minutes=40))
    action, silence = later.ensure('hv01', HOST_MATCHERS, 3600, 'kernel patch')
    assert action == 'extended' and later.changed
    [kept] = fake.live()
    assert kept['id'] == silence['id'] == 's-1'
    assert kept['endsAt'] == '2026-12-05T13:40:00.000Z'


def test_other_matchers_replace_the_silence_and_a_duplicate_is_expired():
    fake = FakeAlertmanager()
    silences(fake).ensure('hv01', HOST_MATCHERS, 3600, 'x')
    # A second one for the same host and campaign, made by hand or by an older run.
    fake.silences['dup'] = dict(fake.silences['s-1'], id='dup', status={'state': 'active'})
    action, _silence = silences(fake).ensure('hv01', [{'name': 'host', 'value': 'hv01'}], 3600, 'x')
    assert action == 'replaced'
    [left] = fake.live()
    assert left['matchers'][0]['name'] == 'host'


def test_other_campaigns_and_hosts_and_expired_silences_are_not_ours():
    fake = FakeAlertmanager()
    silences(fake, campaign='other').ensure('hv01', HOST_MATCHERS, 3600, 'x')
    silences(fake).ensure('hv02', HOST_MATCHERS, 3600, 'x')
    assert silences(fake).ensure('hv01', HOST_MATCHERS, 3600, 'x')[0] == 'created'
    assert len(fake.live()) == 3
    assert [s['comment'] for s in silences(fake).expire('hv01')] == ['[cloudmaint campaign=patch-12 host=hv01] x']
    assert sorted(s['comment'].split(']')[0] for s in fake.live()) == [
        '[cloudmaint campaign=other host=hv01', '[cloudmaint campaign=patch-12 host=hv02']
    assert silences(fake).expire('hv01') == []


def test_expire_without_a_host_ends_every_silence_of_the_campaign():
    fake = FakeAlertmanager()
    for host in ('hv01', 'hv02'):
        silences(fake).ensure(host, HOST_MATCHERS, 3600, 'x')
    silences(fake, campaign='other').ensure('hv03', HOST_MATCHERS, 3600, 'x')
    assert len(silences(fake).expire()) == 2
    assert [s['comment'][:32] for s in fake.live()] == ['[cloudmaint campaign=other host=']


def test_check_mode_reads_and_writes_nothing():
    fake = FakeAlertmanager()
    run = silences(fake, check_mode=True)
    assert run.ensure('hv01', HOST_MATCHERS, 3600, 'x')[0] == 'created' and run.changed
    assert fake.calls == [('GET', '/api/v2/silences')]
    silences(fake).ensure('hv01', HOST_MATCHERS, 3600, 'x')
    run = silences(fake, check_mode=True)
    assert len(run.expire('hv01')) == 1 and run.changed
    assert len(fake.live()) == 1


@pytest.mark.parametrize('matchers, problem', [
    ([], 'matchers: at least one is needed'),
    ([{'name': 'in stance', 'value': 'x'}], "matchers[0].name: 'in stance' is not a Prometheus label name"),
    ([{'name': 'instance', 'value': ''}], 'matchers[0].value: a non-empty string'),
    ([{'name': 'a', 'value': 'x'}, {'name': 'instance', 'value': '.*', 'is_regex': True}],
     "matchers[1].value: '.*' matches every value of instance"),
    ([{'name': 'a', 'value': 'x'}] * 21, 'matchers: 21 given, at most 20'),
])
def test_matchers_that_could_silence_too_much_are_refused(matchers, problem):
    assert any(p.startswith(problem) for p in am.matcher_problems(matchers)), am.matcher_problems(matchers)


def test_a_listing_that_is_not_a_list_is_an_error_not_a_crash():
    with pytest.raises(am.AlertmanagerError, match='expected a list of silences, got dict'):
        silences(lambda method, path, body: {'oops': 1}).ensure('hv01', HOST_MATCHERS, 3600, 'x')


def test_odd_silences_in_the_listing_are_skipped():
    fake = FakeAlertmanager()
    fake.silences['junk'] = {'id': 'junk', 'status': None, 'comment': 7}
    fake.silences['expired'] = {'id': 'expired', 'status': {'state': 'expired'},
                                'comment': '[cloudmaint campaign=patch-12 host=hv01] old', 'matchers': []}
    assert silences(fake).ensure('hv01', HOST_MATCHERS, 3600, 'x')[0] == 'created'


# ---- the HTTP side -------------------------------------------------------------------------------

class Response(object):
    def __init__(self, text):
        self.text = text

    def read(self):
        return self.text


def test_http_request_sends_json_and_hides_credentials_in_errors():
    sent = []

    def open_url(url, **kwargs):
        sent.append((url, kwargs))
        if kwargs['method'] == 'DELETE':
            raise HTTPError(url, 404, 'Not Found', {}, io.BytesIO(b'silence not found'))
        return Response(b'{"silenceID": "s-1"}')

    request = am.http_request(open_url, 'http://am:pw@127.0.0.1:9093/', headers={'Authorization': 'Bearer t'},
                              timeout=5, validate_certs=False)
    assert request('POST', '/api/v2/silences', {'a': 1}) == {'silenceID': 's-1'}
    url, kwargs = sent[0]
    assert url == 'http://am:pw@127.0.0.1:9093/api/v2/silences'
    assert kwargs['data'] == '{"a": 1}' and kwargs['headers']['Content-Type'] == 'application/json'
    assert kwargs['timeout'] == 5 and kwargs['validate_certs'] is False
    with pytest.raises(am.AlertmanagerError) as info:
        request('DELETE', '/api/v2/silence/x', None)
    assert str(info.value) == 'DELETE http://127.0.0.1:9093/api/v2/silence/x: HTTP 404: silence not found'


def test_http_request_says_when_nobody_answers():
    def open_url(url, **kwargs):
        raise URLError('Connection refused')

    with pytest.raises(am.AlertmanagerError, match='no answer: Connection refused'):
        am.http_request(open_url, 'http://127.0.0.1:1')('GET', '/api/v2/silences', None)

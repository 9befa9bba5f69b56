# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudmaint.openstack.plugins.modules import maintenance_window


class _Done(Exception):
    def __init__(self, kind, result):
        super(_Done, self).__init__(kind)
        self.kind = kind
        self.result = result


@pytest.fixture
def run(monkeypatch):
    def exit_json(self, **kwargs):
        raise _Done('exit', kwargs)

    def fail_json(self, msg, **kwargs):
        raise _Done('fail', dict(kwargs, msg=msg))

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)

    def call(**args):
        with patch_module_args(args):
            with pytest.raises(_Done) as info:
                maintenance_window.main()
        return info.value.kind, info.value.result

    return call


def stamp(delta_s):
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta_s)
    return when.strftime('%Y-%m-%dT%H:%M:%SZ')


def test_work_that_fits_and_work_that_would_outlast_the_window(run):
    windows = [{'start_at': stamp(-600), 'end_at': stamp(3600)}, {'start_at': stamp(7200), 'end_at': stamp(9000)}]
    kind, result = run(windows=windows, duration=600)
    assert kind == 'exit' and result['fits'] and not result['changed']
    assert result['msg'].startswith('in a window that closes at ')
    kind, result = run(windows=windows, duration=2 * 3600)
    assert kind == 'exit' and result['open'] and not result['fits']
    assert result['msg'] == ('the window closes at %s, before 7200 s of work would end; the next opens at %s'
                             % (result['closes_at'], result['next_opens_at']))
    assert 7190 - 2 <= result['wait_s'] <= 7200


def test_bad_windows_fail_naming_each_by_its_path(run):
    kind, result = run(windows=[{'start': '22:00'}, {'start_at': 'soon', 'end_at': stamp(60)}],
                       name='cloudmaint_windows')
    assert kind == 'fail'
    assert [e['path'] for e in result['errors']] == ['cloudmaint_windows[0].end', 'cloudmaint_windows[1].start_at']
    assert result['msg'].startswith('invalid maintenance windows:\ncloudmaint_windows[0].end: None is not a time')

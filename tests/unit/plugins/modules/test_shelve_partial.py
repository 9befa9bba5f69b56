# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudmaint.openstack.plugins.modules import shelve_partial


class _Failed(Exception):
    pass


class NoCloud(object):
    """Any request at all is a test failure: a bad campaign must fail before the first one."""

    requests = 0

    def __getattr__(self, name):
        raise AssertionError('the module asked the cloud (%s) before refusing its options' % name)


@pytest.mark.parametrize('campaign', ['patch 12', 'p' * 57, '-leading-dash'])
def test_a_campaign_id_outside_the_rule_fails_before_any_request(monkeypatch, campaign):
    def fail_json(self, msg, **kwargs):
        raise _Failed(msg)

    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    with patch_module_args({'server': 'web-1', 'campaign': campaign, 'cloud': 'unit-test'}):
        module = shelve_partial.ShelvePartialModule()
    module._nova = NoCloud()
    with pytest.raises(_Failed) as info:
        module.run()
    assert str(info.value).startswith('campaign %r' % campaign)

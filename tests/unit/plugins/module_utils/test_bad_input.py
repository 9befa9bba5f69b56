# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bad input refused with the path of the bad item: the cases of
tests/integration/test_bad_input.py and more, without a cloud."""

from __future__ import annotations

import pytest

from ansible_collections.cloudmaint.openstack.plugins.module_utils.notice import campaign_problem
from ansible_collections.cloudmaint.openstack.plugins.module_utils.policy import (
    Policy,
    PolicyError,
)

P = 'cloudmaint_policy.'

POLICIES = [
    ('unknown-action', {'classes': {'cattle': {'action': 'teleport'}}},
     P + "classes.cattle.action: unknown action 'teleport'"),
    ('action-typo', {'classes': {'pets': {'fallbacks': ['cold_migrat']}}},
     P + "classes.pets.fallbacks[0]: unknown action 'cold_migrat' (did you mean 'cold_migrate'?)"),
    ('fallback-loop', {'classes': {'pets': {'action': 'live_migrate',
                                            'fallbacks': ['cold_migrate', 'live_migrate']}}},
     P + "classes.pets.fallbacks[1]: 'live_migrate' is already the action (a loop)"),
    ('fallback-repeat', {'default': {'action': 'live_migrate', 'fallbacks': ['stop', 'stop']}},
     P + "default.fallbacks[1]: 'stop' repeats fallbacks[0] (a loop)"),
    ('negative-timeout', {'live_migration': {'medium': {'cattle': {'completion_timeout_s': -5}}}},
     P + 'live_migration.medium.cattle.completion_timeout_s: must be > 0, got -5'),
    ('zero-parallel', {'live_migration': {'high': {'pets': {'max_parallel': 0}}}},
     P + 'live_migration.high.pets.max_parallel: must be > 0, got 0'),
    ('negative-notice', {'classes': {'pets': {'notice': {'period_s': -1}}}},
     P + 'classes.pets.notice.period_s: must be >= 0, got -1'),
    ('unknown-sla-class', {'live_migration': {'medium': {'kittens': {'completion_timeout_s': 5}}}},
     P + "live_migration.medium.kittens: no SLA class 'kittens'"),
    ('unknown-default-class', {'default_class': 'kittens'},
     P + "default_class: 'kittens' is not a class"),
    ('unknown-importance', {'live_migration': {'urgent': {}}},
     P + "live_migration.urgent: unknown importance 'urgent'"),
    ('unknown-on-timeout', {'live_migration': {'medium': {'cattle': {'on_timeout': 'explode'}}}},
     P + "live_migration.medium.cattle.on_timeout: unknown on_timeout 'explode'"),
    ('delete-not-allowed', {'servers': {'db-primary': {'action': 'delete'}}},
     P + "servers.db-primary.action: 'delete' is only allowed with allow_delete: true"),
    ('delete-in-class', {'classes': {'cattle': {'action': 'live_migrate', 'fallbacks': ['delete']}}},
     P + "classes.cattle.fallbacks[0]: 'delete' is only allowed with allow_delete: true"),
    ('unknown-key', {'clases': {}}, P + "clases: unknown key 'clases' (did you mean 'classes'?)"),
    ('move-back', {'restore': {'move_back': 'sometimes'}},
     P + "restore.move_back: unknown move_back 'sometimes'"),
    ('not-a-mapping', {'classes': ['cattle']}, P + 'classes: expected a mapping'),
]


@pytest.mark.parametrize('raw, message', [c[1:] for c in POLICIES], ids=[c[0] for c in POLICIES])
def test_bad_policy_names_the_bad_item(raw, message):
    with pytest.raises(PolicyError) as caught:
        Policy(raw)
    assert message in str(caught.value), str(caught.value)
    assert caught.value.path == message.split(':')[0]


@pytest.mark.parametrize('campaign, message', [
    ('patch 2026 11', "campaign 'patch 2026 11': use letters, digits"),
    ('p' * 80, 'is 80 characters long'),
    ('-leading-dash', "campaign '-leading-dash'"),
    ('patch/2026', "campaign 'patch/2026'"),
    ('', "campaign ''"),
])
def test_bad_campaign_name(campaign, message):
    assert message in (campaign_problem(campaign) or ''), campaign_problem(campaign)


@pytest.mark.parametrize('campaign', ['patch-2026-11', 'p' * 56, 'a.b_c-1'])
def test_good_campaign_name(campaign):
    assert campaign_problem(campaign) is None

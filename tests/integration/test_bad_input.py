# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bad input is refused before anything changes, with a message naming the bad item.

Table-driven runs of playbooks/rolling_patch.yml with tests/molecule/inventory (hv04 and hv05):
each must fail in its preflight, so these runs only read hv04 and hv05 (other suites campaign
there; the checks look for what *this* campaign id could have changed: the services' disabled
reason, the servers' campaign records, the ledger, and no campaign step in the output). Cases the
playbooks cannot express with that inventory use drain.yml with hv03. Policy validation in depth
is unit-tested (tests/unit/plugins/module_utils/test_policy.py, test_bad_input.py).
"""

from __future__ import annotations

import json
import os
import uuid

import pytest

from campaign_support import (
    SANDBOX_INVENTORY,
    ledger_of,
    output_of,
    playbook,
)
from conftest import REPO
from modules_support import records as campaign_records

INVENTORY = os.path.join(REPO, 'tests', 'molecule', 'inventory')
PAIR = ('hv04', 'hv05')
# Tasks that change something; none may start.
CHANGING = ('TASK [Record that work on this host began]', 'TASK [cloudmaint.openstack.drain',
            'TASK [cloudmaint.openstack.notice', 'host_drain')


def policy(**tree):
    return {'cloudmaint_policy': tree}


CASES = [
    ('unknown-action', policy(classes={'cattle': {'action': 'teleport'}}),
     ["cloudmaint_policy.classes.cattle.action: unknown action 'teleport'"]),
    ('action-typo', policy(classes={'pets': {'fallbacks': ['cold_migrat']}}),
     ['cloudmaint_policy.classes.pets.fallbacks[0]', "did you mean 'cold_migrate'"]),
    ('fallback-loop', policy(classes={'pets': {'action': 'live_migrate',
                                               'fallbacks': ['cold_migrate', 'live_migrate']}}),
     ["cloudmaint_policy.classes.pets.fallbacks[1]: 'live_migrate' is already the action "
      "(a loop)"]),
    ('negative-timeout', policy(live_migration={'medium': {'cattle': {
        'completion_timeout_s': -5}}}),
     ['cloudmaint_policy.live_migration.medium.cattle.completion_timeout_s: must be > 0, got -5']),
    ('unknown-sla-class', policy(live_migration={'medium': {'kittens': {
        'completion_timeout_s': 5}}}),
     ["cloudmaint_policy.live_migration.medium.kittens: no SLA class 'kittens'"]),
    ('unknown-default-class', policy(default_class='kittens'),
     ["cloudmaint_policy.default_class: 'kittens' is not a class"]),
    ('delete-not-allowed', policy(servers={'db-primary': {'action': 'delete'}}),
     ["cloudmaint_policy.servers.db-primary.action: 'delete' is only allowed with "
      "allow_delete: true"]),
    ('missing-cloud', {'cloudmaint_cloud': 'no-such-cloud'},
     ["cloud 'no-such-cloud' not found in ", "clouds.yaml files searched"]),
    ('silence-matching-everything',
     {'cloudmaint_alertmanager_matchers': [{'name': 'instance', 'value': '.*', 'is_regex': True}]},
     ["cloudmaint_alertmanager_matchers[0].value: '.*' matches every value of instance"]),
    ('campaign-with-spaces', {'cloudmaint_campaign': 'patch 2026 11'},
     ["campaign 'patch 2026 11'"]),
    ('campaign-too-long', {'cloudmaint_campaign': 'p' * 80},
     ['is 80 characters long']),
    ('reboot-method', {'cloudmaint_reboot_method': 'teleport'},
     ['cloudmaint_reboot_method', 'must be one of']),
    ('unknown-importance', {'cloudmaint_importance': 'urgent'},
     ['importance', 'urgent']),
    ('webhook-allow-too-broad', {'cloudmaint_notice_webhook_allow': ['hooks.example.com', '10.0.0.0/8']},
     ["cloudmaint_notice_webhook_allow[1]: '10.0.0.0/8' is too broad"]),
    ('webhook-allow-public-suffix', {'cloudmaint_notice_webhook_allow': ['*.co.uk']},
     ["cloudmaint_notice_webhook_allow[0]: '*.co.uk' covers every name under a public suffix"]),
]


def pair_state(conn):
    services = {s.host: (s.status, s.disabled_reason or '')
                for s in conn.compute.services(binary='nova-compute') if s.host in PAIR}
    records = {sid: [r['campaign'] for r in found]
               for host in PAIR for sid, found in campaign_records(conn, host=host).items()}
    return services, records


def assert_untouched_by(conn, campaign, output):
    services, records = pair_state(conn)
    for host, (status, reason) in services.items():
        assert campaign not in reason, '%s disabled by %s: %s' % (host, campaign, reason)
    marked = [sid for sid, marks in records.items() if campaign in marks]
    assert not marked, 'servers with a record of %s: %s' % (campaign, marked)
    assert ledger_of(conn, campaign) == {}
    for marker in CHANGING:
        assert marker not in output, '%s ran:\n%s' % (marker, output[-4000:])


@pytest.mark.parametrize('variables, expected', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rolling_patch_refuses_bad_input_before_any_change(conn, cloud_env, tmp_path, variables,
                                                           expected):
    campaign = variables.get('cloudmaint_campaign') or 'itbad-%s' % uuid.uuid4().hex[:8]
    extra = dict(variables, cloudmaint_campaign=campaign,
                 cloudmaint_report_dir=str(tmp_path / 'reports'))
    result = playbook(cloud_env, 'rolling_patch.yml', INVENTORY, extra, timeout=600)
    output = output_of(result)
    assert result.returncode != 0, output[-4000:]
    for text in expected:
        assert text in output, 'expected %r in:\n%s' % (text, output[-4000:])
    if ' ' not in campaign and len(campaign) <= 64:
        assert_untouched_by(conn, campaign, output)
    else:
        for marker in CHANGING:
            assert marker not in output, output[-4000:]
    assert not os.path.exists(tmp_path / 'reports' / ('%s.json' % campaign))


def test_unknown_host_in_the_inventory_is_refused(conn, cloud_env, tmp_path):
    """An inventory naming a host Nova does not know (hv04 and a typo) stops in preflight."""
    root = tmp_path / 'inventory'
    (root / 'group_vars').mkdir(parents=True)
    (root / 'group_vars' / 'all').symlink_to(os.path.join(INVENTORY, 'group_vars', 'all'))
    (root / 'hosts.yml').write_text(json.dumps({'hypervisors': {'hosts': {'hv04': {},
                                                                          'hv4': {}}}}))
    campaign = 'itbad-%s' % uuid.uuid4().hex[:8]
    result = playbook(cloud_env, 'rolling_patch.yml', str(root),
                      {'cloudmaint_campaign': campaign}, timeout=600)
    output = output_of(result)
    assert result.returncode != 0, output[-4000:]
    assert 'unknown host(s): hv4' in output, output[-4000:]
    assert_untouched_by(conn, campaign, output)


@pytest.mark.parametrize('name', ['drain.yml', 'restore.yml'])
def test_drain_of_an_unknown_host_fails(cloud_env, name):
    result = playbook(cloud_env, name, SANDBOX_INVENTORY, {'cloudmaint_hosts': 'hv99'})
    assert result.returncode != 0 and 'hv99' in output_of(result)

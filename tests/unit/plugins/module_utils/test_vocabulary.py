# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.cloudmaint.openstack.plugins.module_utils import vocabulary as v


def test_the_policy_reads_the_same_view_of_a_nova_server_and_of_a_snapshot_record():
    nova = {'id': 'a', 'name': 'b', 'tenant_id': 'p', 'status': 'ACTIVE', v.TASK_KEY: None, v.HOST_KEY: 'hv1',
            'metadata': {'sla': 'pets'}}
    record = {'id': 'a', 'name': 'b', 'project_id': 'p', 'project_name': 'shop', 'status': 'ACTIVE',
              'task_state': None, 'host': 'hv1', 'metadata': {'sla': 'pets'}}
    expected = {'id': 'a', 'name': 'b', 'project_id': 'p', 'project_name': None, 'status': 'ACTIVE',
                'task_state': None, 'metadata': {'sla': 'pets'}}
    assert v.policy_view(nova) == expected
    assert v.policy_view(record) == dict(expected, project_name='shop')


def test_texts_that_mark_a_host_or_server_as_held_by_a_campaign_begin_alike():
    assert v.disabled_reason('c1') == 'cloudmaint: campaign c1: host maintenance'
    assert v.disabled_reason('c1', 'kernel 6.1') == 'cloudmaint: campaign c1: kernel 6.1'
    assert v.lock_reason('c1', 'hv03') == 'cloudmaint: campaign c1: hv03 in maintenance'
    assert all(text.startswith(v.held_by('c1')) for text in (v.disabled_reason('c1'), v.lock_reason('c1', 'h')))


def test_one_rule_names_a_campaign():
    assert v.campaign_problem('patch-2026-11') is None and v.campaign_problem(None) is None
    assert 'at most 56' in v.campaign_problem('p' * 57)
    assert 'letters, digits' in v.campaign_problem('-patch')
    assert 'letters, digits' in v.campaign_problem('patch 11')

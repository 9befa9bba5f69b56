# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.cloudmaint.openstack.plugins.filter.webhook_allow_problems import (
    FilterModule,
    webhook_allow_problems,
)

NAME = 'cloudmaint_notice_webhook_allow'


def test_a_good_list_has_no_problem():
    assert webhook_allow_problems(['hooks.example.com', '*.hooks.example.com', '8.8.8.0/24'], name=NAME) == []
    assert webhook_allow_problems(None) == []


def test_every_bad_entry_is_named_by_the_variable_and_its_index():
    problems = webhook_allow_problems(['hooks.example.com', '10.0.0.0/8', '*.com', 'https://x.example.com/'],
                                      name=NAME)
    assert [p.split(':', 1)[0] for p in problems] == [NAME + '[1]', NAME + '[2]', NAME + '[3]']
    assert 'too broad' in problems[0]
    assert 'public suffix' in problems[1]
    assert 'is a URL' in problems[2]


def test_private_networks_need_the_opt_in():
    assert 'allow_private' in webhook_allow_problems(['127.0.0.1/32'], name=NAME)[0]
    assert webhook_allow_problems(['127.0.0.1/32'], allow_private=True, name=NAME) == []


def test_a_list_that_is_not_one_is_a_problem_not_a_crash():
    assert webhook_allow_problems('hooks.example.com', name=NAME) == [
        NAME + ': expected a list of host names and networks, got str']


def test_the_filter_is_registered():
    assert FilterModule().filters()['webhook_allow_problems'] is webhook_allow_problems

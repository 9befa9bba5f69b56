# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.cloudmaint.openstack.plugins.filter.silence_matcher_problems import silence_matcher_problems

NAME = 'cloudmaint_alertmanager_matchers'


def test_good_matchers_have_no_problem():
    assert silence_matcher_problems([{'name': 'instance', 'value': 'hv01(:[0-9]+)?', 'is_regex': True}], NAME) == []


def test_each_problem_is_named_by_the_variable_and_the_index():
    assert silence_matcher_problems([{'name': 'host', 'value': 'hv01'}, {'name': 'bad name', 'value': ''}], NAME) == [
        "cloudmaint_alertmanager_matchers[1].name: 'bad name' is not a Prometheus label name",
        'cloudmaint_alertmanager_matchers[1].value: a non-empty string of at most 1024 characters is needed']


def test_what_is_not_a_list_of_matchers_is_one_problem():
    for value in ('instance=hv01', [['instance', 'hv01']], None):
        assert silence_matcher_problems(value, NAME) == [
            'cloudmaint_alertmanager_matchers: expected a list of matchers (name, value, is_regex, is_equal)']
    assert silence_matcher_problems([], NAME)[0].startswith('cloudmaint_alertmanager_matchers: at least one')

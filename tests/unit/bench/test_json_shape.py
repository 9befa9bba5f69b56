# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""bench/json_shape.py: shapes of JSON documents and their differences."""

from __future__ import annotations

import json_shape as js

REAL = {'servers': [{'id': 'a', 'status': 'ACTIVE', 'progress': 0, 'locked': False, 'metadata': {'sla': 'pets'},
                     'tags': []},
                    {'id': 'b', 'status': 'SHUTOFF', 'locked': True, 'metadata': {}, 'tags': []}]}
MAPS = ('servers[].metadata',)


def diff(fake, also_allowed=None):
    return js.differences(js.shape_of([REAL], MAPS), js.shape_of([fake], MAPS), also_allowed=also_allowed)


def server(**changes):
    base = {'id': 'x', 'status': 'ACTIVE', 'progress': 0, 'locked': False, 'metadata': {'owner': 'me'}, 'tags': []}
    base.update(changes)
    return {key: value for key, value in base.items() if value is not Ellipsis}


def test_same_shape_no_problems():
    assert diff({'servers': [server(), server(progress=Ellipsis, status='SHUTOFF')]}) == ([], [])


def test_invented_key_and_type():
    problems, _unchecked = diff({'servers': [server(extra=1, locked='no')]})
    assert "servers[]: key 'extra' the real API does not return" in problems
    assert 'servers[].locked: type str, real API: bool' in problems


def test_missing_and_sometimes_missing_keys():
    problems, _unchecked = diff({'servers': [server(locked=Ellipsis)]})
    assert problems == ["servers[]: key 'locked' missing"]
    problems, _unchecked = diff({'servers': [server(), server(locked=Ellipsis)]})
    assert problems == ["servers[]: key 'locked' only sometimes present, the real API always has it"]


def test_optional_real_key_may_be_left_out():
    assert diff({'servers': [server(progress=Ellipsis)]}) == ([], [])


def test_map_values_compared_not_keys():
    assert diff({'servers': [server(metadata={'anything': 'str'})]})[0] == []
    assert diff({'servers': [server(metadata={'n': 1})]})[0] == ['servers[].metadata{}: type int, real API: str']


def test_content_never_seen_in_the_real_answer_is_unchecked():
    assert diff({'servers': [server(tags=['web'])]}) == ([], ['servers[].tags[]'])


def test_also_allowed_types():
    fake = {'servers': [server(status=None)]}
    assert diff(fake)[0] == ['servers[].status: type null, real API: str']
    assert diff(fake, {'servers[].status': {'null'}})[0] == []


def test_bool_is_not_int():
    assert js.type_name(True) == 'bool'
    assert js.type_name(1) == 'int'
    assert js.type_name(1.0) == 'float'

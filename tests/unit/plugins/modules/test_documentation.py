# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every module's DOCUMENTATION, EXAMPLES and RETURN is YAML (a stray ': ' in a sentence is not)."""

from __future__ import annotations

import ast
import glob
import os

import pytest
import yaml

MODULES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins', 'modules', '*.py')))


@pytest.mark.parametrize('path', MODULES, ids=[os.path.basename(p) for p in MODULES])
def test_documentation_examples_and_return_are_yaml(path):
    with open(path) as handle:
        tree = ast.parse(handle.read())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') in ('DOCUMENTATION', 'EXAMPLES', 'RETURN'):
            found[node.targets[0].id] = yaml.safe_load(node.value.value)
    assert sorted(found) == ['DOCUMENTATION', 'EXAMPLES', 'RETURN']
    assert found['DOCUMENTATION']['module'] == os.path.basename(path)[:-3]

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Make ``ansible_collections.cloudmaint.openstack`` importable for a plain ``pytest tests/unit``.

`make units` puts .collections on PYTHONPATH and this does nothing.  Otherwise
.collections is used if `make venv` made its symlink; in a fresh clone without
it, a throw-away ansible_collections tree pointing at this checkout is used.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import os
import shutil
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _importable() -> bool:
    try:
        return importlib.util.find_spec('ansible_collections.cloudmaint.openstack') is not None
    except ImportError:
        return False


def _collections_root() -> str:
    root = os.path.join(REPO, '.collections')
    if os.path.isdir(os.path.join(root, 'ansible_collections', 'cloudmaint', 'openstack')):
        return root
    root = tempfile.mkdtemp(prefix='cloudmaint-collections-')
    atexit.register(shutil.rmtree, root, True)
    os.makedirs(os.path.join(root, 'ansible_collections', 'cloudmaint'))
    os.symlink(REPO, os.path.join(root, 'ansible_collections', 'cloudmaint', 'openstack'))
    return root


if not _importable():
    sys.path.insert(0, _collections_root())
    importlib.invalidate_caches()

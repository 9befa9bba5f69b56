# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Makes the shared fake Nova (fake_nova.py, next to this file) importable by the tests here."""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import fake_nova  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def clock():
    return fake_nova.FakeClock()


@pytest.fixture
def waiter(clock):
    return fake_nova.make_waiter(clock)

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Make the benchmark's modules (bench/fleet.py, fleet_api.py, json_shape.py) importable for these tests."""

from __future__ import annotations

import os
import sys

BENCH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))), 'bench')

if BENCH not in sys.path:
    sys.path.insert(0, BENCH)

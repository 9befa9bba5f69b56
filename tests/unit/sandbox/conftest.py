# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Make the sandbox's pure modules (``cmsandbox.physics``) importable for these tests."""

from __future__ import annotations

import os
import sys

SANDBOX_SRC = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
    'sandbox')

if SANDBOX_SRC not in sys.path:
    sys.path.insert(0, SANDBOX_SRC)

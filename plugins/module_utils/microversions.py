# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""API microversions ('2.96'), read, written and compared in one way for every client."""

from __future__ import annotations

import re

_MICROVERSION_RE = re.compile(r'^\s*(\d+)\.(\d+)\s*$')


def parse_microversion(value):
    """Return ``(major, minor)`` for '2.91', (2, 91) or [2, 91]; raise ValueError otherwise."""
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return (value[0], value[1])
    if isinstance(value, str):
        match = _MICROVERSION_RE.match(value)
        if match:
            return (int(match.group(1)), int(match.group(2)))
    raise ValueError('not a microversion: %r (expected "MAJOR.MINOR", e.g. "2.91")' % (value,))


def format_microversion(value):
    """Return the canonical 'MAJOR.MINOR' string, or None for None."""
    if value is None:
        return None
    return '%d.%d' % parse_microversion(value)


def compare_microversions(left, right):
    """Return -1, 0 or 1 as ``left`` is lower than, equal to or higher than ``right``.

    Microversions compare numerically per part: '2.10' is higher than '2.9'.
    """
    left_t, right_t = parse_microversion(left), parse_microversion(right)
    return (left_t > right_t) - (left_t < right_t)


def microversion_satisfied(available, required):
    """True when ``available`` (may be None: no microversions) reaches ``required``."""
    if available is None:
        return False
    available_t, required_t = parse_microversion(available), parse_microversion(required)
    return available_t[0] == required_t[0] and available_t >= required_t

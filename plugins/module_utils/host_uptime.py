# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Whether a host booted after a given time, from what its compute driver reports as its uptime.

Nova's ``GET /os-hypervisors/{id}/uptime`` returns the host's ``LANG=C uptime`` line (libvirt's
driver): ``" 10:12:01 up 3 days,  2:31,  1 user, ..."``, to the minute. A host up ``m`` minutes
booted in the minute before ``now - m``; each reading narrows that window, and a verdict is only
given when the whole window is on one side of the time asked about. The duration is measured on
the host, the ``now`` on the controller, so clock skew between them does not matter.
"""

from __future__ import annotations

import datetime
import re

MAX_TEXT = 512
_UP = re.compile(r'\bup\s+(?:(?P<days>\d{1,5})\s+days?,?\s*)?'
                 r'(?:(?P<hours>\d{1,2}):(?P<minutes>\d{2})|(?P<min>\d{1,4})\s+min)?')


def uptime_minutes(text):
    """Whole minutes the host has been up, or None when ``text`` is not an ``uptime`` line."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        return None
    match = _UP.search(text)
    if not match or not any(match.group(g) for g in ('days', 'hours', 'min')):
        return None
    minutes = int(match.group('days') or 0) * 24 * 60
    if match.group('hours') is not None:
        if int(match.group('minutes')) > 59:
            return None
        minutes += int(match.group('hours')) * 60 + int(match.group('minutes'))
    elif match.group('min') is not None:
        minutes += int(match.group('min'))
    return minutes


class BootWindow(object):
    """When the host last booted, narrowed by each reading: after ``earliest``, at or before ``latest``."""

    def __init__(self):
        self.earliest = None
        self.latest = None
        self.readings = 0

    def add(self, now, text):
        """Narrows the window with one reading taken at ``now``; False if ``text`` was unreadable."""
        minutes = uptime_minutes(text)
        if minutes is None:
            return False
        latest = now - datetime.timedelta(minutes=minutes)
        earliest = latest - datetime.timedelta(minutes=1)
        if self.earliest is None or earliest > self.latest or latest < self.earliest:
            # The first reading, or the host booted again since the last one: start over.
            self.earliest, self.latest = earliest, latest
        else:
            self.earliest, self.latest = max(self.earliest, earliest), min(self.latest, latest)
        self.readings += 1
        return True

    def booted_after(self, when):
        """True or False when the readings settle it, None while they do not (or there are none)."""
        if self.earliest is None or when is None:
            return None
        if self.earliest >= when:
            return True
        if self.latest < when:
            return False
        return None

    def describe(self):
        if self.earliest is None:
            return 'its uptime is unknown'
        return 'booted between %s and %s' % (_format(self.earliest), _format(self.latest))


def _format(when):
    return when.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')

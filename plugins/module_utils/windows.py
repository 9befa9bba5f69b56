# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Maintenance windows: when a campaign may work, and whether a batch fits before the window closes.

Pure, stdlib only. The operator lists windows, each either weekly::

    {'days': ['mon', 'tue'], 'start': '22:00', 'end': '05:00', 'timezone': 'Europe/Zurich'}

(``end`` before ``start`` crosses midnight; a day names the day the window opens; without ``days``
every day; the time zone defaults to UTC and follows its daylight-saving rules) or explicit::

    {'start_at': '2026-12-24T20:00:00Z', 'end_at': '2026-12-25T06:00:00Z'}

Overlapping or touching windows count as one: a batch may run across them.
"""

from __future__ import annotations

import datetime
import re

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
except ImportError:  # Python < 3.9: only UTC and fixed offsets
    ZoneInfo = None
    ZoneInfoNotFoundError = KeyError

from ansible_collections.cloudmaint.openstack.plugins.module_utils.campaign_metadata import parse_time

DAYS = ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')
TIME_RE = re.compile(r'^([01]?\d|2[0-3]):([0-5]\d)$')
UTC = datetime.timezone.utc
# Weekly windows are looked at this many days ahead (a week and a day covers every weekly window).
HORIZON_DAYS = 8
MAX_WINDOWS = 100


class WindowError(ValueError):
    """Bad window definitions; ``errors`` lists (path, message)."""

    def __init__(self, errors):
        super(WindowError, self).__init__('\n'.join('%s: %s' % item for item in errors))
        self.errors = errors


def _clock(text):
    found = TIME_RE.match(text) if isinstance(text, str) else None
    return (int(found.group(1)), int(found.group(2))) if found else None


def _zone(name):
    if name in (None, 'UTC', 'Etc/UTC'):
        return UTC
    if ZoneInfo is None or not isinstance(name, str):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse(windows, name='windows'):
    """The windows as checked rules; WindowError naming every bad entry by its path."""
    if not isinstance(windows, (list, tuple)):
        raise WindowError([(name, 'expected a list of windows')])
    if len(windows) > MAX_WINDOWS:
        raise WindowError([(name, '%d windows, at most %d' % (len(windows), MAX_WINDOWS))])
    errors = []
    parsed = []
    for index, window in enumerate(windows):
        path = '%s[%d]' % (name, index)
        if not isinstance(window, dict):
            errors.append((path, 'expected a dict'))
            continue
        if 'start_at' in window or 'end_at' in window:
            parsed.append(_explicit(window, path, errors))
        else:
            parsed.append(_weekly(window, path, errors))
    if errors:
        raise WindowError(errors)
    return parsed


def _explicit(window, path, errors):
    unknown = sorted(set(window) - {'start_at', 'end_at'})
    if unknown:
        errors.append((path, 'unknown key(s) %s beside start_at/end_at' % ', '.join(unknown)))
    start, end = parse_time(window.get('start_at')), parse_time(window.get('end_at'))
    for key, value in (('start_at', start), ('end_at', end)):
        if value is None:
            errors.append(('%s.%s' % (path, key), '%r is not an ISO-8601 time' % (window.get(key),)))
    if start and end and end <= start:
        errors.append((path, 'end_at is not after start_at'))
    return ('explicit', start, end)


def _weekly(window, path, errors):
    unknown = sorted(set(window) - {'days', 'start', 'end', 'timezone'})
    if unknown:
        errors.append((path, 'unknown key(s) %s (a weekly window has days, start, end, timezone)' % ', '.join(unknown)))
    days = window.get('days', list(DAYS))
    if not isinstance(days, (list, tuple)) or not days or any(d not in DAYS for d in days):
        errors.append(('%s.days' % path, '%r: a list of %s' % (days, ', '.join(DAYS))))
        days = []
    start, end = _clock(window.get('start')), _clock(window.get('end'))
    for key, value in (('start', start), ('end', end)):
        if value is None:
            errors.append(('%s.%s' % (path, key), '%r is not a time of day (HH:MM)' % (window.get(key),)))
    if start is not None and start == end:
        errors.append((path, 'start and end are the same time'))
    zone = _zone(window.get('timezone', 'UTC'))
    if zone is None:
        errors.append(('%s.timezone' % path, '%r is not a time zone this controller knows' % (window.get('timezone'),)))
    return ('weekly', frozenset(DAYS.index(d) for d in days), start, end, zone)


def _occurrences(rule, around):
    """(start, end) in UTC of the rule's windows from a day before ``around`` to HORIZON_DAYS after."""
    if rule[0] == 'explicit':
        return [(rule[1], rule[2])]
    _kind, days, start, end, zone = rule
    local = around.astimezone(zone).date()
    found = []
    for offset in range(-1, HORIZON_DAYS):
        day = local + datetime.timedelta(days=offset)
        if day.weekday() not in days:
            continue
        opens = datetime.datetime(day.year, day.month, day.day, start[0], start[1], tzinfo=zone)
        close_day = day + datetime.timedelta(days=1) if end <= start else day
        closes = datetime.datetime(close_day.year, close_day.month, close_day.day, end[0], end[1], tzinfo=zone)
        found.append((opens.astimezone(UTC), closes.astimezone(UTC)))
    return found


def _spans(rules, now):
    """Every window near ``now``, merged where they overlap or touch, sorted."""
    spans = sorted(span for rule in rules for span in _occurrences(rule, now))
    merged = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def status(rules, now, duration_s=0):
    """Where ``now`` stands: {open, closes_at, fits, next_opens_at, wait_s}.

    ``fits``: the window is open and a piece of work of ``duration_s`` seconds started now ends
    before it closes. ``next_opens_at``: the next window's opening after now (None if none is
    known within HORIZON_DAYS, or for explicit windows all past)."""
    now = now.astimezone(UTC)
    spans = _spans(rules, now)
    current = next(((s, e) for s, e in spans if s <= now < e), None)
    upcoming = next((s for s, _e in spans if s > now), None)
    closes = current[1] if current else None
    fits = bool(current) and now + datetime.timedelta(seconds=max(duration_s, 0)) <= closes
    return {'open': current is not None, 'closes_at': _stamp(closes), 'fits': fits,
            'next_opens_at': _stamp(upcoming),
            'wait_s': round((upcoming - now).total_seconds(), 1) if upcoming else None}


def _stamp(when):
    return when.strftime('%Y-%m-%dT%H:%M:%SZ') if when else None


def wait_for_room(rules, duration_s, max_wait_s, now, sleep):
    """Waits (``sleep(seconds)``) until a window is open with room for ``duration_s`` seconds of work, at
    most ``max_wait_s`` seconds; ``now()`` gives the time. Returns (status, seconds waited)."""
    started = now()
    while True:
        current = now()
        found = status(rules, current, duration_s)
        waited = (current - started).total_seconds()
        if found['fits'] or max_wait_s <= waited:
            return found, round(waited, 1)
        if found['next_opens_at'] is None:
            return found, round(waited, 1)
        # The next opening, or when the current window's end lets the work fit no more: look again then.
        until = found['wait_s'] if found['wait_s'] is not None else max_wait_s
        sleep(max(1.0, min(until, max_wait_s - waited)))

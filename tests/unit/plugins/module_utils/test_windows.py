# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Maintenance windows, against times worked out by hand (2026-12-07 is a Monday)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.cloudmaint.openstack.plugins.module_utils import windows as w

UTC = datetime.timezone.utc


def at(text):
    return datetime.datetime.strptime(text, '%Y-%m-%d %H:%M').replace(tzinfo=UTC)


NIGHTS = w.parse([{'days': ['mon', 'tue', 'wed', 'thu'], 'start': '22:00', 'end': '05:00'}])


def test_inside_a_night_window_that_crosses_midnight():
    # Tuesday 01:30 is inside Monday's window, which closes at 05:00.
    got = w.status(NIGHTS, at('2026-12-08 01:30'), duration_s=3 * 3600)
    assert got == {'open': True, 'closes_at': '2026-12-08T05:00:00Z', 'fits': True,
                   'next_opens_at': '2026-12-08T22:00:00Z', 'wait_s': 20.5 * 3600}


def test_a_batch_that_would_end_after_the_close_does_not_fit():
    # 04:00 + 1 h 1 s ends at 05:00:01, one second after the window closes.
    assert w.status(NIGHTS, at('2026-12-08 04:00'), duration_s=3601)['fits'] is False
    assert w.status(NIGHTS, at('2026-12-08 04:00'), duration_s=3600)['fits'] is True


def test_outside_every_window_the_next_opening_is_named():
    # Friday 10:00: Thursday's window closed at Friday 05:00; the next opens Monday 22:00.
    got = w.status(NIGHTS, at('2026-12-11 10:00'))
    assert got['open'] is False and got['fits'] is False and got['closes_at'] is None
    assert got['next_opens_at'] == '2026-12-14T22:00:00Z'
    assert got['wait_s'] == (3 * 24 + 12) * 3600   # Fri 10:00 -> Mon 22:00: 3 days and 12 hours


def test_a_time_zone_with_daylight_saving_moves_the_window_in_utc():
    rules = w.parse([{'start': '02:00', 'end': '04:00', 'timezone': 'Europe/Zurich'}])
    # Winter: UTC+1, so 02:00-04:00 local is 01:00-03:00 UTC.
    assert w.status(rules, at('2026-12-08 00:30'))['next_opens_at'] == '2026-12-08T01:00:00Z'
    # Summer: UTC+2, 00:00-02:00 UTC.
    assert w.status(rules, at('2026-07-08 00:30'))['closes_at'] == '2026-07-08T02:00:00Z'


def test_explicit_and_touching_windows_count_as_one():
    rules = w.parse([{'start_at': '2026-12-24T20:00:00Z', 'end_at': '2026-12-25T06:00:00Z'},
                     {'start_at': '2026-12-25T06:00:00Z', 'end_at': '2026-12-25T09:00:00Z'}])
    got = w.status(rules, at('2026-12-25 05:00'), duration_s=2 * 3600)
    assert got['fits'] is True and got['closes_at'] == '2026-12-25T09:00:00Z'
    assert w.status(rules, at('2026-12-25 10:00')) == {'open': False, 'closes_at': None, 'fits': False,
                                                       'next_opens_at': None, 'wait_s': None}


@pytest.mark.parametrize('windows, message', [
    ('22:00-05:00', 'windows: expected a list of windows'),
    ([{'days': ['monday'], 'start': '22:00', 'end': '05:00'}], "windows[0].days: ['monday']: a list of mon"),
    ([{'start': '25:00', 'end': '05:00'}], "windows[0].start: '25:00' is not a time of day (HH:MM)"),
    ([{'start': '22:00', 'end': '22:00'}], 'windows[0]: start and end are the same time'),
    ([{'start': '22:00', 'end': '05:00', 'timezone': 'Mars/Olympus'}],
     "windows[0].timezone: 'Mars/Olympus' is not a time zone this controller knows"),
    ([{'start': '22:00', 'end': '05:00', 'tz': 'UTC'}], 'windows[0]: unknown key(s) tz'),
    ([{'start_at': '2026-12-25T06:00:00Z', 'end_at': '2026-12-24T20:00:00Z'}],
     'windows[0]: end_at is not after start_at'),
    ([{'start_at': 'tomorrow', 'end_at': '2026-12-24T20:00:00Z'}],
     "windows[0].start_at: 'tomorrow' is not an ISO-8601 time"),
])
def test_bad_windows_are_named_by_their_path(windows, message):
    with pytest.raises(w.WindowError) as info:
        w.parse(windows)
    assert any(line.startswith(message) for line in str(info.value).splitlines()), str(info.value)


class Clock(object):
    def __init__(self, start):
        self.time = start
        self.sleeps = []

    def now(self):
        return self.time

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.time += datetime.timedelta(seconds=seconds)


def test_waiting_for_the_next_window_sleeps_until_it_opens():
    clock = Clock(at('2026-12-11 10:00'))
    found, waited = w.wait_for_room(NIGHTS, 3600, 4 * 24 * 3600, clock.now, clock.sleep)
    assert found['fits'] and found['closes_at'] == '2026-12-15T05:00:00Z'
    assert waited == (3 * 24 + 12) * 3600 and clock.sleeps == [(3 * 24 + 12) * 3600]


def test_waiting_gives_up_after_max_wait():
    clock = Clock(at('2026-12-11 10:00'))
    found, waited = w.wait_for_room(NIGHTS, 3600, 600, clock.now, clock.sleep)
    assert not found['fits'] and waited == 600 and clock.sleeps == [600]


def test_work_longer_than_a_window_is_not_waited_for_forever():
    # Monday's window is 7 h long: 8 h of work never fits; the wait goes window to window until max_wait.
    clock = Clock(at('2026-12-07 21:00'))
    found, waited = w.wait_for_room(NIGHTS, 8 * 3600, 3 * 24 * 3600, clock.now, clock.sleep)
    assert not found['fits'] and waited == 3 * 24 * 3600

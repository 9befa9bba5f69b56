# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime

import pytest

from ansible_collections.cloudmaint.openstack.plugins.module_utils.host_uptime import BootWindow, uptime_minutes

NOW = datetime.datetime(2026, 12, 5, 10, 0, 0, tzinfo=datetime.timezone.utc)


def line(up):
    return ' 10:00:00 up %s,  1 user,  load average: 0.08, 0.03, 0.01\n' % up


@pytest.mark.parametrize('text, minutes', [
    (line('0 min'), 0),
    (line('7 min'), 7),
    (line(' 2:31'), 151),
    (line('1 day, 5 min'), 24 * 60 + 5),
    (line('3 days,  2:01'), 3 * 24 * 60 + 121),
    (' 10:00:00 up 12 days, 10 min,  2 users,  load average: 0.00', 12 * 24 * 60 + 10),
    (line('41 days'), 41 * 24 * 60),
])
def test_uptime_lines_as_procps_prints_them(text, minutes):
    assert uptime_minutes(text) == minutes


@pytest.mark.parametrize('text', [None, '', 'up', 'load average: 0.00', line('2:75'), 42, 'x' * 600 + line('1 min'),
                                  ['up 5 min']])
def test_anything_else_is_unknown_never_an_error(text):
    assert uptime_minutes(text) is None


def test_a_reading_places_the_boot_in_one_minute():
    window = BootWindow()
    assert window.add(NOW, line('10 min'))
    assert (window.earliest, window.latest) == (NOW - datetime.timedelta(minutes=11), NOW - datetime.timedelta(minutes=10))
    assert window.booted_after(NOW - datetime.timedelta(minutes=12)) is True
    assert window.booted_after(NOW - datetime.timedelta(minutes=9)) is False
    # Within the minute: not settled.
    assert window.booted_after(NOW - datetime.timedelta(minutes=10, seconds=30)) is None


def test_later_readings_narrow_the_window_until_it_settles():
    # Booted at 09:49:50; the drain wrote its record at 09:49:40.
    record_at = NOW - datetime.timedelta(minutes=10, seconds=20)
    window = BootWindow()
    window.add(NOW, line('10 min'))                                       # up 10:10
    assert window.booted_after(record_at) is None
    window.add(NOW + datetime.timedelta(seconds=20), line('10 min'))      # up 10:30
    assert window.booted_after(record_at) is None
    window.add(NOW + datetime.timedelta(seconds=45), line('10 min'))      # up 10:55
    assert (window.earliest, window.latest) == (NOW - datetime.timedelta(minutes=10, seconds=15),
                                                NOW - datetime.timedelta(minutes=10))
    assert window.booted_after(record_at) is True


def test_a_reboot_between_readings_starts_over():
    window = BootWindow()
    window.add(NOW, line('3 days,  2:01'))
    window.add(NOW + datetime.timedelta(minutes=5), line('1 min'))
    assert window.latest == NOW + datetime.timedelta(minutes=4)
    assert window.booted_after(NOW) is True


def test_without_a_reading_nothing_is_settled():
    window = BootWindow()
    assert window.add(NOW, 'unreadable') is False
    assert window.booted_after(NOW) is None and window.describe() == 'its uptime is unknown'

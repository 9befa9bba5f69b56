# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""pytest plugin that every suite of ``make test`` loads (``-p tests.ci_guard``).

In CI (``CI`` set) a skipped test is a failed test, unless its reason starts with
``not applicable in CI:``: a skip there would otherwise hide a test that never ran.
"""

from __future__ import annotations

import os

import pytest

ALLOWED = 'not applicable in CI:'


def skip_reason(report):
    if isinstance(report.longrepr, tuple):
        return report.longrepr[2]
    return str(report.longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # pylint: disable=unused-argument
    outcome = yield
    report = outcome.get_result()
    if not os.environ.get('CI') or not report.skipped or hasattr(report, 'wasxfail'):
        return
    reason = skip_reason(report)
    if reason.startswith('Skipped: '):
        reason = reason[len('Skipped: '):]
    if not reason.startswith(ALLOWED):
        report.outcome = 'failed'
        report.longrepr = 'skipped in CI, which counts as a failure (%r)' % reason

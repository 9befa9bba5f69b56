# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""No password, webhook secret or token in what an operator's run leaves behind: the output of
drain.yml, restore.yml and rolling_patch.yml at -vvv on hv03 (with a pets server whose owner gets
signed webhooks), and the report files, are searched for every value of .sandbox/secrets.json and
for Keystone tokens. The reports are the operator's only (0600 in a 0700 directory)."""

from __future__ import annotations

import json
import os
import re
import stat
import time

from campaign_support import (  # noqa: F401  pylint: disable=unused-import
    SMALL,
    az1_restored,
    close_campaign,
    drain_playbook,
    hv03_inventory,
    output_of,
    playbook,
    restore_playbook,
)
from conftest import SANDBOX
from modules_support import (  # noqa: F401  pylint: disable=unused-import
    DRAINED,
    boot,
    drained_host,
    vms,
)

# Fernet tokens (Keystone's default) start with gAAAAA; a token header with a value.
TOKEN_PATTERNS = [re.compile(r'gAAAAA[A-Za-z0-9_\-]{20,}'),
                  re.compile(r'X-Auth-Token["\']?\s*[:=]\s*["\']?(?!\*)[A-Za-z0-9_\-]{16,}', re.I),
                  re.compile(r'X-Subject-Token["\']?\s*[:=]\s*["\']?(?!\*)[A-Za-z0-9_\-]{16,}',
                             re.I)]


def leaks(text, secrets):
    found = []
    for name, value in secrets.items():
        if value and value in text:
            line = next(line for line in text.splitlines() if value in line)
            found.append('%s secret in: %s' % (name, line.replace(value, '<%s>' % name)[:300]))
    for pattern in TOKEN_PATTERNS:
        for match in pattern.finditer(text):
            found.append('token-like text: %s' % text[max(0, match.start() - 120):match.end()])
    return found


def last_task_before(text, needle):
    index = text.find(needle)
    start = text.rfind('TASK [', 0, index)
    return text[start:text.find('\n', start)] if start >= 0 else '(no task)'


def test_no_secret_in_verbose_output_or_reports(conn, cloud_env, vms, tmp_path):
    with open(os.path.join(SANDBOX, 'secrets.json')) as handle:
        secrets = json.load(handle)
    hook = 'http://127.0.0.1:39800/hooks/web-shop'
    boot(conn, vms, {'pet': dict(SMALL, sla='pets', **{'cloudmaint:notify_url': hook}),
                     'cattle': dict(SMALL, sla='cattle')})
    campaign = 'it-secrets-%d' % (time.time() % 100000)
    reports = tmp_path / 'reports'
    runs = {}
    try:
        runs['drain.yml'] = drain_playbook(cloud_env, campaign, verbosity=3)
        runs['restore.yml'] = restore_playbook(cloud_env, campaign, verbosity=3)
        runs['rolling_patch.yml'] = playbook(
            cloud_env, 'rolling_patch.yml', hv03_inventory(tmp_path),
            {'cloudmaint_campaign': campaign + '-rp', 'cloudmaint_report_dir': str(reports)},
            verbosity=3)
    finally:
        close_campaign(cloud_env, campaign + '-rp')
    problems = []
    for name, result in runs.items():
        text = output_of(result)
        (tmp_path / (name + '.log')).write_text(text)
        assert result.returncode == 0, '%s failed:\n%s' % (name, text[-4000:])
        for leak in leaks(text, secrets):
            problems.append('%s output (%s): %s' % (name, last_task_before(
                text, leak.split(': ', 1)[1][:40]), leak))
    written = [p for p in reports.rglob('*') if p.is_file()] if reports.exists() else []
    assert written, 'rolling_patch.yml wrote no report'
    # For the operator only: the directory 0700, every file in it 0600.
    wrong = ['%s %o' % (p, stat.S_IMODE(p.stat().st_mode)) for p in [reports] + written
             if stat.S_IMODE(p.stat().st_mode) != (0o700 if p == reports else 0o600)]
    assert not wrong, 'reports others can read: %s' % wrong
    for path in written:
        for leak in leaks(path.read_text(errors='replace'), secrets):
            problems.append('%s: %s' % (path.name, leak))
    assert not problems, '\n'.join(problems)

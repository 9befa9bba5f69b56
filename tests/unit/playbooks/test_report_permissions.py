# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Campaign reports and plans name every server, project and host of a campaign: each task that
writes one (playbooks, roles) makes its directory 0700 and the file 0600."""

from __future__ import annotations

import glob
import os

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SOURCES = ['playbooks/*.yml', 'playbooks/tasks/*.yml', 'roles/*/tasks/*.yml']
FILE_MODULES = ('ansible.builtin.file', 'file')
WRITE_MODULES = ('ansible.builtin.copy', 'copy', 'ansible.builtin.template', 'template')


def _tasks(node):
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        if any(key in node for key in FILE_MODULES + WRITE_MODULES):
            yield node
        for key in ('tasks', 'pre_tasks', 'post_tasks', 'handlers', 'block', 'rescue', 'always'):
            if key in node:
                yield from _tasks(node[key])


def _report_tasks():
    found = []
    for pattern in SOURCES:
        for path in sorted(glob.glob(os.path.join(REPO, pattern))):
            with open(path) as handle:
                doc = yaml.safe_load(handle)
            for task in _tasks(doc):
                module = next(key for key in FILE_MODULES + WRITE_MODULES if key in task)
                args = task[module] or {}
                target = str(args.get('dest') or args.get('path') or '')
                if 'report' in target:
                    found.append((os.path.relpath(path, REPO), task.get('name'), module, args))
    return found


def test_reports_are_written_for_the_operator_only():
    tasks = _report_tasks()
    assert len(tasks) >= 8, 'report-writing tasks not found: %r' % tasks
    wrong = []
    for path, name, module, args in tasks:
        if module in FILE_MODULES:
            expected = '0700' if args.get('state') == 'directory' else '0600'
        else:
            expected = '0600'
        if str(args.get('mode')) != expected:
            wrong.append('%s: %r has mode %r, not %s' % (path, name, args.get('mode'), expected))
    assert not wrong, '\n'.join(wrong)

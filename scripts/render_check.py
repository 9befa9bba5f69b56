# -*- coding: utf-8 -*-
"""Renders campaign pages in headless Chromium and checks what a reader would see.

    render_check.py OUT_DIR PAGE.html[=SOURCE.json] ...

For each page: Chromium must exit 0, print no console error and fail no load; the page, after
Chromium has parsed it, must hold a timeline with at least one bar and, when the JSON it was made
from is given (a maintenance_plan result or a campaign report), a row for every host and a table
line for every server of that JSON; and a screenshot must come out as a PNG in OUT_DIR.
"""

import json
import os
import re
import subprocess
import sys

CHROMIUM = os.environ.get('CHROMIUM', 'chromium')
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--enable-logging=stderr', '--v=0']
LOG_ERRORS = re.compile(r'CONSOLE\(\d+\)|Uncaught|Failed to load|net::ERR_|Refused to')
ROW = re.compile(r'<g class="row" data-host="([^"]*)"')
SERVER = re.compile(r'<tr data-server="([^"]*)"')
BAR = re.compile(r'<rect class="bar"')


def chromium(args, user_dir):
    return subprocess.run([CHROMIUM] + FLAGS + ['--user-data-dir=' + user_dir] + args,
                          capture_output=True, text=True, timeout=120, check=False)


def expected_of(source):
    """Hosts and server ids a page made from ``source`` must show."""
    with open(source) as handle:
        data = json.load(handle)
    hosts = data.get('hosts') or {}
    servers = {s['id'] for info in hosts.values() for s in info.get('servers') or () if s.get('id')}
    return set(hosts), servers


def check(page, source, out_dir):
    problems = []
    url = 'file://' + os.path.realpath(page)
    dom = chromium(['--dump-dom', url], os.path.join(out_dir, 'profile-dom'))
    if dom.returncode != 0:
        problems.append('chromium exited %d' % dom.returncode)
    problems += ['chromium: ' + line.strip() for line in dom.stderr.splitlines()
                 if LOG_ERRORS.search(line)]
    rows, servers = set(ROW.findall(dom.stdout)), set(SERVER.findall(dom.stdout))
    if not rows or not BAR.search(dom.stdout):
        problems.append('empty timeline: %d host rows, no bar' % len(rows))
    if source:
        hosts, ids = expected_of(source)
        if not hosts:
            problems.append('%s names no host' % source)
        problems += ['host %s has no row' % h for h in sorted(hosts - rows)]
        lost = sorted(ids - servers)
        if lost:
            problems.append('%d of %d servers have no line in the table: %s%s' % (
                len(lost), len(ids), ', '.join(lost[:5]), ' ...' if len(lost) > 5 else ''))
    png = os.path.join(out_dir, os.path.basename(page)[:-len('.html')] + '.png')
    shot = chromium(['--window-size=1400,900', '--screenshot=' + png, url],
                    os.path.join(out_dir, 'profile-shot'))
    if shot.returncode != 0:
        problems.append('chromium exited %d taking the screenshot' % shot.returncode)
    if not is_png(png):
        problems.append('no PNG screenshot')
    return problems, len(rows), len(servers), png


def is_png(path):
    if not os.path.exists(path):
        return False
    with open(path, 'rb') as handle:
        return handle.read(4)[1:] == b'PNG'


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir, status = argv[0], 0
    for item in argv[1:]:
        page, _sep, source = item.partition('=')
        if not os.path.isfile(page) or (source and not os.path.isfile(source)):
            print('render-check: %s: no such file' % item, file=sys.stderr)
            status = 1
            continue
        problems, rows, servers, png = check(page, source, out_dir)
        if problems:
            status = 1
            print('render-check: %s:\n  %s' % (page, '\n  '.join(problems)), file=sys.stderr)
        else:
            print('ok: %s: %d host rows, %d servers%s -> %s' % (
                page, rows, servers, ' (all of %s)' % os.path.basename(source) if source else '', png))
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A campaign timeline (campaign_timeline.py) as one self-contained HTML page: inline CSS and SVG, no
script, no external resource.  Every text from the input is escaped (server names are user input)."""

from __future__ import annotations

import datetime
from html import escape

COLORS = {'notice': '#9c6ade', 'drain': '#3b73b9', 'patch': '#e8903a', 'reboot': '#d64545',
          'restore': '#3f9b5a'}
MARK_COLORS = {'live_migrate': '#123a63', 'cold_migrate': '#8a4b14'}
FAILED = '#c0152f'
WIDTH = 1320
LABEL_W = 170
RIGHT_PAD = 24
AXIS_H = 34
ROW_H = 40
BAR_H = 16
BATCH_GAP = 10
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2733;margin:24px;background:#fff}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px}
.sub{color:#5b6776;margin:0 0 12px}
.facts{display:flex;gap:28px;flex-wrap:wrap;margin:10px 0 14px}
.facts div{background:#f3f6f9;border-radius:6px;padding:6px 12px}
.facts b{display:block;font-size:18px}
.legend{display:flex;gap:16px;flex-wrap:wrap;align-items:center;margin:6px 0 10px;color:#3d4957;font-size:13px}
.legend svg{vertical-align:middle;margin-right:4px}
.notes{color:#6b4e00;background:#fff8e1;border-left:4px solid #f0c040;padding:6px 12px;margin:8px 0;font-size:13px}
.notes p{margin:2px 0}
.notes summary{cursor:pointer;font-weight:600;margin-top:2px}
.chart{overflow-x:auto;border:1px solid #e1e6ec;border-radius:6px;padding:6px 0}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 10px;border-bottom:1px solid #e6eaef;white-space:nowrap}
th{background:#f3f6f9;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.failed td{background:#fdecee}
.est{color:#7a8593}
"""


def _e(value):
    return escape('' if value is None else str(value), quote=True)


def duration_text(seconds):
    """'8.5 s', '42 s', '3 min 05 s', '1 h 02 min'."""
    if seconds is None:
        return '-'
    seconds = float(seconds)
    if seconds < 10:
        return '%.1f s' % seconds
    if seconds < 60:
        return '%d s' % round(seconds)
    if seconds < 3600:
        return '%d min %02d s' % divmod(int(round(seconds)), 60)
    hours, rest = divmod(int(round(seconds)), 3600)
    return '%d h %02d min' % (hours, rest // 60)


def _clock(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime('%H:%M:%S')


def _stamp(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')


def _at_text(timeline, t):
    if t is None:
        return '-'
    if timeline['clock']:
        return _clock(t)
    return '+' + duration_text(t - timeline['start']) if t > timeline['start'] else '+0 s'


def tick_step(span, most=12):
    for step in TICK_STEPS:
        if span / step <= most:
            return step
    return TICK_STEPS[-1] * (int(span / TICK_STEPS[-1] / most) + 1)


def _tick_label(timeline, t):
    offset = t - timeline['start']
    if timeline['clock']:
        return _clock(t)[:5] if offset % 60 == 0 or tick_step(timeline['end'] - timeline['start']) >= 60 \
            else _clock(t)
    if offset >= 3600:
        return '%d:%02d h' % (offset // 3600, (offset % 3600) // 60)
    return '%d:%02d' % (offset // 60, offset % 60)


class _Chart(object):

    def __init__(self, timeline):
        self.tl = timeline
        self.span = max(1.0, timeline['end'] - timeline['start'])
        self.inner = WIDTH - LABEL_W - RIGHT_PAD
        self.parts = []

    def x(self, t):
        return LABEL_W + (t - self.tl['start']) / self.span * self.inner

    def layout(self):
        """(row, y) with a gap between batches and before the hosts outside the campaign."""
        placed, y, previous = [], AXIS_H + 6, object()
        for row in self.tl['rows']:
            group = row['batch'] if row['maintained'] else 'outside'
            if placed and group != previous:
                y += BATCH_GAP
            placed.append((row, y))
            previous = group
            y += ROW_H
        return placed, y + 6

    def defs(self):
        out = ['<defs>']
        for step, color in COLORS.items():
            out.append('<pattern id="hatch-%s" width="6" height="6" patternUnits="userSpaceOnUse" '
                       'patternTransform="rotate(45)"><rect width="6" height="6" fill="%s" fill-opacity="0.35"/>'
                       '<rect width="3" height="6" fill="%s"/></pattern>' % (step, color, color))
        out.append('</defs>')
        return ''.join(out)

    def axis(self, height):
        step = tick_step(self.span)
        first = self.tl['start'] if not self.tl['clock'] else (self.tl['start'] // step + 1) * step
        out = ['<g class="axis">']
        t = first
        while t <= self.tl['end'] + 1e-6:
            x = self.x(t)
            out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e3e8ee"/>' % (x, AXIS_H - 4, x, height))
            out.append('<text x="%.1f" y="%d" font-size="11" fill="#5b6776" text-anchor="middle">%s</text>'
                       % (x, AXIS_H - 10, _e(_tick_label(self.tl, t))))
            t += step
        out.append('</g>')
        return ''.join(out)

    def row(self, row, y, shade):
        host = row['host']
        out = ['<g class="row" data-host="%s" data-batch="%s" data-maintained="%s">'
               % (_e(host), _e('' if row['batch'] is None else row['batch']), str(row['maintained']).lower())]
        if shade:
            out.append('<rect x="0" y="%d" width="%d" height="%d" fill="#f7f9fb"/>' % (y, WIDTH, ROW_H))
        label = host if row['maintained'] else host + ' (spare)'
        color = '#1d2733' if row['maintained'] else '#7a8593'
        out.append('<text x="10" y="%d" font-size="13" font-weight="600" fill="%s">%s%s</text>'
                   % (y + ROW_H / 2 + 4, color, _e(label),
                      '<title>%s</title>' % _e(row['note']) if row['note'] else ''))
        detail = ['batch %d' % (row['batch'] + 1)] if row['batch'] is not None and row['maintained'] else []
        detail += [row['zone']] if row['zone'] else []
        if detail:
            out.append('<text x="%d" y="%d" font-size="11" fill="#7a8593" text-anchor="end">%s</text>'
                       % (LABEL_W - 12, y + ROW_H / 2 + 4, _e(' \u00b7 '.join(detail))))
        mid = y + ROW_H / 2
        for step in row['steps']:
            out.append(self.step_bar(step, mid))
        for mark in sorted(row['marks'], key=lambda m: m['at']):
            out.append(self.mark(mark, mid))
        if row['note'] and not row['steps']:
            out.append('<text x="%d" y="%d" font-size="12" fill="#7a8593">%s</text>'
                       % (LABEL_W + 6, mid + 4, _e(row['note'])))
        out.append('</g>')
        return ''.join(out)

    def step_bar(self, step, mid):
        x0, x1 = self.x(step['start']), self.x(step['end'])
        width = max(2.0, x1 - x0)
        fill = 'url(#hatch-%s)' % step['step'] if step['estimated'] else COLORS.get(step['step'], '#888')
        tip = '%s: %s, %s -> %s%s' % (step['label'], duration_text(step['end'] - step['start']),
                                      _at_text(self.tl, step['start']), _at_text(self.tl, step['end']),
                                      ' (estimated)' if step['estimated'] else '')
        out = ['<rect class="bar" data-step="%s" data-estimated="%s" x="%.1f" y="%.1f" width="%.1f" height="%d" '
               'rx="2" fill="%s" stroke="%s" stroke-width="0.6"><title>%s</title></rect>'
               % (_e(step['step']), str(step['estimated']).lower(), x0, mid - BAR_H / 2, width, BAR_H, fill,
                  COLORS.get(step['step'], '#888'), _e(tip))]
        if width > 7 * len(step['label']) + 8:
            out.append('<text x="%.1f" y="%.1f" font-size="10.5" fill="%s" text-anchor="middle" '
                       'pointer-events="none">%s</text>'
                       % (x0 + width / 2, mid + 3.8, '#1d2733' if step['estimated'] else '#fff', _e(step['label'])))
        return ''.join(out)

    def mark(self, mark, mid):
        x = self.x(mark['at'])
        failed = mark['outcome'] == 'failed'
        color = FAILED if failed else MARK_COLORS.get(mark['action'], '#333')
        fill = '#fff' if mark['estimated'] else color
        arrow = '->' if mark['direction'] == 'out' else '<-'
        tip = '%s %s %s %s, %s%s%s' % (mark['name'] or mark['server'], mark['action'], arrow, mark['peer'],
                                       _at_text(self.tl, mark['at']), ' FAILED' if failed else '',
                                       ' (estimated)' if mark['estimated'] else '')
        attrs = 'class="mark" data-server="%s" data-direction="%s" data-action="%s" data-estimated="%s"' % (
            _e(mark['server']), _e(mark['direction']), _e(mark['action']), str(mark['estimated']).lower())
        if mark['direction'] == 'out':
            top = mid - BAR_H / 2 - 1
            shape = '<path %s d="M%.1f %.1f l-4.5 -7 h9 z" fill="%s" stroke="%s" stroke-width="1.2">' % (
                attrs, x, top, fill, color)
            end = '</path>'
        else:
            shape = '<circle %s cx="%.1f" cy="%.1f" r="3.6" fill="%s" stroke="%s" stroke-width="1.2">' % (
                attrs, x, mid + BAR_H / 2 + 4.5, fill, color)
            end = '</circle>'
        return '%s<title>%s</title>%s' % (shape, _e(tip), end)

    def render(self):
        placed, height = self.layout()
        out = ['<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="campaign timeline" '
               'width="%d" height="%d" viewBox="0 0 %d %d" font-family="system-ui,sans-serif">'
               % (WIDTH, height, WIDTH, height), self.defs(), self.axis(height)]
        for index, (row, y) in enumerate(placed):
            out.append(self.row(row, y, index % 2 == 1))
        out.append('</svg>')
        return ''.join(out)


def _legend():
    items = []
    for step, color in COLORS.items():
        items.append('<span><svg width="22" height="12"><rect width="22" height="12" rx="2" fill="%s"/></svg>%s</span>'
                     % (color, step))
    items.append('<span><svg width="22" height="12"><rect width="22" height="12" rx="2" fill="#3b73b9" '
                 'fill-opacity="0.35" stroke="#3b73b9"/></svg>estimated (hatched)</span>')
    items.append('<span><svg width="12" height="10"><path d="M6 10 l-5 -8 h10 z" fill="%s"/></svg>live migration '
                 'leaves</span>' % MARK_COLORS['live_migrate'])
    items.append('<span><svg width="12" height="10"><path d="M6 10 l-5 -8 h10 z" fill="%s"/></svg>cold migration '
                 'leaves</span>' % MARK_COLORS['cold_migrate'])
    items.append('<span><svg width="10" height="10"><circle cx="5" cy="5" r="4" fill="%s"/></svg>arrives</span>'
                 % MARK_COLORS['live_migrate'])
    items.append('<span><svg width="12" height="10"><path d="M6 10 l-5 -8 h10 z" fill="#fff" stroke="#123a63"/>'
                 '</svg>time estimated</span>')
    items.append('<span><svg width="12" height="10"><path d="M6 10 l-5 -8 h10 z" fill="%s"/></svg>failed</span>'
                 % FAILED)
    return '<div class="legend">%s</div>' % ''.join(items)


def _facts(timeline):
    rows = timeline['rows']
    maintained = [r for r in rows if r['maintained']]
    batches = {r['batch'] for r in maintained if r['batch'] is not None}
    moves = sum(1 for r in rows for m in r['marks'] if m['direction'] == 'out')
    failed = sum(1 for s in timeline['servers'] if (s.get('outcome') or '').startswith('failed'))
    servers = {s['id'] or s['name'] for s in timeline['servers']}
    facts = [('hosts', len(maintained)), ('batches', len(batches)), ('servers', len(servers)),
             ('migrations', moves), ('duration', ('~' if timeline['kind'] == 'plan' else '')
                                     + duration_text(timeline['end'] - timeline['start']))]
    if timeline['kind'] == 'report':
        facts.append(('failed', failed))
    return '<div class="facts">%s</div>' % ''.join('<div>%s<b>%s</b></div>' % (_e(k), _e(v)) for k, v in facts)


def _table(timeline):
    head = ('Server', 'Class', 'Action', 'From', 'To', 'Start', 'Duration', 'Downtime (est.)', 'Outcome')
    out = ['<table class="servers"><thead><tr>%s</tr></thead><tbody>' % ''.join('<th>%s</th>' % h for h in head)]
    for server in sorted(timeline['servers'], key=lambda s: (s['start'] is None, s['start'] or 0, s['from'] or '',
                                                             s['name'] or '')):
        failed = (server.get('outcome') or '').startswith('failed')
        est = server['estimated']
        approx = '~' if est and server['start'] is not None and timeline['kind'] == 'report' else ''
        cells = [
            ('', server['name'] or server['id']), ('', server['sla_class'] or '-'), ('', server['action']),
            ('', server['from']), ('', server['to'] or '-'),
            ('num' + (' est' if est else ''), approx + _at_text(timeline, server['start'])),
            ('num', ('~' if timeline['kind'] == 'plan' and server['duration_s'] is not None else '')
             + duration_text(server['duration_s'])),
            ('num', server['downtime']), ('', server['outcome'] or '-')]
        out.append('<tr data-server="%s"%s>%s</tr>' % (
            _e(server['id']), ' class="failed"' if failed else '',
            ''.join('<td%s>%s</td>' % (' class="%s"' % c if c else '', _e(v)) for c, v in cells)))
    out.append('</tbody></table>')
    return ''.join(out)


def render(timeline):
    """The whole HTML document for a timeline."""
    if timeline['kind'] == 'plan':
        sub = 'Plan: what will happen. Every time is an estimate, from the start of the campaign.'
    else:
        sub = 'Report: what happened, %s to %s.' % (_stamp(timeline['start']), _stamp(timeline['end']))
    notes = ''.join('<p>%s</p>' % _e(n) for n in timeline['notes'])
    problems = timeline.get('problems') or []
    if problems:
        notes += '<details><summary>%d problem%s</summary>%s</details>' % (
            len(problems), '' if len(problems) == 1 else 's', ''.join('<p>%s</p>' % _e(p) for p in problems))
    return ''.join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<title>%s</title><style>%s</style></head><body>' % (_e(timeline['title']), CSS),
        '<h1>%s</h1><p class="sub">%s</p>' % (_e(timeline['title']), _e(sub)),
        _facts(timeline),
        '<div class="notes">%s</div>' % notes if notes else '',
        '<h2>Timeline</h2>', _legend(),
        '<div class="chart">%s</div>' % _Chart(timeline).render(),
        '<h2>Servers</h2>', _table(timeline),
        '</body></html>\n'])

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A campaign as a timeline: one row per host with its steps, migrations as marks, a table of servers.

``plan_timeline`` reads a ``maintenance_plan`` result (what WILL happen) and estimates every
duration; ``report_timeline`` reads a finished campaign's JSON report (what DID happen) and
uses the timestamps it has, estimating only what is missing.  Both return the same plain dict::

    {'kind': 'plan' | 'report', 'title': str, 'start': t0, 'end': t1, 'clock': bool,
     'rows': [{'host', 'batch', 'zone', 'maintained', 'note',
               'steps': [{'step', 'label', 'start', 'end', 'estimated'}],
               'marks': [{'at', 'server', 'name', 'direction': 'out'|'in', 'action', 'peer',
                          'outcome', 'estimated'}]}],
     'servers': [{'id', 'name', 'sla_class', 'action', 'from', 'to', 'start', 'duration_s',
                  'downtime', 'outcome', 'estimated'}],
     'notes': [str]}

Times are seconds: from 0 for a plan, epoch seconds for a report (``clock`` true).
"""

from __future__ import annotations

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm

MOVES = ('live_migrate', 'cold_migrate')
STEPS = ('notice', 'drain', 'patch', 'reboot', 'restore')
# Decisions that leave a server alone during the drain: no notice, no action, no downtime.
UNTOUCHED = ('none',)

DEFAULT_BANDWIDTH_GBIT_S = 10.0
# Fixed step estimates (seconds) for a plan; override any of them with the ``estimates`` option.
DEFAULT_ESTIMATES = {
    'live_overhead_s': 5,     # a live migration beyond copying its RAM once: setup, last round, switch-over
    'cold_overhead_s': 60,    # a cold migration beyond copying its disk: shutdown, boot, confirm
    'action_s': 15,           # stop, suspend, shelve (root disk kept), rebuild marking, leave
    'patch_s': 120,
    'reboot_s': 300,          # until the compute service reports again
    'restore_s': 60,
    'pause_s': 0,             # between batches
}


def parse_time(value):
    """Epoch seconds from epoch numbers or ISO-8601 UTC text ('2026-11-21T13:44:19Z'); None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    moment = cm.parse_time(str(value))
    return moment.timestamp() if moment else None


def _step(step, start, end, estimated, label=None):
    return {'step': step, 'label': label or step, 'start': start, 'end': max(start, end), 'estimated': estimated}


def _mark(at, server, name, direction, action, peer, outcome, estimated):
    return {'at': at, 'server': server, 'name': name, 'direction': direction, 'action': action, 'peer': peer,
            'outcome': outcome, 'estimated': estimated}


def _row(host, batch=None, zone=None, maintained=True, note=None):
    return {'host': host, 'batch': batch, 'zone': zone, 'maintained': maintained, 'note': note,
            'steps': [], 'marks': []}


def _add_incoming(rows, move_mark, dest, order):
    """The arrival of a migration on its destination's row (a row is added for a host outside the campaign)."""
    if not dest:
        return
    if dest not in rows:
        rows[dest] = _row(dest, maintained=False, note='not maintained: receives servers')
        order.append(dest)
    rows[dest]['marks'].append(dict(move_mark, direction='in', peer=move_mark['peer_from']))


# ---- plan ---------------------------------------------------------------------------------------

def move_seconds(move, mib_s, est):
    """Estimated seconds of one migration: RAM (live) or disk (cold) at the link's speed, plus a fixed part."""
    if move.get('action') == 'cold_migrate':
        return float(move.get('disk_gb') or 0) * 1024 / mib_s + est['cold_overhead_s']
    return float(move.get('ram_mb') or 0) / mib_s + est['live_overhead_s']


def _downtime_planned(action, entry, duration, down_s):
    if action == 'live_migrate':
        limit = (entry or {}).get('downtime_limit_ms')
        return '<= %d ms' % limit if limit else 'short pause'
    if action == 'cold_migrate':
        return '%d s' % round(duration)
    if action in UNTOUCHED or down_s is None:
        return '-'
    return '%d s' % round(down_s)


def _entries_by_id(plan):
    entries = {}
    for host, info in (plan.get('hosts') or {}).items():
        for entry in info.get('servers') or ():
            entries[entry.get('id')] = dict(entry, host=host)
    return entries


def plan_timeline(plan, bandwidth_gbit_s=DEFAULT_BANDWIDTH_GBIT_S, estimates=None, title=None):
    """The timeline of a ``maintenance_plan`` result, every duration estimated (see DEFAULT_ESTIMATES)."""
    est = dict(DEFAULT_ESTIMATES, **(estimates or {}))
    mib_s = float(bandwidth_gbit_s) * 1e9 / 8 / (1 << 20)
    infos = plan.get('hosts') or {}
    entries = _entries_by_id(plan)
    moves_of = {}
    for move in plan.get('moves') or ():
        moves_of.setdefault((move.get('batch'), move.get('from')), []).append(move)
    rows, order, servers = {}, [], []
    clock = 0.0
    for index, batch in enumerate(plan.get('batches') or ()):
        batch_end = clock
        for host in batch:
            info = infos.get(host) or {}
            row = rows.setdefault(host, _row(host, index, info.get('zone')))
            row.update(batch=index, zone=info.get('zone'), maintained=True, note=None)
            if host not in order:
                order.append(host)
            end, host_servers = _plan_host(row, info, moves_of.get((index, host), []), clock, mib_s, est,
                                           entries, rows, order)
            servers.extend(host_servers)
            batch_end = max(batch_end, end)
        clock = batch_end + est['pause_s']
    for blocked in plan.get('blocked_hosts') or ():
        host = blocked.get('host')
        if host not in rows:
            rows[host] = _row(host, maintained=False, zone=(infos.get(host) or {}).get('zone'),
                              note='not planned: %s' % blocked.get('reason'))
            order.append(host)
        if not rows[host]['maintained']:
            servers.extend(_unplanned_servers(host, infos.get(host) or {}))
    position = {h: i for i, h in enumerate(order)}
    order.sort(key=lambda h: (not rows[h]['maintained'], rows[h]['batch'] if rows[h]['batch'] is not None else 0,
                              position[h]))
    notes = ['Estimated: live migration = RAM / %g Gbit/s + %ss, cold = disk / %g Gbit/s + %ss; other actions %ss; '
             'patch %ss, reboot %ss, restore %ss; notice = longest notice period of the host\'s servers.'
             % (bandwidth_gbit_s, est['live_overhead_s'], bandwidth_gbit_s, est['cold_overhead_s'],
                est['action_s'], est['patch_s'], est['reboot_s'], est['restore_s'])]
    return {'kind': 'plan', 'title': title or 'Maintenance plan (%s)' % plan.get('mode', 'campaign'),
            'start': 0.0, 'end': max([clock] + [s['end'] for r in rows.values() for s in r['steps']]),
            'clock': False, 'rows': [rows[h] for h in order], 'servers': servers, 'notes': notes,
            'problems': list(plan.get('problems') or ())}


def _unplanned_servers(host, info):
    """Table rows of a host the plan could not take: its servers stay where they are."""
    return [{'id': e.get('id'), 'name': e.get('name'), 'sla_class': e.get('sla_class'),
             'action': e.get('action'), 'from': host, 'to': None, 'start': None, 'duration_s': None,
             'downtime': '-', 'outcome': 'host not planned', 'estimated': True}
            for e in sorted(info.get('servers') or (), key=lambda e: e.get('name') or '')]


def _plan_host(row, info, moves, start, mib_s, est, entries, rows, order):
    """Steps and marks of one host's turn from ``start``; returns (end, table rows)."""
    acted = [e for e in info.get('servers') or () if e.get('action') not in UNTOUCHED]
    notice = max([int(e.get('notice_s') or 0) for e in acted] or [0])
    clock = start
    if notice:
        row['steps'].append(_step('notice', clock, clock + notice, True))
        clock += notice
    drain_start = clock
    # host_drain moves the largest servers first, one live migration at a time per host by default.
    moves = sorted(moves, key=lambda m: (-(m.get('ram_mb') or 0), m.get('name') or ''))
    table = []
    for move in moves:
        duration = move_seconds(move, mib_s, est)
        mark = _mark(clock + duration, move.get('server'), move.get('name'), 'out', move.get('action'),
                     move.get('to'), 'planned', True)
        row['marks'].append(mark)
        _add_incoming(rows, dict(mark, peer_from=row['host']), move.get('to'), order)
        entry = entries.get(move.get('server'))
        table.append({'id': move.get('server'), 'name': move.get('name'),
                      'sla_class': (entry or {}).get('sla_class'), 'action': move.get('action'),
                      'from': row['host'], 'to': move.get('to'), 'start': clock, 'duration_s': duration,
                      'downtime': _downtime_planned(move.get('action'), entry, duration, None),
                      'outcome': 'moves again later' if move.get('extra') else 'planned', 'estimated': True})
        clock += duration
    staying = [e for e in acted if e.get('action') not in MOVES]
    drain_end = max(clock, drain_start + (est['action_s'] if staying else 0))
    row['steps'].append(_step('drain', drain_start, drain_end, True))
    patch_end = drain_end + est['patch_s']
    reboot_end = patch_end + est['reboot_s']
    end = reboot_end + est['restore_s']
    row['steps'].append(_step('patch', drain_end, patch_end, True))
    row['steps'].append(_step('reboot', patch_end, reboot_end, True))
    row['steps'].append(_step('restore', reboot_end, end, True))
    for entry in sorted(info.get('servers') or (), key=lambda e: e.get('name') or ''):
        if entry.get('action') in MOVES:
            continue
        touched = entry.get('action') not in UNTOUCHED
        table.append({'id': entry.get('id'), 'name': entry.get('name'), 'sla_class': entry.get('sla_class'),
                      'action': entry.get('action'), 'from': row['host'], 'to': None,
                      'start': drain_start if touched else None,
                      'duration_s': est['action_s'] if touched else None,
                      'downtime': _downtime_planned(entry.get('action'), entry, 0,
                                                    end - drain_start if touched else None),
                      'outcome': 'stays' if touched else 'left as is', 'estimated': True})
    return end, table


# ---- report -------------------------------------------------------------------------------------

# Optional per-host timestamps a report may carry (ISO-8601 or epoch); missing ones are estimated.
HOST_TIMES = ('started_at', 'notice_started', 'notice_ended', 'drain_started', 'drain_ended', 'patch_started',
              'patch_ended', 'reboot_ended', 'verified_at', 'restore_started', 'restore_ended')


def _host_times(info, ledger_entry):
    times = {key: parse_time(info.get(key)) for key in HOST_TIMES}
    times['reboot_started'] = parse_time(info.get('rebooted_at'))
    times['done'] = parse_time((ledger_entry or {}).get('at')) if (ledger_entry or {}).get('state') in (
        'done', 'failed') else None
    starts = [t for t in (parse_time(s.get('started')) for s in info.get('servers') or ()) if t is not None]
    ends = [t for t in (parse_time(s.get('ended')) for s in info.get('servers') or ()) if t is not None]
    times['first_server'] = min(starts) if starts else None
    times['last_server'] = max(ends) if ends else None
    return times


def _inferred_start(host, times, all_times, campaign_start):
    """When a host's turn began, if the report does not say: the last moment another host finished before
    this one's reboot (the batch before it), else the campaign's start."""
    anchor = times['reboot_started'] or times['done']
    earlier = [t['done'] for name, t in all_times.items()
               if name != host and t['done'] is not None and anchor is not None and t['done'] <= anchor]
    candidates = earlier + ([campaign_start] if campaign_start is not None else [])
    return max(candidates) if candidates else anchor


def _first(*values):
    for value in values:
        if value is not None:
            return value
    return None


def _report_steps(times, start, end_default):
    """Steps of one host from whatever timestamps it has; spans without a boundary are merged and estimated."""
    steps = []
    if times['notice_started'] is not None and times['notice_ended'] is not None:
        steps.append(_step('notice', times['notice_started'], times['notice_ended'], False))
    drain_start = _first(times['drain_started'], times['notice_ended'], times['first_server'])
    drain_start_est = drain_start is None
    drain_start = _first(drain_start, start)
    drain_end = _first(times['drain_ended'], times['last_server'])
    reboot = times['reboot_started']
    done = _first(times['done'], end_default)
    if drain_end is not None:
        steps.append(_step('drain', drain_start, drain_end, drain_start_est))
        patch_start, patch_end = times['patch_started'], times['patch_ended']
        if patch_start is not None and patch_end is not None:
            steps.append(_step('patch', patch_start, patch_end, False))
        elif reboot is not None:
            steps.append(_step('patch', drain_end, reboot, True))
    elif reboot is not None:
        steps.append(_step('drain', drain_start, reboot, True, 'drain + patch'))
    if reboot is None:
        return steps
    up = _first(times['verified_at'], times['restore_started'])
    if up is not None:
        steps.append(_step('reboot', reboot, up, False))
        restore_start = _first(times['restore_started'], up)
        restore_end = _first(times['restore_ended'], done)
        if restore_end is not None:
            steps.append(_step('restore', restore_start, restore_end, times['restore_ended'] is None))
    elif done is not None:
        steps.append(_step('reboot', reboot, done, True, 'reboot + verify + restore'))
    return steps


def _downtime_done(server, row_end):
    action = server.get('action')
    if action == 'live_migrate':
        ms = (server.get('progress') or {}).get('downtime_estimate_ms')
        return '%d ms' % round(ms) if ms is not None else '-'
    if action == 'cold_migrate':
        return '%d s' % round(server['duration_s']) if server.get('duration_s') is not None else '-'
    ended = parse_time(server.get('ended'))
    if action in MOVES + UNTOUCHED or server.get('outcome') not in ('done',) or row_end is None:
        return '-'
    if ended is not None:
        return '%d s' % round(row_end - ended)
    return '~%d s' % round(row_end - (server.get('_estimated_end') or row_end))


def _server_marks(row, info, drain_end, rows, order, marked_at):
    """Marks for the servers that moved; without start times they are laid back to back up to the drain's end."""
    moved = [s for s in info.get('servers') or ()
             if s.get('action') in MOVES and s.get('to') and s.get('to') != row['host']]
    known = all(parse_time(s.get('ended')) is not None for s in moved)
    clock = drain_end
    for server in sorted(moved, key=lambda s: -(s.get('duration_s') or 0)) if not known else moved:
        at = parse_time(server.get('ended'))
        if at is None and clock is not None:
            at = clock
            clock -= float(server.get('duration_s') or 0)
        if at is None:
            continue
        marked_at[server.get('id')] = at
        mark = _mark(at, server.get('id'), server.get('name'), 'out', server.get('action'), server.get('to'),
                     server.get('outcome'), not known)
        row['marks'].append(mark)
        _add_incoming(rows, dict(mark, peer_from=row['host']), server.get('to'), order)
    return not known


def report_timeline(report, title=None):
    """The timeline of a finished (or stopped) campaign from its JSON report (playbooks/tasks/campaign_report.yml)."""
    hosts = report.get('hosts') or {}
    ledger = report.get('ledger') or {}
    campaign_start = parse_time(report.get('started'))
    campaign_end = parse_time(report.get('ended'))
    all_times = {host: _host_times(info, ledger.get(host)) for host, info in hosts.items()}
    names = sorted(hosts, key=lambda h: (_first(all_times[h]['reboot_started'], all_times[h]['done'], 1e18), h))
    rows, order, servers = {}, [], []
    missing = set()
    for host in names:
        info = hosts[host]
        times = all_times[host]
        missing.update(k for k in ('drain_started', 'drain_ended', 'patch_started', 'verified_at', 'restore_ended')
                       if times[k] is None)
        start = _first(parse_time(info.get('started_at')), _inferred_start(host, times, all_times, campaign_start))
        row = rows.setdefault(host, _row(host))
        row['maintained'] = True
        row['note'] = info.get('error') or (None if info.get('drained') else 'not drained')
        if host not in order:
            order.append(host)
        row['steps'] = _report_steps(times, start, campaign_end)
        drain = [s for s in row['steps'] if s['step'] == 'drain']
        drain_end = _first(times['drain_ended'], times['last_server'], drain[0]['end'] if drain else None)
        marked_at = {}
        if _server_marks(row, info, drain_end, rows, order, marked_at):
            missing.add('server started/ended')
        row_end = max(s['end'] for s in row['steps']) if row['steps'] else None
        for server in info.get('servers') or ():
            servers.append(_report_server(server, host, drain_end, row_end, marked_at.get(server.get('id'))))
    _number_batches(rows, order)
    order.sort(key=lambda h: (not rows[h]['maintained'], rows[h]['batch'] if rows[h]['batch'] is not None else 0, h))
    starts = [s['start'] for r in rows.values() for s in r['steps']]
    ends = [s['end'] for r in rows.values() for s in r['steps']] + [m['at'] for r in rows.values() for m in r['marks']]
    start = _first(campaign_start, min(starts or [0.0]))
    notes = []
    if missing:
        notes.append('Estimated (hatched bars, hollow marks): the report has no %s; see docs of '
                     'cloudmaint.openstack.campaign_html.' % ', '.join(sorted(missing)))
    return {'kind': 'report', 'title': title or 'Campaign %s' % report.get('campaign', ''),
            'start': min([start] + starts), 'end': max([_first(campaign_end, start)] + ends),
            'clock': True, 'rows': [rows[h] for h in order], 'servers': servers, 'notes': notes,
            'problems': ['%s: %s' % (h, hosts[h]['error']) for h in sorted(hosts) if hosts[h].get('error')]}


def _report_server(server, host, drain_end, row_end, marked_at):
    started = parse_time(server.get('started'))
    duration = server.get('duration_s')
    entry = dict(server, _estimated_end=drain_end)
    estimated = started is None
    if estimated and marked_at is not None:
        started = marked_at - float(duration or 0)
    return {'id': server.get('id'), 'name': server.get('name'), 'sla_class': server.get('sla_class'),
            'action': server.get('action'), 'from': server.get('from') or host,
            'to': server.get('to') if server.get('to') != (server.get('from') or host) else None,
            'start': started, 'duration_s': duration, 'downtime': _downtime_done(entry, row_end),
            'outcome': server.get('outcome') + (' (fallbacks: %s)' % ', '.join(server['fallbacks_used'])
                                                if server.get('fallbacks_used') else '')
            if server.get('outcome') else None,
            'estimated': estimated}


def _number_batches(rows, order):
    """Hosts whose turns overlap form a batch (the report does not name batches)."""
    spans = []
    for host in order:
        steps = rows[host]['steps']
        if rows[host]['maintained'] and steps:
            spans.append((min(s['start'] for s in steps), max(s['end'] for s in steps), host))
    batch, batch_end = -1, None
    for start, end, host in sorted(spans):
        if batch_end is None or start >= batch_end:
            batch += 1
            batch_end = end
        else:
            batch_end = max(batch_end, end)
        rows[host]['batch'] = batch

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters that turn the results a rolling campaign registered into its report and summary."""

from __future__ import annotations

KEEP = ('id', 'name', 'sla_class', 'action', 'outcome', 'from', 'to', 'started', 'ended', 'duration_s',
        'fallbacks_used', 'force_completed', 'aborted', 'error', 'progress', 'reason',
        'requested_destination', 'destination_fallback')
# When each step of a host began and ended: from the results the steps registered (every module of the
# collection returns started_at and ended_at), the patch step's from the patch role's stamps.
RESULT_TIMES = (
    ('started_at', 'cloudmaint_host_started', 'started_at'),
    ('notice_started', 'cloudmaint_notice_result', 'started_at'),
    ('notice_ended', 'cloudmaint_notice_result', 'ended_at'),
    ('drain_started', 'cloudmaint_drain_result', 'started_at'),
    ('drain_ended', 'cloudmaint_drain_result', 'ended_at'),
    ('verified_at', 'cloudmaint_verify_result', 'ended_at'),
    ('restore_started', 'cloudmaint_restore_result', 'started_at'),
    ('restore_ended', 'cloudmaint_restore_result', 'ended_at'),
)
STAMPED_TIMES = ('patch_started', 'patch_ended')


def _server(entry):
    server = dict((k, entry[k]) for k in KEEP if k in entry)
    server['attempts'] = [
        dict((k, a.get(k)) for k in ('action', 'outcome', 'detail', 'started', 'duration_s', 'destination'))
        for a in entry.get('attempts') or []]
    return server


def host_report(hostvars):
    """What the drain, reboot and restore of one host did, from its registered results."""
    drain = hostvars.get('cloudmaint_drain_result') or {}
    restore = hostvars.get('cloudmaint_restore_result') or {}
    report = {
        'drained': bool(drain) and not drain.get('failed', False),
        'rebooted_at': hostvars.get('cloudmaint_reboot_started'),
        'reboot_ended': hostvars.get('cloudmaint_reboot_ended'),
        'drain_summary': drain.get('summary'),
        'servers': [_server(s) for s in drain.get('servers') or []],
        'restore': [
            {'name': s.get('name'), 'outcome': s.get('outcome'), 'result': s.get('result'),
             'steps': [step.get('action') or step.get('step') for step in s.get('steps') or []],
             'host_after': s.get('host_after'), 'status_after': s.get('status_after')}
            for s in restore.get('servers') or []],
    }
    for key, registered, field in RESULT_TIMES:
        value = (hostvars.get(registered) or {}).get(field)
        if value:
            report[key] = value
    times = hostvars.get('cloudmaint_step_times') or {}
    report.update((key, times[key]) for key in STAMPED_TIMES if times.get(key))
    notice = hostvars.get('cloudmaint_notice_result') or {}
    if notice.get('summary') is not None:
        report['notice'] = {'summary': notice.get('summary'), 'waited_s': notice.get('waited_s')}
    report['planned_destinations_refused'] = sum(
        1 for s in drain.get('servers') or [] if s.get('destination_fallback'))
    if drain.get('failed'):
        report['error'] = drain.get('msg')
    return report


def campaign_summary(report):
    """Lines an operator reads at the end of a run."""
    span = (report.get('campaign'), report.get('started') or '?', report.get('ended'))
    lines = ['campaign %s: %s -> %s' % span]
    for host, info in sorted((report.get('hosts') or {}).items()):
        ledger = (report.get('ledger') or {}).get(host, {})
        state = ledger.get('state') or ('done' if info.get('drained') else 'not reached')
        actions = {}
        failures = []
        for server in info.get('servers') or []:
            actions[server.get('action')] = actions.get(server.get('action'), 0) + 1
            if server.get('outcome') == 'failed':
                failures.append(server.get('name'))
        restored = sum(1 for s in info.get('restore') or [] if s.get('outcome') == 'done')
        refused = info.get('planned_destinations_refused') or 0
        lines.append('%s: %s; %d servers (%s); restored %d; failures: %s%s' % (
            host, state, len(info.get('servers') or []),
            ', '.join('%s %d' % kv for kv in sorted(actions.items())) or 'none', restored,
            ', '.join(failures) or 'none',
            '; planned destination refused by the scheduler for %d' % refused if refused else ''))
        for server in info.get('servers') or []:
            lines.append('  %-16s %-14s %-9s %s%s' % (
                server.get('name'), server.get('action'), server.get('outcome'), _where(server),
                ' (fallbacks: %s)' % ', '.join(server['fallbacks_used'])
                if server.get('fallbacks_used') else ''))
    return lines


def _where(server):
    """'hv01 -> hv02 in 12.5s' for a server that moved; 'stays on hv01' (after the time its attempts
    took, if any) for one that did not."""
    took = server.get('duration_s')
    if not server.get('to') or server.get('to') == server.get('from'):
        return 'stays on %s%s' % (server.get('from'), ' after %ss' % took if took is not None else '')
    return '%s -> %s%s' % (server.get('from'), server['to'], ' in %ss' % took if took is not None else '')


def plan_summary(results, plan):
    """Lines describing a planned campaign: batches, then each host's servers and their fate.

    ``plan`` is maintenance_plan's result (batches, destinations_by_host, extra_moves)."""
    batches = plan.get('batches') or []
    lines = ['%d hosts in %d batches, %d extra moves: %s' % (
        sum(len(b) for b in batches), len(batches), plan.get('extra_moves') or 0,
        ' | '.join(', '.join(b) for b in batches))]
    planned = plan.get('destinations_by_host') or {}
    for result in results:
        host = result.get('host')
        lines.append('%s: %d servers' % (host, len(result.get('servers') or [])))
        for server in result.get('servers') or []:
            destination = (planned.get(host) or {}).get(server.get('id')) or server.get('likely_destination')
            lines.append('  %-16s %-7s %-14s %-10s -> %-6s %s' % (
                server.get('name'), server.get('sla_class'), server.get('action'),
                server.get('outcome'), destination or '-', server.get('reason')))
    return lines


class FilterModule(object):
    def filters(self):
        return {'host_report': host_report, 'campaign_summary': campaign_summary,
                'plan_summary': plan_summary}

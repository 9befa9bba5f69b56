# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters that turn the results a rolling campaign registered into its report and summary."""

from __future__ import annotations

KEEP = ('id', 'name', 'sla_class', 'action', 'outcome', 'from', 'to', 'duration_s',
        'fallbacks_used', 'force_completed', 'aborted', 'error', 'progress', 'reason')


def _server(entry):
    server = dict((k, entry[k]) for k in KEEP if k in entry)
    server['attempts'] = [
        dict((k, a.get(k)) for k in ('action', 'outcome', 'detail', 'duration_s', 'destination'))
        for a in entry.get('attempts') or []]
    return server


def host_report(hostvars):
    """What the drain, reboot and restore of one host did, from its registered results."""
    drain = hostvars.get('cloudmaint_drain_result') or {}
    restore = hostvars.get('cloudmaint_restore_result') or {}
    report = {
        'drained': bool(drain) and not drain.get('failed', False),
        'rebooted_at': hostvars.get('cloudmaint_reboot_started'),
        'drain_summary': drain.get('summary'),
        'servers': [_server(s) for s in drain.get('servers') or []],
        'restore': [
            {'name': s.get('name'), 'outcome': s.get('outcome'), 'result': s.get('result'),
             'steps': [step.get('action') or step.get('step') for step in s.get('steps') or []],
             'host_after': s.get('host_after'), 'status_after': s.get('status_after')}
            for s in restore.get('servers') or []],
    }
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
        lines.append('%s: %s; %d servers (%s); restored %d; failures: %s' % (
            host, state, len(info.get('servers') or []),
            ', '.join('%s %d' % kv for kv in sorted(actions.items())) or 'none', restored,
            ', '.join(failures) or 'none'))
        for server in info.get('servers') or []:
            lines.append('  %-16s %-14s %-9s %s -> %s %ss%s' % (
                server.get('name'), server.get('action'), server.get('outcome'),
                server.get('from'), server.get('to') or '-', server.get('duration_s', '-'),
                ' (fallbacks: %s)' % ', '.join(server['fallbacks_used'])
                if server.get('fallbacks_used') else ''))
    return lines


def plan_summary(results, preflight):
    """Lines describing a planned campaign: batches, then each host's servers and their fate."""
    size = preflight.get('batch_size') or 1
    order = preflight.get('order') or []
    lines = ['%d hosts in batches of %d (largest that fits: %s): %s' % (
        len(order), size, preflight.get('largest_batch_size'),
        ' | '.join(', '.join(order[i:i + size]) for i in range(0, len(order), size)))]
    for result in results:
        lines.append('%s: %d servers' % (result.get('host'), len(result.get('servers') or [])))
        for server in result.get('servers') or []:
            lines.append('  %-16s %-7s %-14s %-10s -> %-6s %s' % (
                server.get('name'), server.get('sla_class'), server.get('action'),
                server.get('outcome'), server.get('likely_destination') or '-',
                server.get('reason')))
    return lines


class FilterModule(object):
    def filters(self):
        return {'host_report': host_report, 'campaign_summary': campaign_summary,
                'plan_summary': plan_summary}

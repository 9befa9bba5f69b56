# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The campaign plan around the planner: what maintenance_plan checks in its options, the policy's
decision for every server in the snapshot, the plan and its independent check, and the views of
the plan the playbooks read (destinations and planned actions per host, per-host summaries)."""

from __future__ import annotations

from ansible_collections.cloudmaint.openstack.plugins.module_utils.forecast import settings
from ansible_collections.cloudmaint.openstack.plugins.module_utils.plan_check import check_plan
from ansible_collections.cloudmaint.openstack.plugins.module_utils.planner import (
    plan_campaign,
    plan_consolidation,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import policy_view

MODES = ('campaign', 'consolidation')


def unknown_hosts(snapshot, hosts):
    """The names in ``hosts`` that are not compute hosts of the snapshot, in the order given."""
    known = snapshot.get('hypervisors') or {}
    return [name for name in hosts if name not in known]


def resolve_decisions(snapshot, policy, importance, hosts):
    """Server id -> Decision, for every server on one of ``hosts``."""
    wanted = set(hosts)
    decisions = {}
    for sid, record in sorted((snapshot.get('servers') or {}).items()):
        if record.get('host') in wanted:
            decisions[sid] = policy.resolve(policy_view(record), importance)
    return decisions


def version_int(value):
    """Nova's integer form of a hypervisor version: ``8.2.2`` -> 8002002, ``8002002`` as it is; None
    when ``value`` is neither."""
    text = str(value).strip()
    parts = text.split('.')
    if not text or not all(part.isdigit() for part in parts):
        return None
    if len(parts) == 1:
        return int(text)
    number = 0
    for part in parts:
        number = number * 1000 + int(part)
    return number


def make_plan(snapshot, params, actions, budgets=None):
    """(plan, violations): the planner's plan for the module's options and check_plan's verdict on it;
    ``budgets``: the policy's availability budgets (a campaign keeps them)."""
    limits = dict(max_batch=params.get('max_batch'), max_incoming=params.get('max_incoming'),
                  max_outgoing=params.get('max_outgoing'))
    hosts = list(params['hosts'])
    if params.get('mode', 'campaign') == 'consolidation':
        plan = plan_consolidation(snapshot, count=params.get('count'), hosts=hosts, actions=actions, **limits)
        plan['mode'] = 'consolidation'
        violations = check_plan(snapshot, dict(plan, mode='consolidate'), hosts=hosts, actions=actions, **limits)
    else:
        target = version_int(params['target_version']) if params.get('target_version') is not None else None
        plan = plan_campaign(snapshot, hosts, actions=actions, zones=params.get('zones') or 'parallel',
                             target_version=target, budgets=budgets, **limits)
        violations = check_plan(snapshot, plan, hosts=hosts, actions=actions, target_version=target,
                                budgets=budgets, **limits)
    return plan, violations


def unknown_budget_groups(snapshot, budgets):
    """Path-named problems for budgets naming a server group the cloud does not have."""
    groups = snapshot.get('server_groups') or {}
    return ['policy.budgets[%d].server_group: no server group with id %r' % (i, b['server_group'])
            for i, b in enumerate(budgets or ()) if b.get('server_group') and b['server_group'] not in groups]


def destinations(moves):
    """(server id -> destination of its first move, host -> {server id -> destination off that host})."""
    first = {}
    by_host = {}
    for move in sorted(moves, key=lambda m: m['batch']):
        first.setdefault(move['server'], move['to'])
        by_host.setdefault(move['from'], {})[move['server']] = move['to']
    return first, by_host


def planned_actions(moves, stays=()):
    """host -> {server id -> action} for the moves planned as a fallback of the server's policy, and
    the servers kept on their host as their policy falls back to (``stays``)."""
    by_host = {}
    for move in moves:
        if move.get('fallback'):
            by_host.setdefault(move['from'], {})[move['server']] = move['action']
    for stay in stays:
        by_host.setdefault(stay['host'], {})[stay['server']] = stay['action']
    return by_host


def _free_ram(hypervisor):
    memory = (hypervisor.get('capacity') or {}).get('MEMORY_MB')
    return memory.get('free') if memory else None


def _server_entry(record, decision, first_dest, first_action):
    lm = decision.live_migration or {}
    return {'id': record.get('id'), 'name': record.get('name'), 'status': record.get('status'),
            'sla_class': decision.sla_class, 'action': first_action.get(record.get('id'), decision.action),
            'to': first_dest.get(record.get('id'), record.get('host')),
            'ram_mb': int((record.get('flavor') or {}).get('ram') or 0),
            'downtime_limit_ms': decision.downtime_limit_ms,
            'notice_s': int((decision.notice or {}).get('period_s') or 0),
            'completion_timeout_s': lm.get('completion_timeout_s'),
            'reason': decision.reason}


def host_summaries(snapshot, hosts, plan, decisions):
    """Per host of ``hosts``: zone, batch, service, free RAM, its servers and their fate, moves out and in."""
    batch_of = {name: i for i, batch in enumerate(plan.get('batches') or []) for name in batch}
    blocked = {b['host']: b['reason'] for b in plan.get('blocked_hosts') or []}
    first_dest, _by_host = destinations(plan.get('moves') or [])
    first_action = {stay['server']: stay['action'] for stay in plan.get('stays') or ()}
    for move in sorted(plan.get('moves') or [], key=lambda m: m['batch']):
        first_action.setdefault(move['server'], move['action'])
    moves_out, moves_in = {}, {}
    for move in plan.get('moves') or []:
        moves_out[move['from']] = moves_out.get(move['from'], 0) + 1
        moves_in[move['to']] = moves_in.get(move['to'], 0) + 1
    servers = snapshot.get('servers') or {}
    summaries = {}
    for name in hosts:
        hyp = (snapshot.get('hypervisors') or {}).get(name) or {}
        entries = [_server_entry(servers[sid], decisions[sid], first_dest, first_action)
                   for sid in hyp.get('servers') or () if sid in decisions]
        entries.sort(key=lambda e: (e['name'] or '', e['id']))
        summaries[name] = {'zone': hyp.get('zone'), 'batch': batch_of.get(name), 'state': hyp.get('state'),
                           'status': hyp.get('status'), 'free_ram_mb': _free_ram(hyp),
                           'moves_out': moves_out.get(name, 0), 'moves_in': moves_in.get(name, 0),
                           'blocked': blocked.get(name), 'servers': entries}
    return summaries


def option_problems(params):
    """Messages for option values the argument spec cannot catch."""
    problems = []
    try:
        settings(params.get('forecast'))
    except ValueError as exc:
        problems.append(str(exc))
    for key in ('max_batch', 'max_incoming', 'max_outgoing'):
        if params.get(key) is not None and params[key] < 1:
            problems.append('%s must be 1 or more, got %d' % (key, params[key]))
    if params.get('count') is not None:
        if params.get('mode') != 'consolidation':
            problems.append('count applies to mode=consolidation only')
        elif params['count'] < 0:
            problems.append('count must be 0 or more, got %d' % params['count'])
    if not params.get('hosts'):
        problems.append('hosts must name at least one compute host')
    if params.get('target_version') is not None:
        if params.get('mode') == 'consolidation':
            problems.append('target_version applies to mode=campaign only')
        elif version_int(params['target_version']) is None:
            problems.append('target_version must be a version such as 8.2.2 or 8002002, got %r'
                            % params['target_version'])
    return problems


def extra_moves_message(plan):
    lines = [p for p in plan.get('problems') or () if ' moves ' in p and ' times: ' in p]
    return ('the plan needs %d extra moves, servers that move more than once (allow_extra_moves=false):\n%s'
            % (plan.get('extra_moves', 0), '\n'.join(lines)))

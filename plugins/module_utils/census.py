# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The campaign's invariant: every server is still there, in the state its policy promised.

Pure logic. ``entry()`` turns a Compute API server into a compact census entry (id, name,
project, status, power state, host, flavor, attached volumes, task); ``compare()`` checks a
census taken before the campaign against one taken after, given what the policy did to each
server, and returns one verdict per server and the findings that break the invariant.

A server in ERROR before the campaign is "left alone": reported, never a new failure.
"""

from __future__ import annotations

from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import HOST_KEY, POWER_KEY, TASK_KEY

VOLUMES_KEY = 'os-extended-volumes:volumes_attached'

PHASES = ('drained', 'restored')
MOVES = ('live_migrate', 'cold_migrate')
ACTIONS = MOVES + ('shelve_partial', 'stop', 'suspend', 'rebuild', 'delete', 'leave', 'none')

# Nova power states (nova/compute/power_state.py) a settled status implies.
RUNNING, PAUSED, SHUTDOWN, SUSPENDED = 1, 3, 4, 7
POWER_NAMES = {0: 'NOSTATE', RUNNING: 'RUNNING', PAUSED: 'PAUSED', SHUTDOWN: 'SHUTDOWN',
               6: 'CRASHED', SUSPENDED: 'SUSPENDED'}
POWER_OF_STATUS = {'ACTIVE': RUNNING, 'PAUSED': PAUSED, 'SHUTOFF': SHUTDOWN,
                   'SUSPENDED': SUSPENDED}

# Findings that break the invariant; "left_alone", "new" and "deleted_as_allowed" are reported only.
FINDING_KINDS = ('missing', 'deleted', 'error', 'status', 'power_state', 'flavor', 'volumes',
                 'project', 'busy')


def flavor_label(server):
    """The flavor's name (microversion >= 2.47 embeds it) or, on older clouds, its id."""
    flavor = server.get('flavor') or {}
    if flavor.get('original_name'):
        return flavor['original_name']
    return flavor.get('id') or ''


def entry(server):
    """Compact census entry of one server from the Compute API (detail view)."""
    return {
        'id': server['id'],
        'name': server.get('name'),
        'project_id': server.get('tenant_id') or server.get('project_id'),
        'status': server.get('status'),
        'power_state': server.get(POWER_KEY),
        'host': server.get(HOST_KEY),
        'flavor': flavor_label(server),
        'volumes': sorted(v['id'] for v in server.get(VOLUMES_KEY) or [] if v.get('id')),
        'task_state': server.get(TASK_KEY),
    }


def snapshot(servers):
    """Census of ``servers``, sorted by name then id, each server once."""
    seen = {}
    for server in servers:
        seen[server['id']] = entry(server)
    return sorted(seen.values(), key=lambda e: (e.get('name') or '', e['id']))


def expected_actions(expected):
    """{server id or name: action} from a dict, or from a list of host_drain result entries
    ({id, name, action, outcome}); entries whose action failed count as ``none`` (the server
    should be as it was)."""
    if not expected:
        return {}
    if isinstance(expected, dict):
        return dict((str(k), v) for k, v in expected.items())
    actions = {}
    for item in expected:
        if not isinstance(item, dict) or not item.get('id'):
            continue
        action = item.get('action') or 'none'
        if item.get('outcome') == 'failed':
            action = 'none'
        actions[item['id']] = action
    return actions


def expected_statuses(action, prior, phase):
    """Statuses a server may have after the campaign (``phase``) given the policy's action and
    its status before; None means gone."""
    if action == 'delete':
        return (None,)
    if action in MOVES or action == 'none':
        return (prior,)
    if phase == 'restored':
        return (prior,)
    if action == 'shelve_partial':
        return ('SHELVED', 'SHELVED_OFFLOADED')
    if action == 'suspend':
        return ('SUSPENDED',) if prior == 'ACTIVE' else (prior,)
    if action in ('stop', 'leave', 'rebuild'):
        return ('SHUTOFF',) if prior == 'ACTIVE' else (prior,)
    return (prior,)


def _lookup(actions, before):
    for key in (before['id'], before.get('name')):
        if key and key in actions:
            return actions[key]
    return None


def _describe(entry_):
    if entry_ is None:
        return 'gone'
    return '%s on %s' % (entry_.get('status'), entry_.get('host') or 'no host')


def judge(before, after, action, phase='restored', allow_delete=False, deleted=False):
    """Verdict on one server: {verdict, findings: [(kind, message)]}.

    ``after`` is None when the server is no longer listed; ``deleted`` says Nova lists it
    as deleted since the campaign began.
    """
    name = before.get('name') or before['id']
    prior = before.get('status')
    findings = []
    if prior == 'ERROR':
        if after is None:
            findings.append(('missing', '%s (in ERROR before the campaign) is gone' % name))
            return {'verdict': 'missing', 'findings': findings}
        return {'verdict': 'left_alone', 'findings': findings}
    if after is None:
        if deleted and action == 'delete' and allow_delete:
            return {'verdict': 'deleted_as_allowed', 'findings': findings}
        if deleted:
            why = 'delete was not allowed' if action == 'delete' else \
                'its action was %s' % (action or 'not known')
            findings.append(('deleted', '%s was deleted during the campaign (%s)' % (name, why)))
            return {'verdict': 'deleted', 'findings': findings}
        findings.append(('missing', '%s (was %s) is missing' % (name, _describe(before))))
        return {'verdict': 'missing', 'findings': findings}

    status = after.get('status')
    if status == 'ERROR':
        findings.append(('error', '%s is in ERROR (was %s)' % (name, _describe(before))))
    elif action == 'delete':
        if allow_delete:
            findings.append(('status', '%s still exists although its action was delete'
                             % name))
    else:
        wanted = expected_statuses(action or 'none', prior, phase)
        if status not in wanted:
            findings.append(('status', '%s is %s, expected %s (action %s, %s)' % (
                name, status, ' or '.join(str(w) for w in wanted), action or 'unknown',
                phase)))
        else:
            power = after.get('power_state')
            want_power = before.get('power_state') if status == prior else \
                POWER_OF_STATUS.get(status)
            if status in POWER_OF_STATUS and power is not None and want_power is not None \
                    and power != want_power:
                findings.append(('power_state', '%s is %s with power state %s, expected %s' % (
                    name, status, POWER_NAMES.get(power, power),
                    POWER_NAMES.get(want_power, want_power))))
    if after.get('task_state'):
        findings.append(('busy', '%s is still busy (task %s)' % (name, after['task_state'])))
    if (after.get('flavor') or '') != (before.get('flavor') or ''):
        findings.append(('flavor', '%s flavor changed from %s to %s' % (
            name, before.get('flavor'), after.get('flavor'))))
    if sorted(after.get('volumes') or []) != sorted(before.get('volumes') or []):
        lost = sorted(set(before.get('volumes') or []) - set(after.get('volumes') or []))
        gained = sorted(set(after.get('volumes') or []) - set(before.get('volumes') or []))
        findings.append(('volumes', '%s volumes changed (detached: %s; attached: %s)' % (
            name, ', '.join(lost) or 'none', ', '.join(gained) or 'none')))
    if before.get('project_id') and after.get('project_id') != before.get('project_id'):
        findings.append(('project', '%s project changed from %s to %s' % (
            name, before.get('project_id'), after.get('project_id'))))
    return {'verdict': findings[0][0] if findings else 'ok', 'findings': findings}


def compare(before, after, expected=None, phase='restored', allow_delete=False,
            deleted_ids=()):
    """Checks the invariant over every server of ``before``.

    ``after``: census entries now (of the same hosts and of every server of ``before``,
    wherever it went). ``expected``: see ``expected_actions``. ``deleted_ids``: servers Nova
    lists as deleted since the campaign began.

    Returns {servers: [verdict per server], findings: [{id, name, kind, message}],
    new: [servers now on the hosts that were not there before], ok, summary}.
    """
    if phase not in PHASES:
        raise ValueError('phase must be one of %s, got %r' % (', '.join(PHASES), phase))
    actions = expected_actions(expected)
    unknown = sorted(set(a for a in actions.values() if a not in ACTIONS))
    if unknown:
        raise ValueError('unknown action(s) in expected: %s' % ', '.join(unknown))
    now = dict((e['id'], e) for e in after or [])
    deleted_ids = set(deleted_ids or ())
    servers, findings = [], []
    for old in before or []:
        action = _lookup(actions, old)
        new = now.get(old['id'])
        result = judge(old, new, action, phase, allow_delete, old['id'] in deleted_ids)
        servers.append({
            'id': old['id'], 'name': old.get('name'), 'action': action,
            'verdict': result['verdict'],
            'before': {'status': old.get('status'), 'host': old.get('host')},
            'after': {'status': new.get('status'), 'host': new.get('host')} if new else None,
        })
        for kind, message in result['findings']:
            findings.append({'id': old['id'], 'name': old.get('name'), 'kind': kind,
                             'message': message})
    known = set(e['id'] for e in before or [])
    new_servers = [e for e in after or [] if e['id'] not in known]
    summary = {}
    for item in servers:
        summary[item['verdict']] = summary.get(item['verdict'], 0) + 1
    return {'servers': servers, 'findings': findings, 'new': new_servers,
            'ok': not findings, 'summary': summary}


def message(result):
    """One line per bad server, for a failure message."""
    if result['ok']:
        return 'census: all %d server(s) accounted for' % len(result['servers'])
    lines = ['census: %d finding(s) on %d server(s):' % (
        len(result['findings']), len(set(f['id'] for f in result['findings'])))]
    lines.extend('- %s (%s): %s' % (f['name'] or f['id'], f['id'], f['message'])
                 for f in result['findings'])
    return '\n'.join(lines)

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Availability budgets: at most N (or N %) of a group of servers unavailable at any moment of a
campaign, as a Kubernetes PodDisruptionBudget bounds a drain.

Pure, stdlib only.  The operator writes them in the policy (``budgets``, docs/policy.md); the
planner (planner.py) cuts batches to keep them and blocks a host that alone would break one; the
validator (plan_check.py) replays a plan against them.

A budget selects servers by ids the operator names, never by names tenants choose: a server group
id, a project id, and metadata (tenant-written, so only within a named project or server group).
While a batch runs, a member is unavailable when it is on a host of the batch and does not leave it
by a live migration (it is stopped, suspended, shelved, cold-migrated, rebuilt or left on the
rebooting host); a member deleted is unavailable from then on, and a member that is not ACTIVE when
the plan is made counts in every batch.
"""

from __future__ import annotations

import math
import re

BUDGET_KEYS = ('name', 'server_group', 'project', 'metadata', 'max_unavailable')
MAX_BUDGETS = 100
MAX_METADATA_KEYS = 10
MAX_NAME = 64
# A member leaving its host this way stays available.
AVAILABLE_MOVES = ('live_migrate',)
# After these a member is gone for the rest of the campaign.
GONE_ACTIONS = ('delete',)
_PERCENT = re.compile(r'^(\d{1,3})%$')


def validate_budgets(check, path, value):
    """The ``budgets`` of a policy, normalized; problems go to ``check`` (policy._Checker) by path."""
    if value is None:
        return []
    if not isinstance(value, list):
        check.error(path, 'expected a list of budgets, got %s' % type(value).__name__)
        return []
    if len(value) > MAX_BUDGETS:
        check.error(path, 'has %d budgets; at most %d' % (len(value), MAX_BUDGETS))
        return []
    out = []
    names = {}
    for index, entry in enumerate(value):
        entry_path = '%s[%d]' % (path, index)
        if not check.mapping(entry_path, entry):
            continue
        check.keys(entry_path, entry, BUDGET_KEYS)
        budget = _budget(check, entry_path, entry, index)
        if budget is None:
            continue
        if budget['name'] in names:
            duplicate = (budget['name'], names[budget['name']])
            check.error('%s.name' % entry_path, '%r is the name of budgets[%d] too' % duplicate)
            continue
        names[budget['name']] = index
        out.append(budget)
    return out


def _budget(check, path, entry, index):
    errors = len(check.errors)
    name = entry.get('name', 'budgets[%d]' % index)
    check.string('%s.name' % path, name, MAX_NAME)
    selectors = {}
    for key in ('server_group', 'project'):
        if entry.get(key) is not None:
            selectors[key] = check.string('%s.%s' % (path, key), entry[key])
    metadata = entry.get('metadata')
    if metadata is not None:
        selectors['metadata'] = _metadata(check, '%s.metadata' % path, metadata)
        if 'server_group' not in selectors and 'project' not in selectors:
            check.error('%s.metadata' % path, 'tenants write metadata: name the project or server_group '
                                              'whose servers this budget covers')
    if not selectors:
        check.error(path, 'select the servers: server_group (an id), project (an id) and/or metadata')
    limit, percent = _max_unavailable(check, '%s.max_unavailable' % path, entry.get('max_unavailable'))
    if len(check.errors) > errors:
        return None
    return {'name': name, 'server_group': selectors.get('server_group'), 'project': selectors.get('project'),
            'metadata': selectors.get('metadata'), 'max_unavailable': limit, 'max_unavailable_percent': percent}


def _metadata(check, path, value):
    if not check.mapping(path, value):
        return None
    if not value or len(value) > MAX_METADATA_KEYS:
        check.error(path, 'expected 1 to %d key: value pairs, got %d' % (MAX_METADATA_KEYS, len(value)))
        return None
    out = {}
    for key, item in value.items():
        if check.string('%s.%s' % (path, key), str(key)) and check.string('%s.%s' % (path, key), item):
            out[str(key)] = item
    return out


def _max_unavailable(check, path, value):
    """(count, None) or (None, percent)."""
    if value is None:
        check.error(path, 'max_unavailable is required: a number of servers (0 or more) or a percentage ("25%")')
        return None, None
    if isinstance(value, str):
        match = _PERCENT.match(value.strip())
        if match is None or int(match.group(1)) > 100:
            check.error(path, 'expected a number of servers or a percentage from "0%%" to "100%%", got %r' % value)
            return None, None
        return None, int(match.group(1))
    return check.integer(path, value, 0), None


class Budget(object):
    """A budget applied to one snapshot: its members, how many may be unavailable at once, and
    those already unavailable (not ACTIVE) before the campaign starts."""

    __slots__ = ('name', 'members', 'limit', 'down', 'what', 'names')

    def __init__(self, spec, members, down, names=None):
        self.name = spec['name']
        self.names = names or {}
        self.members = frozenset(members)
        self.down = frozenset(down) & self.members
        if spec.get('max_unavailable_percent') is not None:
            # Rounded up, as Kubernetes rounds a PodDisruptionBudget's maxUnavailable percentage.
            self.limit = int(math.ceil(spec['max_unavailable_percent'] * len(self.members) / 100.0))
        else:
            self.limit = int(spec['max_unavailable'])
        self.what = ', '.join('%s %s' % (key.replace('_', ' '), spec[key]) for key in ('server_group', 'project')
                              if spec.get(key))

    def over(self, unavailable):
        """The members unavailable with ``unavailable`` (servers the campaign makes unavailable),
        when some of them are and they are more than the budget allows."""
        ours = self.members & unavailable
        if not ours:
            return None
        counted = ours | self.down
        return counted if len(counted) > self.limit else None

    def count(self, unavailable):
        return len((self.members & unavailable) | self.down)

    def listed(self, server_ids, most=5):
        names = ['%s (%s)' % (self.names[sid], sid) if self.names.get(sid) else sid for sid in sorted(server_ids)]
        return ', '.join(names[:most]) + (', ...' if len(names) > most else '')

    def describe(self):
        return 'availability budget %s (%s: %d members, max_unavailable %d)' % (
            self.name, self.what, len(self.members), self.limit)


def budget_groups(specs, snapshot):
    """Budget objects for the normalized ``specs``, with members from ``snapshot``; (budgets, problems)."""
    servers = snapshot.get('servers') or {}
    groups = snapshot.get('server_groups') or {}
    budgets = []
    problems = []
    for spec in specs or ():
        candidates = servers
        if spec.get('server_group'):
            group = groups.get(spec['server_group'])
            if group is None:
                problems.append('availability budget %s: no server group with id %s'
                                % (spec['name'], spec['server_group']))
                continue
            candidates = {sid: servers[sid] for sid in group.get('members') or () if sid in servers}
        members = [sid for sid, record in candidates.items()
                   if _selected(spec, record)]
        down = [sid for sid in members if servers[sid].get('status') != 'ACTIVE']
        budget = Budget(spec, members, down, {sid: servers[sid].get('name') for sid in members})
        if not budget.members:
            problems.append('%s covers no server' % budget.describe())
        budgets.append(budget)
    return budgets, problems


def _selected(spec, record):
    if spec.get('project') and record.get('project_id') != spec['project']:
        return False
    metadata = record.get('metadata') if isinstance(record.get('metadata'), dict) else {}
    return all(metadata.get(key) == value for key, value in (spec.get('metadata') or {}).items())


def host_effects(snapshot, batches, moves, action_of):
    """host -> (servers unavailable while it is maintained, servers gone after it), for the hosts
    of ``batches`` replayed in order with ``moves`` (the plan's); ``action_of(server id)`` is the
    server's planned action where no move says otherwise."""
    where = {sid: record.get('host') for sid, record in (snapshot.get('servers') or {}).items()}
    by_batch = {}
    for move in moves:
        by_batch.setdefault(move['batch'], []).append(move)
    effects = {}
    for index, batch in enumerate(batches):
        hosts = set(batch)
        leaving_live = {m['server'] for m in by_batch.get(index, ()) if m['from'] in hosts
                        and m['action'] in AVAILABLE_MOVES}
        for host in batch:
            effects[host] = (set(), set())
        for sid, host in where.items():
            if host in hosts:
                down, gone = effects[host]
                if sid not in leaving_live:
                    down.add(sid)
                if action_of(sid) in GONE_ACTIONS:
                    gone.add(sid)
        for move in by_batch.get(index, ()):
            where[move['server']] = move['to']
    return effects


def unavailable_by_batch(batches, effects):
    """For each batch, the servers the campaign has made unavailable while it runs."""
    out = []
    gone = set()
    for batch in batches:
        down = set(gone)
        for host in batch:
            down |= effects[host][0]
        out.append(down)
        for host in batch:
            gone |= effects[host][1]
    return out


def breaches(budgets, batches, effects):
    """(batch index, budget, members unavailable) for every batch that breaks a budget."""
    found = []
    for index, down in enumerate(unavailable_by_batch(batches, effects)):
        for budget in budgets:
            counted = budget.over(down)
            if counted:
                found.append((index, budget, counted))
    return found


def summary(budgets, batches, effects):
    """Per budget, what the plan spends of it (JSON-safe)."""
    per_batch = unavailable_by_batch(batches, effects)
    return [{'name': b.name, 'members': len(b.members), 'max_unavailable': b.limit,
             'already_unavailable': len(b.down),
             'most_unavailable': max([b.count(down) for down in per_batch] or [len(b.down)])}
            for b in budgets]


def cut(budgets, batches, effects):
    """``batches`` cut, in order, so that no budget is broken; and host -> reason for the hosts
    that alone would break one (left out)."""
    out = []
    alone = {}
    gone = set()
    for batch in batches:
        current, down, leaving = [], set(), set()
        for host in batch:
            host_down, host_gone = effects[host]
            if current and _first_over(budgets, down | host_down | gone):
                out.append(current)
                gone |= leaving
                current, down, leaving = [], set(), set()
            broken = _first_over(budgets, host_down | gone)
            if broken:
                alone[host] = _reason(broken, host)
                continue
            current.append(host)
            down |= host_down
            leaving |= host_gone
        if current:
            out.append(current)
            gone |= leaving
    return out, alone


def _first_over(budgets, unavailable):
    for budget in budgets:
        counted = budget.over(unavailable)
        if counted:
            return budget, counted
    return None


def _reason(broken, host):
    budget, counted = broken
    return '%s: %d would be unavailable while %s is maintained: %s' % (
        budget.describe(), len(counted), host, budget.listed(counted))

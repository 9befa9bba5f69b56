# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An independent check of a maintenance or consolidation plan against the snapshot it was made from.

Written apart from the planner (it shares no code with planner.py or placement_model.py) so that a
planner bug does not hide itself.  ``check_plan`` replays the batches in order and returns every
rule broken, as strings naming the server, host and batch (an empty list: the plan is sound):

- every batch host is a known host, listed once, in the campaign (``hosts``), at most
  ``max_batch`` per batch;
- every server whose action is ``live_migrate``/``cold_migrate`` on a batch host leaves it in that
  batch; a server moves only off a host of the move's batch, only if its action is a move, and at
  most once, unless the plan marks the earlier moves ``extra`` (and counts them in ``extra_moves``);
- a destination is known, up, reports room, is enabled or was maintained in an earlier batch,
  is not in the same batch, and (campaign) not in a later one unless the move is ``extra``, never a
  host of the campaign that no batch maintains (blocked: named in ``hosts`` but in no batch, or in
  the plan's ``blocked_hosts``); (consolidate) never a host that is emptied; batch hosts end empty
  in that mode;
- after every batch no host has less than nothing free of MEMORY_MB, VCPU or DISK_GB where
  servers arrived (a source keeps its allocation until the batch ends), and no server needs more of
  a class than the destination's ``max_unit`` for it (absent: no limit);
- a server stays in its zone (and its aggregates with ``match_aggregates``) and on its hypervisor
  type (a guest would not run on another, whether it moves live or cold); a live migration goes to
  a host of no older hypervisor version (a maintained host counts at ``target_version`` when that
  is newer);
- after every batch no hard anti-affinity group has more members on a host than
  ``max_server_per_host`` (or than it had there before), and no hard affinity group is spread
  over more hosts than before;
- at most ``max_outgoing`` migrations out of and ``max_incoming`` into a host per batch;
- a server the plan keeps on its host (``stays``: it fits nowhere) does an action of its policy's
  chain that keeps it there (stop, suspend, shelve_partial, leave), in its host's batch;
- (campaign, with ``budgets``) in no batch more members of an availability budget unavailable
  than it allows (budgets.py says who counts).
"""

from __future__ import annotations

from ansible_collections.cloudmaint.openstack.plugins.module_utils.budgets import (
    breaches,
    budget_groups,
    host_effects,
)

MOVE_ACTIONS = frozenset(('live_migrate', 'cold_migrate'))
FREEING_ACTIONS = frozenset(('delete', 'shelve_offload'))
STAY_ACTIONS = frozenset(('stop', 'suspend', 'shelve_partial', 'leave'))
CLASSES = ('MEMORY_MB', 'VCPU', 'DISK_GB')


def _action(actions, sid, default):
    """The server's action and the actions its policy may fall back to."""
    value = (actions or {}).get(sid)
    chain = ()
    if isinstance(value, dict):
        value, chain = value.get('action'), value.get('chain') or ()
    elif value is not None and not isinstance(value, str):
        value, chain = getattr(value, 'action', None), getattr(value, 'chain', None) or ()
    return value or default, tuple(chain)


def _demand(server):
    flavor = server.get('flavor') or {}
    swap_mb = int(flavor.get('swap') or 0)
    disk = int(flavor.get('disk') or 0) + int(flavor.get('ephemeral') or 0) + (swap_mb + 1023) // 1024
    return {'MEMORY_MB': int(flavor.get('ram') or 0), 'VCPU': int(flavor.get('vcpus') or 0), 'DISK_GB': disk}


def _older(source, dest, versions):
    if source.get('hypervisor_type') and dest.get('hypervisor_type') \
            and source['hypervisor_type'] != dest['hypervisor_type']:
        return True
    try:
        return int(versions[dest['host']]) < int(versions[source['host']])
    except (KeyError, TypeError, ValueError):
        return False


def _versions(hyps):
    found = {}
    for name, hyp in hyps.items():
        try:
            found[name] = int(hyp['hypervisor_version'])
        except (KeyError, TypeError, ValueError):
            found[name] = None
    return found


class _Replay(object):

    def __init__(self, snapshot, plan, actions, default_action, match_aggregates):
        self.hyps = snapshot.get('hypervisors') or {}
        self.plan = plan
        self.match_aggregates = match_aggregates
        self.free = {}
        self.max_unit = {}
        for name, hyp in self.hyps.items():
            capacity = hyp.get('capacity') or {}
            self.free[name] = {rc: int(capacity[rc].get('free', 0)) for rc in CLASSES if rc in capacity}
            self.max_unit[name] = {rc: int(capacity[rc]['max_unit']) for rc in CLASSES
                                   if isinstance((capacity.get(rc) or {}).get('max_unit'), int)}
        self.where = {}
        self.demand = {}
        self.action = {}
        self.chain = {}
        self.zone = {}
        self.aggregates = {}
        self.name = {}
        for sid, server in (snapshot.get('servers') or {}).items():
            host = server.get('host')
            if host not in self.hyps:
                continue
            self.where[sid] = host
            self.demand[sid] = _demand(server)
            self.action[sid], self.chain[sid] = _action(actions, sid, default_action)
            self.zone[sid] = server.get('zone') or self.hyps[host].get('zone')
            self.aggregates[sid] = sorted(self.hyps[host].get('aggregates') or ())
            self.name[sid] = server.get('name') or sid
        self.groups = {}
        self.group_of = {}
        for gid, group in (snapshot.get('server_groups') or {}).items():
            if group.get('policy') not in ('anti-affinity', 'affinity'):
                continue
            members = [m for m in group.get('members') or () if m in self.where]
            self.groups[gid] = group
            for member in members:
                self.group_of.setdefault(member, []).append(gid)
        self.before = {gid: self._spread(gid) for gid in self.groups}

    def label(self, sid):
        return 'server %s (%s)' % (self.name.get(sid, sid), sid) if self.name.get(sid, sid) != sid \
            else 'server %s' % sid

    def _spread(self, gid):
        counts = {}
        for member in self.groups[gid].get('members') or ():
            host = self.where.get(member)
            if host is not None:
                counts[host] = counts.get(host, 0) + 1
        return counts

    def groups_ok(self, gids, batch_no, violations):
        for gid in sorted(gids):
            group = self.groups[gid]
            now = self._spread(gid)
            before = self.before[gid]
            label = group.get('name') or gid
            if group.get('policy') == 'anti-affinity':
                limit = int((group.get('rules') or {}).get('max_server_per_host') or 1)
                for host, count in sorted(now.items()):
                    if count > max(limit, before.get(host, 0)):
                        violations.append('batch %d: anti-affinity group %s has %d members on %s'
                                          % (batch_no, label, count, host))
            elif len(now) > max(1, len(before)):
                violations.append('batch %d: affinity group %s is spread over %s'
                                  % (batch_no, label, ', '.join(sorted(now))))

    def usable(self, host, done):
        hyp = self.hyps[host]
        if 'MEMORY_MB' not in self.free[host]:
            return 'reports no capacity'
        if hyp.get('state', 'up') != 'up' or hyp.get('forced_down'):
            return 'is down'
        if hyp.get('status', 'enabled') != 'enabled' and host not in done:
            return 'is disabled'
        return None


def _batches(plan, hyps, hosts, max_batch, violations):
    batch_of = {}
    for i, batch in enumerate(plan.get('batches') or []):
        if max_batch and len(batch) > max_batch:
            violations.append('batch %d: %d hosts, more than max_batch=%d' % (i, len(batch), max_batch))
        for host in batch:
            if host not in hyps:
                violations.append('batch %d: %s is not a known host' % (i, host))
            elif host in batch_of:
                violations.append('batch %d: %s is already in batch %d' % (i, host, batch_of[host]))
            elif hosts is not None and host not in hosts:
                violations.append('batch %d: %s is not one of the hosts to maintain' % (i, host))
            else:
                batch_of[host] = i
    return batch_of


def _stays(plan, replay, batch_of, violations):
    """Server id -> (host, batch) of the servers the plan keeps on a host (``stays``: they fit
    nowhere) as their policy falls back to, with an action that keeps them there."""
    stays = {}
    for stay in plan.get('stays') or ():
        sid, action, host = stay.get('server'), stay.get('action'), stay.get('host')
        if sid not in replay.where:
            violations.append('stay of unknown server %r' % sid)
        elif action not in STAY_ACTIONS or action not in replay.chain[sid]:
            violations.append('%s is planned to %s, which is not a fallback of its policy that keeps it on its host'
                              % (replay.label(sid), action))
        elif batch_of.get(host) != stay.get('batch'):
            violations.append('%s is planned to stay on %s in batch %r, but %s is maintained in batch %r'
                              % (replay.label(sid), host, stay.get('batch'), host, batch_of.get(host)))
        else:
            stays[sid] = (host, stay['batch'])
    return stays


def _move_count(moves, plan, replay, violations):
    chains = {}
    for move in moves:
        chains.setdefault(move.get('server'), []).append(move)
    extra = 0
    for sid, chain in chains.items():
        chain.sort(key=lambda m: m.get('batch', -1))
        extra += len(chain) - 1
        for k, move in enumerate(chain):
            last = k == len(chain) - 1
            if not last and not move.get('extra'):
                violations.append('%s moves %d times but its move in batch %s is not marked extra'
                                  % (replay.label(sid), len(chain), move.get('batch')))
            if last and move.get('extra'):
                violations.append('%s: its last move (batch %s) is marked extra' % (replay.label(sid), move.get('batch')))
    if plan.get('extra_moves', 0) != extra:
        violations.append('extra_moves is %s, the moves make %d' % (plan.get('extra_moves'), extra))


def check_plan(snapshot, plan, hosts=None, actions=None, default_action='live_migrate', max_batch=None,
               max_incoming=None, max_outgoing=None, match_aggregates=False, target_version=None, budgets=None):
    """Every rule ``plan`` breaks (see the module docstring); [] when it keeps them all."""
    violations = []
    replay = _Replay(snapshot, plan, actions, default_action, match_aggregates)
    hyps = {name: dict(hyp, host=name) for name, hyp in replay.hyps.items()}
    versions = _versions(hyps)
    consolidate = plan.get('mode') == 'consolidate'
    emptied = set(plan.get('empty_hosts') or ())
    batch_of = _batches(plan, hyps, set(hosts) if hosts is not None else None, max_batch, violations)
    batches = plan.get('batches') or []
    moves = plan.get('moves') or []
    unmaintained = set()
    if not consolidate:
        unmaintained = {b.get('host') for b in plan.get('blocked_hosts') or () if isinstance(b, dict)}
        unmaintained.update(set(hosts or ()) - set(batch_of))
    by_batch = {}
    for move in moves:
        batch = move.get('batch')
        if not isinstance(batch, int) or not 0 <= batch < len(batches):
            violations.append('%s: move in batch %r, which does not exist' % (replay.label(move.get('server')), batch))
            continue
        by_batch.setdefault(batch, []).append(move)
    _move_count(moves, plan, replay, violations)
    stays = _stays(plan, replay, batch_of, violations)

    done = set()
    for i, batch in enumerate(batches):
        members = set(batch)
        outgoing = {}
        incoming = {}
        arrived = set()
        touched = set()
        left = []
        for move in by_batch.get(i, []):
            sid, source, dest = move.get('server'), move.get('from'), move.get('to')
            who = replay.label(sid)
            if sid not in replay.where:
                violations.append('batch %d: %s is not a server on a known host' % (i, who))
                continue
            if replay.where[sid] != source:
                violations.append('batch %d: %s moves from %s but is on %s' % (i, who, source, replay.where[sid]))
                continue
            if source not in members:
                violations.append('batch %d: %s moves off %s, which is not drained in this batch' % (i, who, source))
            if replay.action[sid] not in MOVE_ACTIONS:
                violations.append('batch %d: %s is moved but its action is %s' % (i, who, replay.action[sid]))
            moved_as = move.get('action') or replay.action[sid]
            if moved_as != replay.action[sid] and not (
                    moved_as == 'cold_migrate' and replay.action[sid] == 'live_migrate' and moved_as in replay.chain[sid]):
                violations.append('batch %d: %s is planned as %s, neither its action %s nor a cold migration its '
                                  'policy falls back to' % (i, who, moved_as, replay.action[sid]))
            if dest not in hyps:
                violations.append('batch %d: %s goes to %s, not a known host' % (i, who, dest))
                continue
            problem = replay.usable(dest, done)
            if problem:
                violations.append('batch %d: %s goes to %s, which %s' % (i, who, dest, problem))
            for rc, amount in sorted(replay.demand[sid].items()):
                if amount > replay.max_unit[dest].get(rc, amount):
                    violations.append('batch %d: %s needs %d %s, more than max_unit %d of %s (Placement refuses it)'
                                      % (i, who, amount, rc, replay.max_unit[dest][rc], dest))
            if dest in members:
                violations.append('batch %d: %s goes to %s, drained in the same batch' % (i, who, dest))
            elif consolidate and (dest in batch_of or dest in emptied):
                violations.append('batch %d: %s goes to %s, which is emptied' % (i, who, dest))
            elif dest in unmaintained:
                violations.append('batch %d: %s goes to %s, a host of the campaign that no batch maintains '
                                  '(blocked): it would move again when that host is maintained' % (i, who, dest))
            elif not consolidate and batch_of.get(dest, -1) > i and not move.get('extra'):
                violations.append('batch %d: %s goes to %s, maintained later (batch %d): it would move twice'
                                  % (i, who, dest, batch_of[dest]))
            if str(hyps[dest].get('zone')) != str(replay.zone[sid]):
                violations.append('batch %d: %s leaves zone %s for %s in zone %s'
                                  % (i, who, replay.zone[sid], dest, hyps[dest].get('zone')))
            kinds = (hyps[source].get('hypervisor_type'), hyps[dest].get('hypervisor_type'))
            if all(kinds) and kinds[0] != kinds[1]:
                violations.append('batch %d: %s goes from %s (%s) to %s (%s), another hypervisor type'
                                  % (i, who, source, kinds[0], dest, kinds[1]))
            elif moved_as == 'live_migrate' and _older(hyps[source], hyps[dest], versions):
                violations.append('batch %d: %s is live-migrated from %s to %s, an older hypervisor or another type'
                                  % (i, who, source, dest))
            if match_aggregates and sorted(hyps[dest].get('aggregates') or ()) != replay.aggregates[sid]:
                violations.append('batch %d: %s goes to %s, outside its aggregates' % (i, who, dest))
            outgoing[source] = outgoing.get(source, 0) + 1
            incoming[dest] = incoming.get(dest, 0) + 1
            for rc, amount in replay.demand[sid].items():
                if rc in replay.free[dest]:
                    replay.free[dest][rc] -= amount
            replay.where[sid] = dest
            arrived.add(dest)
            touched.update(replay.group_of.get(sid, ()))
            left.append((sid, source))
        for dest in sorted(arrived):
            for rc, free in sorted(replay.free[dest].items()):
                if free < 0:
                    violations.append('batch %d: %s is short of %d %s' % (i, dest, -free, rc))
        for host, count in sorted(outgoing.items()):
            if max_outgoing is not None and count > max_outgoing:
                violations.append('batch %d: %d migrations out of %s, more than %d' % (i, count, host, max_outgoing))
        for host, count in sorted(incoming.items()):
            if max_incoming is not None and count > max_incoming:
                violations.append('batch %d: %d migrations into %s, more than %d' % (i, count, host, max_incoming))
        for sid, source in left:
            for rc, amount in replay.demand[sid].items():
                if rc in replay.free[source]:
                    replay.free[source][rc] += amount
        for sid in sorted(s for s, host in replay.where.items() if host in members):
            host = replay.where[sid]
            if replay.action[sid] in MOVE_ACTIONS and stays.get(sid) != (host, i):
                violations.append('batch %d: %s must leave %s but has no destination' % (i, replay.label(sid), host))
            elif replay.action[sid] in FREEING_ACTIONS:
                for rc, amount in replay.demand[sid].items():
                    if rc in replay.free[host]:
                        replay.free[host][rc] += amount
                del replay.where[sid]
                touched.update(replay.group_of.get(sid, ()))
            elif consolidate:
                violations.append('batch %d: %s stays on %s (%s): the host is not emptied'
                                  % (i, replay.label(sid), host, replay.action[sid]))
        replay.groups_ok(touched, i, violations)
        done.update(members)
        for host in members:
            if target_version is not None and versions.get(host) is not None:
                versions[host] = max(versions[host], target_version)
    if budgets and not consolidate:
        groups, _problems = budget_groups(budgets, snapshot)
        effects = host_effects(snapshot, batches, [m for b in sorted(by_batch) for m in by_batch[b]],
                               lambda sid: _action(actions, sid, default_action)[0])
        for i, budget, counted in breaches(groups, batches, effects):
            violations.append('batch %d: %s: %d unavailable at once: %s'
                              % (i, budget.describe(), len(counted), budget.listed(counted)))
    return violations

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Batches of hosts and a destination for every server that moves ("OpenStack tetris").

Pure, stdlib only.  Input is the snapshot of ``cloud_snapshot.build_snapshot`` (``hypervisors``
with ``zone``, ``aggregates``, ``state``, ``status``, ``forced_down``, ``hypervisor_type``,
``hypervisor_version`` and Placement ``capacity``;
``servers`` with ``host``, ``flavor``, ``server_groups``; ``server_groups`` with ``policy``,
``rules`` and ``members``) and, per server id, the action the policy chose: an action name, a
``Decision.to_dict()`` or a ``Decision`` (servers not named get ``default_action``).

``plan_campaign(snapshot, hosts, actions=None, default_action='live_migrate', max_batch=None,
max_incoming=None, max_outgoing=None, match_aggregates=False, zones='parallel', target_version=None,
retry_blocked=True, budgets=None)``
    orders the hosts to maintain into batches.  ``live_migrate`` and ``cold_migrate`` servers get a
    destination; every other action keeps the server on its host (``delete`` and
    ``shelve_offload`` free its allocation there).  A destination is a host already maintained in
    an earlier batch or a host outside the campaign, so a server moves once.  Room is counted per
    resource class from Placement; a server stays in its zone (and, with ``match_aggregates``,
    within hosts of the same aggregates); a ``live_migrate`` server goes to a host of the same
    hypervisor type and no older ``hypervisor_version`` (a host maintained in the campaign counts
    at the version it has now, or at ``target_version``, the release the campaign installs, when
    that is newer), as Nova refuses the others; when none has room and the server's
    policy falls back to ``cold_migrate``, the move is planned as that (``fallback: True``, no
    version rule), but only once a live move onto a host maintained later (an extra move) found no
    room either; hard anti-affinity (``max_server_per_host``) holds after
    every batch and the moving members of a hard affinity group on a host go to one host together;
    soft policies are preferences.  ``max_incoming``/``max_outgoing`` cap the migrations into and
    out of one host within a batch, ``max_batch`` the hosts of a batch.

    Each zone is planned on its own: the host with least to move first, each batch as many hosts
    as the maintained and spare hosts can take (largest servers first, tightest host by RAM, then
    vCPUs, then disk).  When nothing fits (every host of a zone in the campaign, none empty), the
    host costing fewest extra moves is emptied onto hosts maintained later (a seed): those servers
    move twice, counted in ``extra_moves``; the host and the servers chosen are those whose extra
    moves cost least by SLA class (placement_model.EXTRA_MOVE_COST).  A host set aside for want of room is tried
    again after every later wave; at the end of its zone, a server that still fits nowhere stays on
    its host when its policy falls back to an action that keeps it there (``stays``: stop, suspend,
    shelve_partial, leave), else the host is left out (``blocked_hosts``, ``unmovable``).  With
    ``budgets`` (budgets.py) batches are cut so that no availability budget is broken, and a host
    that alone would break one is left out.  ``zones='parallel'`` puts the n-th batch of every zone
    together (cut to ``max_batch``), ``'serial'`` finishes a zone before the next.

``plan_consolidation(snapshot, count=None, hosts=None, ...)``
    picks up to ``count`` hosts among ``hosts`` (default: all) to empty (None: as many as
    possible), fewest moves first, and where their servers go: onto hosts that are not emptied and
    have not been emptied, with the same rules (but never as a cold fallback: emptying a host is
    optional).  A host with a server whose action keeps it there
    cannot be emptied.

Both return a JSON-safe dict::

    {'mode': 'campaign' | 'consolidate',
     'batches': [['hv03', 'hv05'], ['hv01'], ...],
     'moves': [{'server': id, 'name': ..., 'from': 'hv03', 'to': 'hv07', 'batch': 0,
                'action': 'live_migrate', 'zone': 'az1', 'ram_mb': 4096, 'vcpus': 2, 'disk_gb': 40,
                'extra': False, 'fallback': False, 'affinity_group': None}, ...],
     'extra_moves': 0,             # moves beyond one per server; every move but a server's last has extra: True
     'stays': [{'server': id, 'name': ..., 'host': 'hv09', 'batch': 3, 'action': 'stop', 'reason': '...'}],
     'budgets': [{'name': ..., 'members': 3, 'max_unavailable': 1, 'already_unavailable': 0,
                  'most_unavailable': 1}],   # campaign only
     'blocked_hosts': [{'host': 'hv09', 'reason': '...'}],
     'unmovable': [{'server': id, 'name': ..., 'host': 'hv09', 'reason': '...'}],
     'problems': ['...'],           # human-readable, one per blocked host, extra move or shortfall
     'empty_hosts': [...],         # consolidate only: hosts empty at the end
     'stats': {...}}

``batch`` is the index in ``batches``; a move happens while its ``from`` host is drained.
plan_check.check_plan verifies a plan independently.
"""

from __future__ import annotations

from ansible_collections.cloudmaint.openstack.plugins.module_utils.budgets import (
    budget_groups,
    cut,
    host_effects,
    summary,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.placement_model import (
    FREES,
    MOVES,
    Model,
    Pool,
    too_large,
)

ZONE_ORDERS = ('parallel', 'serial')
# A wave stops looking after this many hosts in a row that do not fit (hosts come smallest first).
FAIL_LIMIT = 8
# Hosts weighed as the seed when a zone is stuck.
SEED_CANDIDATES = 30


class _Campaign(object):

    def __init__(self, model, max_batch, max_incoming, max_outgoing, target_version=None, retry=True,
                 no_later=(), over_budget=None):
        self.model = model
        self.target_version = target_version
        self.max_batch = max_batch
        self.max_incoming = max_incoming
        self.max_outgoing = max_outgoing
        self.blocked = []
        self.blocked_names = set()
        self.stays = []           # (server, host, action, reason): kept on a host that fits nowhere
        self.failed_seeds = set()
        self.unmovable = []
        self.problems = []
        self.campaign = set()
        # Retry the hosts blocked for want of room after each later wave of their zone.
        self.retry = retry
        # Hosts never emptied onto as hosts maintained later (a previous try blocked them for good).
        self.no_later = set(no_later)
        # Host -> the availability budget it would break alone (a previous try found it).
        self.over_budget = over_budget or {}
        model.max_outgoing = max_outgoing

    # ---- a host's servers onto pools --------------------------------------------------------

    def drain(self, host, pools, incoming, keep_going=False, cold=True, sensitive_first=False):
        """Moves (tentatively: the model's journal is open) what must leave ``host`` onto the first
        pool with room for each unit; with ``cold``, a unit no host takes live goes as the cold
        migration its policy falls back to; ``sensitive_first``: the units whose extra move costs
        most choose first.  Returns the units that found no place."""
        model = self.model
        failed = []
        units = model.units(host, sensitive_first)
        if self.max_outgoing is not None and sum(len(unit) for unit in units) > self.max_outgoing:
            return units
        for unit in units:
            if not self._place(unit, pools, host, incoming, True) and not (
                    cold and all(server.cold_ok for server in unit)
                    and self._place(unit, pools, host, incoming, False)):
                failed.append(unit)
                if not keep_going:
                    break
        return failed

    def _place(self, unit, pools, host, incoming, live):
        """Places ``unit`` on the first pool with room; ``live=False`` plans its live migrations as
        the cold ones its policy falls back to (when every host that would take it live is older)."""
        for pool in pools:
            dest = self.model.find(unit, pool, host, incoming, self.max_incoming, live)
            if dest is not None:
                self.model.place(unit, dest, incoming, None if live else 'cold_migrate')
                return True
        return False

    def finish(self, host, safe):
        for server in list(host.servers.values()):
            if server.action in FREES:
                self.model.release(server)
        if self.target_version is not None and host.version is not None:
            host.version = max(host.version, self.target_version)
        if host.known and host.up:
            safe.add(host)

    # ---- why not ----------------------------------------------------------------------------

    def precheck(self, host):
        """Why ``host`` cannot be drained whatever the order, or None."""
        if host.name in self.over_budget:
            return self.over_budget[host.name]
        movers = self.model.movers(host)
        if movers and not host.up:
            return 'compute service is down: its %d servers to move cannot be migrated' % len(movers)
        if self.max_outgoing is not None and len(movers) > self.max_outgoing:
            return '%d servers must move, more than max_outgoing=%d migrations per host and batch' % (
                len(movers), self.max_outgoing)
        split = self.model.split_affinity(host)
        if split:
            texts = []
            for gid, (leaving, staying) in split.items():
                texts.append('affinity group %s: %s would move, %s stay' % (
                    self.model.groups[gid][2], ', '.join(s.name or s.id for s in leaving),
                    ', '.join('%s (%s)' % (s.name or s.id, s.action) for s in staying)))
                for server in leaving:
                    self.unmovable.append(self._unmovable(server, host, 'its affinity group would be split: '
                                                          'give the group one action'))
            return '; '.join(texts)
        return None

    def _unmovable(self, server, host, reason):
        return {'server': server.id, 'name': server.name, 'host': host.name, 'reason': reason}

    def why(self, unit, source, domain_hosts):
        counts = {}
        for host in domain_hosts:
            if host is source:
                continue
            if not host.known:
                kind = 'report no capacity'
            elif not host.up:
                kind = 'are down'
            elif not host.enabled and (host.name not in self.campaign or host.pool is None or host.pool.later):
                kind = 'are held by a campaign' if host.held else 'are disabled'
                if host.name in self.campaign:
                    kind += ' until maintained'
            else:
                # A unit that may go cold was last tried cold: say why that failed.
                refusal = self.model.refusal(unit, host, {}, None, False,
                                             not all(server.cold_ok for server in unit))
                if refusal == 'type':
                    kind = 'run another hypervisor type'
                elif refusal == 'version':
                    kind = 'run an older hypervisor version or another type (Nova refuses to live-migrate there)'
                elif refusal == 'max_unit':
                    kind = 'allow less %s per server (Placement max_unit)' % '/'.join(
                        sorted({rc for server in unit for rc in too_large(server, host)}))
                elif refusal == 'room':
                    kind = 'lack room'
                elif refusal == 'anti-affinity':
                    kind = 'hold a member of its anti-affinity group'
                elif refusal == 'outgoing':
                    kind = 'are maintained later and would exceed max_outgoing=%d' % self.max_outgoing
                elif host.name in self.blocked_names:
                    kind = 'cannot be drained either (never maintained)'
                elif host.name in self.campaign and (host.pool is None or host.pool.later):
                    kind = 'are maintained later'
                elif self.max_incoming is not None:
                    kind = 'take at most max_incoming=%d migrations per batch' % self.max_incoming
                else:
                    kind = 'have room for it, not for all that must leave %s' % source.name
            counts[kind] = counts.get(kind, 0) + 1
        zone = source.domain[0] + (' (aggregates %s)' % ', '.join(source.domain[1]) if source.domain[1] else '')
        if not counts:
            return '%s: no other host in zone %s' % (self.model.describe(unit), zone)
        return '%s fits on no host of zone %s: %s' % (
            self.model.describe(unit), zone, ', '.join('%d %s' % (n, kind) for kind, n in sorted(counts.items())))

    def block(self, host, reason, units=()):
        self.blocked.append({'host': host.name, 'reason': reason})
        self.blocked_names.add(host.name)
        self.problems.append('%s cannot be drained: %s' % (host.name, reason))
        for unit in units:
            for server in unit:
                self.unmovable.append(self._unmovable(server, host, reason))

    # ---- one zone ---------------------------------------------------------------------------

    def zone(self, pending, safe, domain_hosts, step_of):
        """Waves (lists of hosts) for the pending hosts of one zone."""
        model = self.model
        waves = []
        parked = []     # (host, units that found no place): set aside for want of room
        while pending:
            pending.sort(key=lambda h: (model.load(h), h.name))
            wave = []
            incoming = {}
            fails = 0
            for host in pending:
                if self.max_batch and len(wave) >= self.max_batch:
                    break
                if model.load(host)[0] > safe.free_ram:
                    break
                model.begin()
                trial = dict(incoming)
                # Live only: a live migration onto a host maintained later (unstick) is better for
                # the guest than the cold one its policy falls back to.
                if self.drain(host, [safe], trial, cold=False):
                    model.rollback()
                    fails += 1
                    if fails >= FAIL_LIMIT:
                        break
                    continue
                model.commit(step_of(len(waves)))
                incoming = trial
                wave.append(host)
                fails = 0
            if not wave:
                wave = self.unstick(pending, parked, safe, domain_hosts, step_of(len(waves)))
                if not wave:
                    continue
            for host in wave:
                pending.remove(host)
                self.finish(host, safe)
            waves.append([h.name for h in wave])
            self.failed_seeds.clear()
            if self.retry:
                pending.extend(host for host, _units in parked)
                del parked[:]
        if parked:
            wave = self.stay_wave(parked, safe, domain_hosts, step_of(len(waves)))
            if wave:
                for host in wave:
                    self.finish(host, safe)
                waves.append([h.name for h in wave])
        self.blocked_names.update(host.name for host, _units in parked)
        for host, units in parked:
            if self.retry:
                # Hosts counted as maintained later when it was set aside may be blocked now: the
                # reason that holds at the end.
                model.begin()
                units = self.drain(host, [safe], {}, keep_going=True) or units
                model.rollback()
            self.block(host, self.reasons(units, host, domain_hosts), units)
        return waves

    def reasons(self, units, host, domain_hosts, most=3):
        """Why the first ``units`` found no place (each costs a look at every host of the zone)."""
        texts = [self.why(unit, host, domain_hosts) for unit in units[:most]]
        rest = sum(len(unit) for unit in units[most:])
        if rest:
            texts.append('and %d more server%s that fit%s nowhere' % ((rest, '', 's') if rest == 1 else (rest, 's', '')))
        return '; '.join(texts)

    def stay_wave(self, parked, safe, domain_hosts, step):
        """The last wave of a zone: hosts still set aside, drained with what fits and keeping on the
        host, as their policy falls back to (stop, suspend, shelve_partial, leave), the servers that
        fit nowhere.  A last resort: a server moves twice rather than stop, as a live migration
        does not interrupt its guest."""
        model = self.model
        wave = []
        incoming = {}
        for entry in list(parked):
            host = entry[0]
            if self.max_batch and len(wave) >= self.max_batch:
                break
            model.begin()
            trial = dict(incoming)
            failed = self.drain(host, [safe], trial, keep_going=True)
            # A server brought here by an extra move would have moved for nothing: not this way.
            if not failed or not all(server.stay and server.origin == host.name for unit in failed for server in unit):
                model.rollback()
                continue
            reasons = [(unit, self.why(unit, host, domain_hosts)) for unit in failed]
            model.commit(step)
            incoming = trial
            for unit, reason in reasons:
                for server in unit:
                    self.stays.append((server, host, server.stay, reason))
                    server.action = server.stay
            wave.append(host)
            parked.remove(entry)
        return wave

    def unstick(self, pending, parked, safe, domain_hosts, step):
        """Nothing fits on maintained or spare hosts: empty the host whose extra moves cost least (by
        the moving servers' SLA classes) onto hosts maintained later, or set aside (``parked``) a host
        whose servers fit nowhere."""
        model = self.model
        # A host the campaign maintains later is disabled only at its turn: one disabled now (by an
        # operator, or held by a campaign) takes nothing until it is maintained.
        later_hosts = [h for h in pending if h.known and h.up and h.enabled and h.name not in self.no_later]
        later = Pool(later_hosts, later=True)
        try:
            best = None
            # A host that failed as the seed fails again until a wave is maintained (setting hosts
            # aside only takes room away): only hosts new to the candidates are tried.
            candidates = [h for h in pending if h.name not in self.failed_seeds][:SEED_CANDIDATES]
            for host in candidates:
                # Largest first packs best; most sensitive first may leave the extra moves to cattle.
                drained = False
                for sensitive_first in (False, True):
                    model.begin()
                    if self.drain(host, [safe, later], {}, sensitive_first=sensitive_first):
                        model.rollback()
                        continue
                    drained = True
                    cost = sum(server.cost for server, _src, dest, _action in model.journal if dest.pool is later)
                    model.rollback()
                    if best is None or cost < best[0]:
                        best = (cost, host, sensitive_first)
                if not drained:
                    self.failed_seeds.add(host.name)
                if best is not None and best[0] == 0:
                    break
            if best is not None:
                _cost, host, sensitive_first = best
                model.begin()
                self.drain(host, [safe, later], {}, sensitive_first=sensitive_first)
                model.commit(step)
                return [host]
            host = pending[0]
            model.begin()
            failed = self.drain(host, [safe, later], {}, keep_going=True)
            model.rollback()
            pending.remove(host)
            if host.pool is later:
                later.remove(host)
            reason = self.precheck(host)
            if reason is not None:
                self.block(host, reason, failed)
            else:
                parked.append((host, failed))
            return []
        finally:
            for host in later_hosts:
                if host.pool is later:
                    host.pool = None


def _domains(model, names):
    by_domain = {}
    for name in names:
        host = model.hosts[name]
        by_domain.setdefault(host.domain, []).append(host)
    return by_domain


def _known_hosts(model, hosts, problems):
    names = []
    for name in hosts or ():
        if name not in model.hosts:
            problems.append('%s: not a known compute host: left out' % name)
        elif name not in names:
            names.append(name)
    return names


def _merge(waves_by_domain, max_batch, zones):
    """Batches from each zone's waves: a zone's waves stay in order."""
    batches = []

    def add(hosts):
        size = max_batch or len(hosts) or 1
        for i in range(0, len(hosts), size):
            batches.append(hosts[i:i + size])

    domains = sorted(waves_by_domain)
    if zones == 'serial':
        for domain in domains:
            for wave in waves_by_domain[domain]:
                add(wave)
        return batches
    rounds = max([len(w) for w in waves_by_domain.values()] or [0])
    for r in range(rounds):
        add([h for d in domains if r < len(waves_by_domain[d]) for h in waves_by_domain[d][r]])
    return batches


def _moves(model, batch_of):
    seen = {}
    for server_id, _src, _dest, _step, _action in model.moves:
        seen[server_id] = seen.get(server_id, 0) + 1
    left = dict(seen)
    moves = []
    for server_id, source, dest, _step, action in model.moves:
        server = model.servers[server_id]
        left[server_id] -= 1
        moves.append({'server': server_id, 'name': server.name, 'from': source, 'to': dest,
                      'batch': batch_of[source], 'action': action, 'zone': model.hosts[source].zone,
                      'fallback': action != server.action,
                      'ram_mb': server.need[0], 'vcpus': server.need[1], 'disk_gb': server.need[2],
                      'extra': left[server_id] > 0,
                      'affinity_group': server.affinity[0] if server.affinity else None})
    moves.sort(key=lambda m: (m['batch'], m['from'], m['server']))
    return moves, seen


def _stats(model, batches, moves, seen, blocked, unmovable, hosts):
    by_action = {}
    stays = freed = 0
    for server in model.servers.values():
        if server.origin in hosts:
            by_action[server.action] = by_action.get(server.action, 0) + 1
            if server.action in FREES:
                freed += 1
            elif server.action not in MOVES:
                stays += 1
    moved = len(seen)
    return {'hosts': len(hosts), 'planned_hosts': sum(len(b) for b in batches), 'batches': len(batches),
            'largest_batch': max([len(b) for b in batches] or [0]),
            'servers_moved': moved, 'moves': len(moves), 'extra_moves': len(moves) - moved,
            'migrations_per_drained_server': round(len(moves) / moved, 4) if moved else 0.0,
            'servers_staying': stays, 'servers_freed': freed, 'by_action': dict(sorted(by_action.items())),
            'blocked_hosts': len(blocked), 'unmovable': len(unmovable)}


def _fallback_problems(model, moves):
    problems = []
    for move in moves:
        if move['fallback']:
            source = model.hosts[move['from']]
            problems.append('server %s is planned as %s, its policy\'s fallback: no host of zone %s that '
                            'takes it live (hypervisor version %s or newer) has room when %s is drained'
                            % (move['name'] or move['server'], move['action'], move['zone'],
                               source.version if source.version is not None else '?', move['from']))
    return problems


def _extra_problems(model, moves):
    problems = []
    by_server = {}
    for move in moves:
        by_server.setdefault(move['server'], []).append(move)
    for server_id in sorted(by_server):
        chain = by_server[server_id]
        if len(chain) > 1:
            steps = ', then '.join('%s -> %s (batch %d)' % (m['from'], m['to'], m['batch']) for m in chain)
            cost = model.servers[server_id].cost
            problems.append('server %s moves %d times: %s: zone %s had no maintained or spare host with room '
                            'when %s was drained; of the ways found to make room, this one costs least by SLA class '
                            '(this server: %d; cattle 1, pets 10, pandas 100)'
                            % (chain[0]['name'] or server_id, len(chain), steps, chain[0]['zone'], chain[0]['from'],
                               cost))
    return problems


def plan_campaign(snapshot, hosts, actions=None, default_action='live_migrate', max_batch=None,
                  max_incoming=None, max_outgoing=None, match_aggregates=False, zones='parallel',
                  target_version=None, retry_blocked=True, budgets=None):
    """Batches and destinations for maintaining ``hosts``; see the module docstring.  ``budgets``:
    the policy's availability budgets (budgets.validate_budgets)."""
    if zones not in ZONE_ORDERS:
        raise ValueError('zones must be one of %s, got %r' % (', '.join(ZONE_ORDERS), zones))
    groups, budget_problems = budget_groups(budgets, snapshot)
    no_later = set()
    over_budget = {}
    while True:
        plan, alone = _plan_campaign(snapshot, hosts, actions, default_action, max_batch, max_incoming,
                                     max_outgoing, match_aggregates, zones, target_version, retry_blocked,
                                     no_later, groups, over_budget)
        # A host that alone breaks a budget is left out; so is a host emptied onto as maintained
        # later, then blocked for good: plan again without them.
        if alone:
            over_budget.update(alone)
            continue
        landed = {m['to'] for m in plan['moves']} & {b['host'] for b in plan['blocked_hosts']}
        if not landed - no_later:
            plan['problems'] = budget_problems + plan['problems']
            return plan
        no_later |= landed


def _plan_campaign(snapshot, hosts, actions, default_action, max_batch, max_incoming, max_outgoing,
                   match_aggregates, zones, target_version, retry_blocked, no_later, groups, over_budget):
    model = Model(snapshot, actions, default_action, match_aggregates)
    plan = _Campaign(model, max_batch, max_incoming, max_outgoing, target_version, retry_blocked, no_later,
                     over_budget)
    names = _known_hosts(model, hosts, plan.problems)
    plan.campaign = set(names)
    pending_by_domain = {}
    for domain, members in _domains(model, names).items():
        for host in members:
            reason = plan.precheck(host)
            if reason:
                plan.block(host, reason)
            else:
                pending_by_domain.setdefault(domain, []).append(host)
    domain_hosts = _domains(model, model.hosts)
    waves = {}
    for index, domain in enumerate(sorted(pending_by_domain)):
        safe = Pool(h for h in domain_hosts[domain]
                    if h.name not in plan.campaign and h.known and h.up and h.enabled)
        waves[domain] = plan.zone(pending_by_domain[domain], safe, domain_hosts[domain],
                                  lambda wave, index=index: (index, wave))
        for host in domain_hosts[domain]:
            host.pool = None
    batches = _merge(waves, max_batch, zones)
    moves, seen = _moves(model, {name: i for i, batch in enumerate(batches) for name in batch})
    alone = {}
    spent = []
    if groups:
        # Cutting a batch keeps every server where it was at its host's turn: the same moves.
        effects = host_effects(snapshot, batches, moves, lambda sid: model.servers[sid].action)
        batches, alone = cut(groups, batches, effects)
        if alone:
            return None, alone
        moves, seen = _moves(model, {name: i for i, batch in enumerate(batches) for name in batch})
        spent = summary(groups, batches, effects)
    batch_of = {name: i for i, batch in enumerate(batches) for name in batch}
    stays = [{'server': server.id, 'name': server.name, 'host': host.name, 'batch': batch_of[host.name],
              'action': action, 'reason': reason} for server, host, action, reason in plan.stays]
    problems = plan.problems + _extra_problems(model, moves) + _fallback_problems(model, moves) + [
        'server %s stays on %s, planned as %s (its policy\'s fallback): %s'
        % (stay['name'] or stay['server'], stay['host'], stay['action'], stay['reason']) for stay in stays]
    stats = _stats(model, batches, moves, seen, plan.blocked, plan.unmovable, set(names))
    stats['waves_by_zone'] = {' '.join((domain[0],) + domain[1]): len(w) for domain, w in sorted(waves.items())}
    return {'mode': 'campaign', 'batches': batches, 'moves': moves, 'extra_moves': stats['extra_moves'],
            'stays': stays, 'blocked_hosts': plan.blocked, 'unmovable': plan.unmovable, 'problems': problems,
            'budgets': spent, 'stats': stats}, alone


def plan_consolidation(snapshot, count=None, hosts=None, actions=None, default_action='live_migrate',
                       max_batch=None, max_incoming=None, max_outgoing=None, match_aggregates=False):
    """Which hosts to empty and where their servers go; see the module docstring."""
    model = Model(snapshot, actions, default_action, match_aggregates)
    plan = _Campaign(model, max_batch, max_incoming, max_outgoing)
    names = _known_hosts(model, hosts if hosts is not None else sorted(model.hosts), plan.problems)
    pools = {}
    for host in model.hosts.values():
        if host.known and host.up and host.enabled:
            pools.setdefault(host.domain, Pool()).add(host)
    already = [n for n in names if not model.hosts[n].servers]
    for name in already:
        if model.hosts[name].pool is not None:
            model.hosts[name].pool.remove(model.hosts[name])
    candidates = sorted((model.hosts[n] for n in names if model.hosts[n].servers),
                        key=lambda h: (model.load(h)[1], model.load(h)[0], h.name))
    emptied = set(already)
    receivers = set()
    batches = []
    batch = []
    incoming = {}
    skipped = {}
    for host in candidates:
        if count is not None and len(emptied) >= count:
            break
        if host.name in receivers:
            continue
        staying = [s for s in host.servers.values() if s.action not in MOVES + FREES]
        reason = None
        if staying:
            reason = 'holds servers that stay (%s)' % ', '.join(
                '%s: %s' % (s.name or s.id, s.action) for s in staying[:3])
        else:
            reason = plan.precheck(host)
        if reason:
            skipped[host.name] = reason
            continue
        pool = pools.get(host.domain) or Pool()
        if host.pool is pool:
            pool.remove(host)
        if model.load(host)[0] > pool.free_ram:
            skipped[host.name] = 'the other hosts of its zone lack the RAM'
            _readd(host, pool)
            continue
        if max_batch and len(batch) >= max_batch:
            batches.append(batch)
            batch, incoming = [], {}
        placed = _consolidate_one(plan, host, pool, incoming, len(batches))
        if placed is None and batch:
            batches.append(batch)
            batch, incoming = [], {}
            placed = _consolidate_one(plan, host, pool, incoming, len(batches))
        if placed is None:
            skipped[host.name] = 'its servers do not all fit on the hosts kept'
            _readd(host, pool)
            continue
        receivers.update(placed)
        batch.append(host.name)
        emptied.add(host.name)
        for server in list(host.servers.values()):
            model.release(server)
    if batch:
        batches.append(batch)
    batch_of = {name: i for i, b in enumerate(batches) for name in b}
    moves, seen = _moves(model, batch_of)
    if count is not None and len(emptied) < count:
        plan.problems.append('only %d of %d hosts can be emptied (%d already empty)'
                             % (len(emptied), count, len(already)))
    stats = _stats(model, batches, moves, seen, [], [], set(batch_of))
    stats.update(already_empty=len(already), emptied=len(emptied) - len(already), candidates=len(names),
                 not_emptiable=len(skipped))
    return {'mode': 'consolidate', 'batches': batches, 'moves': moves, 'extra_moves': stats['extra_moves'],
            'blocked_hosts': [{'host': n, 'reason': r} for n, r in sorted(skipped.items())],
            'unmovable': [], 'problems': plan.problems, 'empty_hosts': sorted(emptied), 'stats': stats}


def _readd(host, pool):
    if host.known and host.up and host.enabled and host.pool is None:
        pool.add(host)


def _consolidate_one(plan, host, pool, incoming, step):
    """Destinations used when ``host`` can be emptied onto ``pool`` within this batch, else None."""
    model = plan.model
    trial = dict(incoming)
    model.begin()
    # Emptying a host is optional: never at the price of a cold migration (a guest reboot).
    if plan.drain(host, [pool], trial, cold=False):
        model.rollback()
        return None
    journal = model.commit(step)
    incoming.clear()
    incoming.update(trial)
    return {dest.name for _server, _src, dest, _action in journal}

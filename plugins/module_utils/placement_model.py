# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A mutable model of a cloud snapshot for the planner: where servers are, what room hosts have,
and the search for a destination.

Built from the snapshot of ``cloud_snapshot.build_snapshot``; only the planner (planner.py) uses it.
Resources are RAM (MiB), vCPUs and disk (GiB), from Placement's ``MEMORY_MB``, ``VCPU`` and
``DISK_GB``; a resource class a host does not report (disk on shared storage) never limits it.  A
class's ``max_unit`` is the most one server may take of it on that host (Placement leaves the host
out of the allocation candidates of a larger flavor, whatever is free); absent, it does not limit.
"""

from __future__ import annotations

from bisect import bisect_left, insort

from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import PREFIX

MOVES = ('live_migrate', 'cold_migrate')
# Actions after which the server no longer holds an allocation on its host.  Everything else
# (stop, suspend, leave, rebuild, shelve_partial: shelved but not offloaded, none) keeps it.
FREES = ('delete', 'shelve_offload')
# What a server may do instead of moving, kept on its host through the maintenance: the plan's last
# resort for a server that fits nowhere, when its policy falls back to one of these.
STAYS = ('stop', 'suspend', 'shelve_partial', 'leave')
RESOURCE_CLASSES = ('MEMORY_MB', 'VCPU', 'DISK_GB')
UNLIMITED = 1 << 60
GROUP_POLICIES = ('anti-affinity', 'affinity', 'soft-anti-affinity', 'soft-affinity')
# What a server moving twice costs, by SLA class: the planner puts extra moves on the servers that
# mind least.  A class of the operator's own counts as pets; a server of no known class as cattle.
EXTRA_MOVE_COST = {'cattle': 1, 'pets': 10, 'pandas': 100}
OTHER_CLASS_COST = 10


def action_of(actions, server_id, default):
    """The action chosen for a server and the actions its policy falls back to: ``actions`` maps
    server id to an action name, a decision dict (``Decision.to_dict()``, ``action`` and ``chain``)
    or an object with ``action`` and ``chain`` attributes."""
    value = (actions or {}).get(server_id)
    if value is None:
        return default, ()
    if isinstance(value, str):
        return value, ()
    if isinstance(value, dict):
        action, chain = value.get('action'), value.get('chain')
    else:
        action, chain = getattr(value, 'action', None), getattr(value, 'chain', None)
    action = action or default
    chain = list(chain or ())
    return action, tuple(chain[chain.index(action) + 1:] if action in chain else chain)


def stay_fallback(fallbacks):
    """The first action of ``fallbacks`` that keeps the server on its host (``STAYS``), or None."""
    return next((action for action in fallbacks if action in STAYS), None)


def extra_move_cost(actions, server_id):
    """What moving the server twice costs (``EXTRA_MOVE_COST``), from the ``sla_class`` its entry in
    ``actions`` names (a dict or an object, as in ``action_of``)."""
    value = (actions or {}).get(server_id)
    sla_class = value.get('sla_class') if isinstance(value, dict) else getattr(value, 'sla_class', None)
    if not sla_class:
        return EXTRA_MOVE_COST['cattle']
    return EXTRA_MOVE_COST.get(sla_class, OTHER_CLASS_COST)


def server_need(server):
    """(RAM MiB, vCPUs, disk GiB) a server's flavor allocates, as Nova asks Placement for it.

    Root disk counts even for volume-backed servers (the snapshot does not say which are): a
    conservative over-estimate.
    """
    flavor = server.get('flavor') or {}
    swap_gb = -(-int(flavor.get('swap') or 0) // 1024)
    disk = int(flavor.get('disk') or 0) + int(flavor.get('ephemeral') or 0) + swap_gb
    return (int(flavor.get('ram') or 0), int(flavor.get('vcpus') or 0), disk)


def _version(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _max_unit(values):
    try:
        return int(values['max_unit'])
    except (KeyError, TypeError, ValueError):
        return UNLIMITED


def too_large(server, host):
    """The resource classes of which ``server`` needs more than ``host``'s ``max_unit``."""
    return [rc for rc, need, unit in zip(RESOURCE_CLASSES, server.need, host.max_unit) if need > unit]


def other_type(source, dest):
    """A guest moved to another hypervisor type (QEMU to Xen) would not run there, live or cold."""
    return bool(source.kind and dest.kind and source.kind != dest.kind)


def live_refused(source, dest):
    """Nova's conductor refuses a live migration to another hypervisor type or an older version."""
    if other_type(source, dest):
        return True
    return source.version is not None and dest.version is not None and dest.version < source.version


class Host(object):
    __slots__ = ('name', 'zone', 'domain', 'free', 'servers', 'groups', 'known', 'up', 'enabled', 'held',
                 'pool', 'capacity', 'max_unit', 'version', 'kind')

    def __init__(self, name, record, match_aggregates):
        capacity = record.get('capacity') or {}
        self.name = name
        self.zone = record.get('zone')
        aggregates = tuple(sorted(record.get('aggregates') or ())) if match_aggregates else ()
        self.domain = (str(self.zone), aggregates)
        self.known = 'MEMORY_MB' in capacity
        self.free = [int(capacity[rc].get('free', 0)) if rc in capacity else UNLIMITED
                     for rc in RESOURCE_CLASSES]
        self.capacity = [int(capacity[rc].get('capacity', 0)) if rc in capacity else UNLIMITED
                         for rc in RESOURCE_CLASSES]
        self.max_unit = [_max_unit(capacity.get(rc)) for rc in RESOURCE_CLASSES]
        self.up = record.get('state', 'up') == 'up' and not record.get('forced_down')
        # Disabled takes nothing.  A host of the campaign is re-enabled by its restore (whoever disabled
        # it), so it takes servers once maintained; ``held``: disabled by the collection (a campaign
        # holds it), not by an operator.
        self.enabled = record.get('status', 'enabled') == 'enabled'
        self.held = not self.enabled and str(record.get('disabled_reason') or '').startswith(PREFIX)
        # A host maintained in the campaign keeps the version it has now (its patch may raise it,
        # but the plan cannot count on that) unless the campaign names the one it installs.
        self.version = _version(record.get('hypervisor_version'))
        self.kind = record.get('hypervisor_type')
        self.servers = {}     # id -> Server, in arrival order (deterministic iteration)
        self.groups = {}      # group id -> members here
        self.pool = None

    def key(self):
        return (self.free[0], self.free[1], self.free[2], self.name)


class Server(object):
    __slots__ = ('id', 'name', 'need', 'groups', 'host', 'origin', 'action', 'affinity', 'cold_ok', 'cost', 'stay')

    def __init__(self, record, action, groups, fallbacks=(), cost=1):
        self.id = record['id']
        self.name = record.get('name')
        self.need = server_need(record)
        self.groups = groups
        self.host = None
        self.origin = record.get('host')
        self.action = action
        # Its policy falls back to a cold migration when no host takes it live.
        self.cold_ok = action == 'live_migrate' and 'cold_migrate' in fallbacks
        # ... and to this action, which keeps it on its host, when it fits nowhere.
        self.stay = stay_fallback(fallbacks) if action in MOVES else None
        self.affinity = next((g for g in groups if g[1] == 'affinity'), None)
        self.cost = cost


class Pool(object):
    """Hosts a server may go to, sorted by free (RAM, vCPUs, disk): a bisection finds the tightest
    host with enough RAM, so placement is best fit without scanning every host."""

    def __init__(self, hosts=(), later=False):
        self.keys = []
        self.free_ram = 0
        # Hosts maintained later: what lands there must leave again, within max_outgoing.
        self.later = later
        for host in hosts:
            self.add(host)

    def add(self, host):
        insort(self.keys, host.key())
        self.free_ram += max(0, min(host.free[0], UNLIMITED))
        host.pool = self

    def remove(self, host):
        index = bisect_left(self.keys, host.key())
        del self.keys[index]
        self.free_ram -= max(0, min(host.free[0], UNLIMITED))
        host.pool = None

    def __len__(self):
        return len(self.keys)


class Model(object):
    """Hosts and servers of a snapshot, with moves applied (and undone) as the planner tries them."""

    def __init__(self, snapshot, actions=None, default_action='live_migrate', match_aggregates=False):
        self.hosts = {}
        self.servers = {}
        self.groups = {}          # id -> (policy, per-host limit, name, member ids)
        for name, record in sorted((snapshot.get('hypervisors') or {}).items()):
            self.hosts[name] = Host(name, record, match_aggregates)
        for gid, group in sorted((snapshot.get('server_groups') or {}).items()):
            policy = group.get('policy')
            if policy in GROUP_POLICIES:
                limit = int((group.get('rules') or {}).get('max_server_per_host') or 1)
                self.groups[gid] = (policy, limit, group.get('name') or gid, list(group.get('members') or ()))
        for sid, record in sorted((snapshot.get('servers') or {}).items()):
            host = self.hosts.get(record.get('host'))
            if host is None:
                continue
            groups = tuple((gid, self.groups[gid][0]) for gid in record.get('server_groups') or ()
                           if gid in self.groups)
            action, fallbacks = action_of(actions, sid, default_action)
            server = Server(record, action, groups, fallbacks, extra_move_cost(actions, sid))
            self.servers[sid] = server
            self._attach(server, host)
        self.max_outgoing = None
        self.journal = None   # list of (server, from, to, action) while moves are tentative
        self.moves = []       # committed: (server id, from, to, step, action)

    def _attach(self, server, host):
        server.host = host
        host.servers[server.id] = server
        for gid, _policy in server.groups:
            host.groups[gid] = host.groups.get(gid, 0) + 1

    def _detach(self, server):
        host = server.host
        del host.servers[server.id]
        for gid, _policy in server.groups:
            host.groups[gid] -= 1
        server.host = None
        return host

    def _change_free(self, host, need, sign):
        pool = host.pool
        if pool is not None:
            pool.remove(host)
        free = host.free
        free[0] += sign * need[0]
        free[1] += sign * need[1]
        free[2] += sign * need[2]
        if pool is not None:
            pool.add(host)

    def move(self, server, dest, action=None):
        source = self._detach(server)
        self._change_free(source, server.need, 1)
        self._change_free(dest, server.need, -1)
        self._attach(server, dest)
        if self.journal is not None:
            self.journal.append((server, source, dest, action or server.action))

    def release(self, server):
        """The server's allocation leaves its host (deleted or offloaded)."""
        host = self._detach(server)
        self._change_free(host, server.need, 1)

    def begin(self):
        self.journal = []

    def rollback(self):
        journal, self.journal = self.journal, None
        for server, source, dest, _action in reversed(journal):
            self._detach(server)
            self._change_free(dest, server.need, 1)
            self._change_free(source, server.need, -1)
            self._attach(server, source)

    def commit(self, step):
        journal, self.journal = self.journal, None
        for server, source, dest, action in journal:
            self.moves.append((server.id, source.name, dest.name, step, action))
        return journal

    # ---- what has to leave a host ------------------------------------------------------------

    def movers(self, host):
        return [s for s in host.servers.values() if s.action in MOVES]

    def units(self, host, sensitive_first=False):
        """What must leave ``host``: single servers, and the moving members of each hard affinity
        group here together (they go to one host); hard group members first, then largest first
        (``sensitive_first``: the units whose extra move costs most before all others)."""
        units = []
        together = {}
        for server in host.servers.values():
            if server.action not in MOVES:
                continue
            if server.affinity is None:
                units.append([server])
            else:
                together.setdefault(server.affinity[0], []).append(server)
        units.extend(together.values())
        # Members of hard groups have the fewest places to go: they choose first.
        units.sort(key=lambda unit: (not any(p in ('anti-affinity', 'affinity') for _g, p in unit[0].groups),
                                     -sum(s.need[0] for s in unit), -sum(s.need[1] for s in unit),
                                     -sum(s.need[2] for s in unit), unit[0].id))
        if sensitive_first:
            units.sort(key=lambda unit: -max(s.cost for s in unit))
        return units

    def split_affinity(self, host):
        """Hard affinity groups with members leaving ``host`` and members staying on it."""
        leaving = {}
        staying = {}
        for server in host.servers.values():
            if server.affinity is None or server.action in FREES:
                continue
            side = leaving if server.action in MOVES else staying
            side.setdefault(server.affinity[0], []).append(server)
        return {gid: (leaving[gid], staying[gid]) for gid in sorted(leaving) if gid in staying}

    def load(self, host):
        ram = count = 0
        for server in host.servers.values():
            if server.action in MOVES:
                ram += server.need[0]
                count += 1
        return ram, count

    # ---- where a unit may go ----------------------------------------------------------------

    def refusal(self, unit, host, incoming, max_incoming, soft, live=True):
        """Why ``unit`` may not land on ``host`` now ('type', 'version', 'max_unit', 'room',
        'anti-affinity', 'incoming', 'outgoing', 'soft'), or None."""
        if other_type(unit[0].host, host):
            return 'type'
        ram = vcpus = disk = 0
        counts = {}
        for server in unit:
            if live and server.action == 'live_migrate' and live_refused(server.host, host):
                return 'version'
            ram += server.need[0]
            vcpus += server.need[1]
            disk += server.need[2]
            for gid, _policy in server.groups:
                counts[gid] = counts.get(gid, 0) + 1
        free = host.free
        if free[0] < ram or free[1] < vcpus or free[2] < disk:
            return 'room'
        limit = host.max_unit
        for server in unit:
            need = server.need
            if need[0] > limit[0] or need[1] > limit[1] or need[2] > limit[2]:
                return 'max_unit'
        if max_incoming is not None and incoming.get(host.name, 0) + len(unit) > max_incoming:
            return 'incoming'
        if host.pool is not None and host.pool.later and self.max_outgoing is not None \
                and len(self.movers(host)) + len(unit) > self.max_outgoing:
            return 'outgoing'
        for gid, count in counts.items():
            policy, limit = self.groups[gid][0], self.groups[gid][1]
            if policy == 'anti-affinity' and host.groups.get(gid, 0) + count > limit:
                return 'anti-affinity'
            if soft and policy == 'soft-anti-affinity' and host.groups.get(gid, 0) + count > limit:
                return 'soft'
        return None

    def _preferred(self, unit, pool):
        """Hosts in ``pool`` holding other members of the unit's (soft) affinity groups."""
        ids = {s.id for s in unit}
        found = []
        for gid, policy in unit[0].groups:
            if policy not in ('affinity', 'soft-affinity'):
                continue
            for member in self.groups[gid][3]:
                other = self.servers.get(member)
                if other is not None and other.id not in ids and other.host is not None \
                        and other.host.pool is pool and other.host not in found:
                    found.append(other.host)
        return found

    def find(self, unit, pool, source, incoming, max_incoming, live=True):
        """The best-fit host of ``pool`` for ``unit`` (a list of servers that go together), or None.
        ``live=False``: its live migrations planned as cold ones (no hypervisor version rule)."""
        soft = any(policy == 'soft-anti-affinity' for s in unit for _gid, policy in s.groups)
        for host in self._preferred(unit, pool):
            if host is not source and self.refusal(unit, host, incoming, max_incoming, False, live) is None:
                return host
        ram = sum(s.need[0] for s in unit)
        keys = pool.keys
        start = bisect_left(keys, (ram,))
        for strict in ((True, False) if soft else (False,)):
            for index in range(start, len(keys)):
                host = self.hosts[keys[index][3]]
                if host is not source and self.refusal(unit, host, incoming, max_incoming, strict, live) is None:
                    return host
        return None

    def place(self, unit, dest, incoming, action=None):
        for server in unit:
            self.move(server, dest, action)
        incoming[dest.name] = incoming.get(dest.name, 0) + len(unit)

    def describe(self, unit):
        ram = sum(s.need[0] for s in unit)
        vcpus = sum(s.need[1] for s in unit)
        disk = sum(s.need[2] for s in unit)
        names = ', '.join(s.name or s.id for s in unit)
        what = 'server %s' % names if len(unit) == 1 else 'affinity group %s (%s)' % (
            self.groups[unit[0].affinity[0]][2], names)
        return '%s (%d MiB RAM, %d vCPUs, %d GB disk)' % (what, ram, vcpus, disk)

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Figures of a finished campaign, from what the cloud and the simulated hypervisors recorded.

Pure functions over plain data, so that both benchmark runs are measured the same way:

- migrations: Nova's migration records (``/os-migrations``) created during the run;
- events: the simulated hypervisors' own records (``.sandbox/computes/<host>/events.jsonl``),
  which carry each live migration's real downtime;
- stops: when a server was stopped and started again (its instance actions).
"""

from __future__ import annotations

MOVED = ('completed', 'finished', 'confirmed', 'done')


def migrations_per_server(migrations):
    """(moves, servers moved, moves per server moved) of the completed migrations."""
    done = [m for m in migrations if m.get('status') in MOVED]
    servers = {m['instance_uuid'] for m in done}
    return len(done), len(servers), (len(done) / len(servers) if servers else 0.0)


def downtime_by_server(events, stops):
    """Server id -> seconds it did not run: live migration downtime (as the hypervisor measured
    it), cold migrations (shut down, copied, booted) and stopped spells (stop to start)."""
    down = {}
    for event in events:
        if event.get('event') == 'live_migration' and event.get('outcome') == 'completed':
            down[event['instance']] = down.get(event['instance'], 0.0) + event.get('downtime_ms', 0) / 1000.0
        elif event.get('event') == 'cold_migration' and event.get('outcome') in ('completed', None):
            down[event['instance']] = down.get(event['instance'], 0.0) + float(event.get('seconds') or 0)
    for server_id, spells in stops.items():
        down[server_id] = down.get(server_id, 0.0) + sum(end - start for start, end in spells)
    return down


def fair_lower_bound_s(batches, moves, link_mbps, reboot_s, notice_s=None):
    """The shortest time the campaign's own plan allows: per batch, the busiest link (a host's
    outgoing transfers, or the transfers into one destination) at ``link_mbps``, then the reboot;
    plus the part of each batch's notice that cannot overlap earlier work (the first batch's whole
    notice; a later one's beyond the previous batch's reboot, during which it may run).

    ``batches``: [[host, ...], ...] in order; ``moves``: [(source, destination, MiB sent)], each
    counted in the batch that drains its source (moves from a host of no batch count nowhere);
    ``notice_s``: per batch, the notice its servers need (0 without)."""
    notice_s = list(notice_s or [])
    batch_of = {host: index for index, batch in enumerate(batches) for host in batch}
    out = [{} for batch in batches]
    into = [{} for batch in batches]
    for source, destination, mib in moves:
        index = batch_of.get(source)
        if index is None:
            continue
        out[index][source] = out[index].get(source, 0.0) + mib
        into[index][destination] = into[index].get(destination, 0.0) + mib
    total = 0.0
    for index in range(len(batches)):
        busiest = max(list(out[index].values()) + list(into[index].values()) + [0.0])
        notice = notice_s[index] if index < len(notice_s) else 0.0
        hidden = reboot_s if index else 0.0
        total += max(0.0, notice - hidden) + busiest / link_mbps + reboot_s
    return total


def over_limit(downtime, classes, limits_ms):
    """[(server id, class, seconds down, limit s)] of the servers down longer than their class allows."""
    found = []
    for server_id, seconds in sorted(downtime.items()):
        klass = classes.get(server_id)
        limit = limits_ms.get(klass)
        if limit is not None and seconds * 1000.0 > limit:
            found.append((server_id, klass, round(seconds, 3), limit / 1000.0))
    return found


def union_s(intervals):
    """Seconds covered by at least one of ``intervals`` [(start, end)]."""
    covered, current_start, current_end = 0.0, None, None
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if current_end is None or start > current_end:
            if current_end is not None:
                covered += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        covered += current_end - current_start
    return covered


def controller_overhead_s(start, end, busy):
    """Seconds of the run in which the cloud was doing nothing for the campaign: no migration,
    no reboot, no notice running (``busy`` intervals, clipped to the run)."""
    clipped = [(max(start, a), min(end, b)) for a, b in busy]
    return max(0.0, (end - start) - union_s(clipped))

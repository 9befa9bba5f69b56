# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Whether the rest of the cloud can take in what a batch of drained hosts must give up.

Pure functions over plain data: hosts {name: {free_ram_mb, free_vcpus, usable, zone}}, the servers
that must move {host: [{id, name, ram, vcpus, zone}]}, anti-affinity groups [{name, members}],
and where every server is (server id -> host).
"""

from __future__ import annotations


def batches(hosts, size):
    size = max(1, size)
    return [hosts[i:i + size] for i in range(0, len(hosts), size)]


def check_batch(batch, hosts, moving, groups, placement):
    """Problems (strings) that stop ``batch`` from being drained at once; empty when it fits.

    Receiving hosts are the usable hosts outside the batch. RAM and vCPU are checked per zone
    (a server booted in a zone stays in it), anti-affinity groups by counting the receiving
    hosts that hold no member of the group.
    """
    problems = []
    receivers = {name: info for name, info in hosts.items()
                 if info.get('usable') and name not in batch}
    by_zone = {}
    for host in batch:
        for server in moving.get(host, []):
            need = by_zone.setdefault(server.get('zone'), {'ram': 0, 'vcpus': 0, 'servers': 0})
            need['ram'] += server.get('ram', 0)
            need['vcpus'] += server.get('vcpus', 0)
            need['servers'] += 1
    for zone, need in sorted(by_zone.items(), key=lambda kv: str(kv[0])):
        pool = [info for info in receivers.values() if zone is None or info.get('zone') in (None, zone)]
        ram = sum(info.get('free_ram_mb', 0) for info in pool)
        # vCPUs are checked only where the hosts' free vCPUs (after overcommit) are known.
        known_vcpus = all('free_vcpus' in info for info in pool)
        vcpus = sum(info.get('free_vcpus', 0) for info in pool)
        label = 'zone %s' % zone if zone else 'the cloud'
        if need['ram'] > ram:
            problems.append('%s: %d servers need %d MiB RAM, the other usable hosts have %d MiB free'
                            % (label, need['servers'], need['ram'], ram))
        if known_vcpus and need['vcpus'] > vcpus:
            problems.append('%s: %d servers need %d vCPUs, the other usable hosts have %d free'
                            % (label, need['servers'], need['vcpus'], vcpus))
    moving_ids = {s['id'] for host in batch for s in moving.get(host, [])}
    for group in groups:
        members = set(group.get('members') or [])
        leaving = members & moving_ids
        if not leaving:
            continue
        occupied = {placement.get(m) for m in members - leaving}
        free_hosts = [name for name in receivers if name not in occupied]
        if len(free_hosts) < len(leaving):
            problems.append('anti-affinity group %s: %d members must move but only %d usable hosts '
                            'hold no member' % (group.get('name'), len(leaving), len(free_hosts)))
    return problems


def largest_batch_size(order, hosts, moving, groups, placement, limit=None):
    """The largest batch size for which every batch of ``order`` fits, at least 1."""
    best = 1
    for size in range(1, min(len(order), limit or len(order)) + 1):
        if all(not check_batch(b, hosts, moving, groups, placement) for b in batches(order, size)):
            best = size
        else:
            break
    return best


def interleave_zones(order, hosts):
    """Hosts reordered so that consecutive hosts alternate between zones (stable within a zone):
    a batch then takes one host from each zone rather than emptying one zone."""
    by_zone = {}
    zones = []
    for name in order:
        zone = (hosts.get(name) or {}).get('zone')
        if zone not in by_zone:
            by_zone[zone] = []
            zones.append(zone)
        by_zone[zone].append(name)
    result = []
    while any(by_zone.values()):
        for zone in zones:
            if by_zone[zone]:
                result.append(by_zone[zone].pop(0))
    return result

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: maintenance_plan
short_description: Plan a maintenance campaign or a consolidation, batch by batch and server by server
version_added: 0.1.0
author: cloudmaint.openstack contributors (@cloudmaint)
description:
  - Takes one snapshot of the cloud (hypervisors, compute services, aggregates, Placement capacity, every server and
    server group, in a few requests whatever the fleet size), resolves each server's action through the maintenance
    policy, and plans the campaign.
  - O(mode=campaign) orders O(hosts) into batches and gives every server that must move (C(live_migrate),
    C(cold_migrate)) a destination that is either outside the campaign or already maintained, so it moves once.
    Room is counted from Placement per resource class; servers stay in their zone; a live migration goes to a host
    of the same hypervisor type and no older version (Nova refuses the others), or, when none has room and the
    server's policy falls back to C(cold_migrate), is planned as that cold migration (RV(actions_by_host)); hard
    anti-affinity and affinity groups hold after every batch. When a zone has no room at all, a host is emptied onto
    hosts maintained later and those servers move twice (RV(extra_moves)); the planner picks the host and the
    servers whose extra moves cost least by SLA class (pandas 100, pets 10, cattle 1).
  - O(mode=campaign) keeps the availability budgets of the policy (C(budgets), see docs/policy.md) by cutting
    batches; a host that alone would break a budget is left out (RV(blocked_hosts)). A budget naming a server group
    the cloud does not have fails the module before anything is planned.
  - O(mode=consolidation) picks up to O(count) hosts among O(hosts) to empty, fewest migrations first, and where
    their servers go.
  - The plan is checked by an independent validator before it is returned; a plan that breaks a rule is a bug of
    the planner and fails the module with every violation.
  - Reads only, changes nothing; safe in check mode.
extends_documentation_fragment:
  - cloudmaint.openstack.cloud
  - cloudmaint.openstack.policy
  - cloudmaint.openstack.policy.importance
options:
  hosts:
    description:
      - The compute hosts of the campaign (O(mode=campaign)) or the hosts that may be emptied (O(mode=consolidation)).
      - Every name must be a known compute host.
    type: list
    elements: str
    required: true
  mode:
    description: Plan a rolling maintenance campaign or the emptying of hosts.
    type: str
    choices: [campaign, consolidation]
    default: campaign
  count:
    description:
      - O(mode=consolidation) only, how many hosts to empty. Omitted, as many as possible.
    type: int
  max_batch:
    description: Most hosts drained at once. Omitted, as many as the room allows.
    type: int
  max_incoming:
    description: Most migrations into one host within a batch. Omitted, no limit.
    type: int
  max_outgoing:
    description:
      - Most migrations out of one host within a batch. A host with more servers to move is left out of the plan
        (RV(blocked_hosts)). Omitted, no limit.
    type: int
  zones:
    description:
      - O(mode=campaign) only. C(parallel) drains the zones side by side (the n-th batch of every zone together),
        C(serial) finishes one zone before the next.
    type: str
    choices: [parallel, serial]
    default: parallel
  target_version:
    description:
      - O(mode=campaign) only. The hypervisor version the campaign installs (the release being rolled out), dotted
        (C(8.2.2)) or as Nova reports it (C(8002002)). A host counts at this version once maintained, so servers of
        hosts already on it may go there live. Omitted, a maintained host counts at the version it runs now (a
        campaign that only reboots).
    type: str
  forecast:
    description:
      - O(mode=campaign) only. Settings of the forecast (RV(forecast)), each in seconds unless said otherwise; those
        left out keep their default.
      - C(link_mbps) (MiB/s a host's link carries, default 1250), C(precopy_factor) (how many times a live
        migration sends the guest's RAM, default 1.3), C(per_migration_s) (5), C(shutdown_s) (60), C(boot_s) (30),
        C(patch_s) (120), C(reboot_s) (300, firmware included), C(verify_s) (30).
    type: dict
    default: {}
  allow_extra_moves:
    description:
      - Whether a plan in which some servers move twice is acceptable. When false and the plan needs extra moves,
        the module fails saying which servers and why.
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Plan the patch campaign of every hypervisor
  cloudmaint.openstack.maintenance_plan:
    cloud: sandbox
    hosts: "{{ groups['hypervisors'] }}"
    policy: "{{ cloudmaint_policy | default({}) }}"
    importance: medium
    max_batch: 2
  register: plan

- name: Drain each host onto the planned destinations
  cloudmaint.openstack.host_drain:
    cloud: sandbox
    host: "{{ item }}"
    destinations: "{{ plan.destinations_by_host[item] | default({}) }}"
    planned_actions: "{{ plan.actions_by_host[item] | default({}) }}"
  loop: "{{ plan.batches | flatten }}"

- name: Which two hosts could be emptied, without any server moving twice
  cloudmaint.openstack.maintenance_plan:
    cloud: sandbox
    mode: consolidation
    hosts: [hv01, hv02, hv03, hv04, hv05, hv06]
    count: 2
    allow_extra_moves: false
  register: consolidation
'''

RETURN = r'''
mode:
  description: C(campaign) or C(consolidation).
  returned: always
  type: str
batches:
  description: The hosts to drain, batch by batch, in order.
  returned: always
  type: list
  elements: list
  sample: [["hv01", "hv04"], ["hv02", "hv05"], ["hv03", "hv06"]]
destinations:
  description:
    - Server id to the host the server goes to when the host it is on now is drained (its first move), for
      M(cloudmaint.openstack.host_drain)'s O(cloudmaint.openstack.host_drain#module:destinations).
  returned: always
  type: dict
  sample: {"7b3f1aeb-2c64-4fda-84e3-c0708132f123": "hv02"}
destinations_by_host:
  description:
    - Per drained host, server id to destination of the servers leaving it in its batch. Exact also when a server
      moves twice (the drain of each host gets its own leg).
  returned: always
  type: dict
  sample: {"hv01": {"7b3f1aeb-2c64-4fda-84e3-c0708132f123": "hv02"}}
actions_by_host:
  description:
    - Per drained host, server id to the action planned when it is not the policy's first choice (C(cold_migrate),
      the policy's fallback, for a server no host with room would take live), for
      M(cloudmaint.openstack.host_drain)'s O(cloudmaint.openstack.host_drain#module:planned_actions).
  returned: always
  type: dict
  sample: {"hv05": {"7b3f1aeb-2c64-4fda-84e3-c0708132f123": "cold_migrate"}}
moves:
  description: Every migration, in batch order.
  returned: always
  type: list
  elements: dict
  contains:
    server:
      description: Server id.
      type: str
    name:
      description: Server name.
      type: str
    from:
      description: Source host.
      type: str
    to:
      description: Destination host.
      type: str
    batch:
      description: Index in RV(batches) of the batch in which the move happens.
      type: int
    action:
      description: C(live_migrate) or C(cold_migrate).
      type: str
    fallback:
      description: The action is the policy's fallback, not its first choice (see RV(actions_by_host)).
      type: bool
    zone:
      description: Availability zone.
      type: str
    ram_mb:
      description: RAM of the server's flavor, MiB.
      type: int
    vcpus:
      description: vCPUs of the server's flavor.
      type: int
    disk_gb:
      description: Disk the server allocates, GiB.
      type: int
    extra:
      description: This move is not the server's last (it moves again later).
      type: bool
    affinity_group:
      description: The hard affinity group the server moves with, or null.
      type: str
stays:
  description:
    - O(mode=campaign) only, the servers that fit on no host, kept on their host through its maintenance as their
      policy falls back to (C(stop), C(suspend), C(shelve_partial) or C(leave); also in RV(actions_by_host)), with
      the batch and why. Such hosts are drained last in their zone; a server moves twice rather than stop.
  returned: when O(mode=campaign)
  type: list
  elements: dict
  sample: [{"server": "7b3f1aeb-2c64-4fda-84e3-c0708132f123", "name": "etl-09", "host": "hv03", "batch": 2,
            "action": "stop", "reason": "server etl-09 (65536 MiB RAM, 8 vCPUs, 80 GB disk) fits on no host of zone
            az1: 3 lack room"}]
extra_moves:
  description: Moves beyond one per server.
  returned: always
  type: int
blocked_hosts:
  description: Hosts left out of the plan (campaign) or that cannot be emptied (consolidation), with the reason.
  returned: always
  type: list
  elements: dict
  sample: [{"host": "hv06", "reason": "compute service is down: its 5 servers to move cannot be migrated"}]
unmovable:
  description: Servers that fit nowhere, with the host they are on and why.
  returned: always
  type: list
  elements: dict
problems:
  description: Human-readable lines, one per blocked host, server that moves twice or shortfall.
  returned: always
  type: list
  elements: str
forecast:
  description:
    - O(mode=campaign) only, the expected seconds of the campaign and of each batch, the sum of the notice (the
      longest period among the servers acted on), the drain (the busiest link, out of a host or into a destination,
      and Nova's work per migration), patch, reboot, verify and the restore's boots. See O(forecast).
  returned: when O(mode=campaign)
  type: dict
  sample: {"seconds": 1498.0, "batches": [{"batch": 0, "hosts": ["hv01", "hv04"], "seconds": 512.4, "notice_s": 60.0,
           "drain_s": 22.4, "restore_s": 0.0}], "settings": {"reboot_s": 300.0}}
budgets:
  description:
    - O(mode=campaign) only, per availability budget of the policy, what the plan spends of it. C(most_unavailable)
      counts the members unavailable in the batch where they are most (those already not ACTIVE included).
  returned: when O(mode=campaign)
  type: list
  elements: dict
  sample: [{"name": "db-quorum", "members": 3, "max_unavailable": 1, "already_unavailable": 0,
            "most_unavailable": 1}]
empty_hosts:
  description: O(mode=consolidation) only, the hosts empty at the end (including those empty already).
  returned: when O(mode=consolidation)
  type: list
  elements: str
stats:
  description: Counts (hosts, batches, servers moved, moves, extra moves, servers staying, by action).
  returned: always
  type: dict
hosts:
  description:
    - Per host of O(hosts), its zone, batch (index or null), compute service state, free RAM before, the servers on it
      with their action and destination, and counts of moves out and in.
  returned: always
  type: dict
  sample: {"hv01": {"zone": "az1", "batch": 0, "state": "up", "status": "enabled", "free_ram_mb": 30720,
           "moves_out": 4, "moves_in": 0, "blocked": null,
           "servers": [{"id": "7b3f1aeb-2c64-4fda-84e3-c0708132f123", "name": "etl-01", "status": "ACTIVE",
                        "sla_class": "cattle", "action": "live_migrate", "to": "hv02", "ram_mb": 2048,
                        "downtime_limit_ms": 30000, "notice_s": 0, "completion_timeout_s": 20,
                        "reason": "SLA class cattle: live_migrate, fallbacks cold_migrate, stop"}]}}
snapshot:
  description:
    - What the snapshot cost, when it was taken and its warnings. C(request_count) counts the API requests,
      C(http_requests) everything sent over the wire (token and version discovery included).
  returned: always
  type: dict
  sample: {"fetched_at": "2026-11-21T14:02:11Z", "request_count": 11, "http_requests": 14, "fetch_s": 0.41,
           "requests_by_service": {"compute": 7, "identity": 1, "placement": 3}, "warnings": []}
timing:
  description: Seconds spent fetching the snapshot (authentication included), and planning and checking the plan.
  returned: always
  type: dict
  sample: {"snapshot_s": 0.45, "plan_s": 0.003}
'''

import time

from ansible_collections.cloudmaint.openstack.plugins.module_utils.campaign_plan import (
    MODES,
    destinations,
    extra_moves_message,
    host_summaries,
    make_plan,
    option_problems,
    planned_actions,
    resolve_decisions,
    unknown_budget_groups,
    unknown_hosts,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.cloud_snapshot import fetch_snapshot
from ansible_collections.cloudmaint.openstack.plugins.module_utils.forecast import forecast
from ansible_collections.cloudmaint.openstack.plugins.module_utils.openstack_module import CloudmaintModule


class MaintenancePlanModule(CloudmaintModule):
    argument_spec = dict(
        hosts=dict(type='list', elements='str', required=True),
        mode=dict(type='str', default='campaign', choices=list(MODES)),
        count=dict(type='int'),
        policy=dict(type='dict', default={}),
        importance=dict(type='str', default='medium', choices=['high', 'medium', 'low']),
        max_batch=dict(type='int'),
        max_incoming=dict(type='int'),
        max_outgoing=dict(type='int'),
        zones=dict(type='str', default='parallel', choices=['parallel', 'serial']),
        target_version=dict(type='str'),
        allow_extra_moves=dict(type='bool', default=True),
        forecast=dict(type='dict', default={}),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        p = self.params
        problems = option_problems(p)
        if problems:
            self.fail('; '.join(problems))
        policy = self.load_policy(p['policy'])
        started = time.monotonic()
        snapshot = fetch_snapshot(self.nova)
        fetched = time.monotonic()
        unknown = unknown_hosts(snapshot, p['hosts'])
        if unknown:
            self.fail('unknown host(s): %s (compute hosts: %s)'
                      % (', '.join(unknown), ', '.join(sorted(snapshot['hypervisors']))))
        budgets = policy.data['budgets']
        problems = unknown_budget_groups(snapshot, budgets)
        if problems:
            self.fail('; '.join(problems))
        decisions = resolve_decisions(snapshot, policy, p['importance'], p['hosts'])
        actions = {sid: {'action': d.action, 'chain': list(d.chain), 'sla_class': d.sla_class}
                   for sid, d in decisions.items()}
        plan, violations = make_plan(snapshot, p, actions, budgets)
        planned = time.monotonic()
        if violations:
            self.fail('the planner made a plan that breaks %d rule(s); this is a bug, please report it:\n%s'
                      % (len(violations), '\n'.join(violations)), violations=violations, plan=plan)
        if plan['extra_moves'] and not p['allow_extra_moves']:
            self.fail(extra_moves_message(plan), **plan)
        first, by_host = destinations(plan['moves'])
        result = dict(plan, destinations=first, destinations_by_host=by_host,
                      actions_by_host=planned_actions(plan['moves'], plan.get('stays') or ()),
                      hosts=host_summaries(snapshot, p['hosts'], plan, decisions))
        if p['mode'] == 'campaign':
            result['forecast'] = forecast(plan, result['hosts'], p['forecast'])
        result['snapshot'] = {'fetched_at': snapshot['fetched_at'], 'request_count': snapshot['request_count'],
                              'http_requests': snapshot['http_requests'],
                              'requests_by_service': snapshot['requests_by_service'],
                              'fetch_s': snapshot['timing']['fetch_s'], 'warnings': snapshot['warnings']}
        result['timing'] = {'snapshot_s': round(fetched - started, 3), 'plan_s': round(planned - fetched, 3)}
        for warning in snapshot['warnings']:
            self.warn(warning)
        return result


def main():
    MaintenancePlanModule()()


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: campaign_preflight
short_description: Check a maintenance campaign before any host is touched
version_added: 0.1.0
author: cloudmaint.openstack contributors (@cloudmaint)
description:
  - Fails, saying why, when the campaign should not start. The policy is invalid (each bad key is named by its path);
    a host is unknown; a compute service is down or forced down (a host is already failing); or a batch of O(hosts)
    drained at once could not be absorbed by the other usable hosts (RAM per availability zone, anti-affinity server
    groups).
  - Returns the normalized policy, the plan of each server (what the policy decides), the capacity check of each batch,
    and the largest batch size that fits.
  - Reads only; safe in check mode.
extends_documentation_fragment:
  - cloudmaint.openstack.cloud
options:
  hosts:
    description: The hosts of the campaign, in the order they will be done.
    type: list
    elements: str
    required: true
  batch_size:
    description: How many hosts are drained at once. 0 means the largest size that fits.
    type: int
    default: 1
  order:
    description:
      - C(given) keeps O(hosts) in the order given. C(zones) alternates between availability zones, so a batch takes
        one host from each zone instead of emptying one zone.
    type: str
    choices: [given, zones]
    default: zones
  policy:
    description: The maintenance policy (C(cloudmaint_policy)).
    type: dict
    default: {}
  importance:
    description: Importance of the campaign (selects the live-migration completion policy).
    type: str
    choices: [high, medium, low]
    default: medium
  campaign:
    description:
      - The campaign's identifier. Hosts this campaign disabled (an interrupted run being resumed) count as room for
        the batches after theirs, since they are restored before those batches start.
    type: str
  allow_down_hosts:
    description: Hosts (outside O(hosts) or inside it) whose compute service may be down without failing the check.
    type: list
    elements: str
    default: []
  fail_on_capacity:
    description: Fail when a batch does not fit. When false the problems are only reported.
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Check the campaign before touching anything
  cloudmaint.openstack.campaign_preflight:
    cloud: sandbox
    hosts: "{{ groups['hypervisors'] }}"
    batch_size: 2
    policy: "{{ cloudmaint_policy | default({}) }}"
  register: preflight
'''

RETURN = r'''
policy:
  description: The validated policy, with defaults filled in.
  returned: always
  type: dict
batches:
  description: Each batch with the hosts in it and the capacity problems found (empty when it fits).
  returned: always
  type: list
  elements: dict
order:
  description: The hosts in the order the campaign should take them.
  returned: always
  type: list
  elements: str
largest_batch_size:
  description: The largest batch size for which every batch fits.
  returned: always
  type: int
servers:
  description: Per host, the servers on it with the action the policy decides for each.
  returned: always
  type: dict
down_hosts:
  description: Compute services that are down or forced down.
  returned: always
  type: list
  elements: str
'''

from ansible_collections.cloudmaint.openstack.plugins.module_utils import capacity
from ansible_collections.cloudmaint.openstack.plugins.module_utils import server_actions as sa
from ansible_collections.cloudmaint.openstack.plugins.module_utils.drain import MOVES
from ansible_collections.cloudmaint.openstack.plugins.module_utils.maintenance_module import (
    MaintenanceModule,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import campaign_problem, held_by, policy_view

RUNNING = ('ACTIVE', 'PAUSED')


class CampaignPreflightModule(MaintenanceModule):
    argument_spec = dict(
        hosts=dict(type='list', elements='str', required=True),
        batch_size=dict(type='int', default=1),
        policy=dict(type='dict', default={}),
        importance=dict(type='str', default='medium', choices=['high', 'medium', 'low']),
        allow_down_hosts=dict(type='list', elements='str', default=[]),
        campaign=dict(type='str'),
        order=dict(type='str', default='zones', choices=['given', 'zones']),
        fail_on_capacity=dict(type='bool', default=True),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        p = self.params
        if p['batch_size'] < 0:
            self.fail('batch_size must be 0 (the largest that fits) or more, got %d' % p['batch_size'])
        problem = campaign_problem(p['campaign'])
        if problem:
            self.fail(problem)
        policy = self.load_policy(p['policy'])
        services = {s['host']: s for s in self.nova.compute_services()}
        unknown = [h for h in p['hosts'] if h not in services]
        if unknown:
            self.fail('unknown host(s): %s (nova-compute hosts: %s)'
                      % (', '.join(unknown), ', '.join(sorted(services))))
        down = sorted(h for h, s in services.items() if s['state'] != 'up' or s.get('forced_down'))
        failing = [h for h in down if h not in p['allow_down_hosts']]
        if failing:
            self.fail('compute service down on %s: fix it (or list it in allow_down_hosts) before '
                      'starting a campaign' % ', '.join(failing), down_hosts=down)

        hosts = self._hosts(services)
        plan, moving, placement = self._plan(policy, p['hosts'], hosts)
        groups = [g for g in self.nova.server_groups() if g.get('policy') == 'anti-affinity']
        order = list(p['hosts'])
        if p['order'] == 'zones':
            order = capacity.interleave_zones(order, hosts)
        largest = capacity.largest_batch_size(order, hosts, moving, groups, placement)
        size = p['batch_size'] or largest
        checked = []
        for batch in capacity.batches(order, size):
            checked.append({'hosts': batch,
                            'problems': capacity.check_batch(batch, hosts, moving, groups,
                                                             placement)})
        result = dict(policy=policy.data, order=order, batches=checked, largest_batch_size=largest,
                      batch_size=size, servers=plan, down_hosts=down,
                      requests=self.nova.requests)
        problems = ['%s: %s' % ('+'.join(b['hosts']), '; '.join(b['problems']))
                    for b in checked if b['problems']]
        if problems and p['fail_on_capacity']:
            self.fail('not enough room for batches of %d (largest that fits: %d):\n%s'
                      % (size, largest, '\n'.join(problems)), **result)
        return result

    def _hosts(self, services):
        hypervisors = self.nova.hypervisors()
        zones = self.nova.zones_by_host()
        ours = held_by(self.params['campaign']) \
            if self.params['campaign'] else None
        hosts = {}
        for hv in hypervisors:
            name = (hv.get('service') or {}).get('host') or hv['hypervisor_hostname']
            service = services.get(name, {})
            enabled = service.get('status') == 'enabled' or bool(
                ours and (service.get('disabled_reason') or '').startswith(ours))
            hosts[name] = {
                'usable': service.get('state') == 'up' and enabled,
                'free_ram_mb': (hv.get('memory_mb') or 0) - (hv.get('memory_mb_used') or 0),
                'zone': zones.get(name),
            }
        return hosts

    def _plan(self, policy, targets, hosts):
        plan, moving, placement = {}, {}, {}
        wanted = set(targets)
        for server in self.nova.list_servers():
            host = server.get(sa.HOST_KEY)
            placement[server['id']] = host
            if host not in wanted:
                continue
            decision = policy.resolve(policy_view(server), self.params['importance'])
            plan.setdefault(host, []).append({'id': server['id'], 'name': server['name'],
                                              'status': server['status'],
                                              'action': decision.action,
                                              'reason': decision.reason})
            if decision.action in MOVES and server['status'] in RUNNING + ('SHUTOFF',):
                flavor = server.get('flavor') or {}
                moving.setdefault(host, []).append({
                    'id': server['id'], 'name': server['name'], 'ram': flavor.get('ram', 0),
                    'vcpus': flavor.get('vcpus', 0),
                    'zone': server.get('OS-EXT-AZ:availability_zone')})
        return plan, moving, placement


def main():
    CampaignPreflightModule()()


if __name__ == '__main__':
    main()

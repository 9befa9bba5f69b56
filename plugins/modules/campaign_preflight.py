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
  - Fails, saying why, when the campaign should not start. The campaign id does not fit; the policy is invalid (each bad
    key is named by its path); a host is unknown; a compute service is down or forced down (a host is already
    failing).
  - Whether the other hosts have room for each batch is the campaign plan's question
    (M(cloudmaint.openstack.maintenance_plan), which places every server); this module reads no server.
  - O(importance) is only checked here, so that a typo stops the campaign before anything changes.
  - Reads only (one listing of the compute services); safe in check mode.
extends_documentation_fragment:
  - cloudmaint.openstack.cloud
  - cloudmaint.openstack.policy
  - cloudmaint.openstack.policy.importance
  - cloudmaint.openstack.campaign
options:
  hosts:
    description: The hosts of the campaign.
    type: list
    elements: str
    required: true
  allow_down_hosts:
    description: Hosts (outside O(hosts) or inside it) whose compute service may be down without failing the check.
    type: list
    elements: str
    default: []
'''

EXAMPLES = r'''
- name: Check the campaign before touching anything
  cloudmaint.openstack.campaign_preflight:
    cloud: sandbox
    hosts: "{{ groups['hypervisors'] }}"
    campaign: patch-2026-12
    policy: "{{ cloudmaint_policy | default({}) }}"
  register: preflight
'''

RETURN = r'''
policy:
  description: The validated policy, with defaults filled in.
  returned: always
  type: dict
hosts:
  description: The hosts checked, as given.
  returned: always
  type: list
  elements: str
down_hosts:
  description: Compute services that are down or forced down (allowed ones included).
  returned: always
  type: list
  elements: str
requests:
  description: Number of Compute API requests the module made.
  returned: always
  type: int
'''

from ansible_collections.cloudmaint.openstack.plugins.module_utils.openstack_module import CloudmaintModule
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import campaign_problem


class CampaignPreflightModule(CloudmaintModule):
    argument_spec = dict(
        hosts=dict(type='list', elements='str', required=True),
        policy=dict(type='dict', default={}),
        importance=dict(type='str', default='medium', choices=['high', 'medium', 'low']),
        allow_down_hosts=dict(type='list', elements='str', default=[]),
        campaign=dict(type='str'),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        p = self.params
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
        return dict(policy=policy.data, hosts=list(p['hosts']), down_hosts=down, requests=self.nova.requests)


def main():
    CampaignPreflightModule()()


if __name__ == '__main__':
    main()

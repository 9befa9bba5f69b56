#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: compute_host_info
short_description: What Nova and Placement say about one hypervisor, and whether it is safe to reboot
version_added: 0.1.0
author: cloudmaint.openstack contributors (@cloudmaint)
description:
  - Returns the compute service (status, state, disabled reason, last report), the hypervisor record, its resource
    provider in Placement with inventory and usage, and the servers on the host.
  - RV(reboot_blockers) lists the servers a reboot would cut off, those still running on the host and not left in place by
    the campaign (its records, kept where only administrators write), or in ERROR with their guest still running or
    paused (unless listed in O(reboot_in_error)). A host is safe to reboot only when the list is empty.
  - RV(ready) tells whether the host is back in service terms after a reboot, that is the compute service is up and
    reported after O(reported_after), and the hypervisor has inventory in Placement. To wait for it, use
    M(cloudmaint.openstack.compute_host_ready).
  - A host Nova does not know is RV(exists=false) with the known hosts in RV(known_hosts), not a failure.
  - Reads only, never waits; safe in check mode.
extends_documentation_fragment:
  - cloudmaint.openstack.cloud
options:
  host:
    description: Compute service host name.
    type: str
    required: true
  reported_after:
    description:
      - An ISO-8601 UTC time (for example the moment a reboot began). RV(ready) is true only when the service has
        reported since then.
    type: str
  campaign:
    description:
      - Campaign whose records let a server stay on the host through the reboot. A PAUSED server the campaign left
        there does not block it (a stopped server never does).
    type: str
  reboot_in_error:
    description: Ids of servers in ERROR whose running guest the operator accepts to see killed by the reboot.
    type: list
    elements: str
    default: []
'''

EXAMPLES = r'''
- name: Refuse to reboot hv01 while servers still run on it
  cloudmaint.openstack.compute_host_info:
    cloud: sandbox
    host: hv01
  register: hv01
  failed_when: hv01.reboot_blockers | length > 0

- name: Is hv01 back after its reboot?
  cloudmaint.openstack.compute_host_info:
    cloud: sandbox
    host: hv01
    reported_after: "{{ reboot_started }}"
  register: hv01_now
'''

RETURN = r'''
exists:
  description: Whether Nova has a nova-compute service on that host.
  returned: always
  type: bool
known_hosts:
  description: The hosts of the nova-compute services Nova knows, when RV(exists=false).
  returned: when the host is unknown
  type: list
  elements: str
service:
  description: The nova-compute service of the host (null when it does not exist).
  returned: always
  type: dict
  sample: {"status": "disabled", "state": "up", "disabled_reason": "cloudmaint: campaign c1: patch",
           "updated_at": "2026-11-21T12:00:00.000000", "forced_down": false}
hypervisor:
  description: The hypervisor record (id, state, status, host_ip, hypervisor_type, hypervisor_version).
  returned: always
  type: dict
resource_provider:
  description: The host's resource provider in Placement with C(inventories) and C(usages), or null when absent.
  returned: always
  type: dict
servers:
  description: Servers on the host (id, name, status, task_state, locked, campaign state).
  returned: always
  type: list
  elements: dict
reboot_blockers:
  description: Servers that would be cut off by a reboot now, each with C(why).
  returned: always
  type: list
  elements: dict
ready:
  description: The compute service is up (and reported after O(reported_after)), and Placement has its inventory.
  returned: always
  type: bool
'''

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils.host_state import look
from ansible_collections.cloudmaint.openstack.plugins.module_utils.openstack_module import CloudmaintModule


class ComputeHostInfoModule(CloudmaintModule):
    argument_spec = dict(
        host=dict(type='str', required=True),
        reported_after=dict(type='str'),
        campaign=dict(type='str'),
        reboot_in_error=dict(type='list', elements='str', default=[]),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        p = self.params
        after = None
        if p['reported_after']:
            after = cm.parse_time(p['reported_after'])
            if after is None:
                self.fail('reported_after %r is not an ISO-8601 time' % p['reported_after'])
        result = look(self.nova, p['host'], p['campaign'], after, p['reboot_in_error'])
        return dict(result, requests=self.nova.requests)


def main():
    ComputeHostInfoModule()()


if __name__ == '__main__':
    main()

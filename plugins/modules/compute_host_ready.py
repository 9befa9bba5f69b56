#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: compute_host_ready
short_description: Wait until a hypervisor is back in service after its reboot
version_added: 0.1.0
author: cloudmaint.openstack contributors (@cloudmaint)
description:
  - Looks at the host every O(poll_interval) seconds, within one module run (one authentication, rather than a task
    retried with C(until)), until its compute service is up and has reported after O(reported_after), and Placement
    has the hypervisor's inventory.
  - Fails when the host is not ready after O(timeout) seconds, saying what is missing, or when Nova does not know the
    host. M(cloudmaint.openstack.compute_host_info) looks once and never fails.
  - Reads only; safe in check mode (it waits in check mode too).
extends_documentation_fragment:
  - cloudmaint.openstack.cloud
options:
  host:
    description: Compute service host name.
    type: str
    required: true
  reported_after:
    description:
      - An ISO-8601 UTC time (for example the moment the reboot began). The host is ready only when its compute service
        has reported since then.
    type: str
  poll_interval:
    description: Seconds between two looks.
    type: int
    default: 2
  timeout:
    description: Seconds to wait for the host to be ready.
    type: int
    default: 600
'''

EXAMPLES = r'''
- name: Wait up to 15 minutes until hv01 is back after its reboot
  cloudmaint.openstack.compute_host_ready:
    cloud: sandbox
    host: hv01
    reported_after: "{{ reboot_started }}"
    timeout: 900
'''

RETURN = r'''
service:
  description: The nova-compute service of the host at the last look.
  returned: always
  type: dict
hypervisor:
  description: The hypervisor record at the last look.
  returned: always
  type: dict
resource_provider:
  description: The host's resource provider in Placement with C(inventories) and C(usages), or null when absent.
  returned: always
  type: dict
ready:
  description: Whether the host was ready at the last look (always true when the module succeeds).
  returned: always
  type: bool
waited_s:
  description: Seconds the module waited.
  returned: always
  type: float
started_at:
  description: When the module began (ISO-8601 UTC); the campaign report's step times come from it.
  returned: always
  type: str
  sample: "2026-12-05T08:20:00Z"
ended_at:
  description: When the module ended (ISO-8601 UTC), in a failure's result too.
  returned: always
  type: str
  sample: "2026-12-05T08:21:30Z"
'''

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils.host_state import look, not_ready_because
from ansible_collections.cloudmaint.openstack.plugins.module_utils.openstack_module import CloudmaintModule


class ComputeHostReadyModule(CloudmaintModule):
    argument_spec = dict(
        timeout=dict(type='int', default=600),
        host=dict(type='str', required=True),
        reported_after=dict(type='str'),
        poll_interval=dict(type='int', default=2),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        p = self.params
        if p['timeout'] < 0 or p['poll_interval'] < 1:
            self.fail('timeout must be 0 or more and poll_interval 1 or more, got %d and %d'
                      % (p['timeout'], p['poll_interval']))
        after = None
        if p['reported_after']:
            after = cm.parse_time(p['reported_after'])
            if after is None:
                self.fail('reported_after %r is not an ISO-8601 time' % p['reported_after'])
        waiter = self.waiter()
        started = waiter.clock()
        while True:
            state = look(self.nova, p['host'], after=after)
            waited = round(waiter.clock() - started, 1)
            if state['ready'] or not state['exists'] or waited >= p['timeout']:
                break
            waiter.sleep(min(p['poll_interval'], max(0.1, p['timeout'] - waited)))
        result = dict(service=state['service'], hypervisor=state['hypervisor'],
                      resource_provider=state['resource_provider'], ready=state['ready'], waited_s=waited,
                      requests=self.nova.requests)
        if not state['exists']:
            self.fail('unknown host %r: no nova-compute service by that name (known: %s)'
                      % (p['host'], ', '.join(state['known_hosts'])), **result)
        if not state['ready']:
            self.fail('%s is not ready after %d s: %s' % (p['host'], p['timeout'], not_ready_because(state, after)),
                      **result)
        return result


def main():
    ComputeHostReadyModule()()


if __name__ == '__main__':
    main()

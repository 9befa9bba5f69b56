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
    reported after O(reported_after), and the hypervisor has inventory in Placement.
  - Reads only; safe in check mode.
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
    description: Campaign whose C(leave) decisions allow a stopped or paused server to stay on the host.
    type: str
  wait_ready:
    description:
      - Seconds to wait for RV(ready), looking every O(ready_poll) seconds within one module run (one
        authentication, rather than a task retried with C(until)). The module fails when the host is not ready by
        then, saying what is missing. C(0) looks once and returns.
    type: int
    default: 0
  ready_poll:
    description: Seconds between two looks while waiting (O(wait_ready)).
    type: int
    default: 2
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

- name: Wait up to 15 minutes until hv01 is back after its reboot
  cloudmaint.openstack.compute_host_info:
    cloud: sandbox
    host: hv01
    reported_after: "{{ reboot_started }}"
    wait_ready: 900
'''

RETURN = r'''
service:
  description: The nova-compute service of the host.
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
waited_s:
  description: Seconds spent waiting for RV(ready) (O(wait_ready)).
  returned: always
  type: float
'''

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils import server_actions as sa
from ansible_collections.cloudmaint.openstack.plugins.module_utils.server_records import RecordStore
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import reboot_blocker
from ansible_collections.cloudmaint.openstack.plugins.module_utils.openstack_module import CloudmaintModule


def _normalized_time(text):
    """Nova's updated_at has no zone and microseconds; compare as UTC."""
    return cm.parse_time(text) if text else None


def not_ready_because(result, after):
    """Why a host is not ready, from a result of the module."""
    service = result.get('service') or {}
    reasons = []
    if service.get('state') != 'up':
        reasons.append('compute service state %s' % service.get('state'))
    elif after is not None:
        updated = _normalized_time(service.get('updated_at'))
        if updated is None or updated <= after:
            reasons.append('compute service has not reported since %s (last: %s)'
                           % (after.strftime('%Y-%m-%dT%H:%M:%SZ'), service.get('updated_at')))
    provider = result.get('resource_provider')
    if not (provider and provider.get('inventories')):
        reasons.append('no inventory in Placement')
    return '; '.join(reasons) or 'not ready'


class ComputeHostInfoModule(CloudmaintModule):
    argument_spec = dict(
        host=dict(type='str', required=True),
        reported_after=dict(type='str'),
        campaign=dict(type='str'),
        wait_ready=dict(type='int', default=0),
        ready_poll=dict(type='int', default=2),
        reboot_in_error=dict(type='list', elements='str', default=[]),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        p = self.params
        if p['wait_ready'] < 0 or p['ready_poll'] < 1:
            self.fail('wait_ready must be 0 or more and ready_poll 1 or more, got %d and %d'
                      % (p['wait_ready'], p['ready_poll']))
        after = None
        if p['reported_after']:
            after = cm.parse_time(p['reported_after'])
            if after is None:
                self.fail('reported_after %r is not an ISO-8601 time' % p['reported_after'])
        waiter = self.waiter()
        started = waiter.clock()
        while True:
            result = self._look(p['host'], p['campaign'], after)
            result['waited_s'] = round(waiter.clock() - started, 1)
            if result['ready'] or result['waited_s'] >= p['wait_ready']:
                break
            waiter.sleep(min(p['ready_poll'], max(0.1, p['wait_ready'] - result['waited_s'])))
        if p['wait_ready'] and not result['ready']:
            self.fail('%s is not ready after %d s: %s' % (p['host'], p['wait_ready'], not_ready_because(result, after)),
                      **result)
        return result

    def _look(self, host, campaign, after):
        """What Nova and Placement say now (one service, hypervisor, provider and server listing)."""
        try:
            service = self.nova.known_compute_service(host)
        except LookupError as exc:
            self.fail(str(exc))
        hypervisor = self._hypervisor(host)
        provider = self._provider(hypervisor)
        servers, blockers = [], []
        by_server, _notes = RecordStore(self.nova).records(host, campaign)
        for server in self.nova.servers_on_host(host):
            records = by_server.get(server['id']) or [None]
            record = records[0]
            entry = {'id': server['id'], 'name': server['name'], 'status': server['status'],
                     'task_state': server.get(sa.TASK_KEY), 'locked': server.get('locked'),
                     'campaign_state': record.state if record else None}
            servers.append(entry)
            why = reboot_blocker(server, record, self.params['reboot_in_error'])
            if why is not None:
                blockers.append(dict(entry, why=why))

        ready = service['state'] == 'up' and bool(provider and provider.get('inventories'))
        if after is not None:
            updated = _normalized_time(service.get('updated_at'))
            ready = ready and updated is not None and updated > after
        return dict(service=service, hypervisor=hypervisor, resource_provider=provider,
                    servers=servers, reboot_blockers=blockers, ready=ready,
                    requests=self.nova.requests)

    def _hypervisor(self, host):
        hv = self.nova.hypervisor_of(host)
        if hv is None:
            return None
        return {k: hv.get(k) for k in ('id', 'hypervisor_hostname', 'state', 'status', 'host_ip',
                                       'hypervisor_type', 'hypervisor_version')}

    def _provider(self, hypervisor):
        if not hypervisor:
            return None
        found = self.nova.provider_inventory(hypervisor['id'])
        return dict(found, uuid=hypervisor['id']) if found is not None else None


def main():
    ComputeHostInfoModule()()


if __name__ == '__main__':
    main()

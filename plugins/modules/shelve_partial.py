#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: shelve_partial
short_description: Shelve a server but keep its root disk on the host, and unshelve it fast
version_added: 0.1.0
author: cloudmaint.openstack contributors (@cloudmaint)
description:
  - O(state=shelved) shelves the server. It stays SHELVED on its host (powered off, root disk kept) rather than being
    offloaded, so unshelving it is a quick power-on. This needs the cloud's C(shelved_offload_time) to be -1 (or
    long enough); otherwise Nova offloads it on its own and the result says so.
  - With O(offload=true) the server is offloaded as well (SHELVED_OFFLOADED), releasing the host's CPU and RAM.
    Offloading destroys the guest and, on a host without shared instance storage (libvirt's usual case), its root
    disk too; the disk survives only in the snapshot image Nova took when it shelved.
  - O(state=unshelved) brings it back. A server that was not offloaded is powered on in place, with its disk (the
    fast path). An offloaded server goes back to its origin host first (Compute API microversion 2.91), then to its
    availability zone (2.77), then wherever the scheduler likes; without shared instance storage it is spawned from
    the snapshot image on any of them, the origin host included, so that unshelve takes an image download. The
    result reports which path was taken and how long it took.
  - The origin host is the one recorded when the collection shelved it (a campaign record, kept where only
    administrators write, as M(cloudmaint.openstack.host_drain) keeps them), or O(origin_host).
extends_documentation_fragment:
  - cloudmaint.openstack.cloud
options:
  server:
    description: Name or id of the server.
    type: str
    required: true
  state:
    description: Shelved or back in service.
    type: str
    choices: [shelved, unshelved]
    default: shelved
  offload:
    description: Also offload a shelved server from its host (release its resources).
    type: bool
    default: false
  origin_host:
    description: Host to unshelve an offloaded server onto first. Defaults to the recorded origin host.
    type: str
  record:
    description: Record the shelve as a campaign record, so M(cloudmaint.openstack.host_restore) and
      O(state=unshelved) know the origin host.
    type: bool
    default: true
  campaign:
    description:
      - Campaign identifier for the record. Letters, digits, V(.), V(_) and V(-), starting with a letter or digit, at
        most 56 characters; any other value fails the module before anything changes.
    type: str
    default: manual
  timeout:
    description: Seconds the shelve, offload or unshelve of each server may take.
    type: int
    default: 600
requirements:
  - openstacksdk >= 4.0
'''

EXAMPLES = r'''
- name: Shelve notebook-02 keeping its disk on the host
  cloudmaint.openstack.shelve_partial:
    cloud: sandbox
    server: notebook-02

- name: Free the host's resources as well
  cloudmaint.openstack.shelve_partial:
    cloud: sandbox
    server: notebook-02
    offload: true

- name: Bring it back, on its origin host if there is room
  cloudmaint.openstack.shelve_partial:
    cloud: sandbox
    server: notebook-02
    state: unshelved
  register: back
'''

RETURN = r'''
server:
  description: Id and name of the server.
  returned: always
  type: dict
status:
  description: The server's status at the end.
  returned: always
  type: str
host:
  description: The host the server is on at the end (none when offloaded).
  returned: always
  type: str
path:
  description:
    - How the server came back. C(in_place) (it was never offloaded, a power-on), C(origin_host), C(availability_zone)
      or C(scheduler).
  returned: when O(state=unshelved) and the server was shelved
  type: str
duration_s:
  description: Seconds the shelve or unshelve took.
  returned: when changed
  type: float
attempts:
  description: What was done, in order, with timing and outcome.
  returned: always
  type: list
  elements: dict
requests:
  description: Number of Compute API requests the module made.
  returned: always
  type: int
'''

import datetime

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils import server_actions as sa
from ansible_collections.cloudmaint.openstack.plugins.module_utils.openstack_module import CloudmaintModule
from ansible_collections.cloudmaint.openstack.plugins.module_utils.server_records import RecordStore
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import campaign_problem

SHELVED = ('SHELVED', 'SHELVED_OFFLOADED')


class ShelvePartialModule(CloudmaintModule):
    argument_spec = dict(
        timeout=dict(type='int', default=600),
        server=dict(type='str', required=True),
        state=dict(type='str', default='shelved', choices=['shelved', 'unshelved']),
        offload=dict(type='bool', default=False),
        origin_host=dict(type='str'),
        record=dict(type='bool', default=True),
        campaign=dict(type='str', default='manual'),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        p = self.params
        problem = campaign_problem(p['campaign'])
        if problem:
            self.fail(problem)
        server = self.nova.find_server(p['server'])
        if server is None:
            self.fail('server %r not found' % p['server'])
        result = dict(server={'id': server['id'], 'name': server['name']}, attempts=[])
        attempts = result['attempts']
        waiter = self.waiter()
        if p['state'] == 'shelved':
            wanted = ('SHELVED_OFFLOADED',) if p['offload'] else SHELVED
            if server['status'] in wanted:
                return self._done(result, server, changed=False)
            if self.check_mode:
                return self._done(result, server, changed=True)
            if server['status'] not in SHELVED:
                if p['record']:
                    RecordStore(self.nova).put(server['id'], cm.new_record(
                        'shelve_partial', server.get(sa.HOST_KEY), p['campaign'],
                        datetime.datetime.now(datetime.timezone.utc),
                        prior_status=server['status']))
                attempts.append(sa.in_place(self.nova, waiter, server, 'shelve', p['timeout']))
                server = self.nova.server(server['id'])
            if p['offload'] and server['status'] == 'SHELVED' and all(a.ok for a in attempts):
                attempts.append(sa.in_place(self.nova, waiter, server, 'shelve_offload',
                                            p['timeout']))
                server = self.nova.server(server['id'])
            if any(not a.ok for a in attempts):
                self.fail('shelve of %s failed: %s' % (server['name'], attempts[-1].get('detail')),
                          **self._done(result, server, changed=True))
            if not p['offload'] and server['status'] == 'SHELVED_OFFLOADED':
                self.warn('Nova offloaded %s at once: its shelved_offload_time is not -1, so the '
                          'root disk was not kept on the host' % server['name'])
            return self._done(result, server, changed=True)

        if server['status'] not in SHELVED:
            return self._done(result, server, changed=False)
        if self.check_mode:
            return self._done(result, server, changed=True)
        store = RecordStore(self.nova)
        by_server, _notes = store.records(campaign=p['campaign'])
        record = next((r for r in by_server.get(server['id'], ()) if r.state == 'shelved'), None)
        origin = p['origin_host'] or (record.origin_host if record else None)
        attempt = sa.unshelve(self.nova, waiter, server, prefer_host=origin,
                              availability_zone=server.get('OS-EXT-AZ:availability_zone'),
                              timeout=p['timeout'])
        attempts.append(attempt)
        server = self.nova.server(server['id']) or server
        result['path'] = attempt.get('path')
        if not attempt.ok:
            self.fail('unshelve of %s failed: %s' % (server['name'], attempt.get('detail')),
                      **self._done(result, server, changed=True))
        if record is not None and p['record']:
            store.remove(server['id'], record)
            store.prune(record.origin_host, record.campaign)
        return self._done(result, server, changed=True)

    def _done(self, result, server, changed):
        result.update(changed=changed, status=server['status'], host=server.get(sa.HOST_KEY),
                      requests=self.nova.requests)
        if result['attempts']:
            result['duration_s'] = round(sum(a['duration_s'] or 0 for a in result['attempts']), 3)
        return result


def main():
    ShelvePartialModule()()


if __name__ == '__main__':
    main()

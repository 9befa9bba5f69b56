#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: server_relocate
short_description: Move one server to another hypervisor, live or cold, with a completion policy
version_added: 0.1.0
author: cloudmaint.openstack contributors (@cloudmaint)
description:
  - Moves a server off its current host by live migration, cold migration, or live with a cold fallback.
  - The destination is chosen by the scheduler, by the operator but checked by the scheduler, or forced (live
    migration only, and only through Compute API microversion 2.67, the last one that accepts it; the scheduler's
    checks, including server group rules, are then skipped).
  - Waits on the migration record (not on the server, which shows its new host before the migration is complete),
    polling its memory progress, and applies the completion policy when the migration takes too long.
  - With O(wait=false) it returns the migration id at once.
  - Idempotent when O(destination) is set and the server is already there, or when O(away_from) is set and the server
    is no longer on that host.
  - Formerly C(instance_relocate); that name still works, with a deprecation warning.
extends_documentation_fragment:
  - cloudmaint.openstack.cloud
options:
  server:
    description: Name or id of the server.
    type: str
    required: true
  strategy:
    description:
      - C(live) live migration, C(cold) cold migration (the server is shut down, its disk copied, and it is started
        on the destination; the resize is confirmed), C(auto) live migration with a cold migration fallback.
      - A SHUTOFF server can only be cold migrated; C(auto) then goes straight to cold.
    type: str
    choices: [live, cold, auto]
    default: auto
  destination:
    description: Destination host. When omitted the scheduler chooses.
    type: str
  destination_mode:
    description:
      - C(checked) the scheduler checks O(destination) (capacity, filters, server groups) and refuses it if unfit.
      - C(forced) bypass the scheduler (live migration only; needs the cloud to accept microversion 2.67).
    type: str
    choices: [checked, forced]
    default: checked
  away_from:
    description: Host the server must leave. If the server is elsewhere already, nothing is done.
    type: str
  completion_timeout:
    description: Seconds a live migration may run before O(on_timeout) applies. 0 waits without limit.
    type: int
    default: 300
  on_timeout:
    description:
      - C(force_complete) switches the migration to post-copy where O(post_copy) says the cloud permits it, otherwise
        pauses the guest until the rest is sent (only when that pause fits O(downtime_limit_ms), when given).
      - C(abort) cancels it; the server stays ACTIVE on its source.
      - C(fallback) cancels it and, with O(strategy=auto), cold migrates.
    type: str
    choices: [force_complete, abort, fallback]
    default: force_complete
  post_copy:
    description:
      - Whether the cloud's compute hosts set C([libvirt] live_migration_permit_post_copy) (Nova's default is false).
    type: bool
    default: false
  downtime_limit_ms:
    description:
      - Without post-copy, the longest pause of the guest O(on_timeout=force_complete) may cause. The module
        estimates the pause (the disk left and the whole current memory round, at the rate seen) and cancels the
        migration instead when it is longer, as O(on_timeout=fallback) would.
      - Unset, force-complete is asked whatever the pause.
    type: int
  wait:
    description: Wait for the move to finish. With V(false) the module returns the migration id at once.
    type: bool
    default: true
  timeout:
    description: Seconds the move may take (a live migration, beyond its O(completion_timeout)).
    type: int
    default: 600
requirements:
  - openstacksdk >= 4.0
'''

EXAMPLES = r'''
- name: Live migrate web-01 where the scheduler likes, cold migrate if that fails
  cloudmaint.openstack.server_relocate:
    cloud: sandbox
    server: web-01

- name: Move db-02 to hv04, checked by the scheduler, forcing completion after 60 s
  cloudmaint.openstack.server_relocate:
    cloud: sandbox
    server: db-02
    strategy: live
    destination: hv04
    completion_timeout: 60
    on_timeout: force_complete

- name: Start a migration and return at once
  cloudmaint.openstack.server_relocate:
    cloud: sandbox
    server: etl-02
    strategy: live
    wait: false
  register: started
'''

RETURN = r'''
server:
  description: Id and name of the server.
  returned: always
  type: dict
source:
  description: The host the server was on.
  returned: always
  type: str
destination:
  description: The host the server is on at the end (or the requested one with O(wait=false)).
  returned: always
  type: str
migration_id:
  description: Id of the migration record (of the last attempt).
  returned: when a migration was started
  type: int
attempts:
  description: Every migration tried, with timing, outcome, progress, whether it was force-completed or aborted.
  returned: always
  type: list
  elements: dict
strategy_used:
  description: C(live) or C(cold), what moved the server in the end.
  returned: when the server moved
  type: str
requests:
  description: Number of Compute API requests the module made.
  returned: always
  type: int
'''

from ansible_collections.cloudmaint.openstack.plugins.module_utils import server_actions as sa
from ansible_collections.cloudmaint.openstack.plugins.module_utils.openstack_module import CloudmaintModule


class ServerRelocateModule(CloudmaintModule):
    argument_spec = dict(
        timeout=dict(type='int', default=600),
        wait=dict(type='bool', default=True),
        server=dict(type='str', required=True),
        strategy=dict(type='str', default='auto', choices=['live', 'cold', 'auto']),
        destination=dict(type='str'),
        destination_mode=dict(type='str', default='checked', choices=['checked', 'forced']),
        away_from=dict(type='str'),
        completion_timeout=dict(type='int', default=300),
        on_timeout=dict(type='str', default='force_complete',
                        choices=['force_complete', 'abort', 'fallback']),
        post_copy=dict(type='bool', default=False),
        downtime_limit_ms=dict(type='int'),
    )
    module_kwargs = dict(supports_check_mode=True,
                         required_if=[('destination_mode', 'forced', ['destination'])])

    def run(self):
        p = self.params
        if p['downtime_limit_ms'] is not None and p['downtime_limit_ms'] <= 0:
            self.fail('downtime_limit_ms: must be a number of milliseconds above 0, got %d' % p['downtime_limit_ms'])
        server = self.nova.find_server(p['server'])
        if server is None:
            self.fail('server %r not found' % p['server'])
        source = server.get(sa.HOST_KEY)
        result = dict(server={'id': server['id'], 'name': server['name']}, source=source,
                      destination=source, attempts=[], requests=0)
        if (p['destination'] and source == p['destination']) or \
                (p['away_from'] and source != p['away_from']):
            return dict(result, msg='nothing to do: server is on %s' % source,
                        requests=self.nova.requests)
        forced = p['destination_mode'] == 'forced'
        plan = self._strategies(server, forced)
        if self.check_mode:
            return dict(result, changed=True, plan=plan, requests=self.nova.requests)
        if forced and not self.nova.supports('2.30'):
            self.fail('a forced live migration needs Compute API microversion 2.30 to 2.67')

        waiter = self.waiter()
        completion = {'completion_timeout_s': p['completion_timeout'], 'on_timeout': p['on_timeout'],
                      'post_copy': p['post_copy'], 'downtime_limit_ms': p['downtime_limit_ms']}
        for strategy in plan:
            if strategy == 'live':
                if not p['wait']:
                    return self._start_only(server, result, forced)
                attempt = sa.live_migrate(self.nova, waiter, server, p['destination'], forced,
                                          completion=completion,
                                          timeout=p['timeout'] + p['completion_timeout'])
            else:
                attempt = sa.cold_migrate(self.nova, waiter, server, p['destination'],
                                          timeout=p['timeout'])
            result['attempts'].append(attempt)
            result['migration_id'] = attempt.get('migration_id')
            if attempt.ok:
                result.update(changed=True, destination=attempt['destination'],
                              strategy_used=strategy, requests=self.nova.requests)
                return result
            if strategy == 'live' and attempt.get('aborted') and p['on_timeout'] == 'abort':
                break
            if attempt.get('api_error'):
                # The Compute API failed, not the migration: shutting the guest down for a cold
                # migration would not help.
                break
            server = self.nova.server(server['id']) or server
        result['requests'] = self.nova.requests
        last = result['attempts'][-1] if result['attempts'] else {}
        self.fail('could not move %s off %s: %s' % (server['name'], source, last.get('detail')),
                  changed=any(a.get('migration_id') for a in result['attempts']), **result)

    def _strategies(self, server, forced):
        strategy = self.params['strategy']
        stopped = server['status'] == 'SHUTOFF'
        if strategy == 'live' and stopped:
            self.fail('%s is SHUTOFF: a stopped server cannot be live migrated (use strategy '
                      'cold or auto)' % server['name'])
        if strategy == 'cold' and forced:
            self.fail('a cold migration cannot force its destination: Nova always lets the '
                      'scheduler check it (use destination_mode checked)')
        if strategy == 'cold' or (strategy == 'auto' and stopped):
            return ['cold']
        if strategy == 'live' or forced:
            return ['live']
        return ['live', 'cold']

    def _start_only(self, server, result, forced):
        before = sa.latest_migration_id(self.nova, server['id'], 'live-migration')
        self.nova.live_migrate(server['id'], self.params['destination'], force=forced)
        migration = sa.new_migration(self.nova, self.waiter(), server['id'],
                                     'live-migration', before)
        result.update(changed=True, migration_id=migration['id'] if migration else None,
                      destination=self.params['destination'], requests=self.nova.requests)
        return result


def main():
    ServerRelocateModule()()


if __name__ == '__main__':
    main()

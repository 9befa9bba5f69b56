#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: host_restore
short_description: Bring a maintained hypervisor and its servers back, from the records the drain left
version_added: 0.1.0
author: cloudmaint.openstack contributors (@cloudmaint)
description:
  - Re-enables the compute service of a host drained by M(cloudmaint.openstack.host_drain), then brings back each
    server whose campaign record names this host as its origin. The records are read from where the drain kept them,
    out of tenants' reach (admin-only host aggregates C(cloudmaint-ledger:<campaign>:<host>)); nothing in server
    metadata is read as a record.
  - When O(campaign) is given and the host has records of other campaigns only, the module fails before changing
    anything, naming them (a restore that restores nothing must not look like a success).
  - Stopped and left servers that were running are started, shelved ones unshelved (in place when they were not offloaded;
    an offloaded one on its origin host first), suspended ones resumed, rebuild-pending ones rebuilt from their image.
  - A rebuild wipes the server's disks, so it is done only when the hypervisor's uptime, as Nova reports it, shows
    the host booted after the drain (read again for up to 75 s when the boot falls within the minute of the drain).
    Otherwise the server is started as it was, and the reason says why it was not rebuilt.
  - Migrated servers are moved back to their origin host when the policy says so (C(restore.move_back)). With the
    default C(auto) they move back after a single-host drain (O(rolling=false)) and stay where they are in a rolling
    campaign (O(rolling=true)), where moving back would double every move. Of O(policy), only its C(restore)
    settings are used here (the whole policy is validated).
  - A server is moved back only when Nova's own migration records show it left that host; otherwise it is reported
    C(unconfirmed) and left where it is.
  - Each server goes step by step from its record and its real status, so a re-run after an interruption continues.
    Records of servers fully restored are removed, and the locks the drain set are released.
  - Check mode lists the steps without doing them.
extends_documentation_fragment:
  - cloudmaint.openstack.cloud
  - cloudmaint.openstack.policy
options:
  host:
    description: Compute service host name of the hypervisor.
    type: str
    required: true
  campaign:
    description: Restore only the servers of this campaign. By default every campaign record naming the host.
    type: str
  enable:
    description: Re-enable the compute service first. When false the service is left as it is.
    type: bool
    default: true
  rolling:
    description: Whether this restore is part of a rolling campaign (see C(restore.move_back) in the policy).
    type: bool
    default: false
  max_parallel:
    description: How many servers are restored at once.
    type: int
    default: 4
  keep_records:
    description: Keep the campaign records of servers that are fully restored (for auditing).
    type: bool
    default: false
  timeout:
    description: Seconds each restore step of a server (start, unshelve, move back...) may take.
    type: int
    default: 600
requirements:
  - openstacksdk >= 4.0
'''

EXAMPLES = r'''
- name: Bring hv01 and its servers back after its reboot
  cloudmaint.openstack.host_restore:
    cloud: sandbox
    host: hv01
    policy: "{{ cloudmaint_policy | default({}) }}"

- name: Inside a rolling campaign, servers stay on the hosts they went to
  cloudmaint.openstack.host_restore:
    cloud: sandbox
    host: hv02
    campaign: patch-2026-11
    rolling: true
'''

RETURN = r'''
host:
  description: The host.
  returned: always
  type: str
service:
  description: The compute service after the run.
  returned: always
  type: dict
move_back:
  description: Whether migrated servers were moved back to their origin.
  returned: always
  type: bool
servers:
  description: One entry per server with a campaign record for this host.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Server id.
      type: str
    name:
      description: Server name.
      type: str
    record:
      description: The campaign record of the server (action, state, origin_host, campaign, at, prior_status, locked).
      type: dict
    steps:
      description: The restore steps done (or planned in check mode), each with timing and outcome.
      type: list
      elements: dict
    outcome:
      description:
        - C(done), C(failed), C(left_in_error), C(unconfirmed) (not moved back, see above), C(gone) (the server no
          longer exists; its record is dropped), or in check mode C(planned) or C(nothing_to_do).
      type: str
    unlocked:
      description: The lock the drain set was released.
      type: bool
    result:
      description: Why nothing more was needed, or what failed.
      type: str
    host_after:
      description: Where the server is now.
      type: str
    status_after:
      description: Its status now.
      type: str
summary:
  description: Counts of servers by outcome and the names of those that failed.
  returned: always
  type: dict
requests:
  description: Number of Compute API requests the module made.
  returned: always
  type: int
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

from ansible_collections.cloudmaint.openstack.plugins.module_utils.drain import HostDrain
from ansible_collections.cloudmaint.openstack.plugins.module_utils.openstack_module import CloudmaintModule
from ansible_collections.cloudmaint.openstack.plugins.module_utils.restore import HostRestore
from ansible_collections.cloudmaint.openstack.plugins.module_utils.server_records import RecordStore
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import campaign_problem


class HostRestoreModule(CloudmaintModule):
    argument_spec = dict(
        timeout=dict(type='int', default=600),
        host=dict(type='str', required=True),
        campaign=dict(type='str'),
        enable=dict(type='bool', default=True),
        rolling=dict(type='bool', default=False),
        policy=dict(type='dict', default={}),
        max_parallel=dict(type='int', default=4),
        keep_records=dict(type='bool', default=False),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        p = self.params
        policy = self.load_policy(p['policy'])
        problem = campaign_problem(p['campaign'])
        if problem:
            self.fail('campaign: %s' % problem)
        result = dict(host=p['host'])
        if p['campaign']:
            others = RecordStore(self.nova).campaigns(p['host'])
            if others and p['campaign'] not in others:
                self.fail('no record of campaign %s for %s, but records of %s: restore one of them '
                          '(or omit campaign for all)' % (p['campaign'], p['host'], ', '.join(sorted(others))),
                          **result)
        service = HostDrain(self.nova, self.waiter(), policy, p['host'], p['campaign'] or '-',
                            check_mode=self.check_mode)
        try:
            result['service'] = service.set_enabled(True) if p['enable'] else service.service()
        except LookupError as exc:
            self.fail(str(exc), **result)
        move_back = policy.should_move_back(p['rolling'])
        restore = HostRestore(self.nova, self.waiter(), p['host'], move_back,
                              campaign=p['campaign'], max_parallel=p['max_parallel'],
                              action_timeout=p['timeout'], check_mode=self.check_mode,
                              keep_records=p['keep_records'])
        entries = restore.restore()
        failed = [e['name'] for e in entries if e['outcome'] == 'failed']
        by_outcome = {}
        for entry in entries:
            by_outcome[entry['outcome']] = by_outcome.get(entry['outcome'], 0) + 1
        result.update(move_back=move_back, servers=entries,
                      summary={'servers': len(entries), 'by_outcome': by_outcome,
                               'failed': failed})
        changed = service.changed or restore.changed
        for note in restore.record_notes:
            self.warn('campaign record ignored: %s' % note)
        unconfirmed = [e['name'] for e in entries if e['outcome'] == 'unconfirmed']
        if unconfirmed:
            self.warn('not moved back, Nova has no record of them leaving %s: %s'
                      % (p['host'], ', '.join(unconfirmed)))
        in_error = [e['name'] for e in entries if e['outcome'] == 'left_in_error']
        if in_error:
            self.warn('%d server(s) in ERROR left for the operator, their campaign records kept: %s'
                      % (len(in_error), ', '.join(in_error)))
        if failed:
            self.fail('restore of %s incomplete: %d server(s) failed: %s'
                      % (p['host'], len(failed), ', '.join(failed)),
                      changed=changed, requests=self.nova.requests, **result)
        self.exit(changed=changed, requests=self.nova.requests, **result)


def main():
    HostRestoreModule()()


if __name__ == '__main__':
    main()

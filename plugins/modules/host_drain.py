#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: host_drain
short_description: Disable, drain or re-enable an OpenStack hypervisor, handling every server by policy
version_added: 0.1.0
author: cloudmaint.openstack contributors (@cloudmaint)
description:
  - Takes a hypervisor (a C(nova-compute) host) out of service for maintenance and back.
  - O(state=disabled) disables its compute service with a reason naming the campaign, so the scheduler places
    nothing new on it.
  - O(state=drained) disables it, then handles every server on it as the maintenance policy says (live or cold
    migration, partial shelve, stop, suspend, rebuild, delete, leave), with fallbacks, the live-migration
    completion policy (timeout, force-complete, abort) and concurrency limits. It fails, naming them, when servers
    that had to leave or stop are still running on the host.
  - An action request that gets an HTTP 5xx answer or no answer is sent again up to 3 times (after 1, 2, 4 s), unless
    Nova turns out to be doing it already. If it never gets through, the server's handling fails with the request,
    the HTTP status and the number of attempts, and no fallback is tried (an API outage is no reason for a more
    disruptive action).
  - While draining, the module watches the host's compute service (one request every 10 s at most). Once it is down
    or forced down, nothing more is started, nothing more is waited for (migrations under way are left to Nova) and
    the module fails naming the servers still on the host.
  - O(state=enabled) re-enables the compute service. Bringing servers back is M(cloudmaint.openstack.host_restore).
  - Before acting on a server the module records what it is about to do where only administrators can write (the
    metadata of a host aggregate named C(cloudmaint-ledger:<campaign>:<host>) that holds no hosts), so a re-run from
    any controller resumes an interrupted drain and M(cloudmaint.openstack.host_restore) knows what to undo. Nothing
    tenants can write (server names, metadata, tags) is read as a campaign record.
  - Every server that stays on the host (stopped, suspended, shelved, left in place, in ERROR) is locked with a
    C(locked_reason) naming the campaign, so that its owner cannot start, resume or rebuild it before the reboot.
    M(cloudmaint.openstack.host_restore) unlocks what the campaign locked. A server already locked is left as it is.
  - When an action leaves a server in ERROR, no further fallback is tried (C(outcome=left_in_error)).
  - Idempotent. A drained host reports C(changed=false). In check mode the module returns the full plan (each server,
    its action, why, its likely destination) and changes nothing.
extends_documentation_fragment:
  - cloudmaint.openstack.cloud
  - cloudmaint.openstack.policy
  - cloudmaint.openstack.policy.importance
options:
  host:
    description: Name of the hypervisor's compute service host (as in C(openstack compute service list)).
    type: str
    required: true
  state:
    description: What the host should be.
    type: str
    choices: [disabled, drained, enabled]
    default: drained
  campaign:
    description:
      - Identifier of the maintenance campaign (letters, digits, C(-), C(_), C(.), starting with a letter or digit; at most 56 characters), written
        into the disabled reason, the lock reasons and the campaign records.
      - Re-runs with the same campaign resume where the previous run stopped.
      - Defaults to C(drain-<host>).
    type: str
  reason:
    description: Free text added to the compute service's disabled reason.
    type: str
  destinations:
    description:
      - Destination hosts chosen by the operator, by server id (names are chosen by tenants and are not unique, so
        they are not accepted). Nova's scheduler still checks them; when it refuses, the scheduler picks a host and
        the result says so (RV(servers[].destination_fallback)).
    type: dict
    default: {}
  planned_actions:
    description:
      - Per server id, the fallback of its policy chain the drain starts at, as a campaign plan chose it
        (RV(cloudmaint.openstack.maintenance_plan#module:actions_by_host) of M(cloudmaint.openstack.maintenance_plan)).
        That is C(cold_migrate) for a server whose policy prefers a live migration when no host with room would take
        it live. Ignored for a server whose chain does not hold that action.
    type: dict
    default: {}
  max_parallel:
    description: How many servers are handled at once. Defaults to the policy's C(max_parallel).
    type: int
  max_parallel_per_host:
    description:
      - How many live migrations leave the host at once. Defaults to the policy's C(max_parallel_per_host).
      - Nova runs only C(max_concurrent_live_migrations) at once per host and queues the rest.
    type: int
  reboot_in_error:
    description:
      - Ids of servers in ERROR whose guest still runs (or is paused) that the operator accepts to see killed by the
        reboot. Any other such server is listed in RV(remaining) and fails the drain.
    type: list
    elements: str
    default: []
  timeout:
    description:
      - Seconds each server's action may take beyond the live-migration completion timeout of its class (the move's
        end, a cold migration's confirmation and boot, a stop or shelve), and the longest wait for servers busy
        before the drain.
    type: int
    default: 600
notes:
  - Needs an admin (or equivalently privileged) account; the Compute API microversion is negotiated and every call
    states the microversion whose behaviour it relies on.
requirements:
  - openstacksdk >= 4.0
'''

EXAMPLES = r'''
- name: Drain hv01 by policy for a patch campaign
  cloudmaint.openstack.host_drain:
    cloud: sandbox
    host: hv01
    state: drained
    campaign: patch-2026-11
    reason: kernel update
    policy: "{{ cloudmaint_policy | default({}) }}"
  register: drain

- name: Show what would happen to every server on hv02, changing nothing
  cloudmaint.openstack.host_drain:
    cloud: sandbox
    host: hv02
    campaign: patch-2026-11
  check_mode: true
  register: plan

- name: Only keep the scheduler away from hv03
  cloudmaint.openstack.host_drain:
    cloud: sandbox
    host: hv03
    state: disabled
    campaign: patch-2026-11

- name: Put hv03 back into service
  cloudmaint.openstack.host_drain:
    cloud: sandbox
    host: hv03
    state: enabled
'''

RETURN = r'''
host:
  description: The host.
  returned: always
  type: str
  sample: hv01
campaign:
  description: The campaign identifier used.
  returned: always
  type: str
  sample: patch-2026-11
service:
  description: The compute service after the run.
  returned: always
  type: dict
  sample: {"status": "disabled", "state": "up", "disabled_reason": "cloudmaint: campaign patch-2026-11: kernel update"}
servers:
  description:
    - One entry per server that was on the host, whatever happened to it.
    - C(outcome) is C(done), C(failed), C(already_done) (a previous run did it), C(left_in_error), C(busy),
      C(nothing_possible), C(moved_elsewhere) or, in check mode, C(planned).
  returned: when O(state=drained)
  type: list
  elements: dict
  contains:
    id:
      description: Server id.
      type: str
    name:
      description: Server name.
      type: str
    sla_class:
      description: SLA class the policy used.
      type: str
    action:
      description: The action finally taken (or planned).
      type: str
    chain:
      description: The action and its fallbacks, as the policy resolved them.
      type: list
      elements: str
    reason:
      description: Why this action, in one sentence.
      type: str
    source:
      description: Which rule decided (override, owner, class, project, default, or announced when the notice announced another chain than the labels now give).
      type: str
    from:
      description: The drained host.
      type: str
    to:
      description: Where the server ended up (the same host for stop, leave, shelve, suspend).
      type: str
    likely_destination:
      description: Check mode and plan only, the host with most room in the server's zone.
      type: str
    started:
      description: Start time (epoch seconds).
      type: float
    ended:
      description: End time (epoch seconds).
      type: float
    duration_s:
      description: Seconds from the first attempt to the end of the last.
      type: float
    outcome:
      description: What happened.
      type: str
    attempts:
      description: Every action tried, in order, with its own timing, outcome and details.
      type: list
      elements: dict
    fallbacks_used:
      description: Actions tried after the first one.
      type: list
      elements: str
    progress:
      description:
        - Live migrations only, memory progress observed on the migration record (total, processed, remaining in
          MiB, samples, observed rate, estimated downtime; the total of a block-migrated disk).
      type: dict
    force_completed:
      description:
        - Live migrations only, whether the completion policy forced it to complete (post-copy where the policy's
          C(post_copy) says the cloud permits it, otherwise a pause of the guest until the copy ends).
      type: bool
    pause_estimate_ms:
      description:
        - Live migrations forced without post-copy, the pause estimated when force-complete was asked (what was
          left at the rate seen), within the class's C(downtime_limit_ms).
      type: float
    force_declined:
      description:
        - Live migrations only, why force-complete was not asked though the policy says so (the pause it would
          take is over the class's C(downtime_limit_ms)); the migration was cancelled and the fallbacks tried.
      type: str
    aborted:
      description: Live migrations only, whether the completion policy aborted (cancelled) it.
      type: bool
    destination_fallback:
      description: The operator's destination was refused by the scheduler, which then chose.
      type: bool
    group_retries:
      description:
        - A server group member that every host refused (No valid host) is tried again every 30 s for up to 150 s,
          as Nova's scheduler learns where the group's members went only from the computes' reports (at the latest
          with their periodic sync, 120 s by default). How many times it was tried again.
      type: int
    error:
      description: Why the server could not be handled (C(outcome=failed)), e.g. C(compute service down).
      type: str
    service_down:
      description: The host's compute service went down before this server was handled or while waiting for it.
      type: bool
    api_error:
      description: The Compute API kept failing (HTTP 5xx or no answer) on this server's action; no fallback was tried.
      type: bool
    locked:
      description: The server stays on the host and is locked by the campaign until restore.
      type: bool
summary:
  description: Counts by action and outcome, and the names of servers left running.
  returned: when O(state=drained)
  type: dict
  sample: {"servers": 7, "by_action": {"live_migrate": 5, "stop": 2}, "by_outcome": {"done": 7}, "remaining": []}
remaining:
  description:
    - Servers a reboot of the host would cut off (still running and not left in place by policy, or in ERROR with
      their guest running), each with C(why).
  returned: when O(state=drained)
  type: list
  elements: dict
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

from ansible_collections.cloudmaint.openstack.plugins.module_utils.drain import (
    HostDrain,
    action_timeout,
    hint_hosts,
    summarize,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import looks_like_uuid
from ansible_collections.cloudmaint.openstack.plugins.module_utils.openstack_module import CloudmaintModule
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import campaign_problem


class HostDrainModule(CloudmaintModule):
    argument_spec = dict(
        timeout=dict(type='int', default=600),
        host=dict(type='str', required=True),
        state=dict(type='str', default='drained', choices=['disabled', 'drained', 'enabled']),
        campaign=dict(type='str'),
        reason=dict(type='str'),
        policy=dict(type='dict', default={}),
        importance=dict(type='str', default='medium', choices=['high', 'medium', 'low']),
        destinations=dict(type='dict', default={}),
        planned_actions=dict(type='dict', default={}),
        max_parallel=dict(type='int'),
        max_parallel_per_host=dict(type='int'),
        reboot_in_error=dict(type='list', elements='str', default=[]),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        p = self.params
        policy = self.load_policy(p['policy'])
        campaign = p['campaign'] or 'drain-%s' % p['host']
        problem = campaign_problem(campaign)
        if problem:
            self.fail('campaign: %s' % problem)
        for option in ('destinations', 'planned_actions'):
            names = sorted(key for key in p[option] if not looks_like_uuid(key))
            if names:
                self.fail('%s: keys must be server ids, got %s (server names are chosen by tenants and '
                          'need not be unique)' % (option, ', '.join(repr(n) for n in names[:5])))
        drain = HostDrain(self.nova, self.waiter(), policy, p['host'], campaign,
                          importance=p['importance'], reason=p['reason'],
                          destinations=p['destinations'], planned_actions=p['planned_actions'],
                          max_parallel=p['max_parallel'],
                          max_parallel_per_host=p['max_parallel_per_host'],
                          action_timeout=action_timeout(policy, p['importance'], p['timeout']),
                          timeout_slack=p['timeout'], check_mode=self.check_mode,
                          reboot_in_error=p['reboot_in_error'])
        result = dict(host=p['host'], campaign=campaign)
        try:
            result['service'] = drain.set_enabled(p['state'] == 'enabled')
        except LookupError as exc:
            self.fail(str(exc), **result)
        if p['state'] == 'drained':
            hints, problem = hint_hosts(self.nova)
            if problem:
                self.warn(problem)
            entries, remaining = drain.drain(hint_hosts=hints)
            result.update(servers=entries, remaining=remaining,
                          summary=summarize(entries, remaining))
            failed = [e['name'] for e in entries if e.get('outcome') == 'failed']
            if drain.service_down:
                self.fail(drain.outage_message(entries), changed=drain.changed,
                          requests=self.nova.requests, **result)
            if remaining:
                self.fail('drain of %s incomplete: %d server(s) still running on it: %s'
                          % (p['host'], len(remaining), ', '.join(r['name'] for r in remaining)),
                          changed=drain.changed, requests=self.nova.requests, **result)
            for note in drain.record_notes:
                self.warn('campaign record ignored: %s' % note)
            if drain.lock_failures:
                self.warn('could not lock, their owners can still start them: %s' % '; '.join(drain.lock_failures))
            if failed:
                self.warn('%d server(s) could not be handled as policy says: %s'
                          % (len(failed), ', '.join(failed)))
        self.exit(changed=drain.changed, requests=self.nova.requests, **result)


def main():
    HostDrainModule()()


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: server_census
short_description: Count the servers of hypervisors before a campaign and check none was lost after it
version_added: 0.1.0
author: cloudmaint.openstack contributors (@cloudmaint)
description:
  - Takes a census of every server on O(hosts), one compact entry per server (id, name, project, status, power state,
    host, flavor, attached volume ids, task state).
  - Given O(before), a census taken earlier (at the campaign's preflight), compares it with the servers now, wherever
    they went. Each server of O(before) must still exist, must not be in ERROR, must have the status its policy action
    promises for the O(phase) (moved servers keep their status on any host; stopped, left, suspended, rebuilt and
    shelved ones are back in their prior status after the restore), the power state that status implies, the same
    flavor, the same attached volumes and the same project.
  - Servers that were in ERROR before the campaign are reported as C(left_alone), never as new failures.
  - With O(since), servers deleted since then are told apart from missing ones (Nova's list of deleted servers,
    C(GET /servers/detail?deleted=True&changes-since=...), admin only); a deletion is accepted only for a server whose
    action was C(delete) with O(allow_delete=true).
  - Fails, naming every bad server, unless O(fail_on_findings=false).
  - Reads only; check mode behaves the same.
extends_documentation_fragment:
  - cloudmaint.openstack.cloud
options:
  hosts:
    description: The hypervisors (compute service host names) whose servers are counted.
    type: list
    elements: str
    required: true
  before:
    description:
      - A census taken earlier, the RV(census) list of an earlier run (or that run's whole registered result).
      - When given, the servers are compared with it.
    type: raw
  since:
    description:
      - When the campaign began, ISO-8601 (C(2026-11-21T12:00:00Z)). Servers of O(before) deleted since then are
        reported as deleted rather than missing, and servers deleted since then that were on O(hosts) are listed in
        RV(deleted).
    type: str
  expected:
    description:
      - What the policy did to each server, as a dict of server id or name to action (C(live_migrate),
        C(cold_migrate), C(shelve_partial), C(stop), C(suspend), C(rebuild), C(delete), C(leave), C(none)), or the
        RV(cloudmaint.openstack.host_drain#module:servers) list of one or more drains (a failed action counts as
        C(none)).
      - Servers without an entry must keep their status.
    type: raw
  phase:
    description:
      - C(restored) after the restore (every server back in its prior status, moved ones anywhere);
        C(drained) after the drain, before the restore (stopped, left, shelved and suspended servers in that state).
    type: str
    choices: [drained, restored]
    default: restored
  allow_delete:
    description: Whether the policy allowed deleting servers (its C(allow_delete)).
    type: bool
    default: false
  fail_on_findings:
    description: Fail when the comparison finds a lost or damaged server. When false they are only returned.
    type: bool
    default: true
notes:
  - Needs an admin account (servers of all projects, deleted servers).
requirements:
  - openstacksdk >= 4.0
'''

EXAMPLES = r'''
- name: Census of the campaign's hosts at preflight
  cloudmaint.openstack.server_census:
    cloud: sandbox
    hosts: "{{ groups['hypervisors'] }}"
  register: census_before

- name: After the campaign, every server accounted for
  cloudmaint.openstack.server_census:
    cloud: sandbox
    hosts: "{{ groups['hypervisors'] }}"
    before: "{{ census_before.census }}"
    since: "{{ census_before.taken_at }}"
    expected: "{{ drain_result.servers }}"
    phase: restored
'''

RETURN = r'''
census:
  description: One entry per server on O(hosts) now, sorted by name.
  returned: always
  type: list
  elements: dict
  sample:
    - {"id": "9d2b6a1e-4c1f-4b7e-9a55-0f3f2d1c8e10", "name": "db-primary", "project_id": "5a1c0e7b",
       "status": "ACTIVE", "power_state": 1, "host": "hv01", "flavor": "m1.small", "volumes": [], "task_state": null}
taken_at:
  description: When this census was taken (UTC, ISO-8601); use it as O(since) of the later comparison.
  returned: always
  type: str
  sample: "2026-11-21T12:00:00Z"
servers:
  description: With O(before), one verdict per server of O(before) (C(ok), C(left_alone), C(deleted_as_allowed),
    or the kind of its first finding) with its status and host before and after.
  returned: when O(before) is given
  type: list
  elements: dict
findings:
  description: With O(before), every problem found, C({id, name, kind, message}); kind is one of C(missing),
    C(deleted), C(error), C(status), C(power_state), C(flavor), C(volumes), C(project), C(busy).
  returned: when O(before) is given
  type: list
  elements: dict
new:
  description: With O(before), servers on O(hosts) now that were not in O(before).
  returned: when O(before) is given
  type: list
  elements: dict
deleted:
  description: With O(since), servers deleted since then that were on O(hosts) or in O(before), C({id, name, host}).
  returned: when O(since) is given
  type: list
  elements: dict
summary:
  description: With O(before), the number of servers per verdict.
  returned: when O(before) is given
  type: dict
  sample: {"ok": 12, "left_alone": 1}
ok:
  description: With O(before), whether every server is accounted for.
  returned: when O(before) is given
  type: bool
msg:
  description: One line per bad server, or that all are accounted for.
  returned: when O(before) is given
  type: str
'''

import datetime

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils import census
from ansible_collections.cloudmaint.openstack.plugins.module_utils.openstack_module import CloudmaintModule


def census_list(value):
    """The census list out of ``before``: the list itself or a registered result."""
    if isinstance(value, dict):
        value = value.get('census')
    if not isinstance(value, list) or not all(isinstance(e, dict) and e.get('id') for e in value):
        raise ValueError('before must be a census (a list of entries with an id, as returned '
                         'in census by an earlier run)')
    return value


class ServerCensusModule(CloudmaintModule):
    argument_spec = dict(
        hosts=dict(type='list', elements='str', required=True),
        before=dict(type='raw'),
        since=dict(type='str'),
        expected=dict(type='raw'),
        phase=dict(type='str', default='restored', choices=['drained', 'restored']),
        allow_delete=dict(type='bool', default=False),
        fail_on_findings=dict(type='bool', default=True),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        p = self.params
        taken_at = cm.format_time(datetime.datetime.now(datetime.timezone.utc))
        since = None
        if p['since']:
            since = cm.parse_time(p['since'])
            if since is None:
                self.fail('since %r is not an ISO-8601 time (e.g. 2026-11-21T12:00:00Z)'
                          % p['since'])
        before = None
        if p['before'] is not None:
            try:
                before = census_list(p['before'])
            except ValueError as exc:
                self.fail(str(exc))
        if p['expected'] is not None and not isinstance(p['expected'], (dict, list)):
            self.fail('expected must be a dict (server -> action) or a list of host_drain '
                      'server entries')

        known = set(s['host'] for s in self.nova.compute_services())
        unknown = [h for h in p['hosts'] if h not in known]
        if unknown:
            self.fail('unknown host(s): %s (nova-compute hosts: %s)'
                      % (', '.join(unknown), ', '.join(sorted(known))))

        found = {}
        for host in p['hosts']:
            for server in self.nova.servers_on_host(host):
                found[server['id']] = server
        now = census.snapshot(found.values())
        result = dict(census=now, taken_at=taken_at)

        deleted_ids = set()
        if since is not None:
            gone = self.nova.list_servers({'deleted': 'True',
                                           'changes-since': cm.format_time(since)})
            ours = set(e['id'] for e in before or [])
            deleted = [s for s in gone if s.get('status') in ('DELETED', 'SOFT_DELETED') and (
                s.get(census.HOST_KEY) in p['hosts'] or s['id'] in ours)]
            deleted_ids = set(s['id'] for s in deleted)
            result['deleted'] = [{'id': s['id'], 'name': s.get('name'),
                                  'host': s.get(census.HOST_KEY)} for s in deleted]

        if before is None:
            return result

        # Servers of the earlier census that left the hosts: wherever they are now.
        elsewhere = []
        for old in before:
            if old['id'] in found or old['id'] in deleted_ids:
                continue
            server = self.nova.server(old['id'])
            if server is not None and server.get('status') not in ('DELETED', 'SOFT_DELETED'):
                elsewhere.append(server)
        after = now + census.snapshot(elsewhere)
        try:
            verdict = census.compare(before, after, expected=p['expected'], phase=p['phase'],
                                     allow_delete=p['allow_delete'], deleted_ids=deleted_ids)
        except ValueError as exc:
            self.fail(str(exc))
        result.update(servers=verdict['servers'], findings=verdict['findings'],
                      new=verdict['new'], summary=verdict['summary'], ok=verdict['ok'],
                      requests=self.nova.requests)
        text = census.message(verdict)
        if not verdict['ok'] and p['fail_on_findings']:
            self.fail(text, **result)
        result['msg'] = text
        return result


def main():
    ServerCensusModule()()


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: campaign_state
short_description: The ledger of a maintenance campaign, kept in the cloud
version_added: 0.1.0
author: cloudmaint.openstack contributors (@cloudmaint)
description:
  - Records which hosts a campaign has started, finished or failed, so that a re-run from any controller (an AWX job
    in a fresh container, another operator's shell) resumes the campaign instead of repeating it.
  - The ledger is the metadata of a host aggregate that holds no hosts (by default C(cloudmaint-ledger)); only
    administrators can read or change it. Keys are C(<campaign>:<host>), values the state and the time.
  - O(state=query) reads the campaign. O(state=present) sets the state of O(host). O(state=absent) closes the
    campaign, removing its keys, so that the next campaign with the same name starts fresh.
extends_documentation_fragment:
  - cloudmaint.openstack.cloud
  - cloudmaint.openstack.campaign
options:
  campaign:
    required: true
  state:
    description: Read, set or close.
    type: str
    choices: [query, present, absent]
    default: query
  host:
    description: The host whose state is set. Required with O(state=present).
    type: str
  host_state:
    description: The host's state in the campaign.
    type: str
    choices: [started, done, failed]
    default: done
  note:
    description: Short text stored with the state (at most 150 characters are kept).
    type: str
  ledger:
    description: Name of the aggregate holding the ledger.
    type: str
    default: cloudmaint-ledger
'''

EXAMPLES = r'''
- name: Which hosts has campaign patch-2026-11 done already?
  cloudmaint.openstack.campaign_state:
    cloud: sandbox
    campaign: patch-2026-11
  register: ledger

- name: Mark hv01 done
  cloudmaint.openstack.campaign_state:
    cloud: sandbox
    campaign: patch-2026-11
    state: present
    host: hv01
    host_state: done

- name: Close the campaign once every host is done
  cloudmaint.openstack.campaign_state:
    cloud: sandbox
    campaign: patch-2026-11
    state: absent
'''

RETURN = r'''
hosts:
  description: Every host of the campaign with its state, time and note.
  returned: always
  type: dict
  sample: {"hv01": {"state": "done", "at": "2026-11-21T12:00:00Z", "note": ""}}
hosts_done:
  description: Hosts the campaign finished.
  returned: always
  type: list
  elements: str
hosts_started:
  description: Hosts the campaign started but did not finish (an interrupted run).
  returned: always
  type: list
  elements: str
hosts_failed:
  description: Hosts where the campaign failed.
  returned: always
  type: list
  elements: str
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

import datetime

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaError
from ansible_collections.cloudmaint.openstack.plugins.module_utils.openstack_module import CloudmaintModule
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import campaign_problem


def parse_ledger(metadata, campaign):
    """{host: {state, at, note}} for one campaign, from the aggregate's metadata."""
    prefix = campaign + ':'
    hosts = {}
    for key, value in (metadata or {}).items():
        if not key.startswith(prefix):
            continue
        state, _sep, rest = (value or '').partition('|')
        at, _sep, note = rest.partition('|')
        hosts[key[len(prefix):]] = {'state': state, 'at': at, 'note': note}
    return hosts


def ledger_value(state, now, note=None):
    return ('%s|%s|%s' % (state, cm.format_time(now), (note or '')[:150]))[:255]


class CampaignStateModule(CloudmaintModule):
    argument_spec = dict(
        campaign=dict(type='str', required=True),
        state=dict(type='str', default='query', choices=['query', 'present', 'absent']),
        host=dict(type='str'),
        host_state=dict(type='str', default='done', choices=['started', 'done', 'failed']),
        note=dict(type='str'),
        ledger=dict(type='str', default='cloudmaint-ledger'),
    )
    module_kwargs = dict(supports_check_mode=True,
                         required_if=[('state', 'present', ['host'])])

    def run(self):
        p = self.params
        problem = campaign_problem(p['campaign'])
        if problem:
            self.fail(problem)
        aggregate = self._ledger(create=p['state'] == 'present' and not self.check_mode)
        metadata = (aggregate or {}).get('metadata') or {}
        hosts = parse_ledger(metadata, p['campaign'])
        changed = False
        if p['state'] == 'present':
            value = ledger_value(p['host_state'], datetime.datetime.now(datetime.timezone.utc),
                                 p['note'])
            current = hosts.get(p['host'], {})
            if current.get('state') != p['host_state'] or (p['note'] or '') != current.get('note'):
                changed = True
                if not self.check_mode:
                    self._set(aggregate, {'%s:%s' % (p['campaign'], p['host']): value})
                state, _s, rest = value.partition('|')
                at, _s, note = rest.partition('|')
                hosts[p['host']] = {'state': state, 'at': at, 'note': note}
        elif p['state'] == 'absent' and hosts:
            changed = True
            if not self.check_mode:
                self._set(aggregate, dict(('%s:%s' % (p['campaign'], h), None) for h in hosts))
            hosts = {}
        # Not "failed": Ansible reads a result key of that name as the task's own failure.
        by_state = {'hosts_done': [], 'hosts_started': [], 'hosts_failed': []}
        for host, info in sorted(hosts.items()):
            by_state.setdefault('hosts_' + info['state'], []).append(host)
        return dict(changed=changed, hosts=hosts, requests=self.nova.requests, **by_state)

    def _ledger(self, create):
        for aggregate in self.nova.aggregates():
            if aggregate['name'] == self.params['ledger']:
                return aggregate
        if not create:
            return None
        try:
            return self.nova.create_aggregate(self.params['ledger'])
        except NovaError as exc:
            # The hosts of a batch start together: another one created the ledger just now.
            # Nova answers 409, or 500 when the database's unique name caught the race.
            if exc.status != 409 and exc.status < 500:
                raise
            found = self._ledger(create=False)
            if found is None:
                raise
            return found

    def _set(self, aggregate, metadata):
        self.nova.set_aggregate_metadata(aggregate['id'], metadata)


def main():
    CampaignStateModule()()


if __name__ == '__main__':
    main()

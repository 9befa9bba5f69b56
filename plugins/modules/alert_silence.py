#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: alert_silence
short_description: Silence a hypervisor's alerts in Prometheus Alertmanager while a campaign maintains it
version_added: 0.1.0
author: cloudmaint.openstack contributors (@cloudmaint)
description:
  - Creates, extends or expires the Alertmanager silence of one host of a maintenance campaign, through
    Alertmanager's API v2, so that the reboots the campaign causes do not page the on-call.
  - One silence per campaign and host, found again by its comment, which begins with
    C([cloudmaint campaign=CAMPAIGN host=HOST]); a resumed campaign, from this controller or another, reuses it.
    Alertmanager holds the record; nothing is kept on the controller.
  - With O(state=present) the silence lasts O(duration) seconds from now. A re-run moves its end only when less than
    half of O(duration) is left, so running it twice in a row changes nothing. Other matchers than the silence has
    replace it.
  - With O(state=absent) the campaign's live silences of O(host) (of every host when O(host) is omitted) are expired.
  - Not an OpenStack module; it needs no cloud credentials.
extends_documentation_fragment:
  - cloudmaint.openstack.campaign
options:
  url:
    description:
      - Base URL of Alertmanager, for example V(http://alertmanager.example.org:9093).
      - Credentials in the URL are never shown in results or errors; prefer O(url_username) and O(url_password).
    type: str
    required: true
  campaign:
    required: true
  host:
    description:
      - The hypervisor whose alerts are silenced. Required with O(state=present).
    type: str
  state:
    description: V(present) silences the host's alerts, V(absent) ends the campaign's silences.
    type: str
    choices: [present, absent]
    default: present
  matchers:
    description:
      - Which alerts to silence, that is every alert matching all of them. Required with O(state=present).
      - A matcher that would match every value (V(.*) as a regular expression) is refused.
    type: list
    elements: dict
    suboptions:
      name:
        description: Label name.
        type: str
        required: true
      value:
        description: Label value, or a regular expression with O(matchers[].is_regex).
        type: str
        required: true
      is_regex:
        description: O(matchers[].value) is a regular expression.
        type: bool
        default: false
      is_equal:
        description: V(false) matches the alerts whose label does NOT equal (or match) the value.
        type: bool
        default: true
  duration:
    description:
      - Seconds the silence lasts from now. Choose it longer than a host's maintenance (drain, patch, reboot,
        restore); the campaign expires the silence when the host is done, or when the campaign stops.
    type: int
    default: 14400
  comment:
    description: Text after the campaign tag in the silence's comment, shown in Alertmanager's UI.
    type: str
    default: hypervisor maintenance
  api_token:
    description: Bearer token sent in the C(Authorization) header. Not logged.
    type: str
  url_username:
    description: User for HTTP basic authentication.
    type: str
  url_password:
    description: Password for HTTP basic authentication. Not logged.
    type: str
  validate_certs:
    description: Verify Alertmanager's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: PEM file of the certificate authorities to trust.
    type: path
  timeout:
    description: Seconds to wait for each answer of Alertmanager.
    type: int
    default: 10
notes:
  - Check mode reads the silences and says what would change.
seealso:
  - name: Alertmanager API v2
    description: The silences API this module uses.
    link: https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml
'''

EXAMPLES = r'''
- name: Silence hv01's alerts for the campaign (4 hours, extended on a re-run)
  cloudmaint.openstack.alert_silence:
    url: http://alertmanager.example.org:9093
    campaign: patch-2026-12
    host: hv01
    matchers:
      - name: instance
        value: "hv01.example.org:9100"
      - name: severity
        value: "info|warning|critical"
        is_regex: true

- name: End the campaign's silences of every host
  cloudmaint.openstack.alert_silence:
    url: http://alertmanager.example.org:9093
    campaign: patch-2026-12
    state: absent
'''

RETURN = r'''
action:
  description: What was done to the host's silence with O(state=present).
  returned: state is present
  type: str
  sample: created
  choices: [created, extended, replaced, unchanged]
silence:
  description: The host's silence with O(state=present), as Alertmanager has it (or would, in check mode).
  returned: state is present
  type: dict
  contains:
    id:
      description: Alertmanager's id of the silence (none in check mode for a silence not made yet).
      type: str
    state:
      description: C(active), C(pending) or C(expired).
      type: str
    host:
      description: The host of the silence's tag.
      type: str
    matchers:
      description: The matchers, in Alertmanager's spelling (C(name), C(value), C(isRegex), C(isEqual)).
      type: list
      elements: dict
    starts_at:
      description: When the silence began.
      type: str
    ends_at:
      description: When the silence ends.
      type: str
    comment:
      description: The comment, beginning with the campaign tag.
      type: str
expired:
  description: The silences expired with O(state=absent), each as in RV(silence).
  returned: state is absent
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.cloudmaint.openstack.plugins.module_utils.alertmanager import (
    AlertmanagerError,
    Silences,
    http_request,
    matcher_problems,
    view,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import campaign_problem


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type='str', required=True),
            campaign=dict(type='str', required=True),
            host=dict(type='str'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            matchers=dict(type='list', elements='dict', options=dict(
                name=dict(type='str', required=True),
                value=dict(type='str', required=True),
                is_regex=dict(type='bool', default=False),
                is_equal=dict(type='bool', default=True),
            )),
            duration=dict(type='int', default=14400),
            comment=dict(type='str', default='hypervisor maintenance'),
            api_token=dict(type='str', no_log=True),
            url_username=dict(type='str'),
            url_password=dict(type='str', no_log=True),
            validate_certs=dict(type='bool', default=True),
            ca_path=dict(type='path'),
            timeout=dict(type='int', default=10),
        ),
        required_if=[('state', 'present', ('host', 'matchers'))],
        supports_check_mode=True,
    )
    p = module.params
    present = p['state'] == 'present'
    problems = [problem for problem in (campaign_problem(p['campaign']),) if problem]
    if present:
        problems += matcher_problems(p['matchers'])
        if p['duration'] < 60:
            problems.append('duration: %d s is less than a minute' % p['duration'])
    if p['timeout'] < 1:
        problems.append('timeout must be >= 1')
    if problems:
        module.fail_json(msg='; '.join(problems))

    headers = {'Authorization': 'Bearer %s' % p['api_token']} if p['api_token'] else {}
    request = http_request(open_url, p['url'], headers=headers, timeout=p['timeout'],
                           validate_certs=p['validate_certs'], ca_path=p['ca_path'],
                           url_username=p['url_username'], url_password=p['url_password'],
                           force_basic_auth=bool(p['url_username']))
    silences = Silences(request, p['campaign'], check_mode=module.check_mode)
    try:
        if present:
            action, silence = silences.ensure(p['host'], p['matchers'], p['duration'], p['comment'])
            result = dict(action=action, silence=view(silence))
        else:
            result = dict(expired=[view(s) for s in silences.expire(p['host'])])
    except AlertmanagerError as exc:
        module.fail_json(msg='Alertmanager: %s' % exc)
    module.exit_json(changed=silences.changed, **result)


if __name__ == '__main__':
    main()

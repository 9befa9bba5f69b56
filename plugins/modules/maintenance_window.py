#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: maintenance_window
short_description: Whether a piece of a campaign fits in the current maintenance window, or when the next opens
version_added: 0.1.0
author: cloudmaint.openstack contributors (@cloudmaint)
description:
  - Reads the operator's maintenance windows and says whether work expected to take O(duration) seconds, started now,
    ends before the current window closes (RV(fits)); otherwise when the next window opens.
  - With O(wait), waits (within one module run) until a window with room for it opens, for at most O(max_wait)
    seconds.
  - Never fails because the work does not fit; the playbook decides (a campaign stops cleanly between batches and
    resumes when launched again). Fails only on bad windows, naming each by its path, before anything changes.
  - Not an OpenStack module; it needs no cloud credentials.
options:
  windows:
    description:
      - The maintenance windows. A weekly window has C(start) and C(end) (C(HH:MM); an end before the start crosses
        midnight), optional C(days) (V(mon) ... V(sun), the day the window opens; every day when omitted) and
        C(timezone) (an IANA name such as V(Europe/Zurich), with its daylight-saving rules; V(UTC) when omitted).
        An explicit window has C(start_at) and C(end_at) (ISO-8601 times).
      - Windows that overlap or touch count as one.
    type: list
    elements: dict
    required: true
  duration:
    description: Seconds the work about to start is expected to take (a batch's forecast). V(0) asks only whether
      a window is open.
    type: int
    default: 0
  wait:
    description: Wait until a window with room for O(duration) seconds of work opens.
    type: bool
    default: false
  max_wait:
    description: Seconds to wait at most with O(wait).
    type: int
    default: 86400
  name:
    description: The variable the windows came from, which error messages name.
    type: str
    default: windows
notes:
  - Safe in check mode; with O(wait) it waits in check mode too.
'''

EXAMPLES = r'''
- name: Does the next batch (about 40 minutes) fit before the window closes?
  cloudmaint.openstack.maintenance_window:
    windows:
      - days: [mon, tue, wed, thu]
        start: "22:00"
        end: "05:00"
        timezone: Europe/Zurich
      - start_at: "2026-12-26T08:00:00Z"
        end_at: "2026-12-26T18:00:00Z"
    duration: 2400
  register: window

- name: Stop between batches until the next window
  ansible.builtin.meta: end_play
  when: not window.fits
'''

RETURN = r'''
open:
  description: A window is open now.
  returned: success
  type: bool
fits:
  description: A window is open and the work, started now, ends before it closes.
  returned: success
  type: bool
closes_at:
  description: When the open window closes (UTC), or null.
  returned: success
  type: str
  sample: "2026-12-08T04:00:00Z"
next_opens_at:
  description: When the next window opens (UTC), or null when none is known (explicit windows all past).
  returned: success
  type: str
wait_s:
  description: Seconds from now until RV(next_opens_at), or null.
  returned: success
  type: float
waited_s:
  description: Seconds the module waited.
  returned: success
  type: float
msg:
  description: The answer in one sentence.
  returned: success
  type: str
'''

import datetime
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudmaint.openstack.plugins.module_utils import windows as w


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            windows=dict(type='list', elements='dict', required=True),
            duration=dict(type='int', default=0),
            wait=dict(type='bool', default=False),
            max_wait=dict(type='int', default=86400),
            name=dict(type='str', default='windows'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        rules = w.parse(p['windows'], p['name'])
    except w.WindowError as exc:
        module.fail_json(msg='invalid maintenance windows:\n%s' % exc,
                         errors=[{'path': path, 'error': error} for path, error in exc.errors])
    if p['duration'] < 0 or p['max_wait'] < 0:
        module.fail_json(msg='duration and max_wait must be >= 0')
    if p['wait']:
        found, waited = w.wait_for_room(rules, p['duration'], p['max_wait'], _utcnow, time.sleep)
    else:
        found, waited = w.status(rules, _utcnow(), p['duration']), 0.0
    if found['fits']:
        msg = 'in a window that closes at %s: %d s of work fit' % (found['closes_at'], p['duration'])
    elif found['open']:
        msg = ('the window closes at %s, before %d s of work would end; the next opens at %s'
               % (found['closes_at'], p['duration'], found['next_opens_at'] or 'no known time'))
    else:
        msg = 'outside every window; the next opens at %s' % (found['next_opens_at'] or 'no known time')
    module.exit_json(changed=False, waited_s=waited, msg=msg, **found)


if __name__ == '__main__':
    main()

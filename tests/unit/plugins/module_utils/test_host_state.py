# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime

from fake_nova import FakeNova  # pylint: disable=import-error

from ansible_collections.cloudmaint.openstack.plugins.module_utils import host_state as chi

AFTER = datetime.datetime(2026, 11, 21, 12, 0, 0, tzinfo=datetime.timezone.utc)


def result(state='up', updated='2026-11-21T12:00:30.000000', inventories=True):
    return {'service': {'state': state, 'updated_at': updated},
            'resource_provider': {'inventories': {'VCPU': {}}} if inventories else None}


def test_why_a_host_is_not_ready_names_what_is_missing():
    assert chi.not_ready_because(result(state='down', inventories=False), AFTER) == \
        'compute service state down; no inventory in Placement'
    assert chi.not_ready_because(result(updated='2026-11-21T11:59:50.000000'), AFTER) == (
        'compute service has not reported since 2026-11-21T12:00:00Z (last: 2026-11-21T11:59:50.000000)')
    assert chi.not_ready_because(result(inventories=False), None) == 'no inventory in Placement'
    # up, reported since, inventory there: nothing to say
    assert chi.not_ready_because(result(), AFTER) == 'not ready'


def test_an_unknown_host_is_said_not_to_exist_and_the_known_ones_are_listed():
    nova = FakeNova(hosts=['hv1', 'hv2'])
    found = chi.look(nova, 'hv9')
    assert (found['exists'], found['ready'], found['known_hosts']) == (False, False, ['hv1', 'hv2'])
    assert chi.not_ready_because(found, None) == 'no nova-compute service by that name'


def test_a_look_lists_the_servers_a_reboot_would_cut_off():
    nova = FakeNova(hosts=['hv1'])
    nova.add_server('running', 'hv1')
    nova.add_server('stopped', 'hv1', status='SHUTOFF')
    found = chi.look(nova, 'hv1')
    assert found['exists'] and found['ready']
    assert [(b['name'], b['why']) for b in found['reboot_blockers']] == [('running', 'still ACTIVE')]

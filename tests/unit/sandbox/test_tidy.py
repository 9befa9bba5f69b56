# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""cloudctl tidy's judgement of a server against the seeded fleet (cmsandbox.tidy)."""

from __future__ import annotations

from cmsandbox import seed
from cmsandbox import tidy


def planned(name):
    return next(s for s in seed.plan_fleet(42, 36) if s['name'] == name)


def found(entry, **changes):
    server = {'name': entry['name'], 'status': 'ACTIVE', 'OS-EXT-SRV-ATTR:host': entry['host'],
              'flavor': {'original_name': entry['flavor']}}
    server.update(changes)
    return server


def test_a_server_as_seeded_is_in_place():
    entry = planned('web-01')
    assert tidy._in_place(found(entry), entry)


def test_seeded_states_count():
    assert tidy._in_place(found(planned('notebook-04'), status='SHUTOFF'), planned('notebook-04'))
    assert tidy._in_place(found(planned('shop-admin-01'), status='SHELVED'), planned('shop-admin-01'))
    assert tidy._in_place(found(planned('etl-07'), status='PAUSED'), planned('etl-07'))
    assert not tidy._in_place(found(planned('etl-07')), planned('etl-07')), 'seeded paused, found running'


def test_moved_offloaded_resized_or_broken_servers_are_not_in_place():
    entry = planned('web-01')
    other = next(h for h in ('hv01', 'hv02') if h != entry['host'])
    assert not tidy._in_place(found(entry, **{'OS-EXT-SRV-ATTR:host': other}), entry)
    assert not tidy._in_place(found(planned('notebook-05'), status='SHELVED_OFFLOADED',
                                    **{'OS-EXT-SRV-ATTR:host': None}), planned('notebook-05'))
    assert not tidy._in_place(found(entry, flavor={'original_name': 'm1.large'}), entry)
    assert not tidy._in_place(found(entry, status='ERROR'), entry)
    assert not tidy._in_place(found(entry, status='SHUTOFF'), entry)

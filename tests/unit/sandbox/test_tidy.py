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


def test_relocated_puts_an_emptied_hosts_servers_on_its_zone_s_other_hosts():
    plan = seed.plan_fleet(42, 36)
    moved = {e['name']: e['host'] for e in tidy.relocated([dict(e) for e in plan], ['hv03'])}
    was = {e['name']: e['host'] for e in plan}
    assert sorted(moved) == sorted(was)
    assert 'hv03' not in moved.values()
    for name, host in was.items():
        if host == 'hv03':
            assert moved[name] in ('hv01', 'hv02'), (name, moved[name])
        else:
            assert moved[name] == host
    ram = {e['name']: e['ram'] for e in plan}
    used = {h: sum(ram[n] for n, where in moved.items() if where == h) for h in ('hv01', 'hv02')}
    assert all(u <= 49152 - 2048 for u in used.values()), used
    assert tidy.relocated(plan, ()) is plan


def test_relocated_refuses_an_unknown_host_or_a_zone_left_without_hosts():
    plan = seed.plan_fleet(42, 36)
    for empty, message in ((['hv99'], "unknown host 'hv99'"), (['hv01', 'hv02', 'hv03'], 'zone az1 has no host left')):
        try:
            tidy.relocated(plan, empty)
        except RuntimeError as exc:
            assert message in str(exc)
        else:
            raise AssertionError('no error for %s' % empty)

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What operators do today, as the campaign benchmark's baseline: one host at a time, disable its
compute service, ``nova host-evacuate-live`` (every running server live-migrated at once to where
the scheduler puts it; stopped servers cold-migrated the same way), patch, reboot, wait for the
service, enable. Nothing is moved back and nobody is warned.

A migration that has not finished after ``give_up_s`` is aborted and its server stopped for the
reboot (started again after), as an operator watching the evacuation would; Nova alone would let it
run to its completion timeout (800 s here) and then abort it, leaving the host unrebootable.
"""

from __future__ import annotations

import subprocess
import time

MV = '2.80'


def _servers_on(conn, host):
    found = conn.compute.get('/servers/detail', params={'all_tenants': 'True', 'host': host},
                             microversion=MV).json()['servers']
    return [s for s in found if s.get('OS-EXT-SRV-ATTR:host') == host]


def _action(conn, server_id, body):
    response = conn.compute.post('/servers/%s/action' % server_id, json=body, microversion=MV)
    return response.status_code < 400


def _service_id(conn, host):
    return conn.compute.get('/os-services', params={'binary': 'nova-compute', 'host': host},
                            microversion='2.53').json()['services'][0]['id']


def _set_service(conn, host, enabled):
    body = {'status': 'enabled'} if enabled else {'status': 'disabled', 'disabled_reason': 'baseline'}
    conn.compute.put('/os-services/%s' % _service_id(conn, host), json=body, microversion='2.53')


def _running_migrations(conn, server_id):
    return conn.compute.get('/servers/%s/migrations' % server_id, microversion=MV).json().get('migrations', [])


def evacuate(conn, host, give_up_s, poll_s=2.0):
    """Empties ``host`` of running guests; returns the ids of the servers stopped instead."""
    moving = []
    for server in _servers_on(conn, host):
        if server['status'] in ('ACTIVE', 'PAUSED'):
            if _action(conn, server['id'], {'os-migrateLive': {'host': None, 'block_migration': 'auto'}}):
                moving.append(server['id'])
        elif server['status'] == 'SHUTOFF':
            if _action(conn, server['id'], {'migrate': None}):
                moving.append(server['id'])
    started = time.monotonic()
    stopped = []
    while moving:
        time.sleep(poll_s)
        for server_id in list(moving):
            server = conn.compute.get('/servers/%s' % server_id, microversion=MV).json()['server']
            if server['status'] == 'VERIFY_RESIZE':
                _action(conn, server_id, {'confirmResize': None})
                continue
            if server.get('OS-EXT-STS:task_state'):
                if time.monotonic() - started > give_up_s:
                    for migration in _running_migrations(conn, server_id):
                        conn.compute.delete('/servers/%s/migrations/%s' % (server_id, migration['id']),
                                            microversion='2.65')
                continue
            moving.remove(server_id)
            if server.get('OS-EXT-SRV-ATTR:host') == host and server['status'] == 'ACTIVE':
                _action(conn, server_id, {'os-stop': None})
                stopped.append(server_id)
    deadline = time.monotonic() + 300
    while stopped and time.monotonic() < deadline:
        states = [conn.compute.get('/servers/%s' % s, microversion=MV).json()['server']['status'] for s in stopped]
        if all(s == 'SHUTOFF' for s in states):
            break
        time.sleep(poll_s)
    return stopped


def run(conn, hosts, cloudctl, give_up_s=120.0, log=print):
    """The whole baseline campaign; returns {'reboots': [(start, end)], 'stopped': [ids]}."""
    reboots, stopped_all = [], []
    for host in hosts:
        _set_service(conn, host, False)
        stopped = evacuate(conn, host, give_up_s)
        log('baseline %s: evacuated (%d stopped instead)' % (host, len(stopped)))
        subprocess.run([cloudctl, 'patch', host], check=True, capture_output=True)
        began = time.time()
        subprocess.run([cloudctl, 'reboot', host], check=True, capture_output=True)
        reboots.append((began, time.time()))
        for server_id in stopped:
            _action(conn, server_id, {'os-start': None})
        _set_service(conn, host, True)
        stopped_all.extend(stopped)
    return {'reboots': reboots, 'stopped': stopped_all}

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Campaign benchmark on the sandbox cloud: playbooks/rolling_patch.yml against what operators do
today (bench/campaign_baseline.py), both patching every host of the same seeded fleet.

    .venv/bin/python bench/campaign.py --profile production   # needs the sandbox up; ~70 min
    .venv/bin/python bench/campaign.py --profile quick        # ~25 min

The sandbox runs the chosen profile (``cloudctl configure --profile``, every service restarted
so Nova's heartbeat settings apply too) and is left on ``quick`` afterwards. Each run starts
from ``cloudctl seed --fresh`` (same seed, same servers on the same hosts). Printed for both, and
as ratios (baseline / ours): migrations per moved server, makespan, makespan over its lower bound
max{ceil(H/k)*(D_host/b + R), sum(d_v)/(k*b)} (d_v: a server's memory in use plus its block-
migrated disk, R: the profile's reboot), servers down longer than their class allows (pandas
separately), and controller overhead (time in which the cloud did nothing for the campaign). It
changes the whole sandbox: run it alone.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import campaign_baseline  # noqa: E402  pylint: disable=wrong-import-position
import campaign_metrics as metrics  # noqa: E402  pylint: disable=wrong-import-position

SANDBOX = os.path.join(REPO, '.sandbox')
CLOUDCTL = os.path.join(REPO, 'sandbox', 'cloudctl')
VENV_BIN = os.path.join(REPO, '.venv', 'bin')
HOSTS = ['hv%02d' % i for i in range(1, 7)]
BANDWIDTH_MBPS = 1250.0
RAM_KEY = 'sim:ram_used_mb'
DISK_KEY = 'sim:disk_used_gb'
sys.path.insert(0, os.path.join(REPO, 'sandbox'))
from cmsandbox import physics  # noqa: E402  pylint: disable=wrong-import-position


def log(text):
    print('[%s] %s' % (time.strftime('%H:%M:%S'), text), flush=True)


def connect():
    import openstack.config
    import openstack.connection
    region = openstack.config.OpenStackConfig(
        config_files=[os.path.join(SANDBOX, 'clouds.yaml')]).get_one(cloud='sandbox')
    return openstack.connection.Connection(config=region)


def cloudctl(*args):
    subprocess.run([CLOUDCTL] + list(args), check=True, capture_output=True, text=True)


def use_profile(name):
    """The sandbox on profile ``name``, every service restarted to read it."""
    log('profile %s: cloudctl configure, down, up' % name)
    cloudctl('configure', '--profile', name)
    cloudctl('down')
    cloudctl('up')


def servers(conn):
    return conn.compute.get('/servers/detail', params={'all_tenants': 'True'},
                            microversion='2.80').json()['servers']


def fleet_facts(conn, policy_classes):
    """What the lower bound and the downtime check need, from the fleet before the run: per host,
    the MiB its running servers must move (memory in use and, without shared storage, the root
    disk of a block migration), with the sandbox's own defaults for a server that sets neither."""
    memory, classes = {h: 0.0 for h in HOSTS}, {}
    for server in servers(conn):
        metadata = server.get('metadata') or {}
        classes[server['id']] = metadata.get('sla', 'cattle')
        host = server.get('OS-EXT-SRV-ATTR:host')
        if host in memory and server['status'] in ('ACTIVE', 'PAUSED'):
            guest = physics.guest_profile(server['flavor']['ram'], server['flavor']['disk'], metadata,
                                          physics.DEFAULT_PHYSICS)
            memory[host] += guest['ram_used_mb'] + guest['disk_used_gb'] * 1024.0
    limits = {name: spec.get('downtime_limit_ms') for name, spec in policy_classes.items()}
    return memory, classes, limits


def migrations_since(conn, since):
    changes = datetime.datetime.fromtimestamp(since, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    found = conn.compute.get('/os-migrations', params={'changes-since': changes},
                             microversion='2.80').json()['migrations']
    return [m for m in found if _epoch(m['created_at']) >= since - 1]


def _epoch(text):
    when = datetime.datetime.fromisoformat(text.rstrip('Z'))
    return when.replace(tzinfo=datetime.timezone.utc).timestamp() if when.tzinfo is None else when.timestamp()


def events_since(since):
    found = []
    for host in HOSTS:
        path = os.path.join(SANDBOX, 'computes', host, 'events.jsonl')
        if os.path.exists(path):
            with open(path) as handle:
                found.extend(e for e in map(json.loads, handle) if e.get('at', 0) >= since)
    return found


def stop_spells(conn, server_ids, since):
    """Server id -> [(stopped at, started at)] from the instance actions of the run."""
    spells = {}
    for server_id in server_ids:
        actions = conn.compute.get('/servers/%s/os-instance-actions' % server_id,
                                   microversion='2.84').json().get('instanceActions', [])
        stopped = None
        for action in sorted(actions, key=lambda a: a['start_time']):
            at = _epoch(action['start_time'])
            if at < since:
                continue
            if action['action'] == 'stop':
                stopped = at
            elif action['action'] == 'start' and stopped is not None:
                spells.setdefault(server_id, []).append((stopped, at))
                stopped = None
    return spells


def busy_intervals(migrations, extra):
    return [(_epoch(m['created_at']), _epoch(m['updated_at'])) for m in migrations
            if m.get('updated_at')] + list(extra)


def measure(conn, name, start, end, batch_size, memory, classes, limits, extra_busy, reboot_s):
    moved = migrations_since(conn, start)
    moves, movers, per_server = metrics.migrations_per_server(moved)
    down = metrics.downtime_by_server(events_since(start), stop_spells(conn, list(classes), start))
    over = metrics.over_limit(down, classes, limits)
    makespan = end - start
    bound = metrics.lower_bound_s(HOSTS, batch_size, memory, BANDWIDTH_MBPS, reboot_s=reboot_s)
    overhead = metrics.controller_overhead_s(start, end, busy_intervals(moved, extra_busy))
    return {'name': name, 'moves': moves, 'servers_moved': movers, 'migrations_per_server': per_server,
            'makespan_s': makespan, 'batch_size': batch_size, 'lower_bound_s': bound,
            'makespan_over_bound': makespan / bound if bound else None,
            'over_limit': over, 'pandas_over_limit': [o for o in over if o[1] == 'pandas'],
            'controller_overhead_s': overhead, 'overhead_share': overhead / makespan if makespan else 0}


def run_ours(conn, report_dir):
    argv = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', os.path.join(REPO, 'sandbox', 'inventory'),
            os.path.join(REPO, 'playbooks', 'rolling_patch.yml'), '-e', 'cloudmaint_campaign=bench-ours',
            '-e', 'cloudmaint_report_dir=%s' % report_dir]
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=os.path.join(SANDBOX, 'clouds.yaml'),
               ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'),
               PATH=VENV_BIN + os.pathsep + os.environ.get('PATH', ''))
    start = time.time()
    stops = []
    for _run in range(3):
        result = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        if not result.returncode:
            break
        # A stopped campaign is re-run, as its operator would: it resumes where it stopped.
        with open(os.path.join(report_dir, 'ours-stopped-%d.log' % len(stops)), 'w') as handle:
            handle.write(result.stdout + result.stderr)
        reason = re.findall(r"\[ERROR\]: Task failed: ([^\n]+)", result.stdout + result.stderr)
        stops.append(reason[-1] if reason else 'rc %d' % result.returncode)
        log('ours stopped (%s); re-running the campaign' % stops[-1])
    else:
        raise SystemExit('rolling_patch.yml failed:\n%s\n%s' % (result.stdout[-5000:], result.stderr[-2000:]))
    end = time.time()
    with open(os.path.join(report_dir, 'bench-ours.json')) as handle:
        report = json.load(handle)
    busy = []
    for info in report['hosts'].values():
        for first, last in (('notice_started', 'notice_ended'), ('patch_started', 'verified_at')):
            if info.get(first) and info.get(last):
                busy.append((_epoch(info[first]), _epoch(info[last])))
    # The plan's batches, as the preflight printed them: "batches: hv03+hv04 | hv01+hv05 | ..."
    found = re.search(r"batches: ([^'\n]+)", result.stdout)
    batch = max(len(b.split('+')) for b in found.group(1).split(' | ')) if found else 1
    return start, end, busy, batch, stops


def policy_classes():
    sys.path.insert(0, os.path.join(REPO, '.collections'))
    from ansible_collections.cloudmaint.openstack.plugins.module_utils import policy_defaults
    import yaml
    with open(os.path.join(REPO, 'sandbox', 'inventory', 'group_vars', 'all.yml')) as handle:
        sandbox_policy = yaml.safe_load(handle)['cloudmaint_policy']
    classes = {k: dict(v) for k, v in policy_defaults.DEFAULT_POLICY['classes'].items()}
    for name, spec in sandbox_policy.get('classes', {}).items():
        classes.setdefault(name, {}).update(spec)
    return classes


def fresh(conn):
    log('fresh fleet: cloudctl seed --fresh')
    cloudctl('seed', '--fresh')
    time.sleep(15)      # let the computes' periodic tasks settle Placement after the deletes


def row(label, ours, base, fmt):
    ratio = (base / ours) if ours else float('nan')
    print('  %-36s %14s %14s %9.2f' % (label, fmt % ours, fmt % base, ratio))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--give-up-s', type=float, default=120.0,
                        help='baseline: abort a live migration after this long and stop the server')
    parser.add_argument('--profile', choices=sorted(physics.PROFILES), default='production',
                        help='the sandbox profile to run both campaigns on (default: production)')
    args = parser.parse_args(argv)
    use_profile(args.profile)
    try:
        results = compare(args)
    finally:
        if args.profile != physics.DEFAULT_PROFILE:
            use_profile(physics.DEFAULT_PROFILE)
    return results


def compare(args):
    reboot_s = physics.PROFILES[args.profile]['reboot_s']
    conn = connect()
    classes_policy = policy_classes()
    results = {}

    fresh(conn)
    memory, classes, limits = fleet_facts(conn, classes_policy)
    report_dir = tempfile.mkdtemp(prefix='bench-campaign-')
    log('ours: playbooks/rolling_patch.yml on %s' % ', '.join(HOSTS))
    start, end, busy, batch, stops = run_ours(conn, report_dir)
    results['ours'] = measure(conn, 'ours', start, end, batch, memory, classes, limits, busy, reboot_s)
    results['ours']['stops'] = stops
    log('ours: %.0f s' % (end - start))

    fresh(conn)
    memory, classes, limits = fleet_facts(conn, classes_policy)
    log('baseline: one host at a time, host-evacuate-live')
    start = time.time()
    outcome = campaign_baseline.run(conn, HOSTS, CLOUDCTL, give_up_s=args.give_up_s, log=log)
    end = time.time()
    results['baseline'] = measure(conn, 'baseline', start, end, 1, memory, classes, limits,
                                  outcome['reboots'], reboot_s)
    log('baseline: %.0f s' % (end - start))

    ours, base = results['ours'], results['baseline']
    print('\ncampaign benchmark, %s, profile %s, %d hosts, same seeded fleet (%d servers)' % (
        time.strftime('%Y-%m-%d'), args.profile, len(HOSTS), len(classes)))
    print('  %-36s %14s %14s %9s' % ('', 'ours', 'baseline', 'base/ours'))
    row('migrations per moved server', ours['migrations_per_server'], base['migrations_per_server'], '%.3f')
    row('moves (servers moved)', ours['moves'], base['moves'], '%d')
    row('makespan s', ours['makespan_s'], base['makespan_s'], '%.0f')
    row('batch size k', ours['batch_size'], base['batch_size'], '%d')
    row('lower bound s', ours['lower_bound_s'], base['lower_bound_s'], '%.0f')
    row('makespan / lower bound', ours['makespan_over_bound'], base['makespan_over_bound'], '%.2f')
    row('servers over their downtime limit', len(ours['over_limit']), len(base['over_limit']), '%d')
    row('pandas over their limit', len(ours['pandas_over_limit']), len(base['pandas_over_limit']), '%d')
    row('controller overhead s', ours['controller_overhead_s'], base['controller_overhead_s'], '%.0f')
    row('overhead share of makespan', ours['overhead_share'], base['overhead_share'], '%.3f')
    for stop in ours.get('stops') or []:
        print('  ours stopped once and was re-run: %s' % stop)
    for name in ('ours', 'baseline'):
        for server_id, klass, seconds, limit in results[name]['over_limit']:
            print('  %s: %s (%s) down %.1f s, limit %.1f s' % (name, server_id, klass, seconds, limit))
    with open(os.path.join(report_dir, 'bench-campaign.json'), 'w') as handle:
        json.dump(results, handle, indent=2)
    print('figures: %s' % os.path.join(report_dir, 'bench-campaign.json'))
    return results


if __name__ == '__main__':
    main()

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
as ratios (baseline / ours): migrations per moved server, makespan, makespan over its fair lower bound
(bench/campaign_metrics.py ``fair_lower_bound_s``: per batch the busiest link, a live move sending
the memory in use and its block-migrated disk, then the profile's reboot; plus the notice that
cannot overlap earlier work), the forecast rolling_patch.yml printed against the makespan, servers down longer than their class allows (pandas
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
    """The sandbox on profile ``name``, every service restarted once to read it. The scheduler
    learns the servers of each host (anti-affinity) from the computes' instance sync, every 120 s:
    the runs wait for it rather than meet a half-informed scheduler."""
    log('profile %s: cloudctl configure --no-restart, down, up' % name)
    cloudctl('configure', '--profile', name, '--no-restart')
    cloudctl('down')
    cloudctl('up')
    time.sleep(130)


def servers(conn):
    return conn.compute.get('/servers/detail', params={'all_tenants': 'True'},
                            microversion='2.80').json()['servers']


def fleet_facts(conn, policy_classes):
    """What the lower bound and the downtime check need, from the fleet before the run: each
    server's class and its memory and root disk in use (the sandbox's own defaults for a server
    whose metadata sets neither)."""
    classes, sizes = {}, {}
    for server in servers(conn):
        metadata = server.get('metadata') or {}
        classes[server['id']] = metadata.get('sla', 'cattle')
        guest = physics.guest_profile(server['flavor']['ram'], server['flavor']['disk'], metadata,
                                      physics.DEFAULT_PHYSICS)
        sizes[server['id']] = (guest['ram_used_mb'], guest['disk_used_gb'] * 1024.0)
    limits = {name: spec.get('downtime_limit_ms') for name, spec in policy_classes.items()}
    return {'classes': classes, 'limits': limits, 'sizes': sizes}


def moves_sent(migrations, sizes):
    """[(source, destination, MiB sent)] of the completed migrations: a live one sends the memory
    in use and its root disk (a block migration: the sandbox shares no storage), a cold one the
    disk only."""
    found = []
    for migration in migrations:
        if migration.get('status') not in metrics.MOVED:
            continue
        ram_mb, disk_mb = sizes.get(migration['instance_uuid'], (0.0, 0.0))
        sent = ram_mb + disk_mb if migration.get('migration_type') == 'live-migration' else disk_mb
        found.append((migration['source_compute'], migration['dest_compute'], sent))
    return found


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


def measure(conn, name, start, end, run, facts, reboot_s):
    """``run``: what the campaign itself told: batches, busy intervals, notices per batch,
    forecast seconds (None without)."""
    classes = facts['classes']
    moved = migrations_since(conn, start)
    moves, movers, per_server = metrics.migrations_per_server(moved)
    down = metrics.downtime_by_server(events_since(start), stop_spells(conn, list(classes), start))
    over = metrics.over_limit(down, classes, facts['limits'])
    makespan = end - start
    batch_size = max(len(b) for b in run['batches'])
    bound = metrics.fair_lower_bound_s(run['batches'], moves_sent(moved, facts['sizes']), BANDWIDTH_MBPS,
                                       reboot_s, run.get('notice_s'))
    overhead = metrics.controller_overhead_s(start, end, busy_intervals(moved, run['busy']))
    forecast = run.get('forecast_s')
    return {'name': name, 'moves': moves, 'servers_moved': movers, 'migrations_per_server': per_server,
            'makespan_s': makespan, 'batch_size': batch_size, 'lower_bound_s': bound,
            'makespan_over_bound': makespan / bound if bound else None,
            'forecast_s': forecast, 'forecast_error': (forecast / makespan - 1.0) if forecast else None,
            'over_limit': over, 'pandas_over_limit': [o for o in over if o[1] == 'pandas'],
            'controller_overhead_s': overhead, 'overhead_share': overhead / makespan if makespan else 0}


def forecast_settings(profile):
    """What an operator of a cloud like the profile tells the forecast: its reboot (and the time
    the compute service takes to report after it), guest boot and shutdown; the sandbox's group_vars
    hold the quick profile's."""
    durations = physics.PROFILES[profile]
    return {'patch_s': 2, 'reboot_s': durations['reboot_s'] + durations['report_interval'],
            'verify_s': 2 * durations['report_interval'], 'boot_s': durations['boot_s'],
            'shutdown_s': durations['shutdown_s']}


def run_ours(conn, report_dir, profile):
    argv = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', os.path.join(REPO, 'sandbox', 'inventory'),
            os.path.join(REPO, 'playbooks', 'rolling_patch.yml'), '-e', 'cloudmaint_campaign=bench-ours',
            '-e', 'cloudmaint_report_dir=%s' % report_dir]
    if profile != physics.DEFAULT_PROFILE:
        argv += ['-e', json.dumps({'cloudmaint_forecast': forecast_settings(profile)})]
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=os.path.join(SANDBOX, 'clouds.yaml'),
               ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'),
               PATH=VENV_BIN + os.pathsep + os.environ.get('PATH', ''))
    start = time.time()
    stops = []
    first_output = None
    for _run in range(3):
        result = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        first_output = first_output or result.stdout
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
    # The plan's batches and forecast, as the preflight printed them (the first run's):
    # "batches: hv03+hv04 | hv01+hv05 | ..." and "forecast: 8.4 min (86 s + 131 s + 287 s)"
    output = (first_output or result.stdout)
    found = re.search(r"batches: ([^'\n]+)", output)
    batches = [b.split('+') for b in found.group(1).split(' | ')] if found else [[h] for h in HOSTS]
    forecast = re.search(r"forecast: [0-9.]+ min \(([^)]*)\)", output)
    forecast_s = sum(float(x.split()[0]) for x in forecast.group(1).split(' + ')) if forecast else None
    notices = []
    for batch in batches:
        spans = [_epoch(report['hosts'][h]['notice_ended']) - _epoch(report['hosts'][h]['notice_started'])
                 for h in batch if report['hosts'].get(h, {}).get('notice_started')
                 and report['hosts'][h].get('notice_ended')]
        notices.append(max(spans or [0.0]))
    return start, end, {'busy': busy, 'batches': batches, 'notice_s': notices, 'forecast_s': forecast_s,
                        'stops': stops}


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
    for attempt in range(5):
        try:
            cloudctl('seed', '--fresh')
            break
        except subprocess.CalledProcessError as exc:
            # Right after a restart the scheduler knows the server groups' members only from the
            # computes' periodic instance sync: anti-affinity refuses until it has run.
            if attempt == 4:
                raise SystemExit('cloudctl seed --fresh failed:\n%s' % exc.stderr[-2000:])
            log('seed refused (%s); again in 30 s' % exc.stderr.strip().splitlines()[-1][:120])
            time.sleep(30)
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
    facts = fleet_facts(conn, classes_policy)
    report_dir = tempfile.mkdtemp(prefix='bench-campaign-')
    log('ours: playbooks/rolling_patch.yml on %s' % ', '.join(HOSTS))
    start, end, run = run_ours(conn, report_dir, args.profile)
    results['ours'] = measure(conn, 'ours', start, end, run, facts, reboot_s)
    results['ours']['stops'] = run['stops']
    log('ours: %.0f s' % (end - start))

    fresh(conn)
    facts = fleet_facts(conn, classes_policy)
    log('baseline: one host at a time, host-evacuate-live')
    start = time.time()
    outcome = campaign_baseline.run(conn, HOSTS, CLOUDCTL, give_up_s=args.give_up_s, log=log)
    end = time.time()
    run = {'busy': outcome['reboots'], 'batches': [[h] for h in HOSTS]}
    results['baseline'] = measure(conn, 'baseline', start, end, run, facts, reboot_s)
    log('baseline: %.0f s' % (end - start))
    classes = facts['classes']

    ours, base = results['ours'], results['baseline']
    print('\ncampaign benchmark, %s, profile %s, %d hosts, same seeded fleet (%d servers)' % (
        time.strftime('%Y-%m-%d'), args.profile, len(HOSTS), len(classes)))
    print('  %-36s %14s %14s %9s' % ('', 'ours', 'baseline', 'base/ours'))
    row('migrations per moved server', ours['migrations_per_server'], base['migrations_per_server'], '%.3f')
    row('moves (servers moved)', ours['moves'], base['moves'], '%d')
    row('makespan s', ours['makespan_s'], base['makespan_s'], '%.0f')
    row('batch size k', ours['batch_size'], base['batch_size'], '%d')
    row('fair lower bound s', ours['lower_bound_s'], base['lower_bound_s'], '%.0f')
    row('makespan / fair lower bound', ours['makespan_over_bound'], base['makespan_over_bound'], '%.2f')
    row('servers over their downtime limit', len(ours['over_limit']), len(base['over_limit']), '%d')
    row('pandas over their limit', len(ours['pandas_over_limit']), len(base['pandas_over_limit']), '%d')
    row('controller overhead s', ours['controller_overhead_s'], base['controller_overhead_s'], '%.0f')
    row('overhead share of makespan', ours['overhead_share'], base['overhead_share'], '%.3f')
    if ours.get('forecast_s'):
        print('  %-36s %14s %14s' % ('forecast s (error)', '%.0f (%+.0f%%)' % (
            ours['forecast_s'], 100.0 * ours['forecast_error']), 'none'))
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

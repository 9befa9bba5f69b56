# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""playbooks/defragment.yml against the sandbox, as an operator runs it: zone az2 (hv04-hv06) from
the seeded layout, one host to empty. The emptied host holds nothing and stays disabled for the
defragmentation, every server it held moved once and stayed in its zone, none lost."""

from __future__ import annotations

import datetime
import json
import os
import re

from conftest import REPO, run_ansible
from modules_support import host_of, migrations, play, server, service, set_service, task

ZONE = ('hv04', 'hv05', 'hv06')
VENV_BIN = os.path.join(REPO, '.venv', 'bin')
EMPTIED = re.compile(r'hosts to empty: ([\w, ]+)')


def servers_of_zone(conn):
    found = conn.compute.get('/servers/detail', params={'all_tenants': 'True'},
                             microversion='2.96').json()['servers']
    return {s['id']: s for s in found if host_of(s) in ZONE}


def test_defragment_empties_a_host_moving_each_server_once(conn, cloud_env, tmp_path):
    before = servers_of_zone(conn)
    census = play(cloud_env, tmp_path, [task('server_census', 'before', hosts=list(ZONE))])['before']
    since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2)
    argv = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', os.path.join(REPO, 'sandbox', 'inventory'),
            os.path.join(REPO, 'playbooks', 'defragment.yml'),
            '-e', json.dumps({'cloudmaint_defrag_hosts': list(ZONE), 'cloudmaint_defrag_count': 1,
                              'cloudmaint_defrag_name': 'it-defrag'})]
    result = run_ansible(cloud_env, argv, check=False, timeout=900)
    output = result.stdout + result.stderr
    try:
        assert result.returncode == 0, output[-6000:]
        [emptied] = EMPTIED.findall(output)
        assert emptied in ZONE, output[-4000:]
        moved = {sid: s for sid, s in before.items() if host_of(s) == emptied}
        assert moved, '%s held nothing to move' % emptied
        now = servers_of_zone(conn)
        assert not [s['name'] for s in now.values() if host_of(s) == emptied]
        assert (service(conn, emptied)['status'], service(conn, emptied)['disabled_reason']) == \
            ('disabled', 'cloudmaint: campaign it-defrag: defragment'), service(conn, emptied)
        for sid, was in moved.items():
            srv = server(conn, sid)
            assert host_of(srv) in ZONE and host_of(srv) != emptied, (was['name'], host_of(srv))
            assert srv['status'] == was['status'], (was['name'], was['status'], srv['status'])
            done = [m for m in migrations(conn, sid) if m['status'] in ('completed', 'confirmed')
                    and datetime.datetime.fromisoformat(m['created_at']).replace(
                        tzinfo=datetime.timezone.utc) >= since]
            assert len(done) == 1, (was['name'], done)
        after = play(cloud_env, tmp_path, [task('server_census', 'after', hosts=list(ZONE),
                                                before=census['census'], phase='drained',
                                                fail_on_findings=False)])['after']
        assert after['ok'], after.get('msg')
    finally:
        for host in ZONE:
            if service(conn, host)['status'] != 'enabled':
                set_service(conn, host, True)

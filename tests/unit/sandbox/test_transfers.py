# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The registry of running transfers the simulated hosts share (sandbox/cmsandbox/simdriver_files.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from cmsandbox import simdriver_files


def test_two_out_of_one_host_and_two_into_another(tmp_path):
    a = simdriver_files.Transfer(str(tmp_path), 'live_migration', 'hv04', 'hv06')
    b = simdriver_files.Transfer(str(tmp_path), 'live_migration', 'hv05', 'hv06')
    c = simdriver_files.Transfer(str(tmp_path), 'cold_copy', 'hv04', 'hv01')
    assert a.counts() == (2, 2)      # hv04 sends a and c; hv06 receives a and b
    assert b.counts() == (1, 2)
    assert c.counts() == (2, 1)
    c.close()
    assert a.counts() == (1, 2)


def test_links_are_full_duplex(tmp_path):
    out = simdriver_files.Transfer(str(tmp_path), 'live_migration', 'hv04', 'hv05')
    back = simdriver_files.Transfer(str(tmp_path), 'live_migration', 'hv05', 'hv04')
    assert out.counts() == back.counts() == (1, 1)


def test_a_closed_transfer_no_longer_counts(tmp_path):
    with simdriver_files.Transfer(str(tmp_path), 'snapshot_upload', 'hv01', 'glance') as t:
        assert t.counts() == (1, 1)
        assert len(simdriver_files.active_transfers(str(tmp_path))) == 1
    assert simdriver_files.active_transfers(str(tmp_path)) == []


def test_transfers_of_a_dead_process_are_ignored(tmp_path):
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True, check=True)
    with open(os.path.join(str(tmp_path), 'stale.json'), 'w') as handle:
        json.dump({'kind': 'live_migration', 'src': 'hv04', 'dst': 'hv06',
                   'pid': int(dead.stdout)}, handle)
    live = simdriver_files.Transfer(str(tmp_path), 'live_migration', 'hv04', 'hv06')
    assert live.counts() == (1, 1)


def test_garbled_entries_are_ignored(tmp_path):
    with open(os.path.join(str(tmp_path), 'bad.json'), 'w') as handle:
        handle.write('{not json')
    assert simdriver_files.active_transfers(str(tmp_path)) == []
    assert simdriver_files.active_transfers(str(tmp_path / 'missing')) == []

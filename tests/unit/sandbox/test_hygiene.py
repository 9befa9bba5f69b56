# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How the sandbox starts its services, without starting any: RabbitMQ's Erlang distribution on
loopback, gunicorn without a control socket in $HOME, MariaDB never as root (its files owned by the
mysql user, outside .sandbox when that user cannot reach it), and an Erlang cookie of its own."""

from __future__ import annotations

import os
import pwd
import stat

import pytest

from cmsandbox import configs
from cmsandbox import layout
from cmsandbox import services


def test_rabbitmq_listens_for_erlang_nodes_on_loopback_only():
    env = services.rabbit_env()
    assert layout.HOST == '127.0.0.1'
    assert env['RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS'] == '-kernel inet_dist_use_interface {127,0,0,1}'
    assert env['RABBITMQ_NODE_IP_ADDRESS'] == env['ERL_EPMD_ADDRESS'] == '127.0.0.1'
    assert env['RABBITMQ_DIST_PORT'] == str(layout.PORTS['erlang_dist'])


def test_apis_bind_loopback_and_open_no_control_socket():
    argv = services._gunicorn('nova', 38774)
    assert argv[argv.index('--bind') + 1] == '127.0.0.1:38774'
    assert '--no-control-socket' in argv


@pytest.fixture
def sandbox_dirs(tmp_path, monkeypatch):
    for name in ('ROOT', 'DATA', 'RUN', 'LOGS'):
        path = tmp_path / 'sandbox' / name.lower()
        path.mkdir(parents=True, exist_ok=True)
        monkeypatch.setattr(layout, name, str(path))
    monkeypatch.setattr(services, 'MYSQL_OUTSIDE_BASE', str(tmp_path / 'outside'))
    return tmp_path


def test_mariadb_runs_as_the_mysql_user_when_started_by_root(monkeypatch, sandbox_dirs):
    mysql = pwd.struct_passwd(('mysql', 'x', 105, 106, 'MySQL Server', '/nonexistent', '/bin/false'))
    monkeypatch.setattr(os, 'geteuid', lambda: 0)
    monkeypatch.setattr(pwd, 'getpwnam', lambda name: mysql if name == 'mysql' else pwd.getpwnam(name))
    account = services.mysql_account()
    assert account.pw_name == 'mysql'
    argv = services.mysql_argv(services._in_tree_mysql_paths(), account)
    assert '--user=mysql' in argv and not any(a == '--user=root' for a in argv)
    assert '--bind-address=127.0.0.1' in argv
    assert '--socket=%s' % os.path.join(layout.RUN, 'mysql', 'mysql.sock') in argv


def test_no_mysql_user_refuses_rather_than_run_as_root(monkeypatch):
    def missing(name):
        raise KeyError(name)
    monkeypatch.setattr(os, 'geteuid', lambda: 0)
    monkeypatch.setattr(pwd, 'getpwnam', missing)
    with pytest.raises(RuntimeError, match='must not run as root'):
        services.mysql_account()


def test_started_by_another_user_mariadb_runs_as_that_user(monkeypatch, sandbox_dirs):
    monkeypatch.setattr(os, 'geteuid', lambda: 1000)
    assert services.mysql_account() is None
    argv = services.mysql_argv(services.mysql_paths(None), None)
    assert not any(a.startswith('--user') for a in argv)


def test_reachable_needs_search_permission_on_every_directory(monkeypatch):
    mysql = pwd.struct_passwd(('mysql', 'x', 105, 106, '', '/nonexistent', '/bin/false'))
    tree = {'/': (0, 0, 0o755), '/root': (0, 0, 0o700), '/root/repo': (0, 0, 0o755),
            '/work': (0, 0, 0o755), '/work/repo': (0, 0, 0o750), '/srv': (0, 106, 0o750),
            '/srv/repo': (105, 0, 0o700), '/home': (0, 0, 0o755), '/home/me': (1000, 1000, 0o751)}

    def fake_stat(path):
        uid, gid, mode = tree[path]
        return os.stat_result((stat.S_IFDIR | mode, 0, 0, 2, uid, gid, 0, 0, 0, 0))

    monkeypatch.setattr(services.os, 'stat', fake_stat)
    monkeypatch.setattr(services.grp, 'getgrall', lambda: [])
    assert not services.reachable_by('/root/repo', mysql)      # /root is 0700
    assert not services.reachable_by('/work/repo', mysql)      # others may not search it
    assert services.reachable_by('/srv/repo', mysql)           # by group, then as owner
    assert services.reachable_by('/home/me', mysql)            # others' x is enough


def _me():
    return pwd.getpwuid(os.getuid())


def test_mariadb_files_inside_the_sandbox_are_the_accounts(monkeypatch, sandbox_dirs):
    me = _me()
    monkeypatch.setattr(services, 'mysql_account', lambda: me)
    monkeypatch.setattr(services, 'reachable_by', lambda path, account: True)
    legacy = os.path.join(layout.DATA, 'mysql', 'mysql')
    os.makedirs(legacy)
    open(os.path.join(legacy, 'user.frm'), 'w').close()
    paths = services.prepare_mysql_files()
    assert paths == services._in_tree_mysql_paths()
    assert os.path.exists(os.path.join(paths.datadir, 'mysql', 'user.frm'))
    assert stat.S_IMODE(os.stat(paths.datadir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(paths.rundir).st_mode) == 0o750
    for path in (paths.datadir, paths.rundir, paths.errlog, os.path.join(legacy, 'user.frm')):
        assert os.stat(path).st_uid == me.pw_uid


def test_mariadb_files_move_out_when_the_account_cannot_reach_the_sandbox(monkeypatch, sandbox_dirs):
    me = _me()
    monkeypatch.setattr(services, 'mysql_account', lambda: me)
    monkeypatch.setattr(services, 'reachable_by', lambda path, account: False)
    legacy = os.path.join(layout.DATA, 'mysql', 'mysql')
    os.makedirs(legacy)
    paths = services.prepare_mysql_files()
    outside = services.mysql_outside_dir()
    assert outside.startswith(services.MYSQL_OUTSIDE_BASE + os.sep)
    assert paths.datadir == os.path.join(outside, 'data') and paths.socket.startswith(outside)
    assert os.path.isdir(os.path.join(paths.datadir, 'mysql')) and not os.path.exists(legacy)
    assert services.mysql_initialized()
    assert stat.S_IMODE(os.stat(outside).st_mode) == 0o711


def test_erlang_cookie_is_not_the_amqp_password(monkeypatch, sandbox_dirs):
    monkeypatch.setattr(layout, 'passwords', lambda: {'rabbit': 'Ab-cd_ef'})
    cookie = os.path.join(layout.DATA, 'rabbitmq', '.erlang.cookie')
    os.makedirs(os.path.dirname(cookie))
    with open(cookie, 'w') as handle:
        handle.write('Abxcdyef')  # what earlier sandboxes derived from the password
    configs.render_rabbitmq()
    with open(cookie) as handle:
        first = handle.read()
    assert first != 'Abxcdyef' and len(first) >= 32
    assert stat.S_IMODE(os.stat(cookie).st_mode) == 0o400
    configs.render_rabbitmq()
    with open(cookie) as handle:
        assert handle.read() == first

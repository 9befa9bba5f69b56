# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What AnsibleModule writes to syslog when one of our modules starts: every option it was given
(``Invoked with ...``), before the module's own code runs. No password, token, secret or operator
webhook URL may be in that line, whether it came in ``auth``, inside a ``cloud`` dict or in a
module's own option.

The modules run as they do under Ansible, in their own process (``python -m <module> args.json``),
against an identity endpoint that refuses connections, and this test reads the syslog datagrams
they send to /dev/log:

- no /dev/log (a container, CI): a listener is bound there for the test and removed afterwards;
- a /dev/log (syslog daemon, journald): the module runs in a private mount namespace
  (``unshare``) where the test's listener is bind-mounted over /dev/log; the machine's own
  syslog is not touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid

import pytest

import ansible_collections.cloudmaint.openstack as collection
from ansible.module_utils import basic

DEV_LOG = '/dev/log'
# Port 9 (discard) on loopback: nothing listens, so authentication fails at once.
DEAD_AUTH_URL = 'http://127.0.0.1:9/v3'
COLLECTIONS_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(collection.__path__[0])))


def _listener(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    sock.bind(path)
    return sock


def _drain(sock):
    messages = []
    sock.setblocking(False)
    while True:
        try:
            messages.append(sock.recv(1024 * 1024).decode('utf-8', 'replace'))
        except BlockingIOError:
            return messages


@contextlib.contextmanager
def _capture_at_dev_log():
    sock = _listener(DEV_LOG)
    inode = os.stat(DEV_LOG).st_ino
    try:
        yield sock, []
    finally:
        sock.close()
        # Only the socket this test bound: never one a syslog daemon created meanwhile.
        with contextlib.suppress(FileNotFoundError):
            if os.stat(DEV_LOG).st_ino == inode:
                os.unlink(DEV_LOG)


@contextlib.contextmanager
def _capture_in_namespace(tmp_path):
    path = str(tmp_path / 'log')
    sock = _listener(path)
    userns = ['--map-root-user'] if os.geteuid() != 0 else []
    wrapper = ['unshare'] + userns + ['--mount', '--propagation', 'private', '--',
                                      'sh', '-c', 'mount --bind "$0" %s && exec "$@"' % DEV_LOG, path]
    try:
        yield sock, wrapper
    finally:
        sock.close()


def _can_bind_dev_log():
    return not os.path.lexists(DEV_LOG) and os.access(os.path.dirname(DEV_LOG), os.W_OK)


def _unshare_works(tmp_path):
    if not shutil.which('unshare'):
        return False
    userns = ['--map-root-user'] if os.geteuid() != 0 else []
    probe = subprocess.run(['unshare'] + userns + ['--mount', '--', 'true'], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.fixture
def run_module(tmp_path):
    """Runs a module of the collection in its own process; returns (syslog messages, its JSON result)."""
    if basic.has_journal:
        pytest.skip('python-systemd is installed and journald runs: AnsibleModule logs to the journal, '
                    'not to /dev/log')
    if _can_bind_dev_log():
        capture = _capture_at_dev_log()
    elif _unshare_works(tmp_path):
        capture = _capture_in_namespace(tmp_path)
    else:
        pytest.skip('cannot capture syslog here: /dev/log exists or /dev is not writable, and unshare '
                    'cannot make a mount namespace')

    def run(module, args):
        args_file = tmp_path / ('%s-args.json' % module)
        # As Ansible passes it: the syslog identifier is ansible-<module name>.
        args = dict(args, _ansible_module_name=module)
        args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        env = dict(os.environ, PYTHONPATH=COLLECTIONS_ROOT)
        for name in [n for n in env if n.startswith('OS_')]:
            del env[name]
        env['OS_CLIENT_CONFIG_FILE'] = str(tmp_path / 'no-clouds.yaml')
        argv = wrapper + [sys.executable, '-m', 'ansible_collections.cloudmaint.openstack.plugins.modules.' + module,
                          str(args_file)]
        done = subprocess.run(argv, env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=120,
                              check=False)
        messages = [m for m in _drain(sock) if 'ansible-' in m]
        try:
            result = json.loads(done.stdout)
        except ValueError:
            raise AssertionError('%s printed no JSON result:\n%s\n%s' % (module, done.stdout, done.stderr))
        return messages, result

    with capture as (sock, wrapper):
        yield run


def _invocation(messages, module):
    found = [m for m in messages if 'Invoked with' in m and 'ansible-%s' % module in m]
    assert found, 'no invocation of %s logged to syslog; got: %r' % (module, messages)
    return found[0]


# A quote and a backslash: str(dict) in the log escapes them, so the raw value alone is not enough.
AWKWARD = "'\"\\"


def _cloud(kind, secret):
    base = {'auth_url': DEAD_AUTH_URL}
    if kind == 'password':
        auth = dict(base, username='maint-bot', password=secret, project_name='admin',
                    user_domain_name='Default', project_domain_name='Default')
        return {'auth': auth, 'region_name': 'RegionOne', 'api_timeout': 5}
    if kind == 'application credential':
        auth = dict(base, application_credential_id='ac-maint-bot', application_credential_secret=secret)
        return {'auth_type': 'v3applicationcredential', 'auth': auth, 'api_timeout': 5}
    return {'auth_type': 'v3token', 'auth': dict(base, token=secret, project_name='admin',
                                                 project_domain_name='Default'), 'api_timeout': 5}


@pytest.mark.parametrize('kind, key', [('password', 'password'),
                                       ('application credential', 'application_credential_secret'),
                                       ('token', 'token')])
def test_cloud_dict_credentials_are_masked_in_the_invocation_log(run_module, kind, key):
    secret = 'pw%s-%s' % (AWKWARD, uuid.uuid4().hex)
    messages, result = run_module('compute_host_info', {'host': 'hv01', 'cloud': _cloud(kind, secret)})

    line = _invocation(messages, 'compute_host_info')
    text = '\n'.join(messages) + json.dumps(result)
    for form in (secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], secret.rsplit('-', 1)[1]):
        assert form not in text
    assert "'%s': '********'" % key in line
    # What is not a credential stays readable: which endpoint and which host.
    assert DEAD_AUTH_URL in line and 'host=hv01' in line
    assert result['failed'] and result['msg'].startswith('authentication to cloud')


def test_auth_and_module_secret_options_are_not_logged(run_module):
    password = 'pw-%s' % uuid.uuid4().hex
    webhook_secret = 'whs-%s' % uuid.uuid4().hex
    project_hook = 'https://ops.example.com/hooks/%s' % uuid.uuid4().hex
    auth = {'auth_url': DEAD_AUTH_URL, 'username': 'maint-bot', 'password': password, 'project_name': 'admin',
            'user_domain_name': 'Default', 'project_domain_name': 'Default'}
    messages, result = run_module('maintenance_notice', {
        'host': 'hv01', 'campaign': 'c1', 'auth': auth, 'api_timeout': 5,
        'webhook_secret': webhook_secret, 'project_webhooks': {'web-shop': project_hook}})

    line = _invocation(messages, 'maintenance_notice')
    text = '\n'.join(messages) + json.dumps(result)
    for secret in (password, webhook_secret, project_hook):
        assert secret not in text
    assert 'auth=NOT_LOGGING_PARAMETER' in line
    assert 'webhook_secret=NOT_LOGGING_PARAMETER' in line
    assert 'project_webhooks=NOT_LOGGING_PARAMETER' in line
    assert 'campaign=c1' in line
    assert result['failed']

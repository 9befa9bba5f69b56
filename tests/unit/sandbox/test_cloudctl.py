# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""sandbox/cloudctl's Debian install: the policy-rc.d that keeps the packages' services from
starting exists only while apt-get installs (removed after success, failure or an interrupt), and
one that was there before is never removed nor changed. apt-get is a stub and the policy file a
temporary path."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

CLOUDCTL = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                        'sandbox', 'cloudctl')


def _default_signals():
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def install(tmp_path, apt_get_body):
    """Runs cloudctl's apt_install with a stub apt-get; returns (exit status, what the stub saw)."""
    policy = tmp_path / 'policy-rc.d'
    seen = tmp_path / 'seen'
    script = '''
source "$1"
policy_rc_d="$2"
seen="$3"
apt-get() {
  if [ -x "$policy_rc_d" ]; then
    local answer=0; "$policy_rc_d" mariadb start || answer=$?
    echo "policy answers $answer" >> "$seen"
  fi
  echo "apt-get $*" >> "$seen"
  %s
}
apt_install mariadb-server rabbitmq-server
''' % apt_get_body
    # A shell started in the background of another (make in a CI job, nohup) inherits SIGINT
    # ignored, and bash cannot trap a signal ignored on entry: the install runs with the
    # dispositions an operator's shell gives it.
    done = subprocess.run(['bash', '-c', script, 'test', CLOUDCTL, str(policy), str(seen)],
                          capture_output=True, text=True, timeout=30, check=False,
                          preexec_fn=_default_signals)
    return done.returncode, (seen.read_text() if seen.exists() else ''), policy


def test_services_are_kept_from_starting_during_the_install_and_the_policy_goes_after(tmp_path):
    status, seen, policy = install(tmp_path, 'return 0')
    assert status == 0
    assert seen.splitlines() == ['policy answers 101',
                                 'apt-get install -y -qq --no-install-recommends mariadb-server rabbitmq-server']
    assert not policy.exists()


@pytest.mark.parametrize('ending, expected_status', [('return 100', 100), ('kill -TERM $$', 143),
                                                     ('kill -INT $$', 130)])
def test_the_policy_goes_when_the_install_fails_or_is_interrupted(tmp_path, ending, expected_status):
    status, seen, policy = install(tmp_path, ending)
    assert status == expected_status
    assert 'policy answers 101' in seen
    assert not policy.exists()


def test_a_policy_that_was_there_is_left_alone(tmp_path):
    policy = tmp_path / 'policy-rc.d'
    theirs = '#!/bin/sh\n# the administrator\'s\nexit 0\n'
    policy.write_text(theirs)
    policy.chmod(0o755)
    status, seen, policy = install(tmp_path, 'return 0')
    assert status == 0
    assert seen.splitlines()[0] == 'policy answers 0'
    assert policy.read_text() == theirs

    status, seen, policy = install(tmp_path, 'return 100')
    assert status == 100
    assert policy.read_text() == theirs

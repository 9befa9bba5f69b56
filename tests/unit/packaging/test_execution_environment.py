# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The execution environment, checked as far as this machine can without a container registry: the built
collection's requirements as ansible-builder introspects them, and the build context of the documented EE
definition (examples/execution-environment.yml). Building the image itself pulls quay.io/ansible/awx-ee,
which is out of reach here."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
BIN = os.path.dirname(sys.executable)


def run(*argv, cwd=None):
    done = subprocess.run([os.path.join(BIN, argv[0])] + list(argv[1:]), cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, '%s: %s%s' % (' '.join(argv), done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


def requirement_lines(path):
    with open(path) as handle:
        return [line.split('#')[0].strip() for line in handle if line.split('#')[0].strip()]


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """The collection as AWX's EE build gets it: built into an artifact, installed from that artifact."""
    root = tmp_path_factory.mktemp('ee')
    run('ansible-galaxy', 'collection', 'build', REPO, '--output-path', str(root))
    [artifact] = [name for name in os.listdir(str(root)) if name.endswith('.tar.gz')]
    run('ansible-galaxy', 'collection', 'install', '--offline', '--force', '-p', str(root / 'collections'),
        str(root / artifact))
    return root


def test_introspection_finds_the_collections_python_and_system_requirements(installed):
    found = yaml.safe_load(run('ansible-builder', 'introspect', '--sanitize', str(installed / 'collections')))
    python = [entry.split('#')[0].strip() for entry in found['python']]
    assert python == requirement_lines(os.path.join(REPO, 'requirements.txt'))
    # Nothing but test-only system packages (the rendered report's Chromium), which an EE build leaves out.
    assert all('[test' in entry for entry in found.get('system') or []), found.get('system')


def test_the_documented_definition_makes_a_build_context(tmp_path):
    definition = os.path.join(REPO, 'examples', 'execution-environment.yml')
    run('ansible-builder', 'create', '-f', definition, '-c', str(tmp_path / 'context'))
    build = tmp_path / 'context' / '_build'
    assert yaml.safe_load((build / 'requirements.yml').read_text()) == {'collections': [{'name': 'cloudmaint.openstack'}]}
    assert requirement_lines(str(build / 'requirements.txt')) == requirement_lines(os.path.join(REPO, 'requirements.txt'))
    assert (tmp_path / 'context' / 'Dockerfile').exists() or (tmp_path / 'context' / 'Containerfile').exists()


def test_the_awx_guide_shows_the_definition_it_documents():
    with open(os.path.join(REPO, 'docs', 'awx.md')) as handle:
        guide = handle.read()
    with open(os.path.join(REPO, 'examples', 'execution-environment.yml')) as handle:
        definition = yaml.safe_load(handle)
    assert 'examples/execution-environment.yml' in guide
    for requirement in definition['dependencies']['python']:
        assert requirement in guide

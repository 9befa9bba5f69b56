"""The environment of the benchmark's baseline, openstack.cloud's inventory plugin, kept apart from .venv.

``ensure(path)`` creates a venv with the ``ansible`` community package (which
bundles openstack.cloud) and the openstacksdk of .venv, once; the pins are
recorded in the venv so a changed pin rebuilds it.  ``.bench/`` ignores itself
(a ``.gitignore`` of ``*``), so git and the sanity mirror never see it.

openstack.cloud 2.5.0's inventory reads ``openstack.version.__version__``
after ``import openstack`` only, and openstacksdk 4.22.0 no longer imports
``openstack.version`` from its package ``__init__``: the plugin fails with
"module 'openstack' has no attribute 'version'".  ``workaround_dir()`` holds a
``sitecustomize.py`` importing it first; the benchmark puts it on PYTHONPATH
for the working baseline run and reports the failure of the unpatched one.
"""

import json
import os
import subprocess
import sys

PINS = ('ansible==12.3.0', 'openstacksdk==4.22.0')
STAMP = '.cloudmaint-bench-pins'
SITECUSTOMIZE = ('# openstack.cloud 2.5.0 reads openstack.version without importing it (openstacksdk 4.22.0);\n'
                 '# loaded for the benchmark baseline only, see bench/baseline_venv.py.\n'
                 'import openstack.version  # noqa: F401\n')


def _self_ignoring(directory):
    os.makedirs(directory, exist_ok=True)
    ignore = os.path.join(directory, '.gitignore')
    if not os.path.exists(ignore):
        with open(ignore, 'w', encoding='utf-8') as handle:
            handle.write('# Benchmark environments (bench/baseline_venv.py); never committed.\n*\n')


def ensure(path, python=None, log=print):
    """The venv at ``path`` with PINS installed (created or rebuilt when the pins changed); returns its bin dir."""
    _self_ignoring(os.path.dirname(os.path.abspath(path)))
    stamp = os.path.join(path, STAMP)
    wanted = '\n'.join(PINS) + '\n'
    bin_dir = os.path.join(path, 'bin')
    if os.path.exists(stamp) and open(stamp, encoding='utf-8').read() == wanted \
            and os.path.exists(os.path.join(bin_dir, 'ansible-inventory')):
        return bin_dir
    log('baseline: installing %s into %s (once, about a minute)' % (' '.join(PINS), path))
    if not os.path.exists(os.path.join(bin_dir, 'python')):
        subprocess.run([python or sys.executable, '-m', 'venv', path], check=True)
    subprocess.run([os.path.join(bin_dir, 'python'), '-m', 'pip', 'install', '--disable-pip-version-check', '-q']
                   + list(PINS), check=True)
    with open(stamp, 'w', encoding='utf-8') as handle:
        handle.write(wanted)
    return bin_dir


def workaround_dir(path):
    """A directory holding the sitecustomize.py that imports openstack.version (for PYTHONPATH)."""
    directory = os.path.join(os.path.dirname(os.path.abspath(path)), 'openstack-version-workaround')
    os.makedirs(directory, exist_ok=True)
    target = os.path.join(directory, 'sitecustomize.py')
    if not os.path.exists(target) or open(target, encoding='utf-8').read() != SITECUSTOMIZE:
        with open(target, 'w', encoding='utf-8') as handle:
            handle.write(SITECUSTOMIZE)
    return directory


def collection_version(bin_dir, namespace='openstack', name='cloud'):
    """Version of a collection bundled in the venv (from its MANIFEST.json), or None."""
    code = ('import json, os, ansible_collections as ac; '
            'p = os.path.join(list(ac.__path__)[0], %r, %r, "MANIFEST.json"); '
            'print(json.load(open(p))["collection_info"]["version"] if os.path.exists(p) else "")'
            % (namespace, name))
    result = subprocess.run([os.path.join(bin_dir, 'python'), '-c', code], capture_output=True, text=True,
                            check=False)
    return result.stdout.strip() or None


def package_versions(bin_dir, packages=('ansible', 'ansible-core', 'openstacksdk')):
    code = ('import json, importlib.metadata as m\n'
            'found = {}\n'
            'for p in %r:\n'
            '    try:\n'
            '        found[p] = m.version(p)\n'
            '    except m.PackageNotFoundError:\n'
            '        pass\n'
            'print(json.dumps(found))\n' % (list(packages),))
    result = subprocess.run([os.path.join(bin_dir, 'python'), '-c', code], capture_output=True, text=True,
                            check=False)
    try:
        return json.loads(result.stdout)
    except ValueError:
        return {}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the pip bootstrap script ansible-test downloads.

ansible-test creates its sanity-test virtual environments without pip and then
runs a ``get-pip.py`` fetched from a host this network cannot reach.  It looks
for a cached copy first, at ~/.ansible/test/cache/get_pip_<version>.py;
scripts/ansible-test.sh puts this file there.

Instead of unpacking a pip wheel embedded in the script, it installs the pip
bundled with the interpreter via ensurepip, which needs no network.  It is run
as ``python quiet_pip.py [pip options] pip==X [--no-setuptools] [--no-wheel]``;
the pinned pip version is deliberately not installed (that would need a
download): the bundled pip is recent enough to install the pinned sanity
requirements from PyPI, and ansible-test uninstalls it again afterwards.
"""

from __future__ import annotations

import ensurepip
import sys


def main():
    requested = [arg for arg in sys.argv[1:] if not arg.startswith('-')]
    # ensurepip installs from wheels inside the standard library and ignores PIP_* settings.
    ensurepip.bootstrap(upgrade=False, default_pip=True)
    print('get_pip_offline: installed pip %s via ensurepip into %s (requested: %s; not upgraded: no download)'
          % (ensurepip.version(), sys.prefix, ' '.join(requested) or 'nothing'))


if __name__ == '__main__':
    main()

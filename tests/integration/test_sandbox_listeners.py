"""Every socket the sandbox listens on is on loopback (127.0.0.1 or ::1), nothing on another
address: not the Erlang distribution port RabbitMQ opens besides AMQP, not epmd, not MariaDB, not
an API, not the owners' webhook receiver. Its Unix sockets are its own files (in .sandbox, or
MariaDB's directory outside it), none in $HOME shared with other programs or sandboxes.

The sandbox's processes are those of its pid files (.sandbox/run/*.pid, checked against their
start time as cloudctl does), everything in their sessions (each is started as a session leader),
and anything carrying the sandbox's PYTHONPATH in its environment (a daemon that left its
session). Their TCP listeners and bound UDP sockets come from ``ss -ltunp``, or from /proc when ss
(Debian's iproute2) is not installed.

Read-only: it starts, stops and changes nothing, so it needs no seeded layout.
"""
import ipaddress
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, SANDBOX

sys.path.insert(0, os.path.join(REPO, "sandbox"))
from cmsandbox import layout  # noqa: E402  pylint: disable=wrong-import-position
from cmsandbox import services  # noqa: E402  pylint: disable=wrong-import-position

LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
SANDBOX_SRC = os.path.join(REPO, "sandbox")


@pytest.fixture(scope="module", autouse=True)
def seeded_layout():
    """Overrides conftest's: this module only reads sockets and processes."""


def _stat_fields(pid):
    with open("/proc/%d/stat" % pid) as handle:
        return handle.read().rsplit(")", 1)[1].split()


def _pidfile_pids():
    run = os.path.join(SANDBOX, "run")
    pids = {}
    for entry in sorted(os.listdir(run)) if os.path.isdir(run) else []:
        if not entry.endswith(".pid"):
            continue
        try:
            with open(os.path.join(run, entry)) as handle:
                pid_text, started = handle.read().split()
            if _stat_fields(int(pid_text))[19] == started:
                pids[int(pid_text)] = entry[:-4]
        except (OSError, ValueError, IndexError):
            continue
    return pids


def _environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as handle:
        return handle.read().decode(errors="replace").split("\0")


def sandbox_processes():
    """{pid: name of the sandbox process it belongs to} for every process of the sandbox."""
    leaders = _pidfile_pids()
    found = dict(leaders)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            session = int(_stat_fields(pid)[3])
            if session in leaders:
                found.setdefault(pid, leaders[session])
            elif "PYTHONPATH=" + SANDBOX_SRC in _environ(pid):
                found.setdefault(pid, "(left its session)")
        except (OSError, ValueError, IndexError):
            continue
    return found


_SS_USER = re.compile(r'\("([^"]*)",pid=(\d+),fd=\d+\)')


def _canonical(address):
    address = address.strip("[]").split("%")[0]
    if address == "*":  # ss's "any address" of a dual-stack socket
        return "::"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6 and parsed.ipv4_mapped:
        return "::ffff:%s" % parsed.ipv4_mapped
    return str(parsed)


def _split_address(text):
    address, port = text.rsplit(":", 1)
    return _canonical(address), int(port) if port.isdigit() else 0


def listeners_from_ss():
    """[(protocol, address, port, pid)] of listening TCP and bound UDP sockets, by ss."""
    out = subprocess.run(["ss", "-H", "-l", "-n", "-p", "-t", "-u"], capture_output=True, text=True,
                         check=True).stdout
    found = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        address, port = _split_address(fields[4])
        for _name, pid in _SS_USER.findall(line):
            found.append((fields[0], address, port, int(pid)))
    return found


def _hex_address(text):
    address, port = text.split(":")
    raw = bytes.fromhex(address)
    if len(raw) == 4:
        return _canonical(".".join(str(b) for b in reversed(raw))), int(port, 16)
    # IPv6 in /proc: four 32-bit words, each in host (little-endian) order.
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return _canonical(str(ipaddress.IPv6Address(words))), int(port, 16)


def listeners_from_proc():
    """The same as listeners_from_ss, from /proc/net and each process's file descriptors."""
    sockets = {}
    for protocol, state in (("tcp", "0A"), ("tcp6", "0A"), ("udp", "07"), ("udp6", "07")):
        with open("/proc/net/" + protocol) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if fields[3] == state:
                    sockets[fields[9]] = (protocol[:3],) + _hex_address(fields[1])
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fd_dir = "/proc/%s/fd" % entry
        try:
            links = [os.readlink(os.path.join(fd_dir, fd)) for fd in os.listdir(fd_dir)]
        except OSError:
            continue
        for link in set(links):
            match = re.match(r"socket:\[(\d+)\]$", link)
            if match and match.group(1) in sockets:
                found.append(sockets[match.group(1)] + (int(entry),))
    return found


def listeners():
    return listeners_from_ss() if shutil.which("ss") else listeners_from_proc()


def test_every_sandbox_listener_is_on_loopback():
    processes = sandbox_processes()
    if not _pidfile_pids():
        pytest.fail("no sandbox process runs (%s/run): run `make sandbox` first" % SANDBOX)
    ours = sorted({(proto, address, port, pid) for proto, address, port, pid in listeners() if pid in processes},
                  key=lambda item: (item[2], item[1]))
    outside = ["%s %s:%d (pid %d, %s)" % (proto, address, port, pid, processes[pid])
               for proto, address, port, pid in ours if address not in LOOPBACK]
    assert not outside, "sandbox sockets reachable from other machines:\n" + "\n".join(outside)

    # What the check saw is the sandbox: every port it declares is among these listeners.
    ports = {port for _proto, _address, port, _pid in ours}
    missing = sorted(name for name, port in layout.PORTS.items() if port not in ports)
    assert not missing, "declared sandbox ports not found among its listeners: %s (found %s)" % (
        missing, sorted(ports))


def test_both_ways_of_listing_sockets_agree():
    """ss and /proc find the same listeners, so the test means the same without iproute2."""
    if not shutil.which("ss"):
        pytest.skip("not applicable in CI: ss (iproute2) is not installed, /proc is the only listing")
    processes = sandbox_processes()
    from_ss = {item for item in listeners_from_ss() if item[3] in processes}
    from_proc = {item for item in listeners_from_proc() if item[3] in processes}
    assert from_ss == from_proc and from_ss


def unix_listeners():
    """[(path, pid)] of listening Unix sockets with a path (abstract ones have none)."""
    paths = {}
    with open("/proc/net/unix") as handle:
        for line in handle.readlines()[1:]:
            fields = line.split()
            if len(fields) >= 8 and int(fields[3], 16) & 0x10000:  # __SO_ACCEPTCON: listening
                paths[fields[6]] = fields[7]
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fd_dir = "/proc/%s/fd" % entry
        try:
            links = {os.readlink(os.path.join(fd_dir, fd)) for fd in os.listdir(fd_dir)}
        except OSError:
            continue
        for link in links:
            match = re.match(r"socket:\[(\d+)\]$", link)
            if match and match.group(1) in paths:
                found.append((paths[match.group(1)], int(entry)))
    return found


def test_every_sandbox_unix_socket_is_its_own():
    processes = sandbox_processes()
    own = (os.path.abspath(SANDBOX) + os.sep, services.mysql_outside_dir() + os.sep)
    elsewhere = sorted("%s (pid %d, %s)" % (path, pid, processes[pid]) for path, pid in unix_listeners()
                       if pid in processes and not path.startswith(own))
    assert not elsewhere, "sandbox Unix sockets outside its directories:\n" + "\n".join(elsewhere)

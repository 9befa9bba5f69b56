"""Starting and stopping the sandbox's own processes, tracked by pid files in .sandbox/run.

``down`` only ever signals processes this module started: a pid file holds the pid and the
process start time, so a pid reused by an unrelated process is never touched.
"""
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

from cmsandbox import layout


def _pidfile(name):
    return os.path.join(layout.RUN, name + ".pid")


def _start_time(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (IOError, IndexError):
        return None


def pid_of(name):
    """The pid of a running sandbox process, or None."""
    try:
        with open(_pidfile(name)) as handle:
            pid_text, started = handle.read().split()
        pid = int(pid_text)
    except (IOError, ValueError):
        return None
    state = None
    try:
        with open("/proc/%d/stat" % pid) as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except IOError:
        return None
    if state == "Z" or _start_time(pid) != started:
        return None
    return pid


def start(name, argv, env=None, cwd=None):
    if pid_of(name):
        return pid_of(name)
    layout.ensure_dirs()
    log = open(os.path.join(layout.LOGS, name + ".out"), "ab")
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = layout.SANDBOX_SRC
    full_env.pop("OS_CLOUD", None)
    full_env.update(env or {})
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=full_env, cwd=cwd or layout.ROOT, start_new_session=True)
    log.close()
    with open(_pidfile(name), "w") as handle:
        handle.write("%d %s" % (proc.pid, _start_time(proc.pid)))
    return proc.pid


def stop(name, timeout=15.0, sig=signal.SIGTERM):
    """Stops a process group started by ``start``; True if something was stopped."""
    pid = pid_of(name)
    if not pid:
        _remove(name)
        return False
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_of(name):
        _reap(pid)
        time.sleep(0.1)
    if pid_of(name):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        while pid_of(name):
            _reap(pid)
            time.sleep(0.05)
    _remove(name)
    return True


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _remove(name):
    try:
        os.unlink(_pidfile(name))
    except FileNotFoundError:
        pass


def running():
    names = []
    if os.path.isdir(layout.RUN):
        for entry in sorted(os.listdir(layout.RUN)):
            if entry.endswith(".pid") and pid_of(entry[:-4]):
                names.append(entry[:-4])
    return names


def rss_mb(pid):
    """Resident memory of a process and all its descendants, in MiB."""
    total = 0
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (IOError, ValueError, IndexError):
                continue
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open("/proc/%d/statm" % current) as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (IOError, ValueError):
            pass
        stack.extend(children.get(current, []))
    return total / 1024.0 / 1024.0


def port_open(port, host=layout.HOST):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def http_answers(url):
    try:
        urllib.request.urlopen(url, timeout=3)
        return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def wait_for(what, check, timeout, name=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if name and not pid_of(name):
            raise RuntimeError("%s exited while starting; see %s" % (
                name, os.path.join(layout.LOGS, name + ".out")))
        time.sleep(0.2)
    raise RuntimeError("timed out after %ds waiting for %s" % (timeout, what))


def run(argv, env=None, quiet=True):
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = layout.SANDBOX_SRC
    full_env.update(env or {})
    result = subprocess.run(argv, env=full_env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(argv[:3]), result.returncode,
                                                      result.stdout[-2000:], result.stderr[-4000:]))
    return result.stdout

"""Names of the files a simulated hypervisor keeps in its state dir (shared with cloudctl)."""
GUESTS_FILE = "guests.json"
FAULTS_FILE = "faults.json"
EVENTS_FILE = "events.jsonl"
REBOOT_MARKER = "rebooted"
VERSION = "version"
PENDING_VERSION = "pending_version"
# When the simulated machine last booted (epoch seconds): set on first start and by a reboot,
# not by a restart of its compute service.
BOOTED_AT = "booted_at"


def read_version(state_dir, name=VERSION):
    """The simulated hypervisor software version, e.g. "1.0" (bumped by ``cloudctl patch``)."""
    import os
    try:
        with open(os.path.join(state_dir, name)) as handle:
            return handle.read().strip() or "1.0"
    except IOError:
        return "1.0"


def uptime_text(booted_at, now):
    """What ``LANG=C uptime`` prints on a host up since ``booted_at`` (what libvirt's driver returns)."""
    import time
    up_min = max(0, int(now - booted_at)) // 60
    days, rest = divmod(up_min, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if hours:
        clock = "%2d:%02d" % (hours, minutes)
    else:
        clock = "%d min" % minutes
    up = ("%d day%s, %s" % (days, "" if days == 1 else "s", clock)) if days else clock
    return " %s up %s,  1 user,  load average: 0.00, 0.00, 0.00\n" % (time.strftime("%H:%M:%S", time.gmtime(now)), up)


# Concurrent transfers of every simulated host (live migration, block copy, cold copy, snapshot
# upload, image download): one small file each in a directory all nova-compute processes share, so
# each host's link is shared fairly among them (physics.fair_share_mbps).
TRANSFERS_DIR = "transfers"


class Transfer(object):
    """A registered transfer from ``src`` to ``dst`` (a host name, or "glance")."""

    def __init__(self, directory, kind, src, dst):
        import json
        import os
        import uuid
        self.directory, self.kind, self.src, self.dst = directory, kind, src, dst
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, "%s.json" % uuid.uuid4().hex)
        with open(self.path + ".tmp", "w") as handle:
            json.dump({"kind": kind, "src": src, "dst": dst, "pid": os.getpid()}, handle)
        os.replace(self.path + ".tmp", self.path)

    def counts(self):
        """(transfers out of my source, transfers into my destination), this one included.
        Links are full duplex: what leaves a host does not share with what arrives."""
        out_count = in_count = 0
        for entry in active_transfers(self.directory):
            if entry["src"] == self.src:
                out_count += 1
            if entry["dst"] == self.dst:
                in_count += 1
        return max(out_count, 1), max(in_count, 1)

    def close(self):
        import os
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def active_transfers(directory):
    """Registered transfers whose process still runs (a killed nova-compute leaves stale files)."""
    import json
    import os
    found = []
    try:
        names = os.listdir(directory)
    except OSError:
        return found
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(directory, name)) as handle:
                entry = json.load(handle)
            os.kill(int(entry["pid"]), 0)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        found.append(entry)
    return found

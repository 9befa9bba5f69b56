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

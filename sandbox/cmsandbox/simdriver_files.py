"""Names of the files a simulated hypervisor keeps in its state dir (shared with cloudctl)."""
GUESTS_FILE = "guests.json"
FAULTS_FILE = "faults.json"
EVENTS_FILE = "events.jsonl"
REBOOT_MARKER = "rebooted"
VERSION = "version"
PENDING_VERSION = "pending_version"


def read_version(state_dir, name=VERSION):
    """The simulated hypervisor software version, e.g. "1.0" (bumped by ``cloudctl patch``)."""
    import os
    try:
        with open(os.path.join(state_dir, name)) as handle:
            return handle.read().strip() or "1.0"
    except IOError:
        return "1.0"

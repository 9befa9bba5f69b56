"""Where the sandbox keeps things and which loopback ports it uses.

Everything lives under ``<repo>/.sandbox``; nothing is written to /etc or to the user's
``~/.config/openstack``.
"""
import json
import os
import secrets

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROOT = os.environ.get("CLOUDMAINT_SANDBOX_DIR", os.path.join(REPO, ".sandbox"))
VENV = os.path.join(ROOT, "venv")
ETC = os.path.join(ROOT, "etc")
RUN = os.path.join(ROOT, "run")
LOGS = os.path.join(ROOT, "logs")
DATA = os.path.join(ROOT, "data")
COMPUTES = os.path.join(ROOT, "computes")
CLOUDS_YAML = os.path.join(ROOT, "clouds.yaml")
SECRETS = os.path.join(ROOT, "secrets.json")
SETTINGS = os.path.join(ROOT, "settings.json")
SANDBOX_SRC = os.path.join(REPO, "sandbox")

HOST = "127.0.0.1"
PORTS = {
    "mysql": 13306,
    "epmd": 34369,
    "amqp": 35672,
    "erlang_dist": 35673,
    "keystone": 35000,
    "placement": 38778,
    "nova": 38774,
    "glance": 39292,
    "network": 39696,
    "hooks": 39800,     # owners' webhook receiver (owner_hooks.py)
    "alertmanager": 39093,  # Prometheus Alertmanager (Debian's prometheus-alertmanager)
}

REGION = "RegionOne"
ADMIN_PROJECT = "admin"
TENANT_PROJECTS = ("web-shop", "data-lab")
TENANT_USER = "owner"

DEFAULT_SETTINGS = {
    "computes": 6,
    "zones": 2,
    # Simulated hypervisor size (each nova-compute reports this to Placement).
    "host_vcpus": 16,
    "host_memory_mb": 49152,
    "host_disk_gb": 500,
    "cpu_allocation_ratio": 4.0,
    "ram_allocation_ratio": 1.0,
    "disk_allocation_ratio": 1.0,
}


def compute_hosts(count=None):
    count = count or settings()["computes"]
    return ["hv%02d" % i for i in range(1, count + 1)]


def zone_of(host, count=None, zones=None):
    """Hosts are split into contiguous halves (or N parts): hv01-hv03 az1, hv04-hv06 az2."""
    count = count or settings()["computes"]
    zones = zones or settings()["zones"]
    index = int(host[2:]) - 1
    per_zone = -(-count // zones)
    return "az%d" % (index // per_zone + 1)


def host_ip(host):
    """Each simulated hypervisor gets its own loopback address (127.0.1.N)."""
    return "127.0.1.%d" % int(host[2:])


def compute_dir(host):
    return os.path.join(COMPUTES, host)


def url(service, path=""):
    return "http://%s:%d%s" % (HOST, PORTS[service], path)


def ensure_dirs():
    for path in (ROOT, ETC, RUN, LOGS, DATA, COMPUTES):
        os.makedirs(path, exist_ok=True)


def _load_json(path, default):
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default


def settings():
    merged = dict(DEFAULT_SETTINGS)
    merged.update(_load_json(SETTINGS, {}))
    return merged


def save_settings(values):
    ensure_dirs()
    current = _load_json(SETTINGS, {})
    current.update(values)
    with open(SETTINGS, "w") as handle:
        json.dump(current, handle, indent=2, sort_keys=True)


def passwords():
    """Random per-sandbox passwords, generated once and kept in .sandbox/secrets.json (mode 0600)."""
    existing = _load_json(SECRETS, None)
    if existing:
        return existing
    ensure_dirs()
    names = ("admin", "owner", "service", "db", "rabbit", "webhook")
    values = {name: secrets.token_urlsafe(18) for name in names}
    fd = os.open(SECRETS, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle, indent=2)
    return values

"""First-start steps: databases, schemas, Keystone catalog, Nova cells, zones and aggregates.

Each step is idempotent and recorded in .sandbox/data/bootstrap.json, so ``up`` after ``down``
skips what is done and keeps the data.
"""
import json
import os
from concurrent import futures

from cmsandbox import configs
from cmsandbox import layout
from cmsandbox import procs
from cmsandbox import services

STATE = os.path.join(layout.DATA, "bootstrap.json")
DATABASES = ("keystone", "placement", "glance", "nova_api", "nova", "nova_cell0")


def _done():
    try:
        with open(STATE) as handle:
            return set(json.load(handle))
    except (IOError, ValueError):
        return set()


def _mark(step):
    steps = _done() | {step}
    with open(STATE, "w") as handle:
        json.dump(sorted(steps), handle)


def step(name, func, *args):
    if name in _done():
        return
    func(*args)
    _mark(name)


def create_databases():
    pw = layout.passwords()["db"]
    statements = ["CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4" % db for db in DATABASES]
    statements.append("CREATE USER IF NOT EXISTS 'sandbox'@'127.0.0.1' IDENTIFIED BY '%s'" % pw)
    statements.append("GRANT ALL PRIVILEGES ON *.* TO 'sandbox'@'127.0.0.1'")
    services.mysql_exec("; ".join(statements))


def _venv(tool):
    return os.path.join(services.BIN, tool)


def sync_keystone():
    conf = os.path.join(configs.keystone_dir(), "keystone.conf")
    base = [_venv("keystone-manage"), "--config-file", conf]
    procs.run(base + ["db_sync"])
    procs.run(base + ["fernet_setup", "--keystone-user", "root", "--keystone-group", "root"])
    procs.run(base + ["credential_setup", "--keystone-user", "root", "--keystone-group", "root"])
    url = layout.url("keystone", "/v3")
    procs.run(base + ["bootstrap", "--bootstrap-password", layout.passwords()["admin"],
                      "--bootstrap-admin-url", url, "--bootstrap-internal-url", url,
                      "--bootstrap-public-url", url, "--bootstrap-region-id", layout.REGION])


def sync_placement():
    procs.run([_venv("placement-manage"), "--config-file",
               os.path.join(layout.ETC, "placement", "placement.conf"), "db", "sync"])


def sync_glance():
    procs.run([_venv("glance-manage"), "--config-file",
               os.path.join(layout.ETC, "glance", "glance-api.conf"), "db_sync"])


def sync_nova():
    services.nova_manage("api_db", "sync")
    services.nova_manage("cell_v2", "map_cell0", "--database_connection",
                         configs.db_url("nova_cell0"))
    cells = services.nova_manage("cell_v2", "list_cells")
    if "cell1" not in cells:
        services.nova_manage("cell_v2", "create_cell", "--name", "cell1")
    services.nova_manage("db", "sync")


def sync_schemas():
    """All schema migrations at once: they are independent and each takes seconds."""
    jobs = {"keystone": sync_keystone, "placement": sync_placement,
            "glance": sync_glance, "nova": sync_nova}
    todo = {name: job for name, job in jobs.items() if "schema-" + name not in _done()}
    with futures.ThreadPoolExecutor(len(todo) or 1) as pool:
        running = {name: pool.submit(job) for name, job in todo.items()}
        for name, future in running.items():
            future.result()
            _mark("schema-" + name)


def admin_connection(cloud="sandbox"):
    from openstack import config
    from openstack import connection
    region = config.OpenStackConfig(config_files=[layout.CLOUDS_YAML]).get_one(cloud=cloud)
    return connection.Connection(config=region)


def _ensure(finder, creator, name, **attrs):
    found = finder(name, ignore_missing=True)
    return found or creator(name=name, **attrs)


def register_catalog():
    conn = admin_connection()
    idn = conn.identity
    pw = layout.passwords()
    service_project = _ensure(idn.find_project, idn.create_project, "service",
                              domain_id="default")
    admin_role = idn.find_role("admin")
    member_role = idn.find_role("member")
    _ensure(idn.find_role, idn.create_role, "service")
    for user in ("nova", "placement", "glance"):
        account = _ensure(idn.find_user, idn.create_user, user, domain_id="default",
                          password=pw["service"], default_project_id=service_project.id)
        idn.assign_project_role_to_user(service_project, account, admin_role)
    owner = _ensure(idn.find_user, idn.create_user, layout.TENANT_USER, domain_id="default",
                    password=pw["owner"])
    for name in layout.TENANT_PROJECTS:
        project = _ensure(idn.find_project, idn.create_project, name, domain_id="default",
                          description="sandbox tenant project")
        idn.assign_project_role_to_user(project, owner, member_role)

    catalog = {
        "placement": ("placement", layout.url("placement")),
        "nova": ("compute", layout.url("nova", "/v2.1")),
        "glance": ("image", layout.url("glance")),
        "neutron": ("network", layout.url("network")),
    }
    for name, (kind, url) in catalog.items():
        service = idn.find_service(name, ignore_missing=True) or idn.create_service(
            name=name, type=kind)
        existing = list(idn.endpoints(service_id=service.id))
        for interface in ("public", "internal", "admin"):
            if not any(e.interface == interface for e in existing):
                idn.create_endpoint(service_id=service.id, interface=interface, url=url,
                                    region_id=layout.REGION)


def discover_hosts():
    services.nova_manage("cell_v2", "discover_hosts")


def ensure_zones(conn, hosts):
    """One host aggregate per availability zone, holding its hosts."""
    existing = {agg.name: agg for agg in conn.compute.aggregates()}
    for host in hosts:
        zone = layout.zone_of(host)
        name = "agg-" + zone
        agg = existing.get(name)
        if agg is None:
            agg = existing[name] = conn.compute.create_aggregate(name=name, availability_zone=zone)
            agg = existing[name] = conn.compute.set_aggregate_metadata(agg, {"rack": zone})
        if host not in (agg.hosts or []):
            existing[name] = conn.compute.add_host_to_aggregate(agg, host)

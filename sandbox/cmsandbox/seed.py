"""A deterministic fleet for the sandbox: flavors, an image, two projects' servers with SLA
classes, owner annotations, an anti-affinity group, and a few stopped, shelved, paused and
hard-to-migrate guests. The same seed number always gives the same fleet."""
import io
import random
import time

from cmsandbox import bootstrap
from cmsandbox import layout
from cmsandbox.cloud import log
from cmsandbox.physics import META_DIRTY_RATE
from cmsandbox.physics import META_RAM_USED

FLAVORS = {  # name: (vcpus, ram MiB, root GB)
    "m1.small": (1, 2048, 20),
    "m1.medium": (2, 4096, 40),
    "m1.large": (4, 8192, 80),
}
IMAGE = "cirros-sim"
SLA_KEY = "sla"
OWNER_KEY = "cloudmaint:owner_action"
NOTIFY_KEY = "cloudmaint:notify_url"
ANTI_AFFINITY_GROUP = "db-cluster"

# (project, name prefix, count, SLA class, flavor choices)
FLEET = [
    ("web-shop", "web", 10, "cattle", ("m1.small", "m1.medium")),
    ("web-shop", "cache", 4, "pets", ("m1.medium",)),
    ("web-shop", "db", 3, "pandas", ("m1.large",)),
    ("web-shop", "shop-admin", 1, "pets", ("m1.small",)),
    ("data-lab", "etl", 8, "cattle", ("m1.medium", "m1.large")),
    ("data-lab", "notebook", 5, "pets", ("m1.medium",)),
    ("data-lab", "warehouse", 2, "pandas", ("m1.large",)),
    ("data-lab", "ci-runner", 3, "cattle", ("m1.small",)),
]
STOPPED = ("notebook-04", "etl-08", "ci-runner-03")
SHELVED = ("shop-admin-01", "notebook-05")
PAUSED = ("etl-07",)
HOT = ("db-02", "etl-03")          # dirty pages faster than the link: never converge unaided
# db-02's owner knows their database never converges live without a pause over its limit, and
# chooses a cold migration in the maintenance window instead.
OWNER_ACTIONS = {"notebook-02": "shelve_partial", "ci-runner-01": "stop", "web-09": "cold_migrate",
                 "db-02": "cold_migrate"}
NOTIFY = ("db-01", "db-02", "db-03", "warehouse-01", "cache-01")
HEADROOM_MB = 2048     # memory of each host the fleet leaves free


def plan_fleet(seed, count):
    """The servers to create, in order, with their host: pure, so the same seed gives the same
    fleet. Hosts are filled round-robin in a seeded order, skipping hosts without room."""
    rng = random.Random(seed)
    hosts = layout.compute_hosts()
    s = layout.settings()
    free = {h: s["host_memory_mb"] - HEADROOM_MB for h in hosts}
    servers = []
    for project, prefix, n, sla, flavors in FLEET:
        for i in range(1, n + 1):
            name = "%s-%02d" % (prefix, i)
            flavor = rng.choice(flavors)
            ram = FLAVORS[flavor][1]
            meta = {SLA_KEY: sla, META_RAM_USED: str(int(ram * rng.uniform(0.25, 0.75))),
                    META_DIRTY_RATE: str(rng.choice((10, 25, 40, 80, 150)))}
            if name in HOT:
                meta[META_DIRTY_RATE] = "1800"
            if name in OWNER_ACTIONS:
                meta[OWNER_KEY] = OWNER_ACTIONS[name]
            if name in NOTIFY:
                meta[NOTIFY_KEY] = layout.url("hooks", "/hooks/%s" % project)
            servers.append({"project": project, "name": name, "flavor": flavor, "sla": sla,
                            "metadata": meta, "ram": ram})
    servers = servers[:count]
    order = hosts[:]
    rng.shuffle(order)
    group_hosts = iter(order[::2])   # anti-affinity members on distinct hosts
    cursor = 0
    for server in servers:
        if server["name"].startswith("db-"):
            host = next(group_hosts)
        else:
            for _attempt in range(len(order)):
                host = order[cursor % len(order)]
                cursor += 1
                if free[host] >= server["ram"]:
                    break
        free[host] -= server["ram"]
        server["host"] = host
    return servers


def _project_connection(project):
    conn = bootstrap.admin_connection()
    return conn.connect_as_project(project)


def _ensure_flavors(conn):
    existing = {f.name for f in conn.compute.flavors()}
    for name, (vcpus, ram, disk) in FLAVORS.items():
        if name not in existing:
            conn.compute.create_flavor(name=name, vcpus=vcpus, ram=ram, disk=disk, is_public=True)


def _ensure_image(conn):
    image = conn.image.find_image(IMAGE, ignore_missing=True)
    if image is None:
        image = conn.image.create_image(
            name=IMAGE, disk_format="raw", container_format="bare", visibility="public",
            data=io.BytesIO(b"cloudmaint sandbox base image\n" * 64))
    return image


def _ensure_admin_in_projects(conn):
    admin = conn.identity.find_user("admin")
    role = conn.identity.find_role("admin")
    for name in layout.TENANT_PROJECTS:
        project = conn.identity.find_project(name)
        conn.identity.assign_project_role_to_user(project, admin, role)
        conn.set_compute_quotas(project.id, instances=200, cores=1000, ram=4096 * 1024)


def _ensure_group(conn):
    group = conn.compute.find_server_group(ANTI_AFFINITY_GROUP, ignore_missing=True)
    return group or conn.compute.create_server_group(name=ANTI_AFFINITY_GROUP,
                                                     policy="anti-affinity")


def _boot(conn, server, flavor_id, image_id, group_id):
    body = {"server": {
        "name": server["name"], "flavorRef": flavor_id, "imageRef": image_id,
        "networks": "none", "metadata": server["metadata"], "host": server["host"],
        "availability_zone": layout.zone_of(server["host"]),
    }}
    hints = {"group": group_id} if group_id else {}
    if hints:
        body["os:scheduler_hints"] = hints
    response = conn.compute.post("/servers", json=body, microversion="2.74")
    if response.status_code >= 400:
        raise RuntimeError("boot %s: %s" % (server["name"], response.text))
    return response.json()["server"]["id"]


def _wait_status(conn, ids, statuses, timeout):
    deadline = time.monotonic() + timeout
    pending = dict(ids)
    while pending and time.monotonic() < deadline:
        for name, server_id in list(pending.items()):
            server = conn.compute.get_server(server_id)
            if server.status in statuses:
                del pending[name]
            elif server.status == "ERROR":
                raise RuntimeError("%s went to ERROR: %s" % (name, server.fault))
        time.sleep(1)
    if pending:
        raise RuntimeError("timed out waiting for %s to reach %s" % (sorted(pending), statuses))


def reset_fleet(admin):
    """Deletes every server, re-enables every compute service and drops campaign ledgers."""
    servers = list(admin.compute.servers(all_projects=True))
    for server in servers:
        admin.compute.delete_server(server, force=True)
    for service in admin.compute.services(binary="nova-compute"):
        if service.status != "enabled":
            admin.compute.enable_service(service)
    for aggregate in admin.compute.aggregates():
        if aggregate.name == "cloudmaint-ledger":
            admin.compute.delete_aggregate(aggregate)
    deadline = time.monotonic() + 180
    while list(admin.compute.servers(all_projects=True)) and time.monotonic() < deadline:
        time.sleep(1)
    log("removed %d servers" % len(servers))


def seed(seed_number=42, count=36, fresh=False):
    started = time.monotonic()
    admin = bootstrap.admin_connection()
    if fresh:
        reset_fleet(admin)
    layout.save_settings({"seed": seed_number, "servers": count})
    existing = {s.name for s in admin.compute.servers(all_projects=True)}
    plan = plan_fleet(seed_number, count)
    boot_servers(admin, [s for s in plan if s["name"] not in existing])
    elapsed = time.monotonic() - started
    log("seeded %d servers (seed %d) in %.0fs" % (len(plan), seed_number, elapsed))


def boot_servers(admin, planned):
    """Boots ``planned`` (entries of plan_fleet) on their hosts, then stops, shelves or pauses
    those the fleet has so; flavors, image, projects and the anti-affinity group first."""
    _ensure_flavors(admin)
    image = _ensure_image(admin)
    _ensure_admin_in_projects(admin)
    flavors = {f.name: f.id for f in admin.compute.flavors()}
    booted = {}
    for project in layout.TENANT_PROJECTS:
        conn = _project_connection(project)
        group = _ensure_group(conn) if project == "web-shop" else None
        for server in planned:
            if server["project"] != project:
                continue
            group_id = group.id if group and server["name"].startswith("db-") else None
            booted[server["name"]] = _boot(conn, server, flavors[server["flavor"]], image.id,
                                           group_id)
            time.sleep(0.2)
    if booted:
        log("booting %d servers" % len(booted))
        _wait_status(admin, booted, ("ACTIVE",), 300)
    _apply_states(admin, booted)


def _apply_states(conn, ids):
    actions = {}
    for name, server_id in ids.items():
        if name in STOPPED:
            conn.compute.stop_server(server_id)
            actions[name] = (server_id, "SHUTOFF")
        elif name in SHELVED:
            conn.compute.shelve_server(server_id)
            actions[name] = (server_id, "SHELVED")
        elif name in PAUSED:
            conn.compute.pause_server(server_id)
            actions[name] = (server_id, "PAUSED")
    for name, (server_id, status) in actions.items():
        _wait_status(conn, {name: server_id}, (status, "SHELVED_OFFLOADED"), 180)

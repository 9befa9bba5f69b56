"""``cloudctl tidy``: the seeded layout back, whatever a campaign, a test or an operator left.

Faults cleared, every nova-compute running, up, enabled and not forced down, every hypervisor at
one version (the newest found, as after a finished upgrade), no campaign ledger, no campaign's
silence in Alertmanager, no server but the
seeded fleet, and each seeded server on its seeded host in its seeded state with its seeded
metadata. A server that is not as seeded is deleted and booted again on its host (moving it back
would depend on the very state being repaired: versions, room, faults). Quick when nothing is out
of place: one read of services, hypervisors and servers.

``empty``: a declared variant of the layout for suites that work on a host of their own: the
seeded servers of those hosts sit on the other hosts of their zone instead (``relocated``: largest
first, each to the host with most room left), so suites that need the same empty host in a row
find it so and move nothing.
"""
import json
import os
import time

from cmsandbox import bootstrap
from cmsandbox import cloud
from cmsandbox import layout
from cmsandbox import procs
from cmsandbox import seed
from cmsandbox import services
from cmsandbox import simdriver_files
from cmsandbox.cloud import log

MV = "2.96"
SEEDED_STATUS = dict([(n, "SHUTOFF") for n in seed.STOPPED] + [(n, "SHELVED") for n in seed.SHELVED]
                     + [(n, "PAUSED") for n in seed.PAUSED])
LEDGER_PREFIX = "cloudmaint-ledger"


def tidy(empty=()):
    started = time.monotonic()
    conn = bootstrap.admin_connection()
    from cmsandbox import api_faults
    api_faults.clear("nova")
    hosts = layout.compute_hosts()
    _hosts_in_service(conn, hosts)
    _level_versions(conn, hosts)
    bootstrap.ensure_zones(conn, hosts)
    _drop_ledgers(conn)
    _expire_silences()
    # nova-scheduler learns of deleted servers a while after they are gone (the compute's
    # instance-info updates): an anti-affinity member booted again on its host meanwhile is refused
    # ("No valid host"). The next pass deletes it and boots it again.
    deadline = time.monotonic() + 240
    while True:
        try:
            recreated, reset = _servers_as_seeded(conn, empty)
            break
        except RuntimeError as exc:
            if "went to ERROR" not in str(exc) or time.monotonic() > deadline:
                raise
            log("tidy: %s; again in 15 s" % str(exc)[:200])
            time.sleep(15)
    log("tidy: seeded layout in %.0fs (%d servers booted again, %d had their metadata, tags or "
        "lock reset)" % (time.monotonic() - started, recreated, reset))


def _hosts_in_service(conn, hosts):
    for host in hosts:
        if _armed(host):
            cloud.fault("clear", host)
        pending = os.path.join(layout.compute_dir(host), simdriver_files.PENDING_VERSION)
        if os.path.exists(pending):
            os.unlink(pending)
        if not procs.pid_of(services.compute_proc_name(host)):
            services.start_compute(host)
    for svc in conn.compute.services(binary="nova-compute"):
        body = {}
        if svc.status != "enabled":
            body["status"] = "enabled"
        if svc.is_forced_down:
            body["forced_down"] = False
        if body:
            _ok(conn.compute.put("/os-services/%s" % svc.id, json=body, microversion="2.53"))

    def all_up():
        return {s.host for s in conn.compute.services(binary="nova-compute")
                if s.state == "up" and s.status == "enabled"} >= set(hosts)
    procs.wait_for("every nova-compute up and enabled", all_up, 120)


def _armed(host):
    try:
        with open(os.path.join(layout.compute_dir(host), simdriver_files.FAULTS_FILE)) as handle:
            return bool(json.load(handle))
    except (IOError, ValueError):
        return False


def _level_versions(conn, hosts):
    versions = {h.name: h.hypervisor_version for h in conn.compute.hypervisors(details=True)
                if h.name in hosts}
    newest = max(versions.values())
    for host in sorted(h for h, v in versions.items() if v < newest):
        cloud.patch(host, version="%d.%d" % divmod(newest, 1000), now=True)


def _drop_ledgers(conn):
    for aggregate in conn.compute.aggregates():
        if aggregate.name.startswith(LEDGER_PREFIX):
            for host in aggregate.hosts or []:
                conn.compute.remove_host_from_aggregate(aggregate, host)
            conn.compute.delete_aggregate(aggregate)


def _expire_silences():
    """Alertmanager without a campaign's silence (those the collection made, by their creator)."""
    import urllib.request
    base = layout.url("alertmanager")
    services.start_alertmanager()
    procs.wait_for("Alertmanager", lambda: procs.port_open(layout.PORTS["alertmanager"]), 30, "alertmanager")
    with urllib.request.urlopen(base + "/api/v2/silences", timeout=10) as answer:
        silences = json.load(answer)
    for silence in silences:
        if silence.get("createdBy") == "cloudmaint.openstack" and silence["status"]["state"] != "expired":
            request = urllib.request.Request(base + "/api/v2/silence/" + silence["id"], method="DELETE")
            urllib.request.urlopen(request, timeout=10).close()


def _all_servers(conn):
    found, marker = [], None
    while True:
        params = {"all_tenants": "True", "limit": 500}
        if marker:
            params["marker"] = marker
        page = _ok(conn.compute.get("/servers/detail", params=params, microversion=MV))
        servers = page.json()["servers"]
        found += servers
        if not servers or not page.json().get("servers_links"):
            return found
        marker = servers[-1]["id"]


def _in_place(srv, planned):
    status = SEEDED_STATUS.get(planned["name"], "ACTIVE")
    return (srv["status"] == status and srv.get("OS-EXT-SRV-ATTR:host") == planned["host"]
            and srv["flavor"].get("original_name") == planned["flavor"])


def relocated(plan, empty):
    """``plan`` (entries of seed.plan_fleet) with the servers of ``empty`` hosts on the other hosts
    of their zone: largest first, each to the host with most memory left. Pure."""
    if not empty:
        return plan
    for host in empty:
        if host not in layout.compute_hosts():
            raise RuntimeError("unknown host %r" % host)
    free = {h: layout.settings()["host_memory_mb"] - seed.HEADROOM_MB for h in layout.compute_hosts()}
    for entry in plan:
        free[entry["host"]] -= entry["ram"]
    out = []
    for entry in sorted(plan, key=lambda e: (e["host"] not in empty, -e["ram"], e["name"])):
        if entry["host"] in empty:
            zone = layout.zone_of(entry["host"])
            others = [h for h in sorted(free) if layout.zone_of(h) == zone and h not in empty]
            if not others:
                raise RuntimeError("zone %s has no host left besides %s" % (zone, ", ".join(empty)))
            target = max(others, key=lambda h: free[h])
            free[target] -= entry["ram"]
            entry = dict(entry, host=target)
        out.append(entry)
    return out


def _servers_as_seeded(conn, empty=()):
    settings = layout.settings()
    plan = {s["name"]: s for s in relocated(
        seed.plan_fleet(settings.get("seed", 42), settings.get("servers", 36)), empty)}
    projects = {conn.identity.find_project(p).id: p for p in layout.TENANT_PROJECTS}
    servers = _quiet(conn, _all_servers(conn))
    keep, drop = {}, []
    for srv in servers:
        planned = plan.get(srv["name"])
        if planned and projects.get(srv["tenant_id"]) == planned["project"] \
                and srv["name"] not in keep and _in_place(srv, planned):
            keep[srv["name"]] = srv
        else:
            drop.append(srv)
    reset = sum(_reset_owner_state(conn, srv, plan[name]) for name, srv in keep.items())
    for srv in drop:
        if srv.get("locked"):
            _ok(conn.compute.post("/servers/%s/action" % srv["id"], json={"unlock": None},
                                  microversion="2.1"))
        response = conn.compute.delete("/servers/%s" % srv["id"], microversion="2.1")
        if response.status_code == 409:
            _ok(conn.compute.post("/servers/%s/action" % srv["id"],
                                  json={"os-resetState": {"state": "error"}}, microversion="2.1"))
            response = conn.compute.delete("/servers/%s" % srv["id"], microversion="2.1")
        if response.status_code != 404:
            _ok(response)
    gone = {srv["id"] for srv in drop}
    procs.wait_for("%d servers to be deleted" % len(gone),
                   lambda: not gone & {s["id"] for s in _all_servers(conn)}, 180)
    # nova-compute gives a deleted server's resources back to Placement after the server has
    # left the list: booting at once would find the hosts still full ("No valid host").
    procs.wait_for("Placement to release the deleted servers' resources",
                   lambda: not any(_allocations(conn, server_id) for server_id in gone), 120)
    missing = [s for name, s in plan.items() if name not in keep]
    if missing:
        seed.boot_servers(conn, missing)
    return len(missing), reset


def _allocations(conn, consumer):
    return _ok(conn.placement.get("/allocations/%s" % consumer,
                                  microversion="1.28")).json().get("allocations")


def _quiet(conn, servers, timeout=120):
    """Running migrations aborted, then no server busy (a task in flight would race the repair)."""
    for srv in servers:
        if srv.get("OS-EXT-STS:task_state") == "migrating":
            running = conn.compute.get("/servers/%s/migrations" % srv["id"], microversion="2.80")
            for migration in running.json().get("migrations", []) if running.ok else []:
                conn.compute.delete("/servers/%s/migrations/%s" % (srv["id"], migration["id"]),
                                    microversion="2.65")
    deadline = time.monotonic() + timeout
    while any(s.get("OS-EXT-STS:task_state") for s in servers) and time.monotonic() < deadline:
        time.sleep(2)
        servers = _all_servers(conn)
    return servers


def _reset_owner_state(conn, srv, planned):
    """Metadata, tags and lock as seeded; True when something had to change."""
    changed = False
    if (srv.get("metadata") or {}) != planned["metadata"]:
        _ok(conn.compute.put("/servers/%s/metadata" % srv["id"],
                             json={"metadata": planned["metadata"]}, microversion="2.1"))
        changed = True
    if srv.get("tags"):
        _ok(conn.compute.put("/servers/%s/tags" % srv["id"], json={"tags": []},
                             microversion="2.26"))
        changed = True
    if srv.get("locked"):
        _ok(conn.compute.post("/servers/%s/action" % srv["id"], json={"unlock": None},
                              microversion="2.1"))
        changed = True
    return changed


def _ok(response):
    if response.status_code >= 400:
        request = response.request
        raise RuntimeError("%s %s: HTTP %d %s" % (request.method, request.url, response.status_code,
                                                  response.text[:300]))
    return response

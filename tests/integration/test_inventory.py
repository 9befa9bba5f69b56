"""The cloudmaint.openstack.compute inventory and the cloud snapshot against the sandbox cloud.

The module starts from the seeded layout (conftest.seeded_layout). Another run of the suite
may still drain hosts while these run, so:
- what is checked against the cloud is read before and after the inventory run,
  and only a reading that did not change in between is compared;
- only hv05/hv06 are changed here, only while they are enabled, and a service
  state set here is undone only if it is still the one set here;
- servers are booted on hv05/hv06 when one of them is enabled and has room; a
  test that finds neither usable within a few minutes fails.
"""
import json
import os
import re
import sys
import time

import pytest

from conftest import HOSTS, REPO, run_ansible

INVENTORY = os.path.join(REPO, "tests", "integration", "files", "sandbox.compute.yml")
OURS = ("hv05", "hv06")
COUNT_LINE = re.compile(r"cloudmaint\.openstack\.compute: (\d+) requests \((\d+) HTTP")
SMALL = {"VCPU": 1, "MEMORY_MB": 2048, "DISK_GB": 20}   # m1.small
TEST_REASONS = ("cloudmaint: campaign it-inv: inventory test", "fan replacement (inventory test)")


def _module_utils():
    try:
        from ansible_collections.cloudmaint.openstack.plugins.module_utils import cloud_snapshot, nova_api
    except ImportError:
        sys.path.insert(0, os.path.join(REPO, ".collections"))
        from ansible_collections.cloudmaint.openstack.plugins.module_utils import cloud_snapshot, nova_api
    return cloud_snapshot, nova_api


cloud_snapshot, nova_api = _module_utils()


def fetch_snapshot(conn, **kwargs):
    return cloud_snapshot.fetch_snapshot(nova_api.NovaClient.for_connection(conn), **kwargs)


# ---- helpers ------------------------------------------------------------------------------------

def inventory_file(tmp_path, name="test.compute.yml", **options):
    lines = ["plugin: cloudmaint.openstack.compute", "cloud: sandbox"]
    lines += ["%s: %s" % (key, json.dumps(value)) for key, value in options.items()]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def graph(cloud_env, source=INVENTORY, verbose=False):
    """ansible-inventory --graph as {group: [members]} (every group of this plugin is a child of all)."""
    argv = ["ansible-inventory", "-i", source, "--graph"] + (["-vvv"] if verbose else [])
    result = run_ansible(cloud_env, argv, timeout=300)
    groups = {}
    current = None
    for line in result.stdout.splitlines():
        group = re.match(r"^  \|--@(\S+):$", line)
        member = re.match(r"^  \|  \|--(\S+)$", line)
        if group:
            current = groups.setdefault(group.group(1), [])
        elif member and current is not None:
            current.append(member.group(1))
    return groups, result


def host_vars(cloud_env, host, source=INVENTORY):
    result = run_ansible(cloud_env, ["ansible-inventory", "-i", source, "--host", host], timeout=300)
    return json.loads(result.stdout)


def plain(value):
    """ansible-inventory --list marks strings from inventory plugins as {"__ansible_unsafe": ...}: unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def request_count(result):
    match = COUNT_LINE.search(result.stdout + result.stderr)
    assert match, "no request count in -vvv output:\n%s" % result.stdout[-3000:]
    return int(match.group(1))


def quiet(read, run, wait_s=240):
    """run() between two equal read()s: (read value, run result).

    A drain moving servers keeps a host busy for a while: try again until
    ``wait_s`` has passed, then fail.
    """
    deadline = time.monotonic() + wait_s
    while True:
        before = read()
        result = run()
        if read() == before:
            return before, result
        if time.monotonic() > deadline:
            pytest.fail("the sandbox kept changing for %ss" % wait_s)
        time.sleep(3)


def placement_view(conn, host):
    """Placement's own (provider uuid, inventories, usages) of a host."""
    providers = conn.placement.get("/resource_providers?name=%s" % host, microversion="1.29").json()
    uuid = providers["resource_providers"][0]["uuid"]
    inventories = conn.placement.get("/resource_providers/%s/inventories" % uuid,
                                     microversion="1.29").json()["inventories"]
    usages = conn.placement.get("/resource_providers/%s/usages" % uuid, microversion="1.29").json()["usages"]
    return uuid, inventories, usages


def free_of(inventories, usages):
    return {rc: int((inv["total"] - inv["reserved"]) * inv["allocation_ratio"]) - usages.get(rc, 0)
            for rc, inv in inventories.items()}


def service_states(conn):
    return {s.host: (s.status, s.state, s.disabled_reason) for s in conn.compute.services(binary="nova-compute")}


def set_service(conn, host, **body):
    """PUT the compute service as given (the sdk's Service object sends only what it thinks changed)."""
    service_id = next(s.id for s in conn.compute.services(binary="nova-compute") if s.host == host)
    response = conn.compute.put("/os-services/%s" % service_id, json=body, microversion="2.53")
    assert response.status_code == 200, response.text
    return response.json()["service"]


def usable_hosts(conn):
    """hv05/hv06 when enabled, up and with room for an m1.small."""
    states = service_states(conn)
    usable = []
    for host in OURS:
        if states[host][:2] != ("enabled", "up"):
            continue
        _uuid, inventories, usages = placement_view(conn, host)
        free = free_of(inventories, usages)
        if all(free.get(rc, 0) >= amount for rc, amount in SMALL.items()):
            usable.append(host)
    return usable


def boot_on_ours(conn, servers, count, wait_s=300, **kwargs):
    """Boot ``count`` m1.small servers on hv05/hv06, waiting for one of them to be usable."""
    booted = []
    deadline = time.monotonic() + wait_s
    while len(booted) < count:
        hosts = usable_hosts(conn)
        if not hosts:
            if time.monotonic() > deadline:
                pytest.fail("hv05 and hv06 stayed disabled or full for %ss" % wait_s)
            time.sleep(10)
            continue
        try:
            booted.append(servers.boot(hosts[len(booted) % len(hosts)], **kwargs))
        except AssertionError as exc:  # the host was taken or disabled meanwhile
            if "No valid host" not in str(exc) or time.monotonic() > deadline:
                raise
    return booted


# ---- groups and host variables ------------------------------------------------------------------

def test_graph_has_every_hypervisor_in_its_groups(cloud_env, conn):
    states, (groups, result) = quiet(lambda: service_states(conn), lambda: graph(cloud_env))
    assert sorted(groups["hypervisors"]) == HOSTS
    for host in HOSTS:
        status, state, reason = states[host]
        assert host in groups[status], (host, status, groups)
        assert host not in groups["disabled" if status == "enabled" else "enabled"]
        assert (host in groups["down"]) == (state == "down")
        in_maintenance = status == "disabled" and (reason or "").startswith("cloudmaint:")
        assert (host in groups["in_maintenance"]) == in_maintenance, (host, reason)
    assert sorted(groups["az_az1"]) == ["hv01", "hv02", "hv03"]
    assert sorted(groups["az_az2"]) == ["hv04", "hv05", "hv06"]
    assert sorted(groups["aggregate_agg_az1"]) == ["hv01", "hv02", "hv03"]
    assert sorted(groups["aggregate_agg_az2"]) == ["hv04", "hv05", "hv06"]
    assert "[WARNING]" not in result.stderr, result.stderr


def test_hypervisor_hostvars(cloud_env, conn):
    def on_hv05():
        servers = sorted(s.id for s in conn.compute.servers(all_projects=True) if s.compute_host == "hv05")
        return servers, service_states(conn)["hv05"]

    (servers, (status, state, reason)), data = quiet(on_hv05, lambda: host_vars(cloud_env, "hv05"))
    hyp = data["cloudmaint_hypervisor"]
    assert data["ansible_host"] == hyp["host_ip"] == "127.0.1.5"
    assert (hyp["zone"], hyp["aggregates"]) == ("az2", ["agg-az2"])
    assert (hyp["status"], hyp["state"], hyp["disabled_reason"]) == (status, state, reason)
    assert sorted(s["id"] for s in hyp["servers"]) == servers
    assert hyp["server_count"] == len(servers)
    assert all(set(s) == {"id", "name", "status", "sla_class", "annotations"} for s in hyp["servers"])
    assert data["cloudmaint_inventory"]["request_count"] > 0


# ---- capacity -----------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["hv01", "hv05"])
def test_full_capacity_matches_placement(cloud_env, conn, tmp_path, host):
    source = inventory_file(tmp_path, placement_detail="full")
    (_uuid, inventories, usages), data = quiet(lambda: placement_view(conn, host),
                                               lambda: host_vars(cloud_env, host, source))
    capacity = data["cloudmaint_hypervisor"]["capacity"]
    assert sorted(capacity) == sorted(inventories)
    for rc, inv in inventories.items():
        expected_capacity = int((inv["total"] - inv["reserved"]) * inv["allocation_ratio"])
        assert capacity[rc] == {
            "total": inv["total"], "reserved": inv["reserved"], "allocation_ratio": inv["allocation_ratio"],
            "max_unit": inv["max_unit"], "capacity": expected_capacity, "used": usages.get(rc, 0),
            "free": expected_capacity - usages.get(rc, 0)}, rc
    assert data["cloudmaint_inventory"]["placement_detail"] == "full"


def test_summary_capacity_is_placement_capacity(conn):
    views, snapshot = quiet(lambda: {host: placement_view(conn, host) for host in HOSTS},
                            lambda: fetch_snapshot(conn, placement_detail="summary"))
    no_room = {rc: set() for rc in cloud_snapshot.PROBE_RESOURCE_CLASSES}
    for host in HOSTS:
        uuid, inventories, usages = views[host]
        hyp = snapshot["hypervisors"][host]
        assert hyp["resource_provider"] == uuid
        assert sorted(hyp["capacity"]) == sorted(inventories), host
        for rc, inv in inventories.items():
            assert hyp["capacity"][rc]["capacity"] == int((inv["total"] - inv["reserved"]) * inv["allocation_ratio"])
            assert hyp["capacity"][rc]["used"] == usages.get(rc, 0)
        for rc, free in free_of(inventories, usages).items():
            if free < 1 and rc in no_room:
                no_room[rc].add(host)
    # one allocation candidates query per resource class until every host was seen; a host full
    # in memory (a drain filled it) is found by the VCPU query, not by requests of its own
    probes = ["MEMORY_MB"]
    missing = no_room["MEMORY_MB"]
    for rc in ("VCPU", "DISK_GB"):
        if missing:
            probes.append(rc)
            missing = missing & no_room[rc]
    assert snapshot["placement"] == {"detail": "summary", "probes": probes, "fallbacks": len(missing)}


# ---- maintenance --------------------------------------------------------------------------------

def test_disabled_service_is_in_maintenance_only_with_our_prefix(cloud_env, conn):
    states = service_states(conn)
    hosts = [host for host in OURS if states[host][0] == "enabled"]
    if not hosts:
        pytest.fail("hv05 and hv06 are both disabled, although the module starts from the "
                    "seeded layout: %s" % states)
    host = hosts[0]
    try:
        set_service(conn, host, status="disabled", disabled_reason=TEST_REASONS[0])
        groups, _result = graph(cloud_env)
        assert host in groups["disabled"] and host not in groups["enabled"]
        assert host in groups["in_maintenance"]
        hyp = host_vars(cloud_env, host)["cloudmaint_hypervisor"]
        assert (hyp["in_maintenance"], hyp["maintenance_campaign"]) == (True, "it-inv")
        assert hyp["disabled_reason"] == TEST_REASONS[0]

        set_service(conn, host, status="disabled", disabled_reason=TEST_REASONS[1])
        groups, _result = graph(cloud_env)
        assert host in groups["disabled"]
        assert host not in groups["in_maintenance"]
    finally:
        # re-enable, unless a campaign took the host over meanwhile (then it is theirs to enable)
        if service_states(conn)[host][2] in TEST_REASONS:
            set_service(conn, host, status="enabled")
    states, (groups, _result) = quiet(lambda: service_states(conn), lambda: graph(cloud_env))
    if states[host][0] == "enabled":
        assert host in groups["enabled"] and host not in groups["in_maintenance"]


# ---- servers ------------------------------------------------------------------------------------

def test_servers_and_sla_groups(cloud_env, conn, servers):
    booted, = boot_on_ours(conn, servers, 1, metadata={"sla": "pandas", "cloudmaint:owner_action": "leave"})
    listed_before = {s.id: s for s in conn.compute.servers(all_projects=True)}
    groups, _result = graph(cloud_env)
    listed_after = {s.id for s in conn.compute.servers(all_projects=True)}
    # servers that existed all along (other tests boot and delete servers meanwhile)
    stable = [s for sid, s in listed_before.items() if sid in listed_after]
    pandas = [s for s in stable if (s.metadata or {}).get("sla") == "pandas"]
    assert len(pandas) >= 6  # 5 seeded + ours
    for server in pandas:
        assert "%s_%s" % (server.name, server.id) in groups["sla_pandas"], (server.name, groups["sla_pandas"])
    booted_host = "%s_%s" % (booted.name, booted.id)
    assert booted_host in groups["servers"]
    assert set(groups["sla_pandas"]) <= set(groups["servers"])
    assert not set(groups["servers"]) & set(groups["hypervisors"])

    data = host_vars(cloud_env, booted_host)
    assert "ansible_host" not in data  # the sandbox's servers have no addresses
    data = data["cloudmaint_server"]
    assert (data["id"], data["sla_class"], data["project_name"]) == (booted.id, "pandas", "web-shop")
    assert data["annotations"] == {"cloudmaint:owner_action": "leave"}
    assert data["flavor"]["name"] == "m1.small"
    assert data["hypervisor"] in OURS
    hyp = host_vars(cloud_env, data["hypervisor"])["cloudmaint_hypervisor"]
    summary = next(s for s in hyp["servers"] if s["id"] == booted.id)
    assert (summary["sla_class"], summary["annotations"]) == ("pandas", {"cloudmaint:owner_action": "leave"})


def test_db_cluster_members_carry_their_server_group(cloud_env, conn):
    group = next(g for g in conn.compute.server_groups(all_projects=True) if g.name == "db-cluster")
    listing = plain(json.loads(run_ansible(cloud_env, ["ansible-inventory", "-i", INVENTORY, "--list"],
                                           timeout=300).stdout))
    hostvars = listing["_meta"]["hostvars"]
    members = {v["cloudmaint_server"]["id"]: v["cloudmaint_server"] for v in hostvars.values()
               if "cloudmaint_server" in v and v["cloudmaint_server"]["id"] in group.member_ids}
    assert sorted(members) == sorted(group.member_ids)
    for data in members.values():
        assert {"id": group.id, "name": "db-cluster", "policy": "anti-affinity"} in data["server_groups"]
    assert listing["hypervisors"]["hosts"] == HOSTS


# ---- request count --------------------------------------------------------------------------------

def expected_requests(snapshot, page_size):
    """What fetch_snapshot should have sent: pages, never a request per server or per host."""
    def pages(count):
        return count // page_size + 1   # a full last page costs one more, empty, request

    nodes = sum(len(h["nodes"]) for h in snapshot["hypervisors"].values())
    placement = snapshot["placement"]
    return (1                                   # compute version discovery
            + pages(nodes)                      # /os-hypervisors/detail
            + 1 + 1                             # /os-services, /os-aggregates
            + pages(len(snapshot["servers"]))   # /servers/detail
            + -(-len(snapshot["server_groups"]) // page_size) + 1   # by offset: only an empty page ends it
            + 1 + len(placement["probes"]) + 2 * placement["fallbacks"]
            + 1)                                # /projects


def test_request_count_scales_with_pages_only(conn, servers):
    small_pages = 10
    before = fetch_snapshot(conn, page_size=small_pages)
    assert before["request_count"] == expected_requests(before, small_pages), before["requests_by_service"]
    default_before = fetch_snapshot(conn)

    boot_on_ours(conn, servers, 4)
    after = fetch_snapshot(conn, page_size=small_pages)
    assert set(servers.created) <= set(after["servers"])
    # more servers, more pages of 10: and nothing else
    assert after["request_count"] == expected_requests(after, small_pages), after["requests_by_service"]
    assert after["requests_by_service"]["identity"] == 1

    # with the default page size of 1000 the sandbox fits in one page either way
    default_after = fetch_snapshot(conn)
    assert default_before["request_count"] == expected_requests(default_before, 1000)
    assert default_after["request_count"] == expected_requests(default_after, 1000)
    assert default_after["request_count"] <= 12
    # over the wire: the same, give or take version discovery and a token refresh
    assert abs(default_after["http_requests"] - default_after["request_count"]) <= 2


def test_inventory_request_count_does_not_follow_the_fleet(cloud_env, conn, servers):
    _groups, first = graph(cloud_env, verbose=True)
    booted = boot_on_ours(conn, servers, 2)
    groups, second = graph(cloud_env, verbose=True)
    # placement may need a second query when a host is full in memory, never more per server
    assert abs(request_count(first) - request_count(second)) <= 2
    assert request_count(second) <= 12
    assert {"%s_%s" % (server.name, server.id) for server in booted} <= set(groups["servers"])


# ---- errors -------------------------------------------------------------------------------------

def test_unknown_cloud_names_the_cloud_and_the_files_searched(cloud_env, tmp_path):
    source = tmp_path / "bad.compute.yml"
    source.write_text("plugin: cloudmaint.openstack.compute\ncloud: no-such-cloud\n")
    result = run_ansible(cloud_env, ["ansible-inventory", "-i", str(source), "--graph"], check=False)
    text = result.stdout + result.stderr
    assert "cloud 'no-such-cloud' not found in %s" % cloud_env["OS_CLIENT_CONFIG_FILE"] in text
    assert "clouds.yaml files searched" in text


def test_authentication_failure_is_clear_and_keeps_the_password_secret(cloud_env, tmp_path):
    import yaml

    with open(cloud_env["OS_CLIENT_CONFIG_FILE"]) as handle:
        clouds = yaml.safe_load(handle)
    secret = "wrong-Pa55word-%s" % os.getpid()
    clouds["clouds"]["sandbox"]["auth"]["password"] = secret
    clouds_yaml = tmp_path / "clouds.yaml"
    clouds_yaml.write_text(yaml.safe_dump(clouds))
    source = inventory_file(tmp_path, "auth.compute.yml")
    env = dict(cloud_env, OS_CLIENT_CONFIG_FILE=str(clouds_yaml))
    result = run_ansible(env, ["ansible-inventory", "-i", source, "--graph", "-vvv"], check=False)
    text = result.stdout + result.stderr
    assert "authentication to cloud 'sandbox' failed" in text
    assert "HTTP 401" in text
    assert secret not in text


def test_tenant_credentials_get_an_explanation(cloud_env, tmp_path):
    source = tmp_path / "tenant.compute.yml"
    source.write_text("plugin: cloudmaint.openstack.compute\ncloud: sandbox-tenant\n")
    result = run_ansible(cloud_env, ["ansible-inventory", "-i", str(source), "--graph"], check=False)
    text = result.stdout + result.stderr
    assert "HTTP 403" in text
    assert "needs credentials allowed to list hypervisors and all servers" in text

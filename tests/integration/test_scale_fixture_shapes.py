"""The benchmark fixture (bench/fleet_api.py) answers like the sandbox's real Nova, Placement and Keystone.

The same calls (those of the cloudmaint.openstack.compute and
openstack.cloud.openstack inventories) go to the sandbox cloud and to a small
generated fleet; every answer's keys and value types are compared recursively
(bench/json_shape.py): the fixture must not miss a key the real API always
returns, nor return a key or a type it never does.  Microversion headers and
next links are compared too.  Only GET requests go to the sandbox.
"""
import os
import sys
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "bench"))

import fleet  # noqa: E402
import fleet_api  # noqa: E402
import json_shape  # noqa: E402

COMPUTE_MV = "2.96"
PLACEMENT_MV = "1.29"

# Objects keyed by data, not by field names.
MAPS = (
    "servers[].metadata", "servers[].flavor.extra_specs", "servers[].addresses", "aggregates[].metadata",
    "server_groups[].rules", "provider_summaries", "provider_summaries{}.resources",
    "allocation_requests[].allocations", "allocation_requests[].allocations{}.resources", "inventories", "usages",
)

# Types the real APIs return in states the sandbox may not be in while this runs.
ALSO_ALLOWED = {
    # a shelved-offloaded server has no host (the sandbox's shelved servers usually keep theirs)
    "servers[].OS-EXT-SRV-ATTR:host": {"null"},
    "servers[].OS-EXT-SRV-ATTR:hypervisor_hostname": {"null"},
    # a disabled compute service has a reason, an enabled one none
    "services[].disabled_reason": {"str", "null"},
    "hypervisors[].service.disabled_reason": {"str", "null"},
    # an aggregate without an availability zone (the sandbox's two both have one)
    "aggregates[].availability_zone": {"null"},
    # Nova cannot ask a compute service that is down for its host's uptime
    "hypervisors[].uptime": {"null"},
}

# Nova's address entries (nova/api/openstack/compute/views/ips.py); the sandbox boots
# servers with `networks: none`, so it never shows one.
NOVA_ADDRESS = {"version": "int", "addr": "str", "OS-EXT-IPS:type": "str", "OS-EXT-IPS-MAC:mac_addr": "str"}


@pytest.fixture(scope="module")
def fixture_conn():
    import openstack.config
    import openstack.connection
    api = fleet_api.FleetAPI(fleet.generate_fleet(12, 90, seed=7)).start()
    # Not through a clouds.yaml: OS_CLIENT_CONFIG_FILE (the sandbox's) would win over it.
    config = openstack.config.OpenStackConfig(load_yaml_config=False, load_envvars=False)
    region = config.get_one(**api.clouds_yaml()["clouds"][fleet_api.CLOUD])
    connection = openstack.connection.Connection(config=region)
    yield connection
    api.stop()


def get(connection, service, path, microversion=None):
    response = getattr(connection, service).get(path, microversion=microversion)
    assert response.status_code == 200, "%s GET %s: HTTP %s %s" % (service, path, response.status_code,
                                                                   response.text[:300])
    return response


def unversioned_get(connection, url):
    return connection.session.get(url, authenticated=False, raise_exc=False)


def compare(real_documents, fake_documents, key=None):
    real = json_shape.shape_of(real_documents, MAPS)
    fake = json_shape.shape_of(fake_documents, MAPS)
    problems, unchecked = json_shape.differences(real, fake, also_allowed=ALSO_ALLOWED)
    assert not problems, "the fixture's %s differs from the real API:\n  %s" % (key, "\n  ".join(problems))
    return unchecked


CALLS = [
    ("compute", "/servers/detail?all_tenants=True", COMPUTE_MV),
    ("compute", "/servers/detail?all_tenants=True&limit=2", COMPUTE_MV),
    ("compute", "/os-hypervisors/detail", COMPUTE_MV),
    ("compute", "/os-hypervisors/detail?limit=2", COMPUTE_MV),
    ("compute", "/os-services?binary=nova-compute", COMPUTE_MV),
    ("compute", "/os-aggregates", COMPUTE_MV),
    ("compute", "/os-server-groups?all_projects=True&limit=1000", COMPUTE_MV),
    ("placement", "/resource_providers", PLACEMENT_MV),
    ("placement", "/allocation_candidates?resources=MEMORY_MB:1", PLACEMENT_MV),
    ("identity", "/projects", None),
]


@pytest.mark.parametrize("service,path,microversion", CALLS, ids=["%s %s" % call[:2] for call in CALLS])
def test_same_shape_as_the_sandbox(conn, fixture_conn, service, path, microversion):
    real = get(conn, service, path, microversion).json()
    fake = get(fixture_conn, service, path, microversion).json()
    unchecked = compare([real], [fake], path)
    assert set(unchecked) <= {"servers[].addresses{}"}, "nothing real to compare with: %s" % unchecked


def test_server_addresses_are_novas(fixture_conn):
    """The sandbox has no addresses to compare with: the fixture's must have the fields of Nova's view."""
    servers = get(fixture_conn, "compute", "/servers/detail?all_tenants=True", COMPUTE_MV).json()["servers"]
    entries = [entry for server in servers for entries in server["addresses"].values() for entry in entries]
    assert entries
    for entry in entries:
        assert {key: json_shape.type_name(value) for key, value in entry.items()} == NOVA_ADDRESS


@pytest.mark.parametrize("suffix", ["inventories", "usages"])
def test_provider_details_same_shape(conn, fixture_conn, suffix):
    def first_provider(connection):
        providers = get(connection, "placement", "/resource_providers", PLACEMENT_MV).json()["resource_providers"]
        return providers[0]["uuid"]

    real = get(conn, "placement", "/resource_providers/%s/%s" % (first_provider(conn), suffix), PLACEMENT_MV).json()
    fake = get(fixture_conn, "placement", "/resource_providers/%s/%s" % (first_provider(fixture_conn), suffix),
               PLACEMENT_MV).json()
    assert not compare([real], [fake], suffix)


def test_token_same_shape(conn, fixture_conn):
    def token(connection):
        connection.authorize()
        return connection.session.auth.get_access(connection.session)._data  # pylint: disable=protected-access

    assert not compare([token(conn)], [token(fixture_conn)], "token")


def test_version_documents_same_shape(conn, fixture_conn):
    def documents(connection):
        compute = connection.endpoint_for("compute").rstrip("/")
        identity = connection.endpoint_for("identity").rstrip("/")
        urls = {
            "compute versions": (compute.rsplit("/", 1)[0] + "/", 200),
            "compute version": (compute, 200),
            "placement versions": (connection.endpoint_for("placement").rstrip("/") + "/", 200),
            "identity versions": (identity.rsplit("/", 1)[0] + "/", 300),
            "identity version": (identity, 200),
        }
        found = {}
        for name, (url, status) in urls.items():
            response = unversioned_get(connection, url)
            assert response.status_code == status, (name, url, response.status_code)
            found[name] = response.json()
        return found

    real, fake = documents(conn), documents(fixture_conn)
    for name in real:
        assert not compare([real[name]], [fake[name]], name)
    assert fake["compute version"]["version"]["version"] == COMPUTE_MV
    assert fake["compute version"]["version"]["min_version"] == "2.1"


@pytest.mark.parametrize("service,path,microversion,headers", [
    ("compute", "/os-aggregates", COMPUTE_MV,
     {"OpenStack-API-Version": "compute 2.96", "X-OpenStack-Nova-API-Version": "2.96"}),
    ("compute", "/os-aggregates", "2.60",
     {"OpenStack-API-Version": "compute 2.60", "X-OpenStack-Nova-API-Version": "2.60"}),
    ("compute", "/os-aggregates", None,
     {"OpenStack-API-Version": "compute 2.1", "X-OpenStack-Nova-API-Version": "2.1"}),
    ("placement", "/resource_providers", PLACEMENT_MV, {"openstack-api-version": "placement 1.29"}),
])
def test_microversion_headers_like_the_sandbox(conn, fixture_conn, service, path, microversion, headers):
    for connection in (conn, fixture_conn):
        response = get(connection, service, path, microversion)
        assert {key: response.headers.get(key) for key in headers} == headers
        assert "OpenStack-API-Version" in response.headers.get("Vary", "") or \
            "openstack-api-version" in response.headers.get("Vary", "")


@pytest.mark.parametrize("path,key", [("/servers/detail?all_tenants=True&limit=2", "servers"),
                                      ("/os-hypervisors/detail?limit=2", "hypervisors")])
def test_next_links_like_the_sandbox(conn, fixture_conn, path, key):
    """Nova's next link repeats the request's parameters, sorted, with the last item's id as marker."""
    def link(connection):
        body = get(connection, "compute", path, COMPUTE_MV).json()
        links = body[key + "_links"]
        assert [item["rel"] for item in links] == ["next"]
        href = urlsplit(links[0]["href"])
        query = parse_qs(href.query)
        assert query["marker"] == [body[key][-1]["id"]]
        assert href.query.startswith(urlsplit(path).query.split("&")[0])
        return href.path.rsplit("/v2.1", 1)[1], sorted(query)

    assert link(conn) == link(fixture_conn)

"""Fixtures for tests that run against the sandbox cloud (sandbox/cloudctl).

The sandbox must be up (``make sandbox`` or ``sandbox/cloudctl up && sandbox/cloudctl seed``);
these tests never start it themselves, so a missing sandbox is one clear failure, not a hang.

Each test module starts from the seeded layout (``seeded_layout``: ``cloudctl tidy``), whatever
``make demo``, an earlier module, an interrupted run or an operator left: no module depends on
the order of the files or on what ran before it.
"""
import json
import os
import subprocess
import time
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SANDBOX = os.environ.get("CLOUDMAINT_SANDBOX_DIR", os.path.join(REPO, ".sandbox"))
CLOUDS_YAML = os.path.join(SANDBOX, "clouds.yaml")
CLOUDCTL = os.path.join(REPO, "sandbox", "cloudctl")
HOSTS = ["hv%02d" % i for i in range(1, 7)]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a minute against the sandbox")
    config.addinivalue_line("markers", "faults: injects faults into the sandbox (hv01-hv03 only)")


@pytest.fixture(scope="session")
def cloud_env():
    if not os.path.exists(CLOUDS_YAML):
        pytest.fail("sandbox not found (%s): run `make sandbox` first" % CLOUDS_YAML)
    env = dict(os.environ)
    env["OS_CLIENT_CONFIG_FILE"] = CLOUDS_YAML
    env.pop("OS_CLOUD", None)
    env["ANSIBLE_CONFIG"] = os.path.join(REPO, "ansible.cfg")
    return env


@pytest.fixture(scope="session")
def conn(cloud_env):
    import openstack.config
    import openstack.connection
    region = openstack.config.OpenStackConfig(config_files=[CLOUDS_YAML]).get_one(cloud="sandbox")
    connection = openstack.connection.Connection(config=region)
    try:
        connection.compute.get("/", microversion=None)
    except Exception as exc:  # pragma: no cover - environment problem, not a test result
        pytest.fail("sandbox cloud not answering (%s): run `make sandbox`" % exc)
    return connection


@pytest.fixture(scope="session")
def tenant(cloud_env):  # pylint: disable=unused-argument
    """The owner of the web-shop project with the tenant's own credentials (clouds.yaml
    ``sandbox-tenant``), never the admin acting for them."""
    import openstack.config
    import openstack.connection
    region = openstack.config.OpenStackConfig(config_files=[CLOUDS_YAML]).get_one(cloud="sandbox-tenant")
    return openstack.connection.Connection(config=region)


@pytest.fixture(scope="module", autouse=True)
def seeded_layout(request, cloud_env):  # pylint: disable=unused-argument
    """Every host up, enabled and at one version, only the seeded servers, each where the seed
    put it (sandbox/cmsandbox/tidy.py). A module that drains hv03 (it uses
    modules_support.drained_host) starts from the variant with hv03's seeded servers on hv01 and
    hv02, so that such modules in a row move nothing to get there."""
    args = ["tidy"]
    if hasattr(request.module, "drained_host"):
        args += ["--empty", "hv03"]
    print(cloudctl(*args, timeout=600).stdout.strip())


def cloudctl(*args, check=True, timeout=300):
    result = subprocess.run([CLOUDCTL] + list(args), capture_output=True, text=True,
                            timeout=timeout, check=False)
    if check and result.returncode != 0:
        output = result.stdout + result.stderr
        raise AssertionError("cloudctl %s failed:\n%s" % (" ".join(args), output))
    return result


@pytest.fixture
def ctl():
    """Runs sandbox/cloudctl; faults armed by a test are cleared afterwards."""
    touched = []

    def run(*args, **kwargs):
        if args and args[0] == "fault" and len(args) > 2:
            touched.append(args[2])
        return cloudctl(*args, **kwargs)

    yield run
    for host in set(touched):
        cloudctl("fault", "clear", host, check=False)


def wait_until(what, check, timeout=120, interval=0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))


class ServerFactory(object):
    """Boots servers for one test on chosen hosts, and deletes them afterwards."""

    def __init__(self, conn):
        self.conn = conn
        self.created = []

    def boot(self, host, flavor="m1.small", metadata=None, name=None, wait=True, group=None,
             project="web-shop", zone=None):
        conn = self.conn.connect_as_project(project)
        flavor_id = self.conn.compute.find_flavor(flavor).id
        image_id = self.conn.image.find_image("cirros-sim").id
        name = name or "t-%s" % uuid.uuid4().hex[:8]
        body = {"server": {"name": name, "flavorRef": flavor_id, "imageRef": image_id,
                           "networks": "none", "metadata": metadata or {}, "host": host}}
        if group:
            body["os:scheduler_hints"] = {"group": group}
        if zone:
            body["server"]["availability_zone"] = zone
        response = conn.compute.post("/servers", json=body, microversion="2.74")
        assert response.status_code < 400, response.text
        server_id = response.json()["server"]["id"]
        self.created.append(server_id)
        if wait:
            self.wait_status(server_id, "ACTIVE")
        return self.conn.compute.get_server(server_id)

    def wait_status(self, server_id, status, timeout=180):
        def reached():
            server = self.conn.compute.get_server(server_id)
            if server.status == "ERROR" and status != "ERROR":
                raise AssertionError("server %s went to ERROR: %s" % (server.name, server.fault))
            return server if server.status == status and not server.task_state else None
        return wait_until("server %s to be %s" % (server_id, status), reached, timeout)

    def cleanup(self):
        """Deletes what the test booted; a server that cannot be deleted fails the test here,
        not later as "no room" in an unrelated one."""
        import openstack.exceptions
        problems = []
        for server_id in self.created:
            try:
                self.conn.compute.delete_server(server_id, force=False)
            except openstack.exceptions.NotFoundException:
                continue
            except openstack.exceptions.SDKException as exc:
                problems.append("delete %s: %s" % (server_id, exc))
        for server_id in self.created:
            try:
                server = self.conn.compute.get_server(server_id)
                self.conn.compute.wait_for_delete(server, wait=120)
            except openstack.exceptions.NotFoundException:
                continue
            except openstack.exceptions.SDKException as exc:
                problems.append("wait for %s to go: %s" % (server_id, exc))
        assert not problems, "servers the test booted are left: %s" % "; ".join(problems)


@pytest.fixture
def servers(conn):
    factory = ServerFactory(conn)
    yield factory
    factory.cleanup()


def migrations_of(conn, server_id):
    return sorted(conn.compute.migrations(instance_uuid=server_id), key=lambda m: m.id)


def run_ansible(cloud_env, argv, check=True, timeout=1800):
    """Runs an ansible command from the repo's .venv with the sandbox's clouds.yaml."""
    venv_bin = os.path.join(REPO, ".venv", "bin")
    env = dict(cloud_env)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    result = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (
            " ".join(argv), result.returncode, result.stdout[-8000:], result.stderr[-4000:]))
    return result


def events_of(host):
    """What the simulated hypervisor recorded (live migrations, snapshots, unshelves)."""
    path = os.path.join(SANDBOX, "computes", host, "events.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def level_versions(conn, hosts):
    """Brings every host of ``hosts`` to the newest hypervisor version among them, without a reboot
    (``cloudctl patch --now``: nova-compute restarts, guests keep running). Campaigns patch the
    hosts they reboot, and Nova refuses to live-migrate to an older version; a suite that drains
    some hosts of a zone again and again starts from one release, as after a finished upgrade.
    Returns the versions found."""
    versions = {h.name: h.hypervisor_version for h in conn.compute.hypervisors(details=True) if h.name in hosts}
    newest = max(versions.values())
    for host, version in sorted(versions.items()):
        if version < newest:
            cloudctl("patch", host, "--version", "%d.%d" % divmod(newest, 1000), "--now")
    return versions

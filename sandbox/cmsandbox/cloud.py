"""up / down / status / reboot / fault / reset of the sandbox cloud."""
import json
import os
import shutil
import time
from concurrent import futures

from cmsandbox import bootstrap
from cmsandbox import configs
from cmsandbox import layout
from cmsandbox import procs
from cmsandbox import services
from cmsandbox import simdriver_files


def log(message):
    print("[cloudctl %s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def up(computes=None):
    started = time.monotonic()
    if computes:
        layout.save_settings({"computes": computes})
    layout.passwords()
    configs.render_all()
    hosts = layout.compute_hosts()

    if not services.mysql_initialized():
        log("initialising MariaDB data directory")
        services.init_mysql()
    services.start_epmd()
    services.start_mysql()
    procs.wait_for("epmd", lambda: procs.port_open(layout.PORTS["epmd"]), 20, "epmd")
    services.start_rabbitmq()
    procs.wait_for("MariaDB", lambda: procs.port_open(layout.PORTS["mysql"]), 60, "mysql")
    bootstrap.step("databases", bootstrap.create_databases)
    log("schemas")
    bootstrap.sync_schemas()

    for service in services.API_SERVICES:
        services.start_api(service)
    procs.wait_for("RabbitMQ", lambda: procs.port_open(layout.PORTS["amqp"]), 90, "rabbitmq")
    for service in services.API_SERVICES:
        procs.wait_for(service + " API", lambda s=service: services.api_ready(s), 120,
                       services.api_proc_name(service))
    log("APIs answer (%.0fs)" % (time.monotonic() - started))
    bootstrap.step("catalog", bootstrap.register_catalog)
    services.start_owner_hooks()
    services.start_alertmanager()
    services.start_nova_service("nova-conductor")
    services.start_nova_service("nova-scheduler")
    conn = bootstrap.admin_connection()
    _wait_services(conn, "nova-conductor", ["nova-conductor"], 60)
    for host in hosts:
        services.start_compute(host)
    _wait_computes(conn, hosts, 120)
    bootstrap.discover_hosts()
    bootstrap.ensure_zones(conn, hosts)
    _wait_hypervisors(conn, hosts, 120)
    procs.wait_for("Alertmanager", lambda: procs.port_open(layout.PORTS["alertmanager"]), 30, "alertmanager")
    log("sandbox up: %d hypervisors in %.0fs; OS_CLIENT_CONFIG_FILE=%s OS_CLOUD=sandbox"
        % (len(hosts), time.monotonic() - started, layout.CLOUDS_YAML))


def _wait_services(conn, binary, proc_names, timeout, hosts=None):
    def registered():
        for name in proc_names:
            if not procs.pid_of(name):
                raise RuntimeError("%s exited while starting; see %s/%s.out" % (
                    name, layout.LOGS, name))
        seen = {s.host for s in conn.compute.services(binary=binary) if s.state == "up"}
        return set(hosts) <= seen if hosts else bool(seen)
    procs.wait_for(binary + " to report", registered, timeout)


def _wait_computes(conn, hosts, timeout):
    _wait_services(conn, "nova-compute", [services.compute_proc_name(h) for h in hosts],
                   timeout, hosts)


def _wait_hypervisors(conn, hosts, timeout):
    def listed():
        names = {h.name for h in conn.compute.hypervisors()}
        return set(hosts) <= names
    procs.wait_for("hypervisors to be discovered", listed, timeout)


def down():
    names = procs.running()
    order = sorted(names, key=lambda n: (not n.startswith("compute-"), n.startswith("api-"),
                                         n in ("rabbitmq", "mysql", "epmd"), n == "epmd"))
    with futures.ThreadPoolExecutor(8) as pool:
        computes = [n for n in order if n.startswith("compute-")]
        list(pool.map(procs.stop, computes))
        rest = [n for n in order if n not in computes and n not in ("rabbitmq", "mysql", "epmd")]
        list(pool.map(procs.stop, rest))
    for name in ("rabbitmq", "mysql", "epmd"):
        if name in names:
            procs.stop(name, timeout=30)
    log("stopped %d processes" % len(names))


def reset():
    down()
    for path in (layout.DATA, layout.COMPUTES, layout.ETC, layout.LOGS, layout.RUN,
                 services.mysql_outside_dir()):
        shutil.rmtree(path, ignore_errors=True)
    for path in (layout.CLOUDS_YAML, layout.SECRETS):
        if os.path.exists(path):
            os.unlink(path)
    log("sandbox state wiped (the service venv is kept)")


def reboot(host, seconds=None, wait=True):
    """Like a real reboot: the hypervisor goes away, comes back, and its guests are off."""
    _check_host(host)
    seconds = configs.profile()["reboot_s"] if seconds is None else seconds
    name = services.compute_proc_name(host)
    procs.stop(name, timeout=10)
    with open(os.path.join(layout.compute_dir(host), simdriver_files.REBOOT_MARKER), "w") as fh:
        fh.write(str(time.time()))
    log("%s is rebooting (%ss)" % (host, seconds))
    time.sleep(float(seconds))
    services.start_compute(host)
    if wait:
        conn = bootstrap.admin_connection()
        _wait_service_up(conn, host, 120)
    log("%s is back" % host)


def _wait_service_up(conn, host, timeout):
    started = time.time()

    def up_again():
        for svc in conn.compute.services(binary="nova-compute", host=host):
            updated = svc.updated_at or ""
            return svc.state == "up" and updated > time.strftime(
                "%Y-%m-%dT%H:%M:%S", time.gmtime(started))
        return False
    procs.wait_for("%s to report again" % host, up_again, timeout)


def patch(host, version=None, now=False):
    """Installs a newer simulated hypervisor version (the next one, or ``version``); like a kernel,
    it takes effect at reboot.  ``now``: like new QEMU/libvirt packages with the services restarted,
    nova-compute restarts at once and reports the version; guests keep running."""
    _check_host(host)
    state_dir = layout.compute_dir(host)
    current = simdriver_files.read_version(state_dir, simdriver_files.PENDING_VERSION) \
        if os.path.exists(os.path.join(state_dir, simdriver_files.PENDING_VERSION)) \
        else simdriver_files.read_version(state_dir)
    if version is None:
        major, _dot, minor = current.partition(".")
        version = "%s.%d" % (major, int(minor or 0) + 1)
    if not now:
        with open(os.path.join(state_dir, simdriver_files.PENDING_VERSION), "w") as handle:
            handle.write(version)
        log("%s: version %s installed, active after the next reboot" % (host, version))
        return
    pending = os.path.join(state_dir, simdriver_files.PENDING_VERSION)
    if os.path.exists(pending):
        os.unlink(pending)
    name = services.compute_proc_name(host)
    procs.stop(name, timeout=10)
    with open(os.path.join(state_dir, simdriver_files.VERSION), "w") as handle:
        handle.write(version)
    started = time.time()
    services.start_compute(host)
    conn = bootstrap.admin_connection()
    procs.wait_for("%s to report version %s" % (host, version),
                   lambda: _reported_version(conn, host) == _version_int(version), 120)
    log("%s: version %s active (nova-compute restarted in %.0fs, guests kept running)"
        % (host, version, time.time() - started))


def configure(profile=None, post_copy=None, shared=(), local=(), restart=True):
    """Change the cloud's settings (profile, post-copy permitted, which hosts share instance
    storage), render nova.conf again and restart the nova-compute services to read them (guests
    keep running, as after new packages). The API, scheduler and conductor keep their heartbeat
    settings until the next ``cloudctl up``."""
    from cmsandbox import physics
    values = {}
    if profile is not None:
        physics.profile_settings(profile)      # refuses an unknown name
        values["profile"] = profile
    if post_copy is not None:
        libvirt = dict(layout.settings().get("libvirt") or {})
        libvirt["live_migration_permit_post_copy"] = bool(post_copy)
        values["libvirt"] = libvirt
    if shared or local:
        for host in list(shared) + list(local):
            _check_host(host)
        hosts = set(layout.settings().get("shared_storage_hosts") or [])
        hosts = (hosts | set(shared)) - set(local)
        values["shared_storage_hosts"] = sorted(hosts)
    if values:
        layout.save_settings(values)
    configs.render_all()
    if not restart:
        return
    conn = bootstrap.admin_connection()
    for host in layout.compute_hosts():
        name = services.compute_proc_name(host)
        if procs.pid_of(name) is None:
            continue
        procs.stop(name, timeout=10)
        started = time.time()
        services.start_compute(host)
        _wait_service_up(conn, host, 120)
        log("%s: nova-compute restarted with the new settings in %.0fs" % (host, time.time() - started))


def _version_int(version):
    major, _dot, minor = version.partition(".")
    return int(major) * 1000 + int(minor or 0)


def _reported_version(conn, host):
    for hyp in conn.compute.hypervisors(details=True):
        if hyp.name == host and hyp.state == "up":
            return hyp.hypervisor_version
    return None


def _check_host(host):
    if host not in layout.compute_hosts():
        raise SystemExit("unknown host %r (sandbox hosts: %s)" % (
            host, ", ".join(layout.compute_hosts())))


FAULTS = {
    "fail-live-migration": ("live_migration", "fail"),
    "stall-live-migration": ("live_migration", "stall"),
    "fail-cold-migration": ("cold_migration", "fail"),
}


def fault(kind, host, value=None):
    """Arms a fault on a host; see ``cloudctl fault --help``."""
    _check_host(host)
    path = os.path.join(layout.compute_dir(host), simdriver_files.FAULTS_FILE)
    try:
        with open(path) as handle:
            current = json.load(handle)
    except (IOError, ValueError):
        current = {}
    if kind in FAULTS:
        key, val = FAULTS[kind]
        current[key] = val
    elif kind == "bandwidth":
        current["bandwidth_mbps"] = float(value)
    elif kind == "clear":
        current = {}
    elif kind == "service-down":
        procs.stop(services.compute_proc_name(host), timeout=5)
        log("%s nova-compute killed (Nova marks it down after service_down_time)" % host)
        return
    elif kind == "service-up":
        services.start_compute(host)
        log("%s nova-compute started" % host)
        return
    else:
        raise SystemExit("unknown fault %r" % kind)
    with open(path, "w") as handle:
        json.dump(current, handle)
    log("%s faults: %s" % (host, current or "none"))


def api_fault(kind, service, status=None, count=None, seconds=None, delay_s=None, methods=None,
              paths=None, forward=False):
    """Arms (api-error) or clears (api-clear) an API fault; see cmsandbox/api_faults.py."""
    from cmsandbox import api_faults
    if service not in ("nova",):
        raise SystemExit("api faults are wired into: nova (got %r)" % service)
    if kind == "api-clear":
        api_faults.clear(service)
        log("%s API faults cleared" % service)
        return
    fault = api_faults.arm(service, int(status or 503), count=count, seconds=seconds,
                           delay_s=delay_s, methods=methods, paths=paths, forward=forward)
    log("%s API fault armed: %s" % (service, fault))


def status():
    """Which processes run, their memory, the physics, and what Nova says of each host."""
    from cmsandbox.physics import DEFAULT_PHYSICS
    names = procs.running()
    total = 0.0
    lines = []
    for name in names:
        rss = procs.rss_mb(procs.pid_of(name))
        total += rss
        lines.append("  %-22s pid %-7s %7.0f MiB" % (name, procs.pid_of(name), rss))
    print("processes (%d running, %.0f MiB RSS in all):" % (len(names), total))
    print("\n".join(lines) or "  none")
    s = layout.settings()
    print("hypervisors: %d x (%d vCPU, %d MiB RAM, %d GB disk), zones: %d" % (
        s["computes"], s["host_vcpus"], s["host_memory_mb"], s["host_disk_gb"], s["zones"]))
    from cmsandbox import physics
    name = s.get("profile", physics.DEFAULT_PROFILE)
    durations = configs.profile()
    print("profile: %s (%s)" % (name, ", ".join("%s=%s" % kv for kv in sorted(durations.items()))))
    cuts = physics.shortcuts(name)
    print("shortcuts of this profile (durations only, rules unchanged; production value in "
          "brackets): " + (", ".join("%s=%s [%s]" % cut for cut in cuts) or "none"))
    print("settings of both profiles unlike Nova's defaults (Nova's in brackets): "
          + ", ".join("%s=%s [%s]" % cut for cut in physics.FIXED_SHORTCUTS))
    libvirt = dict(physics.NOVA_LIBVIRT_DEFAULTS, **(s.get("libvirt") or {}))
    print("libvirt: " + ", ".join("%s=%s" % kv for kv in sorted(libvirt.items())))
    print("shared instance storage: %s (others block-migrate and lose their disk on offload)"
          % (", ".join(s.get("shared_storage_hosts") or []) or "no host"))
    running = dict(DEFAULT_PHYSICS, boot_s=durations["boot_s"], shutdown_s=durations["shutdown_s"])
    print("physics: " + ", ".join("%s=%s" % kv for kv in sorted(running.items())))
    print("host reboot: %ss" % durations["reboot_s"])
    for host in layout.compute_hosts():
        path = os.path.join(layout.compute_dir(host), simdriver_files.FAULTS_FILE)
        if os.path.exists(path):
            with open(path) as handle:
                armed = json.load(handle)
            if armed:
                print("faults armed on %s: %s" % (host, armed))
    from cmsandbox import api_faults
    if api_faults.armed():
        print("API faults armed: %s" % api_faults.armed())
    if "api-nova" in names:
        try:
            conn = bootstrap.admin_connection()
            for svc in sorted(conn.compute.services(), key=lambda x: (x.binary, x.host)):
                fields = (svc.binary, svc.host, svc.state, svc.status, svc.disabled_reason or "")
                print("  %-16s %-8s %-4s %-8s %s" % fields)
        except Exception as exc:  # status must print what it can
            print("nova API not answering: %s" % exc)
    print("clouds.yaml: %s (clouds: sandbox, sandbox-tenant)" % layout.CLOUDS_YAML)
    print("alertmanager: %s" % layout.url("alertmanager"))
    return total

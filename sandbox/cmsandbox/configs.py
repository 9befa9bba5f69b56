"""Renders the configuration files of every sandbox service into .sandbox/etc."""
import os
import secrets

import yaml

from cmsandbox import layout
from cmsandbox import physics
from cmsandbox.physics import DEFAULT_PHYSICS


def _ini(sections):
    lines = []
    for section, values in sections.items():
        lines.append("[%s]" % section)
        for key, value in values.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            lines.append("%s = %s" % (key, value))
        lines.append("")
    return "\n".join(lines)


def _write(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _read(path):
    with open(path) as handle:
        return handle.read()


def _derived_cookie():
    """The cookie sandboxes made before it had its own value (kept in .sandbox/data/rabbitmq)."""
    return layout.passwords()["rabbit"].replace("-", "x").replace("_", "y")


def db_url(name):
    pw = layout.passwords()["db"]
    return "mysql+pymysql://sandbox:%s@%s:%d/%s?charset=utf8" % (
        pw, layout.HOST, layout.PORTS["mysql"], name)


def transport_url():
    pw = layout.passwords()["rabbit"]
    return "rabbit://sandbox:%s@%s:%d/" % (pw, layout.HOST, layout.PORTS["amqp"])


def _authtoken(user):
    return {
        "www_authenticate_uri": layout.url("keystone", "/v3"),
        "auth_url": layout.url("keystone", "/v3"),
        "auth_type": "password",
        "project_domain_name": "Default",
        "user_domain_name": "Default",
        "project_name": "service",
        "username": user,
        "password": layout.passwords()["service"],
        "region_name": layout.REGION,
    }


def _service_auth(user):
    auth = _authtoken(user)
    del auth["www_authenticate_uri"]
    return auth


def keystone_dir():
    return os.path.join(layout.ETC, "keystone")


def render_keystone():
    base = keystone_dir()
    _write(os.path.join(base, "keystone.conf"), _ini({
        "DEFAULT": {"log_file": os.path.join(layout.LOGS, "keystone.log")},
        "database": {"connection": db_url("keystone")},
        "token": {"provider": "fernet", "expiration": 14400},
        "fernet_tokens": {"key_repository": os.path.join(base, "fernet-keys")},
        "fernet_receipts": {"key_repository": os.path.join(base, "fernet-keys")},
        "credential": {"key_repository": os.path.join(base, "credential-keys")},
    }))


def render_placement():
    _write(os.path.join(layout.ETC, "placement", "placement.conf"), _ini({
        "DEFAULT": {"log_file": os.path.join(layout.LOGS, "placement.log")},
        "placement_database": {"connection": db_url("placement")},
        "api": {"auth_strategy": "keystone"},
        "keystone_authtoken": _authtoken("placement"),
    }))


def render_glance():
    base = os.path.join(layout.ETC, "glance")
    store = os.path.join(layout.DATA, "glance")
    _write(os.path.join(base, "glance-api.conf"), _ini({
        "DEFAULT": {
            "log_file": os.path.join(layout.LOGS, "glance-api.log"),
            "enabled_backends": "file:file",
            "bind_host": layout.HOST,
            "bind_port": layout.PORTS["glance"],
            "workers": 1,
            "show_image_direct_url": False,
            "enabled_import_methods": "[glance-direct,web-download]",
        },
        "database": {"connection": db_url("glance")},
        "keystone_authtoken": _authtoken("glance"),
        "paste_deploy": {
            "flavor": "keystone",
            "config_file": os.path.join(layout.VENV, "etc", "glance", "glance-api-paste.ini"),
        },
        "glance_store": {"default_backend": "file"},
        "file": {"filesystem_store_datadir": os.path.join(store, "images")},
        "os_glance_staging_store": {"filesystem_store_datadir": os.path.join(store, "staging")},
        "os_glance_tasks_store": {"filesystem_store_datadir": os.path.join(store, "tasks")},
        "oslo_policy": {"enforce_new_defaults": True},
    }))


def profile():
    """The sandbox's named durations (physics.PROFILES), from settings.json ("profile")."""
    return physics.profile_settings(layout.settings().get("profile", physics.DEFAULT_PROFILE))


def shared_storage(host):
    """Hosts listed in settings.json "shared_storage_hosts" share instance storage."""
    return host in (layout.settings().get("shared_storage_hosts") or [])


def _nova_common(state_path, log_name):
    s = layout.settings()
    durations = profile()
    fixed = {name: value for name, value, _nova in physics.FIXED_SHORTCUTS}
    return {
        "DEFAULT": {
            "transport_url": transport_url(),
            "state_path": state_path,
            "log_file": os.path.join(layout.LOGS, log_name),
            "my_ip": layout.HOST,
            "compute_driver": "cloudmaint_sim.SimulatedHypervisorDriver",
            "report_interval": durations["report_interval"],
            "service_down_time": durations["service_down_time"],
            "periodic_fuzzy_delay": fixed["periodic_fuzzy_delay"],
            "sync_power_state_interval": durations["sync_power_state_interval"],
            "shelved_offload_time": fixed["shelved_offload_time"],
            "shelved_poll_interval": -1,
            "heal_instance_info_cache_interval": -1,
            "resize_confirm_window": 0,
            "instance_usage_audit": False,
            "cpu_allocation_ratio": s["cpu_allocation_ratio"],
            "ram_allocation_ratio": s["ram_allocation_ratio"],
            "disk_allocation_ratio": s["disk_allocation_ratio"],
            "reserved_host_memory_mb": 2048,
            "reserved_host_disk_mb": 0,
            "graceful_shutdown_timeout": durations["graceful_shutdown_timeout"],
            "default_availability_zone": "az1",
        },
        "api": {"auth_strategy": "keystone"},
        "api_database": {"connection": db_url("nova_api")},
        "database": {"connection": db_url("nova")},
        "keystone_authtoken": _authtoken("nova"),
        "placement": _service_auth("nova"),
        "neutron": dict(_service_auth("nova"), service_metadata_proxy=False),
        "glance": {"region_name": layout.REGION},
        "cinder": {"os_region_name": layout.REGION},
        "service_user": {"send_service_user_token": False},
        "scheduler": {"discover_hosts_in_cells_interval": fixed["discover_hosts_in_cells_interval"],
                      "workers": 1},
        "conductor": {"workers": 1},
        "filter_scheduler": {
            "enabled_filters": ",".join([
                "ComputeFilter", "ComputeCapabilitiesFilter",
                "ImagePropertiesFilter", "ServerGroupAntiAffinityFilter",
                "ServerGroupAffinityFilter", "SameHostFilter", "DifferentHostFilter",
            ]),
            "host_subset_size": 2,
            "shuffle_best_same_weighed_hosts": True,
        },
        "compute": {
            "live_migration_wait_for_vif_plug": False,
            "max_concurrent_live_migrations": 1,
            "resource_provider_association_refresh": 30,
        },
        # Nova's defaults, written out so the simulated hypervisor reads what libvirt's would.
        "libvirt": dict(physics.NOVA_LIBVIRT_DEFAULTS, **s.get("libvirt", {})),
        "wsgi": {"api_paste_config": os.path.join(layout.VENV, "etc", "nova", "api-paste.ini")},
        "oslo_concurrency": {"lock_path": os.path.join(state_path, "locks")},
        "oslo_messaging_notifications": {"driver": "noop"},
        "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": 0},
        "oslo_policy": {"enforce_new_defaults": True, "enforce_scope": True},
        "vnc": {"enabled": False},
        "spice": {"enabled": False},
        "serial_console": {"enabled": False},
    }


def nova_conf_path(name="nova.conf"):
    return os.path.join(layout.ETC, "nova", name)


def render_nova():
    state = os.path.join(layout.DATA, "nova")
    os.makedirs(os.path.join(state, "locks"), exist_ok=True)
    _write(nova_conf_path(), _ini(_nova_common(state, "nova.log")))
    # The API's WSGI loader reads its paste pipeline from the first config file it is given.
    with open(os.path.join(layout.VENV, "etc", "nova", "api-paste.ini")) as handle:
        _write(nova_conf_path("api-paste.ini"), handle.read(), mode=0o644)


def render_compute(host):
    base = layout.compute_dir(host)
    state = os.path.join(base, "state")
    os.makedirs(os.path.join(state, "locks"), exist_ok=True)
    sections = _nova_common(state, "nova-compute-%s.log" % host)
    sections["DEFAULT"].update({
        "host": host,
        "my_ip": layout.host_ip(host),
        "instances_path": os.path.join(state, "instances"),
    })
    s = layout.settings()
    sections["cloudmaint_sim"] = {
        "state_dir": base,
        "vcpus": s["host_vcpus"],
        "memory_mb": s["host_memory_mb"],
        "disk_gb": s["host_disk_gb"],
    }
    for key, value in DEFAULT_PHYSICS.items():
        sections["cloudmaint_sim"][key] = value
    durations = profile()
    sections["cloudmaint_sim"].update({
        "boot_s": durations["boot_s"],
        "shutdown_s": durations["shutdown_s"],
        "profile": layout.settings().get("profile", physics.DEFAULT_PROFILE),
        "shared_storage": shared_storage(host),
        "transfers_dir": os.path.join(layout.COMPUTES, "transfers"),
    })
    _write(nova_conf_path("nova-compute-%s.conf" % host), _ini(sections))


def render_rabbitmq():
    base = os.path.join(layout.DATA, "rabbitmq")
    os.makedirs(base, exist_ok=True)
    _write(os.path.join(base, "rabbitmq.conf"), "\n".join([
        "listeners.tcp.default = %s:%d" % (layout.HOST, layout.PORTS["amqp"]),
        "default_user = sandbox",
        "default_pass = %s" % layout.passwords()["rabbit"],
        "loopback_users = none",
        "management.tcp.ip = 127.0.0.1",
        "log.console = false",
        "",
    ]))
    _write(os.path.join(base, "enabled_plugins"), "[].\n", mode=0o644)
    # The cookie lets an Erlang node run code in RabbitMQ's: its own random value, not one derived
    # from the AMQP password that nova.conf and every transport URL carry.
    cookie = os.path.join(base, ".erlang.cookie")
    if not os.path.exists(cookie) or _read(cookie) == _derived_cookie():
        if os.path.exists(cookie):
            os.unlink(cookie)
        _write(cookie, secrets.token_hex(20).upper(), mode=0o400)


def render_clouds_yaml():
    pw = layout.passwords()
    auth_url = layout.url("keystone", "/v3")

    def cloud(user, password, project):
        return {
            "auth": {
                "auth_url": auth_url,
                "username": user,
                "password": password,
                "project_name": project,
                "user_domain_name": "Default",
                "project_domain_name": "Default",
            },
            "region_name": layout.REGION,
            "interface": "public",
            "identity_api_version": 3,
        }

    doc = {"clouds": {
        "sandbox": cloud("admin", pw["admin"], layout.ADMIN_PROJECT),
        "sandbox-tenant": cloud(layout.TENANT_USER, pw["owner"], layout.TENANT_PROJECTS[0]),
    }}
    _write(layout.CLOUDS_YAML, "# Generated by sandbox/cloudctl: the sandbox cloud on 127.0.0.1.\n"
           + yaml.safe_dump(doc, default_flow_style=False, sort_keys=False))


def render_all():
    layout.ensure_dirs()
    render_keystone()
    render_placement()
    render_glance()
    render_nova()
    for host in layout.compute_hosts():
        render_compute(host)
    render_rabbitmq()
    render_clouds_yaml()

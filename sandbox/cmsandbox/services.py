"""The sandbox's processes: how each one is started and how we know it is ready."""
import os

from cmsandbox import configs
from cmsandbox import layout
from cmsandbox import procs

BIN = os.path.join(layout.VENV, "bin")
RABBIT_DIR = os.path.join(layout.DATA, "rabbitmq")
MYSQL_DIR = os.path.join(layout.DATA, "mysql")
MYSQL_SOCKET = os.path.join(layout.RUN, "mysql.sock")

API_SERVICES = ("keystone", "placement", "glance", "nova", "network")


def rabbit_env():
    return {
        "HOME": RABBIT_DIR,
        "RABBITMQ_NODENAME": "sandbox@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": layout.HOST,
        "RABBITMQ_NODE_PORT": str(layout.PORTS["amqp"]),
        "RABBITMQ_DIST_PORT": str(layout.PORTS["erlang_dist"]),
        "ERL_EPMD_ADDRESS": layout.HOST,
        "ERL_EPMD_PORT": str(layout.PORTS["epmd"]),
        "RABBITMQ_MNESIA_BASE": os.path.join(RABBIT_DIR, "mnesia"),
        "RABBITMQ_LOG_BASE": layout.LOGS,
        "RABBITMQ_CONFIG_FILE": os.path.join(RABBIT_DIR, "rabbitmq"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(RABBIT_DIR, "enabled_plugins"),
        "RABBITMQ_PID_FILE": os.path.join(layout.RUN, "rabbitmq-beam.pid"),
        "RABBITMQ_SERVER_ERL_ARGS": "+S 1:1 +sbwt none",
    }


def start_epmd():
    procs.start("epmd", ["epmd", "-address", layout.HOST, "-port", str(layout.PORTS["epmd"])],
                env={"ERL_EPMD_ADDRESS": layout.HOST})


def start_rabbitmq():
    procs.start("rabbitmq", ["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=rabbit_env())


def mysql_initialized():
    return os.path.isdir(os.path.join(MYSQL_DIR, "mysql"))


def init_mysql():
    os.makedirs(MYSQL_DIR, exist_ok=True)
    procs.run(["mariadb-install-db", "--no-defaults", "--datadir=" + MYSQL_DIR, "--user=root",
               "--auth-root-authentication-method=socket", "--skip-test-db"])


def start_mysql():
    procs.start("mysql", [
        "mariadbd", "--no-defaults", "--datadir=" + MYSQL_DIR, "--user=root",
        "--socket=" + MYSQL_SOCKET, "--port=%d" % layout.PORTS["mysql"],
        "--bind-address=" + layout.HOST, "--skip-name-resolve", "--skip-log-bin",
        "--max-connections=1000", "--innodb-buffer-pool-size=128M",
        "--innodb-flush-log-at-trx-commit=2", "--innodb-log-file-size=64M",
        "--pid-file=" + os.path.join(layout.RUN, "mysqld-own.pid"),
        "--log-error=" + os.path.join(layout.LOGS, "mysql.err"),
    ])


def mysql_exec(sql):
    procs.run(["mariadb", "--no-defaults", "--socket=" + MYSQL_SOCKET, "-uroot", "-e", sql])


def _gunicorn(name, port, threads=8):
    return [os.path.join(BIN, "gunicorn"), "--bind", "%s:%d" % (layout.HOST, port),
            "--workers", "1", "--threads", str(threads), "--worker-class", "gthread",
            "--keep-alive", "75", "--timeout", "300", "--graceful-timeout", "5",
            "--name", "sandbox-" + name, "cmsandbox.wsgi_apps:%s()" % name]


API_ENV = {
    "keystone": lambda: {"OS_KEYSTONE_CONFIG_DIR": os.path.join(layout.ETC, "keystone")},
    "placement": lambda: {"OS_PLACEMENT_CONFIG_DIR": os.path.join(layout.ETC, "placement")},
    "glance": lambda: {"OS_GLANCE_CONFIG_DIR": os.path.join(layout.ETC, "glance")},
    "nova": lambda: {"OS_NOVA_CONFIG_DIR": os.path.join(layout.ETC, "nova"),
                     "OS_NOVA_CONFIG_FILES": "api-paste.ini;nova.conf"},
    "network": lambda: {},
}


def api_proc_name(service):
    return "api-" + service


def start_api(service):
    threads = 16 if service == "nova" else 8
    procs.start(api_proc_name(service), _gunicorn(service, layout.PORTS[service], threads),
                env=API_ENV[service]())


def api_ready(service):
    return procs.http_answers(layout.url(service, "/"))


def start_nova_service(binary):
    procs.start(binary, [os.path.join(BIN, binary), "--config-file", configs.nova_conf_path(),
                         "--log-file", os.path.join(layout.LOGS, binary + ".log")])


def compute_proc_name(host):
    return "compute-" + host


def start_compute(host):
    procs.start(compute_proc_name(host), [
        os.path.join(BIN, "python"), "-m", "cmsandbox.compute_launcher",
        "--config-file", configs.nova_conf_path(),
        "--config-file", configs.nova_conf_path("nova-compute-%s.conf" % host),
    ])


def nova_manage(*args):
    return procs.run([os.path.join(BIN, "nova-manage"), "--config-file",
                      configs.nova_conf_path()] + list(args))


def start_owner_hooks():
    procs.start("owner-hooks", [os.path.join(BIN, "python"), "-m", "cmsandbox.owner_hooks"])

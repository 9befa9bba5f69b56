"""The sandbox's processes: how each one is started and how we know it is ready.

Every listener is on 127.0.0.1 only (tests/integration/test_sandbox_listeners.py checks it).
MariaDB never runs as root: started by root it runs as the ``mysql`` user (Debian's package creates
it), with its data, socket and error log owned by that user.
"""
import collections
import grp
import hashlib
import os
import pwd
import shutil
import stat

from cmsandbox import configs
from cmsandbox import layout
from cmsandbox import procs

BIN = os.path.join(layout.VENV, "bin")
RABBIT_DIR = os.path.join(layout.DATA, "rabbitmq")
MYSQL_USER = "mysql"
# Where MariaDB's files go when the mysql user cannot reach .sandbox (a clone under /root, say).
MYSQL_OUTSIDE_BASE = "/var/lib/cloudmaint-sandbox"

MysqlPaths = collections.namedtuple("MysqlPaths", "datadir rundir socket pidfile errlog")

API_SERVICES = ("keystone", "placement", "glance", "nova", "network")


def _erlang_ip(address):
    return "{%s}" % address.replace(".", ",")


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
        # RABBITMQ_DIST_PORT sets the distribution port, not its address: without this the
        # node listens for other Erlang nodes on every interface.
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface " + _erlang_ip(layout.HOST),
    }


def start_epmd():
    procs.start("epmd", ["epmd", "-address", layout.HOST, "-port", str(layout.PORTS["epmd"])],
                env={"ERL_EPMD_ADDRESS": layout.HOST})


def start_rabbitmq():
    procs.start("rabbitmq", ["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=rabbit_env())


def mysql_account():
    """The passwd entry MariaDB runs as: the mysql user when we are root, None (ourselves) otherwise."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(MYSQL_USER)
    except KeyError:
        raise RuntimeError("MariaDB must not run as root and there is no %r user to run it as "
                           "(the Debian package mariadb-server creates it)" % MYSQL_USER)


def reachable_by(path, account):
    """True when ``account`` may search every directory from / down to ``path``."""
    groups = {account.pw_gid} | {g.gr_gid for g in grp.getgrall() if account.pw_name in g.gr_mem}
    current = os.path.abspath(path)
    chain = [current]
    while os.path.dirname(current) != current:
        current = os.path.dirname(current)
        chain.append(current)
    for directory in chain:
        st = os.stat(directory)
        if st.st_uid == account.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def _in_tree_mysql_paths():
    rundir = os.path.join(layout.RUN, "mysql")
    return MysqlPaths(os.path.join(layout.DATA, "mysql"), rundir, os.path.join(rundir, "mysql.sock"),
                      os.path.join(rundir, "mysqld.pid"), os.path.join(layout.LOGS, "mysql.err"))


def mysql_outside_dir():
    """This sandbox's directory under MYSQL_OUTSIDE_BASE (one per sandbox directory)."""
    key = hashlib.sha1(os.path.abspath(layout.ROOT).encode()).hexdigest()[:12]
    return os.path.join(MYSQL_OUTSIDE_BASE, key)


def mysql_paths(account=None):
    """MariaDB's files: in .sandbox, or outside it when the mysql user cannot reach .sandbox."""
    layout.ensure_dirs()
    inside = _in_tree_mysql_paths()
    if account is None or all(reachable_by(os.path.dirname(p), account)
                              for p in (inside.datadir, inside.rundir, inside.errlog)):
        return inside
    base = mysql_outside_dir()
    return MysqlPaths(os.path.join(base, "data"), os.path.join(base, "run"),
                      os.path.join(base, "run", "mysql.sock"), os.path.join(base, "run", "mysqld.pid"),
                      os.path.join(base, "mysql.err"))


def _chown_tree(path, account):
    for top, dirs, files in os.walk(path):
        for name in [top] + [os.path.join(top, entry) for entry in dirs + files]:
            st = os.lstat(name)
            if (st.st_uid, st.st_gid) != (account.pw_uid, account.pw_gid):
                os.lchown(name, account.pw_uid, account.pw_gid)


def prepare_mysql_files():
    """MariaDB's directories and error log, owned by the account it runs as; a data directory
    root owned (a sandbox made before MariaDB left root) is handed over, or moved when the
    mysql user cannot reach it."""
    account = mysql_account()
    paths = mysql_paths(account)
    inside = _in_tree_mysql_paths()
    if paths.datadir != inside.datadir and os.path.isdir(inside.datadir) \
            and not os.path.exists(paths.datadir):
        os.makedirs(os.path.dirname(paths.datadir), exist_ok=True)
        shutil.move(inside.datadir, paths.datadir)
    for directory in (paths.datadir, paths.rundir):
        os.makedirs(directory, exist_ok=True)
    if not os.path.exists(paths.errlog):
        os.close(os.open(paths.errlog, os.O_WRONLY | os.O_CREAT, 0o640))
    if account is not None:
        if paths.datadir != inside.datadir:
            for directory in (MYSQL_OUTSIDE_BASE, os.path.dirname(paths.datadir)):
                os.chmod(directory, 0o711)
        _chown_tree(paths.datadir, account)
        for path in (paths.rundir, paths.errlog):
            os.chown(path, account.pw_uid, account.pw_gid)
    os.chmod(paths.datadir, 0o700)
    os.chmod(paths.rundir, 0o750)
    return paths


def _mysql_user_args(account):
    return ["--user=" + account.pw_name] if account is not None else []


def mysql_initialized():
    return os.path.isdir(os.path.join(mysql_paths(mysql_account()).datadir, "mysql"))


def init_mysql():
    paths = prepare_mysql_files()
    procs.run(["mariadb-install-db", "--no-defaults", "--datadir=" + paths.datadir]
              + _mysql_user_args(mysql_account())
              + ["--auth-root-authentication-method=socket", "--skip-test-db"])


def mysql_argv(paths, account):
    return ["mariadbd", "--no-defaults", "--datadir=" + paths.datadir] + _mysql_user_args(account) + [
        "--socket=" + paths.socket, "--port=%d" % layout.PORTS["mysql"],
        "--bind-address=" + layout.HOST, "--skip-name-resolve", "--skip-log-bin",
        "--max-connections=1000", "--innodb-buffer-pool-size=128M",
        "--innodb-flush-log-at-trx-commit=2", "--innodb-log-file-size=64M",
        "--pid-file=" + paths.pidfile,
        "--log-error=" + paths.errlog,
    ]


def start_mysql():
    if procs.pid_of("mysql"):
        return
    paths = prepare_mysql_files()
    procs.start("mysql", mysql_argv(paths, mysql_account()))


def mysql_exec(sql):
    socket_path = mysql_paths(mysql_account()).socket
    procs.run(["mariadb", "--no-defaults", "--socket=" + socket_path, "-uroot", "-e", sql])


def _gunicorn(name, port, threads=8):
    return [os.path.join(BIN, "gunicorn"), "--bind", "%s:%d" % (layout.HOST, port),
            "--workers", "1", "--threads", str(threads), "--worker-class", "gthread",
            "--keep-alive", "75", "--timeout", "300", "--graceful-timeout", "5",
            # gunicornc's socket would be $HOME/.gunicorn/gunicorn.ctl, one path for every
            # master (five here, more with a second sandbox) and outside .sandbox.
            "--no-control-socket",
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


ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
ALERTMANAGER_CONFIG = """# Written by cloudctl: the sandbox's Alertmanager keeps silences and sends nothing anywhere.
route:
  receiver: nowhere
receivers:
  - name: nowhere
"""


def start_alertmanager():
    """Alertmanager on loopback only: its HA cluster listener (0.0.0.0:9094 by default) is off."""
    config = os.path.join(layout.ETC, "alertmanager.yml")
    with open(config, "w") as handle:
        handle.write(ALERTMANAGER_CONFIG)
    storage = os.path.join(layout.DATA, "alertmanager")
    os.makedirs(storage, exist_ok=True)
    procs.start("alertmanager", [
        ALERTMANAGER, "--config.file=" + config, "--storage.path=" + storage,
        "--web.listen-address=%s:%d" % (layout.HOST, layout.PORTS["alertmanager"]),
        "--cluster.listen-address=", "--log.level=warn"])

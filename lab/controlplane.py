"""The controller: MariaDB, RabbitMQ, memcached and the OpenStack API services."""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING

from .config import CONTROLLER_IP as C
from .config import REGION
from .ini import authtoken, render
from .services import Service

if TYPE_CHECKING:
    from .lab import Lab

H = "controller"
EXPECTED = ["nova-conductor@controller", "nova-scheduler@controller", "cinder-scheduler@controller"]
DATABASES = (
    "keystone",
    "glance",
    "placement",
    "nova_api",
    "nova",
    "nova_cell0",
    "neutron",
    "cinder",
)
DB_USER = {
    "keystone": "keystone_db",
    "glance": "glance",
    "placement": "placement",
    "nova_api": "nova",
    "nova": "nova",
    "nova_cell0": "nova",
    "neutron": "neutron",
    "cinder": "cinder",
}
RABBIT_ENV = (
    "HOME=/var/lib/rabbitmq RABBITMQ_NODENAME=rabbit@controller "
    f"RABBITMQ_NODE_IP_ADDRESS={C} RABBITMQ_NODE_PORT=5672 "
    "RABBITMQ_DIST_PORT=25672 RABBITMQ_MNESIA_BASE=/var/lib/rabbitmq/mnesia "
    "RABBITMQ_LOG_BASE=/var/log/rabbitmq RABBITMQ_ENABLED_PLUGINS_FILE="
    "/etc/rabbitmq/enabled_plugins RABBITMQ_CONFIG_FILE=/etc/rabbitmq/rabbitmq "
    f"ERL_EPMD_ADDRESS={C},127.0.0.1 "
    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface "
    "{10,77,0,10}'"
)


def db_url(lab: Lab, db: str) -> str:
    user = "nova" if db.startswith("nova") else db
    return f"mysql+pymysql://{user}:{lab.pw[DB_USER[db]]}@{C}/{db}?charset=utf8"


def transport(lab: Lab) -> str:
    return f"rabbit://openstack:{lab.pw['rabbit']}@{C}:5672/"


def port_ready(lab: Lab, port: int, host: str = H) -> Callable[[], bool]:
    def check() -> bool:
        r = lab.hosts.exec(host, f"ss -Hltn 'sport = :{port}' | grep -q LISTEN", check=False)
        return r.returncode == 0

    return check


def write_configs(lab: Lab) -> None:
    pw, w, v = lab.pw, lab.hosts.write, lab.venv
    w(
        H,
        "/etc/mysql/lab.cnf",
        f"""[mysqld]
user = mysql
datadir = /var/lib/mysql
socket = /run/mysqld/mysqld.sock
pid-file = /run/mysqld/mysqld.pid
bind-address = {C}
port = 3306
skip-name-resolve
max_connections = 400
innodb_buffer_pool_size = 64M
performance_schema = OFF
log_error = /var/log/mysql/error.log
""",
    )
    w(
        H,
        "/etc/rabbitmq/rabbitmq.conf",
        f"listeners.tcp.default = {C}:5672\n"
        "log.file.level = warning\nvm_memory_high_watermark.absolute = 512MB\n"
        "disk_free_limit.absolute = 50MB\n",
    )
    # the management plugin, as kolla-ansible and openstack-ansible enable it
    w(H, "/etc/rabbitmq/enabled_plugins", "[rabbitmq_management].\n")

    def at(user: str) -> dict[str, object]:
        return authtoken(user, pw[user], C)

    w(
        H,
        "/etc/keystone/keystone.conf",
        render(
            {
                "DEFAULT": {"log_file": "/var/log/keystone/keystone.log"},
                "database": {"connection": db_url(lab, "keystone")},
                "token": {"provider": "fernet"},
                "fernet_tokens": {"key_repository": "/etc/keystone/fernet-keys/"},
                "credential": {"key_repository": "/etc/keystone/credential-keys/"},
                # as deployments run it (kolla-ansible, openstack-ansible): cached in
                # memcached, a token cached when issued, so its first validation is cheap
                "cache": {
                    "enabled": True,
                    "backend": "oslo_cache.memcache_pool",
                    "memcache_servers": f"{C}:11211",
                },
            }
        ),
    )
    w(
        H,
        "/etc/placement/placement.conf",
        render(
            {
                "DEFAULT": {"log_file": "/var/log/placement/placement-api.log"},
                "placement_database": {"connection": db_url(lab, "placement")},
                "database": {"connection": db_url(lab, "placement")},
                "api": {"auth_strategy": "keystone"},
                "keystone_authtoken": at("placement"),
            }
        ),
    )
    w(
        H,
        "/etc/glance/glance-api.conf",
        render(
            {
                "DEFAULT": {
                    "log_file": "/var/log/glance/glance-api.log",
                    "enabled_backends": "file:file",
                    "bind_host": C,
                },
                "database": {"connection": db_url(lab, "glance")},
                "glance_store": {"default_backend": "file"},
                "file": {"filesystem_store_datadir": "/var/lib/glance/images/"},
                "os_glance_staging_store": {"filesystem_store_datadir": "/var/lib/glance/staging/"},
                "os_glance_tasks_store": {"filesystem_store_datadir": "/var/lib/glance/tasks/"},
                "keystone_authtoken": at("glance"),
                "paste_deploy": {"flavor": "keystone"},
                "oslo_concurrency": {"lock_path": "/var/lib/glance/tmp"},
            }
        ),
    )
    shutil.copy(
        v / "etc/glance/glance-api-paste.ini", lab.hosts.root(H) / "etc/glance/glance-api-paste.ini"
    )
    w(
        H,
        "/etc/neutron/neutron.conf",
        render(
            {
                "DEFAULT": {
                    "core_plugin": "ml2",
                    "service_plugins": "",
                    "auth_strategy": "keystone",
                    "transport_url": transport(lab),
                    "notify_nova_on_port_status_changes": False,
                    "notify_nova_on_port_data_changes": False,
                    "api_paste_config": "/etc/neutron/api-paste.ini",
                    "state_path": "/var/lib/neutron",
                },
                "database": {"connection": db_url(lab, "neutron")},
                "keystone_authtoken": at("neutron"),
                "oslo_concurrency": {"lock_path": "/var/lib/neutron/tmp"},
            }
        ),
    )
    w(
        H,
        "/etc/neutron/plugins/ml2/ml2_conf.ini",
        render(
            {
                "ml2": {
                    "type_drivers": "flat",
                    "tenant_network_types": "",
                    "mechanism_drivers": "",
                    "extension_drivers": "port_security",
                },
            }
        ),
    )
    shutil.copy(v / "etc/neutron/api-paste.ini", lab.hosts.root(H) / "etc/neutron/api-paste.ini")
    write_nova_conf(lab, H)
    shutil.copy(v / "etc/nova/api-paste.ini", lab.hosts.root(H) / "etc/nova/api-paste.ini")
    write_cinder_conf(lab, H)
    shutil.copy(v / "etc/cinder/api-paste.ini", lab.hosts.root(H) / "etc/cinder/api-paste.ini")
    for d in (
        "mysql",
        "keystone",
        "placement",
        "glance",
        "neutron",
        "nova",
        "cinder",
        "rabbitmq",
        "swift",
    ):
        lab.hosts.exec(H, f"mkdir -p /var/log/{d}")
    lab.hosts.exec(
        H,
        "mkdir -p /run/mysqld /var/lib/rabbitmq /var/lib/glance/images "
        "/var/lib/glance/staging /var/lib/glance/tasks /var/lib/nova/tmp "
        "/var/lib/neutron/tmp /var/lib/cinder/tmp && chown mysql:mysql "
        "/run/mysqld /var/log/mysql && chown -R mysql:mysql /var/lib/mysql",
    )


# nova's and cinder's services report every 5 s and are down after 30 s of silence: the
# same six reports missed as the defaults (10 s, 60 s), so that a stopped service's record
# says so in half the time (the fault matrix waits for it) and no sooner under load.
LIVENESS = {"report_interval": 5, "service_down_time": 30}


def write_nova_conf(lab: Lab, host: str) -> None:
    pw, ip = lab.pw, lab.ip(host)
    helper = f"{lab.venv}/bin/privsep-helper --config-file /etc/nova/nova.conf"
    creds = {
        k: v
        for k, v in authtoken("nova", pw["nova"], C).items()
        if k not in ("www_authenticate_uri", "memcached_servers")
    }
    lab.hosts.write(
        host,
        lab.hosts.path(host, "/etc/nova/nova.conf"),
        render(
            {
                "DEFAULT": {
                    "host": host,
                    "my_ip": ip,
                    "transport_url": transport(lab),
                    "state_path": "/var/lib/nova",
                    "instances_path": "/var/lib/nova/instances",
                    "compute_driver": "libvirt.LibvirtDriver",
                    "enabled_apis": "osapi_compute",
                    "osapi_compute_workers": 1,
                    "use_rootwrap_daemon": False,
                    "reserved_host_memory_mb": 512,
                    "ram_allocation_ratio": 1.0,
                    "heal_instance_info_cache_interval": -1,
                    **LIVENESS,
                },
                "api": {"auth_strategy": "keystone"},
                "api_database": {"connection": db_url(lab, "nova_api")},
                "database": {"connection": db_url(lab, "nova")},
                "keystone_authtoken": authtoken("nova", pw["nova"], C),
                "service_user": {**creds, "send_service_user_token": True},
                "placement": creds,
                "neutron": creds,
                "glance": {"region_name": REGION},
                "cinder": {"os_region_name": REGION, **creds},
                "conductor": {"workers": 1},
                "scheduler": {"workers": 1, "discover_hosts_in_cells_interval": -1},
                "oslo_concurrency": {"lock_path": "/var/lib/nova/tmp"},
                "wsgi": {"api_paste_config": "/etc/nova/api-paste.ini"},
                "libvirt": {
                    "virt_type": "qemu",
                    "cpu_mode": "none",
                    "images_type": "qcow2",
                    "live_migration_uri": "qemu+ssh://%s/system",
                },
                "vnc": {"enabled": False},
                "nova_sys_admin": {"helper_command": helper},
                "privsep_osbrick": {"helper_command": helper},
                "os_vif_linux_bridge": {},
                "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": 60},
            }
        ),
    )
    if not lab.hosts.is_kolla(host):  # kolla: the nova_compute volume, kolla_start makes them
        lab.hosts.exec(host, "mkdir -p /var/log/nova /var/lib/nova/instances /var/lib/nova/tmp")


def write_cinder_conf(lab: Lab, host: str) -> None:
    pw, ip = lab.pw, lab.ip(host)
    lab.hosts.write(
        host,
        "/etc/cinder/cinder.conf",
        render(
            {
                "DEFAULT": {
                    "host": host,
                    "my_ip": ip,
                    "transport_url": transport(lab),
                    "auth_strategy": "keystone",
                    "osapi_volume_listen": C,
                    "osapi_volume_workers": 1,
                    "state_path": "/var/lib/cinder",
                    "log_dir": "/var/log/cinder",
                    "enabled_backends": "ceph",
                    "api_paste_config": "/etc/cinder/api-paste.ini",
                    "default_volume_type": "ceph",
                    **LIVENESS,
                },
                "database": {"connection": db_url(lab, "cinder")},
                "keystone_authtoken": authtoken("cinder", pw["cinder"], C),
                "oslo_concurrency": {"lock_path": "/var/lib/cinder/tmp"},
                "ceph": {
                    "volume_driver": "cinder.volume.drivers.rbd.RBDDriver",
                    "volume_backend_name": "ceph",
                    "rbd_pool": "volumes",
                    "rbd_ceph_conf": "/etc/ceph/ceph.conf",
                    "rbd_flatten_volume_from_snapshot": False,
                    "rbd_max_clone_depth": 5,
                    "rados_connect_timeout": 10,
                },
            }
        ),
    )
    lab.hosts.exec(host, "mkdir -p /var/log/cinder /var/lib/cinder/tmp")


def setup_databases(lab: Lab) -> None:
    stmts = []
    for db in DATABASES:
        user = "nova" if db.startswith("nova") else db
        pwd = lab.pw[DB_USER[db]]
        stmts.append(f"CREATE DATABASE IF NOT EXISTS {db};")
        stmts.append(f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{pwd}';")
        stmts.append(f"GRANT ALL PRIVILEGES ON {db}.* TO '{user}'@'%';")
    lab.hosts.exec(H, "mariadb --socket=/run/mysqld/mysqld.sock -uroot", input="\n".join(stmts))


def setup_rabbit(lab: Lab) -> None:
    ctl = f"env {RABBIT_ENV} /usr/lib/rabbitmq/bin/rabbitmqctl"
    lab.hosts.exec(
        H,
        f"P=$(cat); ({ctl} list_users -q </dev/null | grep -q '^openstack') || "
        f'{ctl} add_user openstack "$P" </dev/null >/dev/null; '
        f'{ctl} change_password openstack "$P" </dev/null >/dev/null; '
        f"{ctl} set_permissions openstack '.*' '.*' '.*' </dev/null >/dev/null; "
        # kolla-ansible's openstack user is the broker's administrator
        f"{ctl} set_user_tags openstack administrator </dev/null >/dev/null",
        input=lab.pw["rabbit"],
    )


def rabbit_ready(lab: Lab) -> bool:
    r = lab.hosts.exec(
        H,
        f"env {RABBIT_ENV} /usr/lib/rabbitmq/bin/rabbitmqctl await_startup --timeout 5",
        check=False,
        timeout=30,
    )
    return r.returncode == 0


def sync_schemas(lab: Lab) -> None:
    """All schema migrations, in parallel inside the controller."""
    b = f"{lab.venv}/bin"
    script = f"""
set -e
{b}/glance-manage db_sync >/var/log/glance/db_sync.log 2>&1 &
{b}/placement-manage db sync >/var/log/placement/db_sync.log 2>&1 &
{b}/neutron-db-manage --config-file /etc/neutron/neutron.conf \
  --config-file /etc/neutron/plugins/ml2/ml2_conf.ini upgrade heads \
  >/var/log/neutron/db_sync.log 2>&1 &
{b}/cinder-manage db sync >/var/log/cinder/db_sync.log 2>&1 &
( {b}/nova-manage api_db sync && ({b}/nova-manage cell_v2 map_cell0 || true) &&
  ({b}/nova-manage cell_v2 list_cells | grep -q ' cell1 ' ||
   {b}/nova-manage cell_v2 create_cell --name cell1) &&
  {b}/nova-manage db sync ) >/var/log/nova/db_sync.log 2>&1 &
for j in 1 2 3 4 5; do wait -n || {{ echo "a schema sync failed"; exit 1; }}; done
"""
    lab.hosts.exec(H, f"exec bash -c {shlex.quote(script)}", timeout=900)


def keystone_setup(lab: Lab) -> None:
    b = f"{lab.venv}/bin/keystone-manage"
    lab.hosts.exec(
        H,
        f"""set -e
{b} db_sync
{b} fernet_setup --keystone-user root --keystone-group root
{b} credential_setup --keystone-user root --keystone-group root
{b} bootstrap --bootstrap-password "$(cat)" --bootstrap-admin-url http://{C}:5000/v3 \
  --bootstrap-internal-url http://{C}:5000/v3 --bootstrap-public-url http://{C}:5000/v3 \
  --bootstrap-region-id {REGION}
""",
        input=lab.pw["admin"],
        timeout=600,
    )


def services(lab: Lab) -> list[Service]:
    b = f"{lab.venv}/bin"

    def http(port: int) -> Callable[[], bool]:
        return port_ready(lab, port)

    return [
        Service(
            "mariadbd",
            H,
            "/usr/sbin/mariadbd --defaults-file=/etc/mysql/lab.cnf",
            "/var/log/mysql/mariadbd.out",
            ready=http(3306),
            stop_timeout=30,
        ),
        Service(
            "rabbit",
            H,
            "/usr/lib/rabbitmq/bin/rabbitmq-server",
            "/var/log/rabbitmq/startup.log",
            env=f"env {RABBIT_ENV}",
            ready=lambda: rabbit_ready(lab),
            ready_timeout=120,
            stop_timeout=20,
        ),
        Service(
            "memcached",
            H,
            f"/usr/bin/memcached -u memcache -l {C},127.0.0.1 -p 11211 -m 64 -U 0",
            "/var/log/memcached.log",
            ready=http(11211),
        ),
        Service(
            "keystone",
            H,
            f"{b}/keystone-api {C}:5000",
            "/var/log/keystone/gunicorn.log",
            ready=http(5000),
        ),
        Service(
            "placement-api",
            H,
            f"{b}/placement-api {C}:8778",
            "/var/log/placement/gunicorn.log",
            ready=http(8778),
        ),
        Service(
            "glance-api",
            H,
            f"{b}/glance-api {C}:9292",
            "/var/log/glance/gunicorn.log",
            ready=http(9292),
        ),
        Service(
            "neutron-server",
            H,
            f"{b}/neutron-server {C}:9696",
            "/var/log/neutron/neutron-server.log",
            ready=http(9696),
        ),
        Service(
            "nova-api",
            H,
            f"{b}/nova-api {C}:8774",
            "/var/log/nova/nova-api.log",
            env="WSGI_APP_ARGS='--log-file /var/log/nova/nova-api.log'",
            ready=http(8774),
        ),
        Service(
            "nova-conductor",
            H,
            f"{b}/nova-conductor --config-file /etc/nova/nova.conf "
            "--log-file /var/log/nova/nova-conductor.log",
            "/var/log/nova/conductor.out",
            stop_timeout=10,
        ),
        Service(
            "nova-scheduler",
            H,
            f"{b}/nova-scheduler --config-file /etc/nova/nova.conf "
            "--log-file /var/log/nova/nova-scheduler.log",
            "/var/log/nova/scheduler.out",
            stop_timeout=10,
        ),
        Service(
            "cinder-api",
            H,
            f"{b}/cinder-api --config-file /etc/cinder/cinder.conf "
            "--log-file /var/log/cinder/cinder-api.log",
            "/var/log/cinder/api.out",
            ready=http(8776),
        ),
        Service(
            "cinder-scheduler",
            H,
            f"{b}/cinder-scheduler --config-file "
            "/etc/cinder/cinder.conf --log-file /var/log/cinder/cinder-scheduler.log",
            "/var/log/cinder/scheduler.out",
        ),
    ]


def boot(lab: Lab) -> None:
    """What the controller's init starts, plus first-time setup steps."""
    write_configs(lab)
    svcs = {s.name: s for s in services(lab)}
    lab.start(svcs["mariadbd"])
    if not lab.done(H, "databases"):
        setup_databases(lab)
        lab.mark(H, "databases")
    lab.start(svcs["rabbit"])
    lab.start(svcs["memcached"], wait=False)
    if not lab.done(H, "rabbit-user-admin"):
        setup_rabbit(lab)
        lab.mark(H, "rabbit-user-admin")
    if not lab.done(H, "keystone"):
        keystone_setup(lab)
        lab.mark(H, "keystone")
    lab.start(svcs["keystone"], wait=True)
    if not lab.done(H, "identity"):
        # service users must exist before any service authenticates at start
        lab.venv_tool("keystone_init.py", timeout=300)
        lab.mark(H, "identity")
    if not lab.done(H, "schemas"):
        sync_schemas(lab)
        lab.mark(H, "schemas")
    from . import swift

    swift.configure_proxy(lab)
    # rsyslogd first: the proxy's first lines go to it (python dicts keep this order)
    mine = {s.name: s for s in swift.services(lab) if s.host == H}
    svcs = {"rsyslog": mine["rsyslog"], **svcs, "swift-proxy-server": mine["swift-proxy-server"]}
    for svc in svcs.values():
        lab.start(svc, wait=False)
    for svc in svcs.values():
        lab.start(svc, wait=True)

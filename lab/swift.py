"""Swift: proxy on the controller (keystone auth), account/container/object on storage hosts.

Each storage host has one device, an XFS file system on a loop device mounted at
/srv/node/<dev> (a real mount point: mount_check = true).  Rings are built on the
controller (part power 8, 2 replicas, a zone per storage host) and copied out.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from .config import CONTROLLER_IP, HOSTS, STORAGE_HOSTS
from .ini import authtoken, render
from .services import Service
from .shell import run

if TYPE_CHECKING:
    from .lab import Lab

EXPECTED = ["swift"]
PORTS = {"account": 6202, "container": 6201, "object": 6200}
DAEMONS = {
    "account": ("server", "replicator", "auditor"),
    "container": ("server", "replicator", "updater", "auditor"),
    "object": ("server", "replicator", "updater", "auditor"),
}
IMAGE_SIZE = 1 << 30


def device(host: str) -> str:
    return f"d{STORAGE_HOSTS.index(host) + 1}"


# Swift's servers log through syslog (their log_address, /dev/log, else UDP to
# localhost:514), as they do on a site. A systemd host's journald takes them there; a lab
# host of its own init runs rsyslogd, which files them as swift's own rsyslog example does
# (the proxy's in proxy.log, the storage servers' in storage.log). It listens on the
# host's loopback only: /dev is the machine's, shared by every lab host, so no socket is
# made there (no imuxsock), and no kernel log is read (no imklog).
SYSLOG_CONF = """\
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="514")
$FileCreateMode 0640
if $programname startswith "swift-proxy" or $programname == "proxy-server" then {
  action(type="omfile" file="/var/log/swift/proxy.log")
  stop
}
if $programname startswith "swift-" or $programname startswith "account-"
   or $programname startswith "container-" or $programname startswith "object-" then {
  action(type="omfile" file="/var/log/swift/storage.log")
  stop
}
*.* action(type="omfile" file="/var/log/syslog")
"""


def syslog_hosts() -> list[str]:
    """The swift hosts whose own init runs no journald: rsyslogd runs there."""
    return [h for h in ("controller", *STORAGE_HOSTS) if HOSTS[h].init != "systemd"]


def syslog_service(host: str) -> Service:
    return Service(
        "rsyslog",
        host,
        "/usr/sbin/rsyslogd -n -f /etc/rsyslog.conf -i /run/rsyslogd.pid",
        "/var/log/rsyslogd.out",
    )


def configure_syslog(lab: Lab, host: str) -> None:
    if host in syslog_hosts():
        lab.hosts.write(host, "/etc/rsyslog.conf", SYSLOG_CONF, 0o644)


def services(lab: Lab) -> list[Service]:
    b = f"{lab.venv}/bin"
    out = [syslog_service(h) for h in syslog_hosts()]
    out.append(
        Service(
            "swift-proxy-server",
            "controller",
            f"{b}/swift-proxy-server /etc/swift/proxy-server.conf",
            "/var/log/swift/proxy-server.log",
        )
    )
    for h in STORAGE_HOSTS:
        out.append(
            Service(
                "rsync",
                h,
                "/usr/bin/rsync --daemon --no-detach --config=/etc/rsyncd.conf",
                "/var/log/rsyncd.out",
            )
        )
        for kind, daemons in DAEMONS.items():
            for d in daemons:
                out.append(
                    Service(
                        f"swift-{kind}-{d}",
                        h,
                        f"{b}/swift-{kind}-{d} /etc/swift/{kind}-server.conf",
                        f"/var/log/swift/{kind}-{d}.log",
                    )
                )
    return out


def _swift_conf(lab: Lab) -> str:
    return render(
        {
            "swift-hash": {
                "swift_hash_path_suffix": lab.pw["swift"][:16],
                "swift_hash_path_prefix": lab.pw["swift"][16:],
            },
            "storage-policy:0": {"name": "Policy-0", "default": "yes"},
        }
    )


def build_rings(lab: Lab) -> None:
    rb = f"{lab.venv}/bin/swift-ring-builder"
    cmds = ["set -e", "cd /etc/swift"]
    for kind, port in PORTS.items():
        cmds.append(f"if [ ! -f {kind}.ring.gz ]; then {rb} {kind}.builder create 8 2 1")
        for z, h in enumerate(STORAGE_HOSTS, 1):
            cmds.append(f"{rb} {kind}.builder add r1z{z}-{HOSTS[h].ip}:{port}/{device(h)} 100")
        cmds.append(f"{rb} {kind}.builder rebalance >/dev/null || [ $? = 1 ]; fi")
    lab.hosts.exec("controller", "\n".join(cmds))


def configure_proxy(lab: Lab) -> None:
    w = lab.hosts.write
    w("controller", "/etc/swift/swift.conf", _swift_conf(lab), 0o640)
    at = authtoken("swift", lab.pw["swift"], CONTROLLER_IP)
    w(
        "controller",
        "/etc/swift/proxy-server.conf",
        render(
            {
                "DEFAULT": {
                    "bind_ip": CONTROLLER_IP,
                    "bind_port": 8080,
                    "workers": 1,
                    "user": "root",
                    "swift_dir": "/etc/swift",
                    "log_name": "swift-proxy-server",
                },
                "pipeline:main": {
                    "pipeline": "catch_errors gatekeeper healthcheck proxy-logging cache "
                    "listing_formats authtoken keystoneauth copy slo dlo "
                    "proxy-logging proxy-server"
                },
                "app:proxy-server": {"use": "egg:swift#proxy", "account_autocreate": True},
                "filter:authtoken": {
                    "paste.filter_factory": "keystonemiddleware.auth_token:filter_factory",
                    "delay_auth_decision": True,
                    **at,
                },
                "filter:keystoneauth": {
                    "use": "egg:swift#keystoneauth",
                    "operator_roles": "admin,member",
                },
                "filter:catch_errors": {"use": "egg:swift#catch_errors"},
                "filter:gatekeeper": {"use": "egg:swift#gatekeeper"},
                "filter:healthcheck": {"use": "egg:swift#healthcheck"},
                "filter:proxy-logging": {"use": "egg:swift#proxy_logging"},
                "filter:cache": {
                    "use": "egg:swift#memcache",
                    "memcache_servers": f"{CONTROLLER_IP}:11211",
                },
                "filter:listing_formats": {"use": "egg:swift#listing_formats"},
                "filter:copy": {"use": "egg:swift#copy"},
                "filter:slo": {"use": "egg:swift#slo"},
                "filter:dlo": {"use": "egg:swift#dlo"},
            }
        ),
        0o640,
    )
    lab.hosts.exec("controller", "mkdir -p /var/log/swift /var/cache/swift")
    configure_syslog(lab, "controller")
    build_rings(lab)


def configure_storage(lab: Lab, host: str) -> None:
    w, ip, _dev = lab.hosts.write, HOSTS[host].ip, device(host)
    configure_syslog(lab, host)
    w(host, "/etc/swift/swift.conf", _swift_conf(lab), 0o640)
    for kind, port in PORTS.items():
        sections: dict[str, dict[str, object]] = {
            "DEFAULT": {
                "bind_ip": ip,
                "bind_port": port,
                "workers": 0,
                "user": "root",
                "swift_dir": "/etc/swift",
                "devices": "/srv/node",
                "mount_check": True,
                "log_name": f"swift-{kind}-server",
            },
            "pipeline:main": {"pipeline": f"healthcheck recon {kind}-server"},
            f"app:{kind}-server": {"use": f"egg:swift#{kind}"},
            "filter:healthcheck": {"use": "egg:swift#healthcheck"},
            "filter:recon": {"use": "egg:swift#recon", "recon_cache_path": "/var/cache/swift"},
        }
        for d in DAEMONS[kind][1:]:
            sections[f"{kind}-{d}"] = {"interval": 300} if d != "auditor" else {"interval": 1800}
        w(host, f"/etc/swift/{kind}-server.conf", render(sections), 0o640)
    mods = "".join(
        f"[{k}]\nmax connections = 4\npath = /srv/node/\nread only = false\n"
        f"lock file = /run/lock/{k}.lock\n\n"
        for k in PORTS
    )
    w(
        host,
        "/etc/rsyncd.conf",
        f"uid = root\ngid = root\nlog file = /var/log/rsyncd.log\n"
        f"pid file = /run/rsyncd.pid\naddress = {ip}\n\n{mods}",
    )
    root = lab.hosts.root(host)
    for kind in PORTS:
        shutil.copy(
            lab.hosts.root("controller") / f"etc/swift/{kind}.ring.gz",
            root / f"etc/swift/{kind}.ring.gz",
        )
    mount_device(lab, host)


def image_path(lab: Lab, host: str) -> str:
    return str(lab.hosts.host_dir(host) / f"swift-{device(host)}.xfs")


def mount_device(lab: Lab, host: str) -> None:
    img, dev = image_path(lab, host), device(host)
    with open(img, "ab") as fh:
        if fh.tell() == 0:
            fh.truncate(IMAGE_SIZE)
            run(["mkfs.xfs", "-q", img])
    lab.hosts.exec(
        host,
        f"mkdir -p /srv/node/{dev} /var/log/swift /var/cache/swift && "
        f"(mountpoint -q /srv/node/{dev} || mount -o loop {img} /srv/node/{dev})",
    )


def boot(lab: Lab, host: str) -> None:
    configure_storage(lab, host)
    for svc in services(lab):
        if svc.host == host:
            lab.start(svc, wait=False)


def release_loops(lab: Lab) -> None:
    """Loop devices left behind by a host (normally auto-cleared with its mounts)."""
    out = run(["losetup", "-a"], check=False).stdout
    for line in out.splitlines():
        if str(lab.state) in line:
            run(["losetup", "-d", line.split(":", 1)[0]], check=False)

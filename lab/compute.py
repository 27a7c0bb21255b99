"""Compute hosts: system D-Bus, libvirtd + qemu (TCG), nova-compute with the libvirt driver."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import ceph as cephmod
from . import kolla_host
from .config import COMPUTE_HOSTS as HOSTS
from .services import Service
from .shell import run, wait_for

if TYPE_CHECKING:
    from .lab import Lab

EXPECTED = [f"nova-compute@{h}" for h in HOSTS]

QEMU_CONF = """# afterboot lab: qemu inside a namespace host, TCG, no cgroups/security driver
user = "root"
group = "root"
security_driver = "none"
namespaces = [ ]
cgroup_controllers = [ ]
dynamic_ownership = 0
remember_owner = 0
stdio_handler = "file"
"""
LIBVIRTD_CONF = """# afterboot lab
unix_sock_group = "root"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
"""


def services(lab: Lab) -> list[Service]:
    out: list[Service] = []
    for h in HOSTS:
        if lab.hosts.is_kolla(h):
            out += kolla_services(lab, h)
            continue
        out += [
            Service(
                "dbus-daemon",
                h,
                "/usr/bin/dbus-daemon --system --nofork --nopidfile",
                "/var/log/dbus.log",
                ready=_path(lab, h, "run/dbus/system_bus_socket"),
            ),
            Service(
                "libvirtd",
                h,
                "/usr/sbin/libvirtd -f /etc/libvirt/libvirtd.conf",
                "/var/log/libvirt/libvirtd.out",
                ready=_virsh_ok(lab, h),
                ready_timeout=60,
            ),
            Service(
                "nova-compute",
                h,
                f"{lab.venv}/bin/nova-compute --config-file "
                "/etc/nova/nova.conf --log-file /var/log/nova/nova-compute.log",
                "/var/log/nova/nova-compute.out",
                stop_timeout=5,
            ),
        ]
    return out


def kolla_services(lab: Lab, h: str) -> list[Service]:
    """A kolla compute host: libvirtd in nova_libvirt, nova-compute in nova_compute (the
    host's own D-Bus is systemd's); the commands are the containers' (config.json)."""
    return [
        Service(
            "libvirtd",
            h,
            "/usr/sbin/libvirtd -f /etc/libvirt/libvirtd.conf",
            f"{kolla_host.KOLLA_LOGS}/libvirt/libvirtd.out",
            ready=_virsh_ok(lab, h),
            ready_timeout=60,
        ),
        Service(
            "nova-compute",
            h,
            f"{lab.venv}/bin/nova-compute --config-file /etc/nova/nova.conf "
            f"--log-file {kolla_host.KOLLA_LOGS}/nova/nova-compute.log",
            f"{kolla_host.KOLLA_LOGS}/nova/nova-compute.out",
            stop_timeout=5,
        ),
    ]


def virsh(lab: Lab, host: str) -> str:
    """virsh as the host has it: on a kolla host, inside nova_libvirt."""
    return "podman exec nova_libvirt virsh" if lab.hosts.is_kolla(host) else "virsh"


def _path(lab: Lab, host: str, rel: str) -> Callable[[], bool]:
    return lambda: (lab.hosts.root(host) / rel).exists()


def _virsh_ok(lab: Lab, host: str) -> Callable[[], bool]:
    return lambda: (
        lab.hosts.exec(
            host,
            f"{virsh(lab, host)} -c qemu:///system version >/dev/null",
            check=False,
            timeout=30,
        ).returncode
        == 0
    )


def configure(lab: Lab, host: str) -> None:
    from . import controlplane

    w = lab.hosts.write
    if lab.hosts.is_kolla(host):
        configure_kolla(lab, host)
        return
    lab.hosts.exec(
        host,
        "getent group kvm >/dev/null || groupadd -r kvm; "
        "getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu; "
        "id libvirt-qemu >/dev/null 2>&1 || useradd -r -g libvirt-qemu -G kvm "
        "-d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu; "
        "mkdir -p /run/dbus /var/log/libvirt/qemu /var/lib/libvirt/qemu "
        "/var/lib/nova/instances; "
        "[ -s /etc/machine-id ] || dbus-uuidgen --ensure=/etc/machine-id",
    )
    w(host, "/etc/libvirt/qemu.conf", QEMU_CONF)
    w(host, "/etc/libvirt/libvirtd.conf", LIBVIRTD_CONF)
    controlplane.write_nova_conf(lab, host)
    w(host, "/etc/ceph/ceph.conf", cephmod.ceph_conf())


# what kolla_start copies into place in each container: (file, where, mode)
KOLLA_FILES = {
    "libvirtd": [
        ("libvirtd.conf", "/etc/libvirt/libvirtd.conf", "0600"),
        ("qemu.conf", "/etc/libvirt/qemu.conf", "0600"),
        ("ceph.conf", "/etc/ceph/ceph.conf", "0600"),
    ],
    "nova-compute": [
        ("nova.conf", "/etc/nova/nova.conf", "0600"),
        ("ceph.conf", "/etc/ceph/ceph.conf", "0600"),
    ],
}


def configure_kolla(lab: Lab, host: str) -> None:
    """/etc/kolla/<service>/: the files and config.json kolla_start copies into place."""
    from . import controlplane

    w, p = lab.hosts.write, lab.hosts.path
    libvirtd_conf = LIBVIRTD_CONF.replace("/var/log/libvirt/", f"{kolla_host.KOLLA_LOGS}/libvirt/")
    w(host, p(host, "/etc/libvirt/libvirtd.conf"), libvirtd_conf)
    w(host, p(host, "/etc/libvirt/qemu.conf"), QEMU_CONF)
    controlplane.write_nova_conf(lab, host)
    w(host, p(host, "/etc/ceph/ceph.conf"), cephmod.ceph_conf())
    svcs = {s.name: s for s in kolla_services(lab, host)}
    w(host, "/etc/kolla/nova-libvirt/ceph.conf", cephmod.ceph_conf())
    for service, files in KOLLA_FILES.items():
        conf = kolla_host.CONFIG_DIRS[kolla_host.CONTAINERS[service]]
        w(host, f"/etc/kolla/{conf}/config.json", kolla_host.config_json(svcs[service], files))


def conductor_consuming(lab: Lab) -> bool:
    from .controlplane import RABBIT_ENV, H

    r = lab.hosts.exec(
        H,
        f"env {RABBIT_ENV} /usr/lib/rabbitmq/bin/rabbitmqctl list_queues -q "
        "name consumers </dev/null",
        check=False,
        timeout=30,
    )
    return any(
        ln.split()[:1] == ["conductor"] and ln.split()[1] != "0"
        for ln in r.stdout.splitlines()
        if len(ln.split()) == 2
    )


def boot(lab: Lab, host: str) -> None:
    configure(lab, host)
    svcs = {s.name: s for s in services(lab) if s.host == host}
    if "dbus-daemon" in svcs:
        lab.start(svcs["dbus-daemon"])
    lab.start(svcs["libvirtd"])
    if lab.hosts.is_up("controller"):
        wait_for("nova-conductor consuming RPC", lambda: conductor_consuming(lab), 120, 1)
    lab.start(svcs["nova-compute"])


def discover(lab: Lab) -> None:
    """Map the compute hosts into cell1 once they registered."""
    nm = f"{lab.venv}/bin/nova-manage"

    def mapped() -> bool:
        lab.hosts.exec(
            "controller", f"{nm} cell_v2 discover_hosts >/dev/null 2>&1", check=False, timeout=120
        )
        out = lab.hosts.exec(
            "controller", f"{nm} cell_v2 list_hosts 2>/dev/null", check=False, timeout=120
        ).stdout
        return all(f" {h} " in out for h in HOSTS)

    wait_for("compute hosts mapped to cell1", mapped, 180, 3)


__all__ = ["HOSTS", "run"]

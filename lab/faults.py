"""Faults: each a real change to the real cloud, with inject() and heal().

Adding one is a few lines: `register(Fault(name, description, inject, heal))`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .shell import LabError

if TYPE_CHECKING:
    from .lab import Lab

Action = Callable[["Lab"], None]


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    inject: Action
    heal: Action


REGISTRY: dict[str, Fault] = {}


def register(fault: Fault) -> Fault:
    REGISTRY[fault.name] = fault
    return fault


def get(name: str) -> Fault:
    try:
        return REGISTRY[name]
    except KeyError:
        raise LabError(f"unknown fault {name!r}; try `python -m lab fault list`") from None


def servers(lab: Lab, host: str | None = None) -> list[dict[str, object]]:
    args = ["servers", *(["--host", host] if host else [])]
    data: list[dict[str, object]] = json.loads(lab.venv_tool("ops.py", *args).stdout)
    return data


def hard_reboot(lab: Lab, *, host: str | None = None, names: tuple[str, ...] = ()) -> None:
    lab.venv_tool("ops.py", "hard-reboot", *(["--host", host] if host else []), *names, timeout=400)


# ---- stopped services ----------------------------------------------------------------
def service_stopped(service: str, host: str, label: str | None = None) -> Fault:
    name = f"{label or service}-stopped" + ("" if host == "controller" else f"@{host}")

    def inject(lab: Lab) -> None:
        lab.stop(lab.service(host, service))

    def heal(lab: Lab) -> None:
        t0 = time.monotonic()
        lab.start(lab.service(host, service))
        if service in ("libvirtd", "dbus-daemon"):
            # the guide's chain, bottom up: d-bus, then libvirtd (which dies without d-bus;
            # start() does nothing if it still runs), then nova-compute, which lost its
            # hypervisor connection
            lab.start(lab.service(host, "libvirtd"))
            lab.stop(lab.service(host, "nova-compute"))
            lab.start(lab.service(host, "nova-compute"))
        lab.wait_green(since=t0)

    return register(Fault(name, f"stop {service} on {host} (by PID)", inject, heal))


for _svc, _host, _label in (
    ("nova-compute", "compute1", None),
    ("nova-compute", "compute2", None),
    ("libvirtd", "compute1", None),
    ("dbus-daemon", "compute1", "dbus"),
    ("keystone", "controller", None),
    ("nova-api", "controller", None),
    ("nova-conductor", "controller", None),
    ("nova-scheduler", "controller", None),
    ("glance-api", "controller", None),
    ("placement-api", "controller", None),
    ("neutron-server", "controller", None),
    ("cinder-api", "controller", None),
    ("cinder-scheduler", "controller", None),
    ("cinder-volume", "storage1", None),
    ("swift-proxy-server", "controller", "swift-proxy"),
    ("memcached", "controller", None),
    ("rabbit", "controller", "rabbitmq"),
    ("mariadbd", "controller", "database"),
    ("swift-object-server", "storage2", None),
    ("ceph-osd", "storage1", None),
):
    service_stopped(_svc, _host, _label)


# ---- a rebooted compute host ----------------------------------------------------------
def _reboot_inject(host: str) -> Action:
    return lambda lab: lab.reboot(host)


def _reboot_heal(host: str) -> Action:
    def heal(lab: Lab) -> None:
        t0 = time.monotonic()
        if not lab.hosts.is_up(host):
            lab.reboot(host)
        lab.wait_green(since=t0 - 120)
        hard_reboot(lab, host=host)
        lab.wait_green()

    return heal


for _h in ("compute1", "compute2"):
    register(
        Fault(
            f"reboot@{_h}",
            f"reboot {_h}: all its processes die, instances stay off",
            _reboot_inject(_h),
            _reboot_heal(_h),
        )
    )


# ---- libvirt domains behind nova's back -------------------------------------------------
def _fw_server(lab: Lab, host: str) -> dict[str, object]:
    found = [s for s in servers(lab, host) if str(s["name"]).startswith("ab-fw-")]
    if not found:
        raise LabError(f"no firmware-only workload server on {host}")
    return found[0]


def _domain_paused_inject(lab: Lab) -> None:
    s = _fw_server(lab, "compute1")
    lab.host_exec("compute1", f"virsh suspend {s['instance_name']}")


def _domain_paused_heal(lab: Lab) -> None:
    s = _fw_server(lab, "compute1")
    lab.host_exec(
        "compute1",
        f"virsh domstate {s['instance_name']} | grep -q paused && "
        f"virsh resume {s['instance_name']} || true",
    )


def _domain_undefined_inject(lab: Lab) -> None:
    s = _fw_server(lab, "compute1")
    dom = s["instance_name"]
    lab.host_exec("compute1", f"virsh destroy {dom} >/dev/null 2>&1; virsh undefine {dom}")


def _domain_undefined_heal(lab: Lab) -> None:
    hard_reboot(lab, names=(str(_fw_server(lab, "compute1")["name"]),))


register(
    Fault(
        "domain-paused",
        "virsh suspend a server's domain on compute1 behind nova",
        _domain_paused_inject,
        _domain_paused_heal,
    )
)
register(
    Fault(
        "domain-undefined",
        "destroy + undefine a server's domain on compute1 (libvirt XML removed)",
        _domain_undefined_inject,
        _domain_undefined_heal,
    )
)


# ---- swift ---------------------------------------------------------------------------------
def _ring_changed_inject(lab: Lab) -> None:
    lab.host_exec(
        "storage2",
        "cd /etc/swift && gzip -dc object.ring.gz > /tmp/r && "
        "gzip -1 -n -c /tmp/r > object.ring.gz && rm /tmp/r",
    )


def _ring_changed_heal(lab: Lab) -> None:
    ring = (lab.hosts.root("controller") / "etc/swift/object.ring.gz").read_bytes()
    (lab.hosts.root("storage2") / "etc/swift/object.ring.gz").write_bytes(ring)


def _unmounted_inject(lab: Lab) -> None:
    from .swift import device

    lab.host_exec("storage1", f"umount -l /srv/node/{device('storage1')}")


def _unmounted_heal(lab: Lab) -> None:
    from .swift import mount_device

    mount_device(lab, "storage1")


register(
    Fault(
        "swift-ring-changed@storage2",
        "object.ring.gz on storage2 differs from the controller's",
        _ring_changed_inject,
        _ring_changed_heal,
    )
)
register(
    Fault(
        "swift-device-unmounted@storage1",
        "umount -l the swift device of storage1",
        _unmounted_inject,
        _unmounted_heal,
    )
)


# ---- configuration drift -------------------------------------------------------------------
def _config_changed_inject(lab: Lab) -> None:
    lab.host_exec(
        "compute2",
        "sed -i 's/^reserved_host_memory_mb = .*/reserved_host_memory_mb"
        " = 1024/' /etc/nova/nova.conf",
    )


def _config_changed_heal(lab: Lab) -> None:
    from .controlplane import write_nova_conf

    write_nova_conf(lab, "compute2")


register(
    Fault(
        "config-option-changed@compute2",
        "nova.conf on compute2: reserved_host_memory_mb differs from compute1 (not restarted)",
        _config_changed_inject,
        _config_changed_heal,
    )
)


# ---- nova's database behind the hypervisor's back ------------------------------------------
def _sql(lab: Lab, statement: str) -> None:
    lab.hosts.exec("controller", "mariadb --socket=/run/mysqld/mysqld.sock -uroot", input=statement)


def _set_instance(column: str, value: str, back: str) -> tuple[Action, Action]:
    def change(to: str) -> Action:
        def act(lab: Lab) -> None:
            uuid = _by_name(lab)
            _sql(lab, f"UPDATE nova.instances SET {column} = '{to}' WHERE uuid = '{uuid}';")

        return act

    return change(value), change(back)


def _by_name(lab: Lab) -> str:
    found = [s for s in servers(lab) if s["name"] == "ab-fw-compute1"]
    if not found:
        raise LabError("no ab-fw-compute1 server")
    return str(found[0]["id"])


_wrong_host = _set_instance("host", "compute2", "compute1")
register(
    Fault(
        "instance-wrong-host",
        "nova's DB records ab-fw-compute1 on compute2 while it runs on compute1",
        *_wrong_host,
    )
)
_error = _set_instance("vm_state", "error", "active")
register(Fault("instance-error", "ab-fw-compute1 forced into ERROR in nova's DB", *_error))

_ORPHAN = """<domain type='qemu'><name>orphan-afterboot</name><memory unit='MiB'>32</memory>
<uuid>0a0b0c0d-1111-4222-8333-444455556666</uuid><os><type arch='x86_64'>hvm</type></os>
</domain>"""


def _orphan_inject(lab: Lab) -> None:
    lab.hosts.write("compute1", "/tmp/orphan.xml", _ORPHAN)
    lab.host_exec("compute1", "virsh define /tmp/orphan.xml")


def _orphan_heal(lab: Lab) -> None:
    lab.host_exec("compute1", "virsh undefine orphan-afterboot || true")


register(
    Fault(
        "orphan-domain@compute1",
        "a libvirt domain nova does not know, on compute1",
        _orphan_inject,
        _orphan_heal,
    )
)


# ---- databases ---------------------------------------------------------------------------------
_GLANCE_CONF = "/etc/glance/glance-api.conf"
_BACKUP = "/var/lib/afterboot-lab/glance-api.conf.orig"


def _password_inject(lab: Lab) -> None:
    lab.host_exec(
        "controller",
        f"cp -p {_GLANCE_CONF} {_BACKUP} && sed -i "
        f"'s#^\\(connection = mysql+pymysql://[^:]*:\\)[^@]*@#\\1wrong@#' {_GLANCE_CONF}",
    )


def _password_heal(lab: Lab) -> None:
    lab.host_exec("controller", f"[ -f {_BACKUP} ] && mv {_BACKUP} {_GLANCE_CONF} || true")


register(
    Fault(
        "database-password-wrong@glance",
        "glance-api.conf on the controller has a wrong database password",
        _password_inject,
        _password_heal,
    )
)
register(
    Fault(
        "database-table-missing",
        "neutron.ports renamed away (a damaged restore)",
        lambda lab: _sql(lab, "RENAME TABLE neutron.ports TO neutron.ports_lost;"),
        lambda lab: _sql(lab, "RENAME TABLE neutron.ports_lost TO neutron.ports;"),
    )
)

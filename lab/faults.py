"""Faults: each a real change to the real cloud, with inject() and heal().

Adding one is a few lines: `register(Fault(name, description, inject, heal))`.
"""

from __future__ import annotations

import functools
import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import kolla_host
from .config import CEPH_HOST
from .shell import LabError, wait_for

if TYPE_CHECKING:
    from .lab import Lab

Action = Callable[["Lab"], None]


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    inject: Action
    heal: Action
    # its heal acts through the cloud's APIs (a hard reboot, a user, an object): healed
    # after the batch's other faults, once the services they broke are green again
    through_api: bool = False


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


def hard_reboot(
    lab: Lab, *, host: str | None = None, names: tuple[str, ...] = (), reset: bool = False
) -> None:
    """Hard-reboot servers through nova until ACTIVE and running (reset to active first
    with ``reset``); servers that do not come back: one line, which and in what state."""
    lab.flush_green()  # through nova and neutron: those healed before must answer first
    proc = lab.venv_tool(
        "ops.py",
        "hard-reboot",
        *(["--host", host] if host else []),
        *(["--reset-first"] if reset else []),
        *names,
        timeout=400,
        check=False,
    )
    if proc.returncode:
        lines = (proc.stderr or proc.stdout).strip().splitlines() or [f"status {proc.returncode}"]
        raise LabError(f"hard reboot of {', '.join(names) or host or 'every server'}: {lines[-1]}")


def domain_of(lab: Lab, name: str) -> str:
    """The libvirt domain of a server `up` creates (ab-fw-<host>, ab-linux-<host>)."""
    found = [s for s in servers(lab) if s["name"] == name]
    if not found:
        raise LabError(f"no workload server {name}")
    return str(found[0]["instance_name"])


def _ops(*args: str) -> Action:
    """An operator action of lab/venvtools/ops.py (openstacksdk, in the operator ns)."""

    def act(lab: Lab) -> None:
        lab.flush_green()  # inside heal_all: what the batch's other heals brought back first
        lab.venv_tool("ops.py", *args)

    return act


def _restart(lab: Lab, host: str, service: str) -> float:
    """Stop and start a service; the monotonic time between the two: a service record
    updated after it comes from the new process (the old one could still report while it
    was being stopped), so a heal waits for green since then."""
    lab.stop(lab.service(host, service))
    since = time.monotonic()
    lab.start(lab.service(host, service))
    return since


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
            # the new nova-compute must report, not the one it replaced
            t0 = _restart(lab, host, "nova-compute")
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


# ---- units of a systemd host (storage2) --------------------------------------------------
def _unit_fault(host: str, service: str, kind: str) -> tuple[Action, Action]:
    """A unit in a restart loop (its process ends after 2 s, systemd restarts it: NRestarts
    climbs, active most of the time) or failed (killed with restarting off). Both are
    runtime drop-ins, gone at the next boot; the heal is the operator's: override removed,
    failed state reset, the unit restarted."""
    from . import systemd_host

    unit = systemd_host.unit_name(service)

    def inject(lab: Lab) -> None:
        if not lab.hosts.is_systemd(host):
            raise LabError(f"{host} does not run systemd (lab/config.py: init)")
        lab.service(host, service)  # a service of the host's
        if kind == "restart-loop":
            lab.host_exec(host, systemd_host.restart_loop_cmd(unit))

            def climbing() -> bool:
                out = lab.host_exec(host, f"systemctl show -p NRestarts --value {unit}").stdout
                return out.strip().isdigit() and int(out) > 3

            wait_for(f"{unit} restarting on {host}", climbing, 60, 0.5)
        else:
            lab.host_exec(host, systemd_host.failed_cmd(unit))

    def heal(lab: Lab) -> None:
        t0 = time.monotonic()
        lab.host_exec(host, systemd_host.heal_cmd(unit))
        lab.wait_green(since=t0)

    return inject, heal


for _svc, _host, _kind, _what in (
    ("swift-object-replicator", "storage2", "restart-loop", "ends after 2 s, every time"),
    ("swift-container-replicator", "storage2", "failed", "killed with Restart=no"),
):
    register(
        Fault(
            f"unit-{_kind}@{_host}",
            f"{_host}: systemd's unit of {_svc} {_what} ({_kind.replace('-', ' ')})",
            *_unit_fault(_host, _svc, _kind),
        )
    )


# ---- a rebooted compute host ----------------------------------------------------------
def _answers_ssh(lab: Lab, host: str) -> bool:
    """The operator's ssh to the host gets in (a rebooted host's new interface may not be
    reachable yet from the operator's host, whose neighbour entry names the old one)."""
    r = lab.operator_run(
        ["ssh", "-F", str(lab.state / "ssh_config"), "-o", "BatchMode=yes", "-o",
         "ConnectTimeout=3", host, "true"],
        check=False,
        timeout=15,
    )  # fmt: skip
    return r.returncode == 0


def _reboot_inject(host: str) -> Action:
    def inject(lab: Lab) -> None:
        lab.reboot(host)
        # the operator runs the suite once the host is back: it answers ssh, and its new
        # nova-compute reported (green allows 5 s of clock slack, which the old one's last
        # report could fill)
        wait_for(f"{host} answering ssh after its reboot", lambda: _answers_ssh(lab, host), 90, 1)
        lab.wait_green(since=time.monotonic() + 5, only=[f"nova-compute@{host}"])

    return inject


def _reboot_heal(host: str) -> Action:
    def heal(lab: Lab) -> None:
        t0 = time.monotonic()
        if not lab.hosts.is_up(host):
            lab.reboot(host)
        # its nova-compute must be back before servers can be rebooted on it
        lab.wait_green(since=t0 - 120, only=[f"nova-compute@{host}"])
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
            through_api=True,
        )
    )


# ---- a host whose clock is off ----------------------------------------------------------
# As a host whose NTP never synced after its reboot: its clock runs ahead. The lab's hosts
# share the machine's kernel clock, so libfaketime moves it for whatever runs in an ssh
# session (sshd's SetEnv; the suite reads everything that way). Preloading it host-wide
# (/etc/ld.so.preload) would kill sshd's sandboxed pre-auth child.
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
CLOCK_AHEAD_S = 90


def _sshd_reload(lab: Lab, host: str, edit: str) -> None:
    """Edit the host's sshd_config, then have sshd read it again (new sessions only)."""
    lab.host_exec(host, f'{edit} && kill -HUP "$(cat /run/sshd.pid)"')
    time.sleep(0.3)  # sshd re-executes itself to read it


def _clock_ahead_inject(host: str) -> Action:
    def inject(lab: Lab) -> None:
        line = f"SetEnv LD_PRELOAD={FAKETIME_LIB} FAKETIME=+{CLOCK_AHEAD_S}s"
        _sshd_reload(lab, host, f"printf '%s\\n' '{line}' >> /etc/ssh/sshd_config")

    return inject


def _clock_ahead_heal(host: str) -> Action:
    def heal(lab: Lab) -> None:
        _sshd_reload(
            lab,
            host,
            "sed -i '/^SetEnv LD_PRELOAD=/d' /etc/ssh/sshd_config"
            " && rm -f /dev/shm/faketime_shm_* /dev/shm/sem.faketime_sem_*",
        )

    return heal


register(
    Fault(
        "clock-ahead@storage1",
        f"storage1's clock runs {CLOCK_AHEAD_S} s ahead (its NTP never synced after a reboot)",
        _clock_ahead_inject("storage1"),
        _clock_ahead_heal("storage1"),
    )
)


# ---- libvirt domains behind nova's back -------------------------------------------------
def _domain_paused_inject(lab: Lab) -> None:
    lab.host_exec("compute1", f"virsh suspend {domain_of(lab, 'ab-fw-compute1')}")


def _domain_paused_heal(lab: Lab) -> None:
    dom = domain_of(lab, "ab-fw-compute1")
    lab.host_exec(
        "compute1", f"virsh domstate {dom} | grep -q paused && virsh resume {dom} || true"
    )


def _task_stuck_inject(lab: Lab) -> None:
    # a hard reboot that nova-compute never finished (it went away under it): nova's task
    # stays rebooting_hard, and the domain is left paused on its hypervisor
    lab.host_exec("compute1", f"virsh suspend {domain_of(lab, 'ab-linux-compute1')}")
    _sql(
        lab,
        "UPDATE nova.instances SET task_state = 'rebooting_hard' "
        "WHERE display_name = 'ab-linux-compute1' AND deleted = 0;",
    )


def _task_stuck_heal(lab: Lab) -> None:
    # NOVA-008's remedy as written: reset to active, then a hard reboot through nova
    hard_reboot(lab, names=("ab-linux-compute1",), reset=True)


def _domain_undefined_inject(lab: Lab) -> None:
    dom = domain_of(lab, "ab-fw-compute1")
    lab.host_exec("compute1", f"virsh destroy {dom} >/dev/null 2>&1; virsh undefine {dom}")


def _domain_undefined_heal(lab: Lab) -> None:
    hard_reboot(lab, names=("ab-fw-compute1",))


# a disk file deleted under its running domain (NOVA-013): kept by a hard link, so that the
# heal puts the very file qemu holds open back in place
_DISK_KEPT = "/var/lib/nova/ab-disk-kept"
_FILE_DISK = (
    'virsh domblklist --details {dom} | awk \'$1=="file" && $2=="disk" {{print $4; exit}}\''
)


def _disk_deleted_inject(lab: Lab) -> None:
    dom = domain_of(lab, "ab-fw-compute1")
    lab.host_exec(
        "compute1",
        f'd=$({_FILE_DISK.format(dom=dom)}) && [ -f "$d" ] && ln -f "$d" {_DISK_KEPT}'
        f' && printf %s "$d" > {_DISK_KEPT}.path && rm -f "$d"',
    )


def _disk_deleted_heal(lab: Lab) -> None:
    lab.host_exec(
        "compute1",
        f"[ -f {_DISK_KEPT}.path ] || exit 0; d=$(cat {_DISK_KEPT}.path)"
        f' && mv -f {_DISK_KEPT} "$d" && rm -f {_DISK_KEPT}.path',
    )


register(
    Fault(
        "disk-deleted-under-domain@compute1",
        "the disk file of ab-fw-compute1's running domain deleted on compute1 (a cleanup of old"
        " files): qemu holds it open",
        _disk_deleted_inject,
        _disk_deleted_heal,
    )
)
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
        "hard-reboot-stuck@compute1",
        "a hard reboot nova never finished: ab-linux-compute1's task left at rebooting_hard, "
        "its domain paused on compute1",
        _task_stuck_inject,
        _task_stuck_heal,
        through_api=True,
    )
)
register(
    Fault(
        "domain-undefined",
        "destroy + undefine a server's domain on compute1 (libvirt XML removed)",
        _domain_undefined_inject,
        _domain_undefined_heal,
        through_api=True,
    )
)


# ---- swift ---------------------------------------------------------------------------------
def _regzip_object_ring(lab: Lab, host: str) -> None:
    """The same ring, gzipped again: another checksum for the same devices."""
    lab.host_exec(
        host,
        "cd /etc/swift && gzip -dc object.ring.gz > /tmp/r && "
        "gzip -1 -n -c /tmp/r > object.ring.gz && rm /tmp/r",
    )


def _ring_changed_inject(lab: Lab) -> None:
    _regzip_object_ring(lab, "storage2")


def _ring_changed_heal(lab: Lab) -> None:
    ring = (lab.hosts.root("controller") / "etc/swift/object.ring.gz").read_bytes()
    (lab.hosts.root("storage2") / "etc/swift/object.ring.gz").write_bytes(ring)


def _unmounted_inject(lab: Lab) -> None:
    from .swift import device

    lab.host_exec("storage1", f"umount -l /srv/node/{device('storage1')}")


def _unmounted_heal(lab: Lab) -> None:
    from .swift import mount_device

    mount_device(lab, "storage1")


def _xfs_shutdown_inject(lab: Lab) -> None:
    from .swift import device

    # what XFS does by itself after a metadata I/O error: shut down, stay mounted
    lab.host_exec("storage2", f"xfs_io -x -c shutdown /srv/node/{device('storage2')}")


def _xfs_shutdown_heal(lab: Lab) -> None:
    from .swift import device, mount_device

    # the prescribed remedy: stop the host's swift servers (they hold files on it), a
    # plain umount, mount again (the log replays), start them
    swift = [s for s in lab.services_of("storage2") if s.name.startswith("swift-")]
    for svc in swift:
        lab.stop(svc)
    lab.host_exec("storage2", f"umount /srv/node/{device('storage2')}")
    mount_device(lab, "storage2")
    for svc in swift:
        lab.start(svc)


register(
    Fault(
        "swift-device-xfs-shutdown@storage2",
        "the XFS of storage2's swift device shut down (as after I/O errors): mounted, EIO",
        _xfs_shutdown_inject,
        _xfs_shutdown_heal,
    )
)
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


def _read_only_inject(lab: Lab) -> None:
    from .swift import device

    # a read-only bind mount over the device, as a backup job leaves one (remounting the
    # filesystem itself read-only is refused while the object server writes to it)
    where = f"/srv/node/{device('storage1')}"
    lab.host_exec("storage1", f"mount --bind {where} {where} && mount -o remount,bind,ro {where}")


def _read_only_heal(lab: Lab) -> None:
    from .swift import device

    where = f"/srv/node/{device('storage1')}"
    # only the read-only mount on top, if it is there (healing twice changes nothing);
    # detached lazily: a daemon that opened a file through it meanwhile keeps it busy
    top_ro = f"awk -v m={where} '$2 == m {{o = $4}} END {{exit o !~ /^ro/}}' /proc/mounts"
    lab.host_exec("storage1", f"{top_ro} && umount -l {where}; true")
    if lab.host_exec("storage1", top_ro, check=False).returncode == 0:
        raise LabError(f"{where} on storage1 is still mounted read-only")


register(
    Fault(
        "swift-device-read-only@storage1",
        "a read-only bind mount left over storage1's swift device (by a backup job): writes fail",
        _read_only_inject,
        _read_only_heal,
    )
)


# ---- configuration drift -------------------------------------------------------------------
def _config_changed_inject(lab: Lab) -> None:
    lab.host_exec(
        "compute2",
        "sed -i 's/^reserved_host_memory_mb = .*/reserved_host_memory_mb"
        f" = 1024/' {lab.hosts.path('compute2', '/etc/nova/nova.conf')}",
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


# ---- configuration changes the gate must catch (tests/matrix/test_config_gate.py) ------
# Each rewrites compute1's nova.conf; the heal writes it again from the lab's template,
# exactly as `up` wrote it (the same as config-option-changed@compute2's heal).
# A secret's new value: the gate must report that it changed, never the value.
CHANGED_SECRET = "ab-gate-Secret-7f3c9e"


def _nova_conf_heal(host: str, restart: bool = False) -> Action:
    def heal(lab: Lab) -> None:
        from .controlplane import write_nova_conf

        write_nova_conf(lab, host)
        if restart:
            lab.wait_green(since=_restart(lab, host, "nova-compute"))

    return heal


def _compute1_option_changed(lab: Lab) -> None:
    lab.host_exec(
        "compute1",
        "sed -i 's/^reserved_host_memory_mb = .*/reserved_host_memory_mb"
        " = 1024/' /etc/nova/nova.conf",
    )


def _compute1_secret_changed(lab: Lab) -> None:
    # [keystone_authtoken] password only (nova-compute does not use it: no restart)
    lab.host_exec(
        "compute1",
        "sed -i '/^\\[keystone_authtoken\\]/,/^\\[/ "
        f"s/^password = .*/password = {CHANGED_SECRET}/' /etc/nova/nova.conf",
    )


def _compute1_bad_driver(lab: Lab) -> None:
    # a driver nova cannot load: nova-compute exits at start ("Unable to load the
    # virtualization driver"), as after a bad change deployed and restarted
    lab.host_exec(
        "compute1",
        "sed -i 's/^compute_driver = .*/compute_driver = afterboot.NoSuchDriver/'"
        " /etc/nova/nova.conf",
    )
    _restart(lab, "compute1", "nova-compute")


register(
    Fault(
        "config-option-changed@compute1",
        "nova.conf on compute1: reserved_host_memory_mb set to 1024 (not restarted); with "
        "config-option-changed@compute2 the whole compute role changed",
        _compute1_option_changed,
        _nova_conf_heal("compute1"),
    )
)
register(
    Fault(
        "config-secret-changed@compute1",
        "nova.conf on compute1: [keystone_authtoken] password changed (not restarted)",
        _compute1_secret_changed,
        _nova_conf_heal("compute1"),
    )
)
register(
    Fault(
        "nova-compute-bad-config@compute1",
        "nova.conf on compute1: compute_driver nova cannot load, nova-compute restarted "
        "(and exits)",
        _compute1_bad_driver,
        _nova_conf_heal("compute1", restart=True),
    )
)


# ---- nova's database behind the hypervisor's back ------------------------------------------
def _sql(lab: Lab, statement: str) -> None:
    lab.hosts.exec("controller", "mariadb --socket=/run/mysqld/mysqld.sock -uroot", input=statement)


def _instance_sql(assignment: str) -> Action:
    """Change ab-fw-compute1's row in nova's DB by name (no API: a heal must work while
    the APIs are still coming back)."""

    def act(lab: Lab) -> None:
        _sql(
            lab,
            f"UPDATE nova.instances SET {assignment} "
            "WHERE display_name = 'ab-fw-compute1' AND deleted = 0;",
        )

    return act


# healed with power_state too: meanwhile compute2's nova-compute recorded it as NOSTATE
register(
    Fault(
        "instance-wrong-host",
        "nova's DB records ab-fw-compute1 on compute2 while it runs on compute1",
        _instance_sql("host = 'compute2'"),
        _instance_sql("host = 'compute1', power_state = 1"),
    )
)
register(
    Fault(
        "instance-error",
        "ab-fw-compute1 forced into ERROR in nova's DB",
        _instance_sql("vm_state = 'error'"),
        _instance_sql("vm_state = 'active'"),
    )
)

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


# ---- swift rings without a device or a node ------------------------------------------------
_RINGS_ORIG = "/var/lib/afterboot-lab/rings.orig"
_RING_WORK = "/var/lib/afterboot-lab/rings.work"


def _distribute_rings(lab: Lab) -> None:
    from .config import STORAGE_HOSTS

    for kind in ("account", "container", "object"):
        ring = (lab.hosts.root("controller") / f"etc/swift/{kind}.ring.gz").read_bytes()
        for host in STORAGE_HOSTS:
            (lab.hosts.root(host) / f"etc/swift/{kind}.ring.gz").write_bytes(ring)


def _rings_without(host: str, kinds: tuple[str, ...]) -> Action:
    """Remove ``host``'s device from ``kinds`` rings on the ring builder (a copy of the
    builders: the originals stay to heal from), rebalance, distribute to every node."""

    def inject(lab: Lab) -> None:
        from .config import HOSTS
        from .swift import device

        rb = f"{lab.venv}/bin/swift-ring-builder"
        cmds = [
            "set -e",
            f"mkdir -p {_RINGS_ORIG}",
            f"[ -f {_RINGS_ORIG}/object.ring.gz ] || cp -p /etc/swift/*.ring.gz {_RINGS_ORIG}/",
            f"rm -rf {_RING_WORK} && mkdir -p {_RING_WORK}",
            f"cp /etc/swift/*.builder {_RING_WORK}/",
            f"cd {_RING_WORK}",
        ]
        for kind in kinds:
            cmds += [
                f"{rb} {kind}.builder remove {HOSTS[host].ip}/{device(host)} --yes >/dev/null",
                # two replicas need two devices: what is left holds one
                f"{rb} {kind}.builder set_replicas 1 >/dev/null",
                f"{rb} {kind}.builder rebalance >/dev/null || [ $? = 1 ]",
                f"cp {kind}.ring.gz /etc/swift/{kind}.ring.gz",
            ]
        lab.hosts.exec("controller", "\n".join(cmds))
        _distribute_rings(lab)

    return inject


def _rings_restored(lab: Lab) -> None:
    lab.hosts.exec(
        "controller",
        f"if [ -d {_RINGS_ORIG} ]; then cp -p {_RINGS_ORIG}/*.ring.gz /etc/swift/ && "
        f"rm -rf {_RINGS_ORIG} {_RING_WORK}; fi",
    )
    _distribute_rings(lab)


register(
    Fault(
        "swift-device-removed@storage1",
        "storage1's device removed from the object ring (rebalanced, distributed)",
        _rings_without("storage1", ("object",)),
        _rings_restored,
    )
)
register(
    Fault(
        "swift-host-absent@storage2",
        "storage2 removed from every ring (a node taken out and never added back)",
        _rings_without("storage2", ("account", "container", "object")),
        _rings_restored,
    )
)


# ---- volumes: hypervisor and cinder behind nova's back --------------------------------------
_DISK_XML = "/var/lib/afterboot-lab/detached-disk.xml"


def _virsh_device(lab: Lab, verb: str, dom: str) -> str:
    """``virsh attach-device|detach-device DOM XML --live`` as compute2 has virsh: on a
    kolla host inside nova_libvirt, the XML (a file of the host) fed on stdin."""
    from .compute import virsh

    if lab.hosts.is_kolla("compute2"):
        return f"podman exec -i nova_libvirt virsh {verb} {dom} /dev/stdin --live < {_DISK_XML}"
    return f"{virsh(lab, 'compute2')} {verb} {dom} {_DISK_XML} --live"


def _volume_detached_inject(lab: Lab) -> None:
    import xml.etree.ElementTree as ET

    from .compute import virsh

    v = virsh(lab, "compute2")
    dom = domain_of(lab, "ab-linux-compute2")
    tree = ET.fromstring(lab.host_exec("compute2", f"{v} dumpxml {dom}").stdout)
    rbd = [d for d in tree.iter("disk") if d.find("source[@protocol='rbd']") is not None]
    if not rbd:
        raise LabError(f"{dom} on compute2 has no rbd volume attached")
    disk = rbd[0]
    target = disk.find("target").get("dev")  # type: ignore[union-attr]
    lab.hosts.write("compute2", _DISK_XML, ET.tostring(disk, encoding="unicode"))
    lab.host_exec("compute2", _virsh_device(lab, "detach-device", dom))
    deadline = time.monotonic() + 60
    while target in lab.host_exec("compute2", f"{v} domblklist {dom}").stdout:
        if time.monotonic() > deadline:
            raise LabError(f"{target} of {dom} did not detach within 60s")
        time.sleep(1)


def _volume_detached_heal(lab: Lab) -> None:
    dom = domain_of(lab, "ab-linux-compute2")
    attach = _virsh_device(lab, "attach-device", dom)
    lab.host_exec("compute2", f"if [ -f {_DISK_XML} ]; then {attach} && rm -f {_DISK_XML}; fi")


register(
    Fault(
        "volume-detached-on-hypervisor@compute2",
        "ab-vol-compute2 detached from its domain with virsh (cinder and nova still attached)",
        _volume_detached_inject,
        _volume_detached_heal,
    )
)

_STALE_VOLUME = "ab-vol-stale"
_DEAD_INSTANCE = "dead0000-aaaa-4bbb-8ccc-000000000001"


def _stale_attachment_inject(lab: Lab) -> None:
    vid = lab.venv_tool("ops.py", "volume-create", _STALE_VOLUME).stdout.strip()
    _sql(
        lab,
        f"UPDATE cinder.volumes SET status='in-use', attach_status='attached' WHERE id='{vid}';"
        "INSERT INTO cinder.volume_attachment (created_at, updated_at, deleted, id, volume_id,"
        " attached_host, instance_uuid, mountpoint, attach_time, attach_mode, attach_status)"
        f" VALUES (NOW(), NOW(), 0, UUID(), '{vid}', 'compute1', '{_DEAD_INSTANCE}',"
        " '/dev/vdc', NOW(), 'rw', 'attached');",
    )


def _stale_attachment_heal(lab: Lab) -> None:
    lab.flush_green()
    vid = lab.venv_tool("ops.py", "volume-id", _STALE_VOLUME).stdout.strip()
    if vid:
        _sql(
            lab,
            f"DELETE FROM cinder.volume_attachment WHERE volume_id='{vid}';"
            "UPDATE cinder.volumes SET status='available', attach_status='detached'"
            f" WHERE id='{vid}';",
        )
        lab.venv_tool("ops.py", "volume-delete", _STALE_VOLUME)


register(
    Fault(
        "volume-attached-to-deleted-instance",
        f"cinder holds {_STALE_VOLUME} attached to instance {_DEAD_INSTANCE}, deleted in nova",
        _stale_attachment_inject,
        _stale_attachment_heal,
        through_api=True,
    )
)


_STUCK_VOLUME = "ab-vol-stuck"
_STUCK_ID = "bad0c0de-aaaa-4bbb-8ccc-000000000002"


def _stuck_creating_inject(lab: Lab) -> None:
    """The row cinder-volume leaves when it stops before creating a volume: ``creating``,
    last updated when it stopped (two hours ago). A copy of the lab's first volume's row
    (its type, backend and project), with no attachment; the backend never made it."""
    _sql(
        lab,
        "USE cinder; CREATE TEMPORARY TABLE ab_stuck AS SELECT * FROM volumes"
        " WHERE deleted=0 ORDER BY created_at LIMIT 1;"
        f"UPDATE ab_stuck SET id='{_STUCK_ID}', display_name='{_STUCK_VOLUME}',"
        " status='creating', attach_status='detached', provider_location=NULL,"
        " created_at=UTC_TIMESTAMP() - INTERVAL 2 HOUR,"
        " updated_at=UTC_TIMESTAMP() - INTERVAL 2 HOUR;"
        "INSERT INTO volumes SELECT * FROM ab_stuck;",
    )


def _stuck_creating_heal(lab: Lab) -> None:
    _sql(lab, f"DELETE FROM cinder.volumes WHERE id='{_STUCK_ID}';")


register(
    Fault(
        "volume-stuck-creating",
        f"cinder holds {_STUCK_VOLUME} creating for two hours (cinder-volume stopped before"
        " its backend made it)",
        _stuck_creating_inject,
        _stuck_creating_heal,
    )
)


# ---- cinder's database and Ceph from different moments (CINDER-005) ------------------------
_LOST_VOLUME = "ab-vol-lost"
_LOST_ID = "bad0c0de-aaaa-4bbb-8ccc-000000000003"
_ORPHAN_ID = "bad0c0de-aaaa-4bbb-8ccc-000000000004"
_ORPHAN_IMAGE = f"volumes/volume-{_ORPHAN_ID}"


def _data_lost_inject(lab: Lab) -> None:
    """The row of a volume deleted after the backup cinder's database was restored from:
    ``available`` on the lab's RBD backend, its image gone from the pool. A copy of the
    lab's first volume's row (its type, backend and project), detached."""
    _sql(
        lab,
        "USE cinder; CREATE TEMPORARY TABLE ab_lost AS SELECT * FROM volumes"
        " WHERE deleted=0 ORDER BY created_at LIMIT 1;"
        f"UPDATE ab_lost SET id='{_LOST_ID}', display_name='{_LOST_VOLUME}',"
        " status='available', attach_status='detached', _name_id=NULL;"
        "INSERT INTO volumes SELECT * FROM ab_lost;",
    )


def _data_lost_heal(lab: Lab) -> None:
    _sql(lab, f"DELETE FROM cinder.volumes WHERE id='{_LOST_ID}';")


def _image_orphaned_inject(lab: Lab) -> None:
    """The image of a volume made after the backup cinder's database was restored from:
    in the pool, named as cinder names its volumes, unknown to cinder."""
    lab.host_exec(CEPH_HOST, f"timeout 30 rbd create --size 1M {_ORPHAN_IMAGE}", timeout=60)


def _image_orphaned_heal(lab: Lab) -> None:
    rm = f"timeout 30 rbd rm --no-progress {_ORPHAN_IMAGE} 2>/dev/null || true"
    lab.host_exec(CEPH_HOST, rm, timeout=60)


register(
    Fault(
        "volume-data-lost",
        f"cinder lists {_LOST_VOLUME} available on storage1@ceph, its RBD image is not in the pool"
        " (cinder's database restored from before the volume was deleted)",
        _data_lost_inject,
        _data_lost_heal,
    )
)
register(
    Fault(
        "volume-image-orphaned",
        f"the RBD image volume-{_ORPHAN_ID} in pool volumes, no volume of cinder's"
        " (cinder's database restored from before the volume was made)",
        _image_orphaned_inject,
        _image_orphaned_heal,
    ),
)


# ---- glance's database and its store from different moments (GLANCE-002) ----------------
_LOST_IMAGE = "ab-img-lost"
_LOST_IMAGE_ID = "bad0c0de-aaaa-4bbb-8ccc-000000000005"
_UNKNOWN_IMAGE_ID = "bad0c0de-aaaa-4bbb-8ccc-000000000006"
_GLANCE_DIR = "/var/lib/glance/images"


def _image_lost_inject(lab: Lab) -> None:
    """The row of an image deleted after the backup glance's database was restored from:
    ``active``, its file gone from the store. A copy of the lab's first active image's row
    (its size, formats and owner)."""
    _sql(
        lab,
        "USE glance; CREATE TEMPORARY TABLE ab_lost AS SELECT * FROM images"
        " WHERE deleted=0 AND status='active' ORDER BY created_at LIMIT 1;"
        f"UPDATE ab_lost SET id='{_LOST_IMAGE_ID}', name='{_LOST_IMAGE}';"
        "INSERT INTO images SELECT * FROM ab_lost;",
    )


def _image_lost_heal(lab: Lab) -> None:
    _sql(lab, f"DELETE FROM glance.images WHERE id='{_LOST_IMAGE_ID}';")


def _image_unknown_inject(lab: Lab) -> None:
    """The file of an image uploaded after the backup glance's database was restored
    from: in the store, named and owned as glance writes it, unknown to glance."""
    path = f"{_GLANCE_DIR}/{_UNKNOWN_IMAGE_ID}"
    lab.hosts.exec(
        "controller",
        f"head -c 65536 /dev/zero > {path} && chown --reference={_GLANCE_DIR} {path}",
    )


def _image_unknown_heal(lab: Lab) -> None:
    lab.hosts.exec("controller", f"rm -f {_GLANCE_DIR}/{_UNKNOWN_IMAGE_ID}")


register(
    Fault(
        "image-data-lost",
        f"glance lists {_LOST_IMAGE} active, its file is not in the store (glance's database"
        " restored from before the image was deleted)",
        _image_lost_inject,
        _image_lost_heal,
    )
)
register(
    Fault(
        "image-data-unknown",
        f"the file {_GLANCE_DIR}/{_UNKNOWN_IMAGE_ID} in glance's store, no image of glance's"
        " (glance's database restored from before the image was uploaded)",
        _image_unknown_inject,
        _image_unknown_heal,
    )
)


# ---- nova-compute cut off from RabbitMQ while the broker runs -------------------------------
_AMQP_RULE = "ipproto tcp dport 5672 prohibit"


def _amqp_cut_inject(lab: Lab, host: str) -> None:
    from .config import HOSTS
    from .controlplane import RABBIT_ENV

    # outgoing AMQP from host refused (a firewall rule; a policy-routing rule here, as
    # the machine's kernel has no tc actions and the lab installs no iptables)
    lab.host_exec(host, f"ip rule add {_AMQP_RULE}")
    # ... and the broker drops its side at once, as after a controller reboot: its readers
    # killed, not closed (a close waits 30 s for the client's answer, which the rule drops)
    ctl = f"env {RABBIT_ENV} /usr/lib/rabbitmq/bin/rabbitmqctl"
    peer = "{" + HOSTS[host].ip.replace(".", ",") + "}"
    kill = (
        "[exit(P, kill) || P <- rabbit_networking:connections(), "
        f"rabbit_networking:connection_info(P, [peer_host]) =:= [{{peer_host, {peer}}}]]."
    )
    lab.host_exec("controller", f"{ctl} eval {shlex.quote(kill)} </dev/null")

    def peers() -> list[str]:
        listing = f"{ctl} list_connections -q --no-table-headers peer_host"
        return lab.host_exec("controller", listing).stdout.split()

    deadline = time.monotonic() + 30
    while HOSTS[host].ip in peers():
        if time.monotonic() > deadline:
            raise LabError(f"{host}'s AMQP connections still open 30s after closing them")
        time.sleep(1)
    if lab.hosts.is_kolla(host):  # kolla's health check of nova_compute notices it
        wait_for(
            f"nova_compute on {host} unhealthy",
            lambda: _checked_health(lab, host, "nova_compute") == "unhealthy",
            90,
        )


def _checked_health(lab: Lab, host: str, container: str) -> str:
    """The container's health once its check has run now (podman counts the failures
    towards its retries as its own timer does): not 3 x 10 s waiting for the timer."""
    run = f"podman healthcheck run {shlex.quote(container)} >/dev/null 2>&1"
    lab.host_exec(host, run, check=False)
    return _health(lab, host, container)


def _health(lab: Lab, host: str, container: str) -> str:
    return lab.host_exec(host, kolla_host.health_cmd(container), check=False).stdout.strip()


def _amqp_cut_heal(lab: Lab, host: str, service: str = "nova-compute") -> None:
    lab.host_exec(host, f"while ip rule del {_AMQP_RULE} 2>/dev/null; do :; done")
    t0 = _restart(lab, host, service)  # the prescribed remedy
    lab.wait_green(since=t0)


for _h in ("compute1", "compute2"):
    register(
        Fault(
            f"nova-compute-amqp-cut@{_h}",
            f"{_h} refused AMQP and its broker connections closed (broker up)"
            + ("; kolla's health check turns nova_compute unhealthy" if _h == "compute2" else ""),
            functools.partial(_amqp_cut_inject, host=_h),
            functools.partial(_amqp_cut_heal, host=_h),
        )
    )


# cinder-volume the same way: it runs, its record claims "up" until service_down_time
register(
    Fault(
        "cinder-volume-amqp-cut@storage1",
        "storage1 refused AMQP and its broker connections closed (broker up; cinder-volume runs)",
        functools.partial(_amqp_cut_inject, host="storage1"),
        functools.partial(_amqp_cut_heal, host="storage1", service="cinder-volume"),
    )
)


# ---- a firewall rule back after a reboot cuts a compute host off Ceph's monitor (DEP-001) --
_MON_RULES = ("ipproto tcp dport 6789 prohibit", "ipproto tcp dport 3300 prohibit")


def _mon_cut(add: bool) -> Action:
    def act(lab: Lab) -> None:
        # (a policy-routing rule, as for AMQP above: the lab installs no iptables); running
        # guests keep their sessions with the OSDs, a new attachment or map update fails
        for rule in _MON_RULES:
            cmd = (
                f"ip rule add {rule}"
                if add
                else f"while ip rule del {rule} 2>/dev/null; do :; done"
            )
            lab.host_exec("compute1", cmd)

    return act


register(
    Fault(
        "ceph-mon-unreachable@compute1",
        "compute1 refuses connections to Ceph's monitor ports (a firewall rule back after a "
        "reboot); the monitor runs",
        _mon_cut(True),
        _mon_cut(False),
    )
)


# ---- a decommissioned backend's record left in cinder (INV-001) ---------------------------
_GONE_BACKEND = "storage3@ceph"


def _record_left_inject(lab: Lab) -> None:
    # storage3 was taken out of service for good; nobody removed its cinder-volume record
    # (a copy of storage1's, last reported two days ago)
    _sql(
        lab,
        "INSERT INTO cinder.services (created_at, updated_at, deleted, host, `binary`, topic, "
        "report_count, disabled, availability_zone, rpc_current_version, "
        "object_current_version, replication_status, frozen, active_backend_id, cluster_name, "
        "uuid) SELECT created_at - INTERVAL 30 DAY, UTC_TIMESTAMP() - INTERVAL 2 DAY, 0, "
        f"'{_GONE_BACKEND}', `binary`, topic, report_count, disabled, availability_zone, "
        "rpc_current_version, object_current_version, replication_status, frozen, "
        "active_backend_id, cluster_name, UUID() "
        "FROM cinder.services WHERE host = 'storage1@ceph' AND `binary` = 'cinder-volume' "
        "AND deleted = 0;",
    )


def _record_left_heal(lab: Lab) -> None:
    # the prescribed remedy, as written (cinder-manage on a controller)
    lab.host_exec(
        "controller",
        f"{lab.venv}/bin/cinder-manage --config-file /etc/cinder/cinder.conf "
        f"service remove cinder-volume {_GONE_BACKEND}",
    )


register(
    Fault(
        "volume-backend-record-left",
        f"cinder keeps the cinder-volume record of {_GONE_BACKEND}, a backend decommissioned "
        "for good",
        _record_left_inject,
        _record_left_heal,
    )
)


# ---- an instance's backing file removed from _base (NOVA-007) ------------------------------
_INSTANCES = "/var/lib/nova/instances"
_MOVED_BASE = "/var/lib/nova/.afterboot-moved-base"


def _base_missing_inject(lab: Lab) -> None:
    # "cleaning up" _base by hand: the backing file of a running instance's disk moved away
    # (the running domain keeps its open file; its next hard reboot or migration fails)
    disks = lab.host_exec("compute1", f"ls {_INSTANCES}/*/disk").stdout.split()
    backing = sorted(
        b
        for d in disks
        for b in [
            json.loads(lab.host_exec("compute1", f"qemu-img info -U --output=json {d}").stdout).get(
                "backing-filename"
            )
        ]
        if b
    )
    if not backing:
        raise LabError("no instance disk on compute1 has a backing file")
    lab.host_exec("compute1", f"mv {backing[0]} {_MOVED_BASE}")
    lab.host_exec("compute1", f"echo {backing[0]} > {_MOVED_BASE}.path")


def _base_missing_heal(lab: Lab) -> None:
    lab.host_exec("compute1", f'mv {_MOVED_BASE} "$(cat {_MOVED_BASE}.path)"')
    lab.host_exec("compute1", f"rm -f {_MOVED_BASE}.path")


register(
    Fault(
        "base-image-missing@compute1",
        "the _base backing file of an instance disk on compute1 moved away (a manual cleanup)",
        _base_missing_inject,
        _base_missing_heal,
    )
)


# ---- kolla containers (compute2) -----------------------------------------------------------
def _image_drift_inject(lab: Lab) -> None:
    # an upgrade pulled a new nova-compute image under the same tag; the container was
    # not re-created and still runs the old one (a partial upgrade)
    lab.hosts.build_image("compute2", "nova_compute", release="upgrade")


def _image_drift_heal(lab: Lab) -> None:
    # the remedy: re-create the container from the image the deployment names (what
    # ``kolla-ansible deploy --limit compute2 --tags nova`` does); the domains run on
    svc = lab.service("compute2", "nova-compute")
    lab.stop(svc)
    t0 = time.monotonic()  # the new container's nova-compute must report, not the old one
    lab.hosts.recreate_container("compute2", svc)
    lab.wait_green(since=t0)


register(
    Fault(
        "kolla-image-drift@compute2",
        "a new nova-compute image under the deployed tag on compute2, nova_compute not "
        "re-created (it runs the old image)",
        _image_drift_inject,
        _image_drift_heal,
    )
)


# a partial upgrade: nova_compute re-created from the next release's tag, nova_libvirt not
_NEXT_TAG = "lab-next-debian-bookworm"


def _next_image() -> str:
    return kolla_host.image_name("nova_compute").rpartition(":")[0] + f":{_NEXT_TAG}"


def _partial_upgrade_inject(lab: Lab) -> None:
    svc = lab.service("compute2", "nova-compute")
    unit = kolla_host.unit_name("nova_compute")
    create = kolla_host.create_cmd("nova_compute", str(lab.venv), image=_next_image())
    lab.stop(svc)
    t0 = time.monotonic()
    lab.host_exec(
        "compute2",
        f"podman tag {kolla_host.image_name('nova_compute')} {_next_image()} && "
        "podman rm -f nova_compute >/dev/null && "
        f"systemd-run --quiet --wait --pipe --collect {create} >/dev/null && "
        f"systemctl start {unit}",
        timeout=180,
    )
    # the upgraded nova-compute runs and reports (the batch's other faults may keep the
    # cloud from being green meanwhile)
    lab.wait_green(since=t0, only=["nova-compute@compute2"])


def _partial_upgrade_heal(lab: Lab) -> None:
    # the remedy: the deployment's tag everywhere (kolla-ansible deploy of the one release)
    svc = lab.service("compute2", "nova-compute")
    lab.stop(svc)
    t0 = time.monotonic()
    lab.hosts.recreate_container("compute2", svc)
    # that name only (``podman untag IMAGE`` alone drops every name of the image: the
    # deployed tag too, and the next start would build the image again under it)
    lab.host_exec("compute2", f"podman untag {_next_image()} {_next_image()} 2>/dev/null || true")
    lab.wait_green(since=t0)


register(
    Fault(
        "kolla-partial-upgrade@compute2",
        f"nova_compute on compute2 re-created from tag {_NEXT_TAG}, nova_libvirt left on the "
        "deployed one",
        _partial_upgrade_inject,
        _partial_upgrade_heal,
    )
)


# ---- accounts ---------------------------------------------------------------------------------
register(
    Fault(
        "account-disabled-with-roles",
        "user ab-departed disabled while keeping its member role on the admin project",
        _ops("user-departed", "ab-departed"),
        _ops("user-delete", "ab-departed"),
        through_api=True,
    )
)


# ---- placement and capacity -------------------------------------------------------------------
register(
    Fault(
        "placement-allocations-leaked@compute2",
        "consumers nova does not know hold all the free memory of compute2 in placement",
        _ops("leak-allocations", "--host", "compute2"),
        _ops("free-allocations"),
        through_api=True,
    )
)


def _heal_allocations(lab: Lab) -> None:
    # the remedy as written: nova-manage heals every instance placement lost (on a
    # controller, nova's configuration; the instance's flavor gives what it holds)
    lab.flush_green()
    lab.host_exec("controller", f"{lab.venv}/bin/nova-manage placement heal_allocations --verbose")


register(
    Fault(
        "placement-allocations-lost@compute1",
        "an instance on compute1 holds no allocation in placement (restored from before it)",
        _ops("drop-allocations", "--host", "compute1"),
        _heal_allocations,
        through_api=True,
    )
)
register(
    Fault(
        "compute-disabled@compute2",
        "nova-compute on compute2 left disabled (after a maintenance)",
        _ops("compute-disable", "--host", "compute2"),
        _ops("compute-enable", "--host", "compute2"),
        through_api=True,
    )
)


# ---- issue 12: faults the first matrix had not seen ------------------------------------------
def _frozen_inject(lab: Lab) -> None:
    pid = lab.hosts.service_pid("compute2", "nova-compute")
    if pid is None:
        raise LabError("nova-compute is not running on compute2")
    # hung, not dead: the process stays in the table (state T), its record goes stale
    lab.host_exec("compute2", f"kill -STOP {pid}")


def _frozen_heal(lab: Lab) -> None:
    pid = lab.hosts.service_pid("compute2", "nova-compute")
    if pid is not None:
        lab.host_exec("compute2", f"kill -CONT {pid}", check=False)
    t0 = _restart(lab, "compute2", "nova-compute")  # the prescribed remedy
    lab.wait_green(since=t0)


register(
    Fault(
        "nova-compute-frozen@compute2",
        "nova-compute on compute2 stopped with SIGSTOP (hung: in the process table, state T)",
        _frozen_inject,
        _frozen_heal,
    )
)


def _builder_ring_inject(lab: Lab) -> None:
    # the ring-builder host's object ring differs from what every storage node serves
    # (a rebalance written, not distributed; or a builder restored from an old backup)
    _regzip_object_ring(lab, "controller")


def _builder_ring_heal(lab: Lab) -> None:
    ring = (lab.hosts.root("storage1") / "etc/swift/object.ring.gz").read_bytes()
    (lab.hosts.root("controller") / "etc/swift/object.ring.gz").write_bytes(ring)


register(
    Fault(
        "swift-ring-odd-on-builder",
        "object.ring.gz on the controller (ring builder, proxy) differs; every node agrees",
        _builder_ring_inject,
        _builder_ring_heal,
    )
)


def _process_state(lab: Lab, host: str, service: str) -> str:
    """The ps state letter of a lab service's process on its host ("" when not running)."""
    pid = lab.hosts.service_pid(host, service)
    if pid is None:
        return ""
    out = lab.host_exec(host, f"sed 's/.*) //' /proc/{pid}/stat | cut -d' ' -f1", check=False)
    return out.stdout.strip()


def _device_frozen_inject(lab: Lab) -> None:
    from .config import HOSTS
    from .swift import PORTS, device

    dev = device("storage1")
    if _process_state(lab, "storage1", "swift-object-server") in ("", "D"):
        raise LabError("swift-object-server on storage1 is not running, or already stuck")
    # what a snapshot or backup tool does (and leaves behind when it dies): freeze the XFS
    lab.host_exec("storage1", f"fsfreeze -f /srv/node/{dev}")
    # then an upload reaches storage1's object server, as the proxy sends it: creating the
    # object's temporary file waits for the thaw, in D; the server has one process
    # (workers = 0), so all of it hangs. The client gives up (10 s); the server cannot.
    # The body is shorter than announced: after the thaw the upload fails (499), no
    # object is left behind.
    url = f"http://{HOSTS['storage1'].ip}:{PORTS['object']}/{dev}/0/AUTH_ablab/frozen/upload"
    lab.host_exec(
        "storage1",
        f"(timeout 10 curl -s -o /dev/null -X PUT -H 'X-Timestamp: {time.time():.5f}' "
        "-H 'Content-Type: application/octet-stream' -H 'Content-Length: 65536' "
        "--data-binary afterboot "
        f"{url} </dev/null >/dev/null 2>&1 &)",
    )
    wait_for(
        "swift-object-server on storage1 in D",
        lambda: _process_state(lab, "storage1", "swift-object-server") == "D",
        20,
    )


def _device_frozen_heal(lab: Lab) -> None:
    from .swift import device

    # the remedy: thaw (the tool that froze it is gone); the server's write completes and
    # it goes on by itself, no restart (a process in D cannot be killed anyway)
    lab.host_exec("storage1", f"fsfreeze -u /srv/node/{device('storage1')}", check=False)
    wait_for(
        "swift-object-server on storage1 out of D",
        lambda: _process_state(lab, "storage1", "swift-object-server") not in ("", "D"),
        30,
    )


register(
    Fault(
        "swift-device-frozen@storage1",
        "storage1's swift device frozen (fsfreeze -f, a backup tool's leftover), then an "
        "upload: swift-object-server hangs in uninterruptible sleep (D)",
        _device_frozen_inject,
        _device_frozen_heal,
    )
)

_FILL = "afterboot-lab-fill"


def _device_full_inject(lab: Lab) -> None:
    from .swift import device

    root = f"/srv/node/{device('storage1')}"
    # 97 % of the device's blocks (a file at the device root: not object data swift walks)
    lab.host_exec(
        "storage1",
        f"set -e; df -P -B1 {root} | awk 'NR == 2 {{print $2, $3}}' | "
        "{ read -r size used; "
        f"fallocate -l $(( size * 97 / 100 - used )) {root}/{_FILL}; }}",
    )


def _device_full_heal(lab: Lab) -> None:
    from .swift import device

    lab.host_exec("storage1", f"rm -f /srv/node/{device('storage1')}/{_FILL}")


register(
    Fault(
        "swift-device-full@storage1",
        "storage1's swift device 97 % full",
        _device_full_inject,
        _device_full_heal,
    )
)


def _amqp_refused_inject(lab: Lab) -> None:
    # wrong credentials in compute2's transport_url (a password rotated on the broker, not
    # in the config), then the restart that picks it up
    from .controlplane import transport

    conf = lab.hosts.root("compute2") / lab.hosts.path("compute2", "/etc/nova/nova.conf")[1:]
    text = conf.read_text()
    good = transport(lab)
    if good not in text:
        raise LabError("compute2's nova.conf does not hold the lab's transport_url")
    conf.write_text(text.replace(good, good.replace(lab.pw["rabbit"], "not-the-password")))
    _restart(lab, "compute2", "nova-compute")
    # nova-compute exits at once (ACCESS_REFUSED at start), its unit starts it again 2 s
    # later: the row is judged once that is a loop (more restarts than a boot's retries,
    # services.LOOP_RESTARTS), not in a run that has only just begun
    unit = kolla_host.unit_name("nova_compute")
    show = f"systemctl show -p NRestarts -p ActiveState {unit}"

    def looping() -> bool:
        props = dict(
            line.partition("=")[::2] for line in lab.host_exec("compute2", show).stdout.split()
        )
        return props.get("ActiveState") == "failed" or int(props.get("NRestarts") or 0) > 3

    wait_for(f"{unit} on compute2 restarting in a loop", looping, 60)


def _amqp_refused_heal(lab: Lab) -> None:
    from .controlplane import write_nova_conf

    write_nova_conf(lab, "compute2")
    t0 = _restart(lab, "compute2", "nova-compute")
    lab.wait_green(since=t0)


register(
    Fault(
        "nova-compute-amqp-refused@compute2",
        "compute2's transport_url has a wrong password (ACCESS_REFUSED); nova-compute restarted",
        _amqp_refused_inject,
        _amqp_refused_heal,
    )
)


def _bdm_sql(assignment: str, where: str) -> Action:
    """nova's block device mapping of ab-linux-compute2's volume (soft-deleted as nova
    deletes rows: ``deleted = id``), by the server's name: no API."""

    def act(lab: Lab) -> None:
        _sql(
            lab,
            "UPDATE nova.block_device_mapping b JOIN nova.instances i ON i.uuid = b.instance_uuid"
            f" SET {assignment} WHERE i.display_name = 'ab-linux-compute2' AND i.deleted = 0"
            f" AND b.volume_id IS NOT NULL AND {where};",
        )

    return act


register(
    Fault(
        "nova-bdm-missing@compute2",
        "nova lost the block device mapping of ab-linux-compute2's volume (cinder and the"
        " hypervisor still have it)",
        _bdm_sql("b.deleted = b.id, b.deleted_at = NOW()", "b.deleted = 0"),
        _bdm_sql("b.deleted = 0, b.deleted_at = NULL", "b.deleted != 0"),
    )
)


# ---- Ceph's own health (CEPH-001) -------------------------------------------------------
def _ceph_flags(verb: str) -> Action:
    def act(lab: Lab) -> None:
        lab.host_exec(
            CEPH_HOST, f"for f in pause noout; do timeout 30 ceph osd {verb} $f; done", timeout=90
        )

    return act


register(
    Fault(
        "ceph-flags-left-set",
        "pause and noout left set on Ceph's OSD map after a maintenance (client I/O stops)",
        _ceph_flags("set"),
        _ceph_flags("unset"),
    )
)


# ---- the broker's own alarm (MQ-004) --------------------------------------------------
def _rabbitmqctl() -> str:
    from .controlplane import RABBIT_ENV

    return f"env {RABBIT_ENV} /usr/lib/rabbitmq/bin/rabbitmqctl"


def _alarm(lab: Lab, resource: str) -> bool:
    out = lab.host_exec(
        "controller",
        f"{_rabbitmqctl()} eval 'rabbit_alarm:get_alarms().' </dev/null",
        check=False,
    ).stdout
    return resource in out


def _disk_alarm(lab: Lab) -> bool:
    return _alarm(lab, "disk")


def _disk_alarm_inject(lab: Lab) -> None:
    # a free-disk limit above what the node has: the alarm a full /var/lib/rabbitmq raises
    lab.host_exec("controller", f"{_rabbitmqctl()} set_disk_free_limit 100000GB </dev/null")
    wait_for("RabbitMQ's disk alarm", lambda: _disk_alarm(lab), 60, 1)


def _disk_alarm_heal(lab: Lab) -> None:
    lab.host_exec("controller", f"{_rabbitmqctl()} set_disk_free_limit 50MB </dev/null")
    wait_for("RabbitMQ's disk alarm cleared", lambda: not _disk_alarm(lab), 60, 1)
    lab.wait_green(since=time.monotonic())  # blocked publishers report again


register(
    Fault(
        "rabbitmq-disk-alarm",
        "RabbitMQ raises its disk alarm (free disk below its limit): publishers blocked",
        _disk_alarm_inject,
        _disk_alarm_heal,
    )
)


def _memory_alarm_inject(lab: Lab) -> None:
    # a high watermark below what the node uses: the alarm a broker holding too many
    # messages in memory raises (the lab's own watermark is 512MB, controlplane.py)
    lab.host_exec(
        "controller", f"{_rabbitmqctl()} set_vm_memory_high_watermark absolute 1MB </dev/null"
    )
    wait_for("RabbitMQ's memory alarm", lambda: _alarm(lab, "memory"), 60, 1)


def _memory_alarm_heal(lab: Lab) -> None:
    lab.host_exec(
        "controller", f"{_rabbitmqctl()} set_vm_memory_high_watermark absolute 512MB </dev/null"
    )
    wait_for("RabbitMQ's memory alarm cleared", lambda: not _alarm(lab, "memory"), 60, 1)
    lab.wait_green(since=time.monotonic())  # blocked publishers report again


register(
    Fault(
        "rabbitmq-memory-alarm",
        "RabbitMQ raises its memory alarm (memory used above its high watermark): publishers "
        "blocked",
        _memory_alarm_inject,
        _memory_alarm_heal,
    )
)


# ---- a running service that would not start at the next boot (SVC-011) -----------------
def _unit_enablement(host: str, unit: str, verb: str) -> Action:
    def act(lab: Lab) -> None:
        lab.host_exec(host, f"systemctl {verb} {unit}")

    return act


register(
    Fault(
        "unit-disabled@storage2",
        "swift-object.service disabled on storage2 while it runs (gone at the next boot)",
        _unit_enablement("storage2", "swift-object.service", "disable"),
        _unit_enablement("storage2", "swift-object.service", "enable"),
    )
)
register(
    Fault(
        "kolla-unit-disabled@compute2",
        "kolla's nova_libvirt unit disabled on compute2 while its container runs",
        _unit_enablement("compute2", "kolla-nova_libvirt-container.service", "disable"),
        _unit_enablement("compute2", "kolla-nova_libvirt-container.service", "enable"),
    )
)


# ---- the database server refusing writes (DB-004) --------------------------------------
def _database_read_only_heal(lab: Lab) -> None:
    _sql(lab, "SET GLOBAL read_only = OFF;")
    lab.wait_green(since=time.monotonic())  # the services' reports are written again


register(
    Fault(
        "database-read-only",
        "MariaDB set read_only (as for a backup or a failover, never undone): writes refused",
        lambda lab: _sql(lab, "SET GLOBAL read_only = ON;"),
        _database_read_only_heal,
    )
)


# ---- a queue nothing consumes, piling up (MQ-003) -----------------------------------------
_BACKLOG_QUEUE = "notifications.info"
_BACKLOG_MESSAGES = 10_050


def _backlog_inject(lab: Lab) -> None:
    # notifications emitted with no listener left (a telemetry agent removed, the services'
    # notification driver still set): the queue only grows
    url = lab.host_exec(
        "controller", "awk -F' *= *' '$1 == \"transport_url\" {print $2; exit}' /etc/nova/nova.conf"
    ).stdout.strip()
    script = (
        "import sys, kombu\n"
        "url = sys.stdin.readline().strip().replace('rabbit://', 'pyamqp://', 1)\n"
        "with kombu.Connection(url) as c:\n"
        f"    q = kombu.Queue({_BACKLOG_QUEUE!r}, routing_key={_BACKLOG_QUEUE!r})\n"
        "    p = c.Producer()\n"
        f"    for i in range({_BACKLOG_MESSAGES}):\n"
        "        p.publish({'event_type': 'compute.instance.exists', 'n': i}, "
        "routing_key=q.routing_key, declare=[q] if i == 0 else [])\n"
    )
    lab.hosts.exec(
        "controller", f"{lab.venv}/bin/python3 -c {shlex.quote(script)}", input=url + "\n"
    )


def _backlog_heal(lab: Lab) -> None:
    lab.host_exec("controller", f"{_rabbitmqctl()} delete_queue {_BACKLOG_QUEUE} </dev/null")


register(
    Fault(
        "rabbitmq-queue-backlog",
        f"{_BACKLOG_MESSAGES} notifications ready in {_BACKLOG_QUEUE}, which nothing consumes",
        _backlog_inject,
        _backlog_heal,
    )
)


# ---- every account server down: the proxy runs, no account answers (SWIFT-001) ------------
def _account_servers(verb: str) -> Action:
    def act(lab: Lab) -> None:
        from .config import STORAGE_HOSTS

        for host in STORAGE_HOSTS:
            svc = lab.service(host, "swift-account-server")
            if verb == "stop":
                lab.stop(svc)
            else:
                lab.start(svc)

    return act


register(
    Fault(
        "swift-account-servers-stopped",
        "swift-account-server stopped on every storage host (the proxy runs)",
        _account_servers("stop"),
        _account_servers("start"),
    )
)


# ---- every replica of an object damaged on disk (SWIFT-005) -------------------------------
_DAMAGED = "object-0"  # the first object the account lists: the one SWIFT-005 reads


def _damage_inject(lab: Lab) -> None:
    # bit rot under every replica (the same size, its metadata kept): the proxy serves
    # bytes whose MD5 is not the etag it sends; the object server quarantines each after
    from .config import STORAGE_HOSTS

    damaged = 0
    for host in STORAGE_HOSTS:
        files = lab.host_exec(
            host,
            "grep -rlx --include='*.data' 'afterboot lab object 0' /srv/node/*/objects || true",
        ).stdout.split()
        for f in files:
            lab.host_exec(host, f"printf X | dd of={f} bs=1 seek=0 conv=notrunc status=none")
        damaged += len(files)
    if not damaged:
        raise LabError(f"no replica of afterboot/{_DAMAGED} found on the storage hosts")


def _quarantine_cleared(lab: Lab) -> None:
    # SWIFT-007's last step, once a sound copy is served again: the quarantined copies the
    # object servers moved aside are removed (the lab quarantines nothing else)
    from .config import STORAGE_HOSTS

    for host in STORAGE_HOSTS:
        lab.host_exec(host, "rm -rf /srv/node/*/quarantined")


def _reuploaded(name: str) -> Action:
    put = _ops("object-put", name)

    def act(lab: Lab) -> None:
        put(lab)  # the remedy for an object with no sound replica: upload it again
        _quarantine_cleared(lab)

    return act


register(
    Fault(
        "swift-object-damaged",
        f"every replica of afterboot/{_DAMAGED} damaged on disk (one byte, same size)",
        _damage_inject,
        # the object servers quarantine each replica as the proxy reads it
        _reuploaded(_DAMAGED),
        through_api=True,
    )
)


# ---- one replica found damaged by the object auditor and quarantined (SWIFT-007) --------
_AUDITED = "object-1"


def _audited_inject(lab: Lab) -> None:
    # bit rot under storage1's replica of object-1; the object auditor's next pass (run
    # once here rather than waiting its 30 minutes) finds the MD5 wrong and quarantines it
    files = lab.host_exec(
        "storage1",
        "grep -rlx --include='*.data' 'afterboot lab object 1' /srv/node/*/objects || true",
    ).stdout.split()
    if not files:
        raise LabError(f"no replica of afterboot/{_AUDITED} found on storage1")
    for f in files:
        lab.host_exec("storage1", f"printf X | dd of={f} bs=1 seek=0 conv=notrunc status=none")
    lab.host_exec(
        "storage1",
        f"{lab.venv}/bin/swift-object-auditor /etc/swift/object-server.conf once >/dev/null 2>&1",
        timeout=120,
    )
    left = lab.host_exec(
        "storage1", "find /srv/node/*/quarantined/objects -name '*.data' 2>/dev/null"
    ).stdout.split()
    if not left:
        raise LabError("the object auditor quarantined nothing on storage1")


register(
    Fault(
        "swift-object-quarantined@storage1",
        f"storage1's replica of afterboot/{_AUDITED} damaged, found and quarantined by the "
        "object auditor",
        _audited_inject,
        # a sound copy written again through the proxy, then the quarantined one removed
        _reuploaded(_AUDITED),
        through_api=True,
    )
)


# ---- nova_api restored from before the compute hosts were discovered (UPG-001) ----------
def _host_mappings_lost(lab: Lab) -> None:
    # the hosts' mappings to their cell gone, as a nova_api dump taken before the last
    # discover_hosts leaves them: instances run and list, the scheduler can place nothing
    _sql(
        lab,
        "DROP TABLE IF EXISTS nova_api.host_mappings_lost; "
        "CREATE TABLE nova_api.host_mappings_lost AS SELECT * FROM nova_api.host_mappings; "
        "DELETE FROM nova_api.host_mappings;",
    )


def _hosts_discovered(lab: Lab) -> None:
    # the remedy as written: nova maps every nova-compute service without a mapping (the
    # compute nodes are still marked mapped: a plain discover_hosts skips them)
    lab.host_exec(
        "controller", f"{lab.venv}/bin/nova-manage cell_v2 discover_hosts --by-service --verbose"
    )
    _sql(lab, "DROP TABLE IF EXISTS nova_api.host_mappings_lost;")


register(
    Fault(
        "nova-host-mappings-lost",
        "nova_api's host mappings gone (a nova_api restored from before the hosts were "
        "discovered): instances run, nothing can be scheduled",
        _host_mappings_lost,
        _hosts_discovered,
    )
)


# ---- keystone's credential key repository not restored (KEYSTONE-002) -------------------
_CREDENTIAL_KEYS = "/etc/keystone/credential-keys"


def _credential_keys(source: str, target: str) -> Action:
    def act(lab: Lab) -> None:
        # a restore that brought the fernet keys back but not the credential keys: tokens
        # still work, the stored credentials (EC2, TOTP) can no longer be decrypted
        lab.host_exec("controller", f"test -d {source} && mv {source} {target}")

    return act


register(
    Fault(
        "keystone-credential-keys-lost",
        f"keystone's credential key repository {_CREDENTIAL_KEYS} gone after a restore (the "
        "fernet keys are back, tokens work)",
        _credential_keys(_CREDENTIAL_KEYS, f"{_CREDENTIAL_KEYS}.lost"),
        _credential_keys(f"{_CREDENTIAL_KEYS}.lost", _CREDENTIAL_KEYS),
    )
)


# ---- the services' broker user lost a permission (MQ-005) -------------------------------
def _permissions(configure: str) -> Action:
    def act(lab: Lab) -> None:
        # as a definitions import from an old export leaves it: the user and its vhost are
        # there, configure refused; running services keep their queues until they restart
        lab.host_exec(
            "controller",
            f"{_rabbitmqctl()} set_permissions -p / openstack '{configure}' '.*' '.*' </dev/null",
        )

    return act


register(
    Fault(
        "rabbitmq-configure-denied",
        "the services' RabbitMQ user may no longer declare queues on / (configure '^$')",
        _permissions("^$"),
        _permissions(".*"),
    )
)


# ---- the broker's own health checks (MQ-006) -------------------------------------------
def _rabbit_eval(lab: Lab, expression: str, check: bool = True) -> str:
    return lab.host_exec(
        "controller", f"{_rabbitmqctl()} eval {shlex.quote(expression)} </dev/null", check=check
    ).stdout


def _vhost_down(lab: Lab) -> bool:
    return '<<"/">>' in _rabbit_eval(lab, "rabbit_vhost_sup_sup:check().", check=False)


def _vhost_down_inject(lab: Lab) -> None:
    # the vhost's supervision tree stopped, its record and its message store's files kept:
    # the state a message store that failed leaves (RabbitMQ stops the vhost, never restarts
    # it by itself); stop_and_delete_vhost would also delete the vhost's storage
    _rabbit_eval(
        lab,
        'case ets:lookup(rabbit_vhost_sup_sup, <<"/">>) of '
        "[{vhost_sup, _, _, W, _}] -> supervisor2:terminate_child(rabbit_vhost_sup_sup, W); "
        "[] -> not_running end.",
    )
    wait_for("RabbitMQ's vhost / down", lambda: _vhost_down(lab), 60, 1)


def _vhost_down_heal(lab: Lab) -> None:
    if _vhost_down(lab):
        lab.host_exec("controller", f"{_rabbitmqctl()} restart_vhost -p / </dev/null")
    wait_for("RabbitMQ's vhost / running", lambda: not _vhost_down(lab), 60, 1)
    lab.wait_green(since=time.monotonic())  # the services declare their queues again


register(
    Fault(
        "rabbitmq-vhost-down",
        "RabbitMQ's vhost / stopped (as after its message store failed), the broker running",
        _vhost_down_inject,
        _vhost_down_heal,
    )
)

# the AMQP listener of the lab's broker (controlplane.RABBIT_ENV), and where it moves
_AMQP_PORT, _MOVED_PORT = 5672, 5673


def _listener(port: int) -> str:
    from .config import HOSTS

    return f'{{"{HOSTS["controller"].ip}", {port}}}'


def _listening(lab: Lab, port: int) -> bool:
    found = _rabbit_eval(
        lab,
        f"[P || {{listener, N, amqp, _, _, P, _}} <- rabbit_networking:active_listeners(), "
        f"N =:= node(), P =:= {port}].",
        check=False,
    )
    return f"[{port}]" in found


def _move_listener(lab: Lab, old: int, new: int) -> None:
    # at runtime, as a rabbitmq.conf whose listeners.tcp.default changed gives at the
    # broker's next start: the connections on the old port close, the services reconnect
    # to it and are refused
    if not _listening(lab, new):
        _rabbit_eval(lab, f"rabbit_networking:start_tcp_listener({_listener(new)}, 10).")
    if _listening(lab, old):
        _rabbit_eval(lab, f"rabbit_networking:stop_tcp_listener({_listener(old)}).")
    wait_for(f"RabbitMQ listening on {new} only", lambda: not _listening(lab, old), 60, 1)


def _listener_moved_heal(lab: Lab) -> None:
    _move_listener(lab, _MOVED_PORT, _AMQP_PORT)
    lab.wait_green(since=time.monotonic())  # the services reconnect (backing off up to 30 s)


register(
    Fault(
        "rabbitmq-listener-moved",
        f"RabbitMQ's AMQP listener moved from {_AMQP_PORT}, the port the transport URLs name, "
        f"to {_MOVED_PORT}",
        lambda lab: _move_listener(lab, _AMQP_PORT, _MOVED_PORT),
        _listener_moved_heal,
    )
)

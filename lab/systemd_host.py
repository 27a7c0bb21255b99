"""Hosts whose PID 1 is systemd: their services are units, their logs go to journald.

The recipe measured in ../shared/docs/LAB_NOTES.md ("systemd and podman hosts"): the
host gets a cgroup of its own under the machine's cgroup2 mount and a cgroup namespace
rooted there; init.sh overlays /etc /var /srv /root like a process host, gives the host
private /run, /tmp, /dev, a read-only sysfs and /proc/sys (systemd would otherwise change
machine-wide sysctls and trigger udev), a fresh boot id, then execs systemd on
``lab.target``: a target pulling only the units the host has enabled (the machine's
multi-user.target would start its own databases).  Services are units with the names the
Debian/Ubuntu packages give them (``swift-object.service``, ``rsync.service``,
``ssh.service``), ``Restart=on-failure``; the lab starts one with ``systemctl start``, as an
operator would, and the unit stays enabled (started by systemd at the next boot).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from .config import HOST_MOUNTS_SH
from .services import Service

# Services whose unit name is not the service's name (Debian's packages).
UNIT_NAMES = {
    "sshd": "ssh",
    "swift-proxy-server": "swift-proxy",
    "swift-account-server": "swift-account",
    "swift-container-server": "swift-container",
    "swift-object-server": "swift-object",
}

# Units that have no business in a namespace host: clock, kernel tunables and modules,
# udev, LVM, timers, consoles.  Masked in the host's /etc (links to /dev/null).
MASKED = (
    "systemd-timesyncd.service",
    "systemd-sysctl.service",
    "systemd-remount-fs.service",
    "systemd-udevd.service",
    "systemd-udevd-control.socket",
    "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service",
    "systemd-udev-settle.service",
    "systemd-modules-load.service",
    "kmod-static-nodes.service",
    "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount",
    "sys-kernel-config.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "sys-fs-fuse-connections.mount",
    "dev-hugepages.mount",
    "systemd-journald-audit.socket",
    "systemd-pstore.service",
    "systemd-firstboot.service",
    "systemd-repart.service",
    "systemd-machine-id-commit.service",
    "systemd-hwdb-update.service",
    "systemd-random-seed.service",
    "lvm2-monitor.service",
    "lvm2-lvmpolld.socket",
    "lvm2-lvmpolld.service",
    "blk-availability.service",
    "timers.target",
    "getty.target",
    "console-getty.service",
    "systemd-logind.service",
    # the machine's own sockets.target.wants (its rabbitmq's epmd, LVM's dmeventd)
    "epmd.socket",
    "dm-event.socket",
)

INIT_SH = (
    """#!/bin/sh
# afterboot lab: a host whose PID 1 is systemd (see lab/systemd_host.py)
set -e
"""
    + HOST_MOUNTS_SH
    + """# always a private /tmp: Debian's tmpfiles rule "D /tmp" empties it at boot
{tmp_mount}
mkdir -p /run/lab /run/lock
chmod 700 /run/lab
# kernel tunables and sysfs read-only: systemd would change the machine's, udev trigger
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
cat /proc/sys/kernel/random/uuid > /run/lab/boot_id
mount --bind /run/lab/boot_id /proc/sys/kernel/random/boot_id
if ! mount -t sysfs -o ro sysfs /sys 2>/dev/null; then
  mount --rbind /sys /sys && mount -o remount,bind,ro /sys
fi
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# a /dev of its own: the basic nodes, loop devices (swift's disk images), ptys, shm
mount -t tmpfs -o mode=755,nosuid tmpfs /dev
for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
  mknod -m 666 "/dev/${{n%%:*}}" c "$(echo "$n" | cut -d: -f2)" "${{n##*:}}"
done
mknod -m 660 /dev/loop-control c 10 237
i=0; while [ $i -lt {loops} ]; do mknod -m 660 /dev/loop$i b 7 $i; i=$((i+1)); done
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
export container=lab
exec setpriv --bounding-set -sys_time,-sys_module /lib/systemd/systemd --system --unit=lab.target
"""
)

LAB_TARGET = """[Unit]
Description=afterboot lab host: the units this host runs
Requires=basic.target
After=basic.target
AllowIsolate=yes
"""

READY_UNIT = """[Unit]
Description=afterboot lab: the host is up (sshd started)
After=ssh.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/touch /run/lab/ready

[Install]
WantedBy=lab.target
"""

JOURNALD_CONF = """[Journal]
Storage=persistent
SystemMaxUse=64M
RuntimeMaxUse=16M
"""

UNIT = """[Unit]
Description={description}
After=network.target
{extra_unit}
[Service]
Type=simple
{environment}ExecStart={command}
Restart={restart}
RestartSec={restart_sec}
TimeoutStopSec={stop_timeout:g}
KillSignal=SIG{stop_signal}
SyslogIdentifier={ident}

[Install]
WantedBy=lab.target
"""


def unit_name(service: str) -> str:
    """The unit file name of a lab service on a systemd host (Debian's names)."""
    return UNIT_NAMES.get(service, service) + ".service"


def unit_file(svc: Service, restart: str = "on-failure", restart_sec: float = 2) -> str:
    """A unit for a lab Service: its command, environment, stop signal and deadline.
    Its output goes to journald (the unit's journal); the daemon's own log settings
    (a swift server logs to /dev/log, which is journald's) are left as they are."""
    env = "".join(f"Environment={shlex.quote(kv)}\n" for kv in shlex.split(svc.env))
    ident = UNIT_NAMES.get(svc.name, svc.name)
    return UNIT.format(
        description=f"afterboot lab: {svc.name}",
        extra_unit="",
        environment=env,
        command=svc.command,
        restart=restart,
        restart_sec=f"{restart_sec:g}",
        stop_timeout=svc.stop_timeout,
        stop_signal=svc.stop_signal,
        ident=ident,
    )


def init_sh(
    host: str,
    upper: Path,
    dirs: Iterable[str],
    tmp_mount: str = "mount -t tmpfs -o mode=1777 tmpfs /tmp",
    loops: int = 64,
) -> str:
    """``tmp_mount``: the private /tmp (lab.hosts.tmp_mount carries a lab under /tmp in)."""
    return INIT_SH.format(
        host=host,
        upper=shlex.quote(str(upper)),
        dirs=" ".join(dirs),
        loops=loops,
        tmp_mount=tmp_mount,
    )


def _link(path: Path, target: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() and os.readlink(path) == target:
        return
    path.unlink(missing_ok=True)
    path.symlink_to(target)


def prepare_etc(etc: Path) -> None:
    """The host's /etc (its overlay upper dir) for a systemd boot: machine id, empty
    fstab, masks, journald limits, lab.target with ssh and the readiness marker."""
    etc.mkdir(parents=True, exist_ok=True)
    mid = etc / "machine-id"
    if not mid.exists() or len(mid.read_text().strip()) != 32:
        mid.write_text(uuid.uuid4().hex + "\n")
    (etc / "fstab").write_text("# afterboot lab: nothing to mount\n")
    system = etc / "systemd" / "system"
    system.mkdir(parents=True, exist_ok=True)
    for unit in MASKED:
        _link(system / unit, "/dev/null")
    conf = etc / "systemd" / "journald.conf.d"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "afterboot-lab.conf").write_text(JOURNALD_CONF)
    (system / "lab.target").write_text(LAB_TARGET)
    (system / "lab-ready.service").write_text(READY_UNIT)
    wants = system / "lab.target.wants"
    _link(wants / "ssh.service", "/lib/systemd/system/ssh.service")
    _link(wants / "lab-ready.service", "/etc/systemd/system/lab-ready.service")
    # Debian's default: sshd_not_to_be_run absent, no extra options
    (etc / "default").mkdir(exist_ok=True)


def install_unit(etc: Path, svc: Service, text: str | None = None, name: str | None = None) -> bool:
    """Write (and enable) the unit of ``svc`` under ``etc`` (the host's live /etc or its
    upper dir); ``name``: another unit name than Debian's for the service (a kolla
    container's). True when the file changed (a daemon-reload is due)."""
    name = name or unit_name(svc.name)
    path = etc / "systemd" / "system" / name
    text = unit_file(svc) if text is None else text
    changed = not path.exists() or path.read_text() != text
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    _link(etc / "systemd" / "system" / "lab.target.wants" / name, f"/etc/systemd/system/{name}")
    return changed


# ---- cgroups -------------------------------------------------------------------------
def cgroup2_root() -> Path:
    """The machine's cgroup2 mount: /sys/fs/cgroup itself (unified) or .../unified."""
    for p in (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup")):
        if (p / "cgroup.procs").exists() and (p / "cgroup.subtree_control").exists():
            return p
    raise OSError("no cgroup2 mount under /sys/fs/cgroup")


def cgroup_dir(group: str, host: str) -> Path:
    return cgroup2_root() / group / host


def make_cgroup(path: Path) -> None:
    """A fresh, empty cgroup (leftovers of a killed host removed first)."""
    remove_cgroup(path)
    path.mkdir(parents=True, exist_ok=True)


def join_cgroup(path: Path) -> None:
    """Move the calling process into ``path`` (used between fork and exec)."""
    (path / "cgroup.procs").write_text(str(os.getpid()))


def cgroup_pids(path: Path) -> list[int]:
    pids: list[int] = []
    if not path.is_dir():
        return pids
    for procs in path.rglob("cgroup.procs"):
        with contextlib.suppress(OSError, ValueError):
            pids += [int(p) for p in procs.read_text().split()]
    return pids


def remove_cgroup(path: Path, timeout: float = 10) -> None:
    """Remove a host's cgroup tree, deepest first, once its processes are gone
    (SIGKILL to what is left at the deadline)."""
    if not path.is_dir():
        return
    deadline = time.monotonic() + timeout
    while cgroup_pids(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in cgroup_pids(path):
        with contextlib.suppress(OSError):
            os.kill(pid, 9)
    dirs = sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
    for d in [*dirs, path]:
        for _ in range(50):
            try:
                d.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)
    with contextlib.suppress(OSError):
        path.parent.rmdir()  # the group's dir, when this was its last host


def unshare_argv(netns: str, init: Path, boot_offset: int) -> list[str]:
    """The command that starts a systemd host in ``netns`` (in its own cgroup already)."""
    offset = str(-boot_offset)
    return [
        "ip",
        "netns",
        "exec",
        netns,
        "unshare",
        "--uts",
        "--ipc",
        "--mount",
        "--propagation",
        "private",
        "--cgroup",
        "--pid",
        "--fork",
        "--mount-proc",
        "--time",
        "--boottime",
        offset,
        "--monotonic",
        offset,
        "/bin/sh",
        str(init),
    ]


# ---- inside the host: shell snippets run by the lab with nsenter ----------------------
def start_cmd(unit: str) -> str:
    return f"systemctl start {shlex.quote(unit)}"


def stop_cmd(unit: str) -> str:
    return f"systemctl stop {shlex.quote(unit)}"


def main_pid_cmd(unit: str) -> str:
    """Prints the unit's main PID when it is active (running), nothing otherwise."""
    u = shlex.quote(unit)
    return (
        f"systemctl is-active --quiet {u} && "
        f"systemctl show -p MainPID --value {u} | grep -v '^0$' || true"
    )


def start_host(
    argv: list[str], cgroup: Path, console: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start the host's init in a fresh cgroup of its own (the root of its cgroup
    namespace: systemd makes its slices there)."""
    make_cgroup(cgroup)
    with open(console, "ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            env=env,
            preexec_fn=lambda: join_cgroup(cgroup),
        )


def poweroff(init_pid: int, parent: int, timeout: float = 20) -> bool:
    """Clean power-off: SIGRTMIN+4 asks systemd (PID 1) to stop every unit and exit.
    True when the host was down by the deadline (the caller kills it otherwise)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(init_pid, signal.SIGRTMIN + 4)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(parent, os.WNOHANG)
        try:
            if Path(f"/proc/{parent}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True  # exited; its parent (not us) has yet to reap it
        except (OSError, IndexError):
            return True
        time.sleep(0.05)
    return False


# ---- faults: runtime drop-ins (/run/systemd/system/<unit>.d/), gone at the next boot ---
FAULT_DROPIN = "afterboot-lab-fault.conf"


def _dropin(unit: str, body: str) -> str:
    d = shlex.quote(f"/run/systemd/system/{unit}.d")
    return (
        f"mkdir -p {d} && printf '%s\\n' {shlex.quote(body)} > {d}/{FAULT_DROPIN} && "
        "systemctl daemon-reload"
    )


def restart_loop_cmd(unit: str, runtime: int = 2) -> str:
    """The unit's process ends after ``runtime`` seconds, every time: systemd restarts it
    (``Restart=always``), NRestarts climbs, the unit is active most of the time."""
    body = f"[Service]\nRuntimeMaxSec={runtime}\nRestart=always\nRestartSec=1"
    return f"{_dropin(unit, body)} && systemctl restart {shlex.quote(unit)}"


def failed_cmd(unit: str) -> str:
    """The unit's process killed with restarting off: the unit stays ``failed``."""
    u = shlex.quote(unit)
    return f"{_dropin(unit, '[Service]' + chr(10) + 'Restart=no')} && systemctl kill -s KILL {u}"


def heal_cmd(unit: str) -> str:
    """What an operator does once the cause is gone: the override removed, the failed
    state cleared, the unit restarted (which also resets NRestarts)."""
    u = shlex.quote(unit)
    d = shlex.quote(f"/run/systemd/system/{unit}.d/{FAULT_DROPIN}")
    return (
        f"rm -f {d} && systemctl daemon-reload && systemctl reset-failed {u}; systemctl restart {u}"
    )

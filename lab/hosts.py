"""Hosts made of Linux namespaces: network, UTS, mount, PID, IPC and time.

Each host is held by a tiny init (tini) running `init.sh`, which sets the hostname,
overlays /etc, /var, /srv and /root with per-host upper dirs and mounts a tmpfs on
/run and /tmp.  Files inside a host are reached through /proc/<init>/root.

A host whose spec says ``init="systemd"`` boots systemd as its PID 1 instead
(lab/systemd_host.py): its services are units started and stopped with systemctl.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

from . import kolla_host, systemd_host
from .config import (
    BRIDGE_NS,
    CGROUP_GROUP,
    HOST_MOUNTS_SH,
    HOSTS,
    OPERATOR_IP,
    OPERATOR_NS,
    OVERLAID_DIRS,
    PREFIX,
    HostSpec,
)
from .services import Service
from .shell import LabError, run, wait_for

HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NSENTER_FLAGS = ("--net", "--uts", "--mount", "--pid", "--ipc", "--time")


def tmp_mount(state: Path) -> str:
    """A private /tmp per host (after /run is mounted). Where the lab itself lives under
    /tmp (a clone there), its top directory is carried into the private /tmp by a bind
    mount, so that the venv and the state the host's services run from stay visible."""
    tmp = Path("/tmp")
    paths = (state.resolve(), Path(__file__).resolve())
    keep = sorted({tmp / p.relative_to(tmp).parts[0] for p in paths if tmp in p.parents})
    lines = [
        f"mkdir -p /run/lab-keep/{n} && mount --bind {shlex.quote(str(d))} /run/lab-keep/{n}"
        for n, d in enumerate(keep)
    ]
    lines.append("mount -t tmpfs -o mode=1777 tmpfs /tmp")
    lines += [
        f"mkdir -p {shlex.quote(str(d))} && mount --bind /run/lab-keep/{n} {shlex.quote(str(d))}"
        for n, d in enumerate(keep)
    ]
    return "\n".join(lines)


INIT_SH = (
    """#!/bin/sh
set -e
"""
    + HOST_MOUNTS_SH
    + """{tmp_mount}
mkdir -p /run/sshd /run/lab /run/lock
chmod 700 /run/lab
: > /run/lab/ready
exec sleep infinity
"""
)

SSHD_CONFIG = """# afterboot lab
Port 22
ListenAddress {ip}
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AuthorizedKeysFile /etc/ssh/authorized_keys/%u
PidFile /run/sshd.pid
PrintMotd no
MaxStartups 200
MaxSessions 200
UseDNS no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
"""

BASHRC = """# minimal .bashrc of an afterboot lab host
export PATH={path}:{venv_bin}
"""


class Hosts:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.venv_bin = state / "venv" / "bin"

    # ---- paths ---------------------------------------------------------------
    def host_dir(self, name: str) -> Path:
        return self.state / "hosts" / name

    def _pidfile(self, name: str) -> Path:
        return self.state / "run" / f"{name}.pid"

    def init_pid(self, name: str) -> int | None:
        """Root-namespace PID of the host's init (tini), or None when the host is down."""
        try:
            parent = int(self._pidfile(name).read_text())
        except (OSError, ValueError):
            return None
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def root(self, name: str) -> Path:
        pid = self.init_pid(name)
        if pid is None:
            raise LabError(f"host {name} is not running")
        return Path(f"/proc/{pid}/root")

    @staticmethod
    def is_systemd(name: str) -> bool:
        """systemd is the host's PID 1 (a systemd host, or a kolla host under it)."""
        return HOSTS[name].init in ("systemd", "kolla")

    @staticmethod
    def is_kolla(name: str) -> bool:
        return HOSTS[name].init == "kolla"

    @classmethod
    def container_of(cls, name: str, service: str) -> str | None:
        """The kolla container a lab service runs in on this host (None: not one)."""
        return kolla_host.CONTAINERS.get(service) if cls.is_kolla(name) else None

    def cgroup(self, name: str) -> Path:
        return systemd_host.cgroup_dir(CGROUP_GROUP, name)

    def is_up(self, name: str) -> bool:
        pid = self.init_pid(name)
        return pid is not None and Path(f"/proc/{pid}/root/run/lab/ready").exists()

    def any_up(self) -> bool:
        return any(self.is_up(h) for h in HOSTS)

    # ---- network -------------------------------------------------------------
    @staticmethod
    def _netns_exists(ns: str) -> bool:
        return Path(f"/run/netns/{ns}").exists()

    def net_up(self) -> None:
        if not self._netns_exists(BRIDGE_NS):
            run(["ip", "netns", "add", BRIDGE_NS])
            run(["ip", "-n", BRIDGE_NS, "link", "set", "lo", "up"])
            run(["ip", "-n", BRIDGE_NS, "link", "add", "br0", "type", "bridge"])
            run(["ip", "-n", BRIDGE_NS, "link", "set", "br0", "up"])
        if not self._netns_exists(OPERATOR_NS):
            self._plug(OPERATOR_NS, "v-operator", OPERATOR_IP)

    def _plug(self, ns: str, port: str, ip: str) -> None:
        run(["ip", "netns", "add", ns])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(
            [
                "ip",
                "-n",
                BRIDGE_NS,
                "link",
                "add",
                port,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                ns,
            ]
        )
        run(["ip", "-n", BRIDGE_NS, "link", "set", port, "master", "br0", "up"])
        run(["ip", "-n", ns, "addr", "add", f"{ip}/{PREFIX}", "dev", "eth0"])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])

    def net_down(self) -> None:
        for ns in [OPERATOR_NS, *(h.netns for h in HOSTS.values()), BRIDGE_NS]:
            if self._netns_exists(ns):
                run(["ip", "netns", "del", ns], check=False)

    # ---- boot files (written into the upper dirs while the host is down) -----
    def _prepare(self, spec: HostSpec, authorized_key: str) -> None:
        hd = self.host_dir(spec.name)
        etc = hd / "upper" / "etc"
        for d in OVERLAID_DIRS:
            (hd / "upper" / d).mkdir(parents=True, exist_ok=True)
            (hd / "work" / d).mkdir(parents=True, exist_ok=True)
        (etc / "ssh" / "authorized_keys").mkdir(parents=True, exist_ok=True)
        key = etc / "ssh" / "ssh_host_ed25519_key"
        if not key.exists():
            run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    f"root@{spec.name}",
                    "-f",
                    str(key),
                ]
            )
        (etc / "ssh" / "sshd_config").write_text(SSHD_CONFIG.format(ip=spec.ip))
        ak = etc / "ssh" / "authorized_keys" / "root"
        ak.write_text(authorized_key)
        ak.chmod(0o600)
        (etc / "hostname").write_text(spec.name + "\n")
        lines = ["127.0.0.1 localhost", f"{OPERATOR_IP} operator"]
        lines += [f"{h.ip} {h.name}" for h in HOSTS.values()]
        (etc / "hosts").write_text("\n".join(lines) + "\n")
        root = hd / "upper" / "root"
        (root / ".bashrc").write_text(BASHRC.format(path=HOST_PATH, venv_bin=self.venv_bin))
        (root / ".profile").write_text(". ~/.bashrc\n")
        if self.is_systemd(spec.name):
            systemd_host.prepare_etc(etc)
            extra = ""
            if spec.init == "kolla":
                kolla_host.prepare_etc(etc)
                store = hd / "containers"
                store.mkdir(exist_ok=True)
                extra = kolla_host.storage_mount_sh(store)
            (hd / "init.sh").write_text(
                systemd_host.init_sh(spec.name, hd, OVERLAID_DIRS, tmp_mount(hd) + extra)
            )
            return
        (hd / "init.sh").write_text(
            INIT_SH.format(
                host=spec.name,
                upper=shlex.quote(str(hd)),
                dirs=" ".join(OVERLAID_DIRS),
                tmp_mount=tmp_mount(hd),
            )
        )

    def host_key(self, name: str) -> str:
        pub = self.host_dir(name) / "upper" / "etc" / "ssh" / "ssh_host_ed25519_key.pub"
        return " ".join(pub.read_text().split()[:2])

    # ---- life cycle ----------------------------------------------------------
    def boot(self, name: str, authorized_key: str) -> None:
        """Create the host's namespaces, start its init and sshd."""
        spec = HOSTS[name]
        if self.is_up(name):
            return
        self.kill(name)
        self._prepare(spec, authorized_key)
        self._plug(spec.netns, f"v-{name}", spec.ip)
        hd = self.host_dir(name)
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        if self.is_systemd(name):
            self._boot_systemd(name, int(uptime))
            return
        offset = str(-int(uptime))
        argv = [
            "ip",
            "netns",
            "exec",
            spec.netns,
            "unshare",
            "--uts",
            "--ipc",
            "--mount",
            "--propagation",
            "private",
            "--pid",
            "--fork",
            "--mount-proc",
            "--time",
            "--boottime",
            offset,
            "--monotonic",
            offset,
            "/usr/bin/tini",
            "-s",
            "--",
            "/bin/sh",
            str(hd / "init.sh"),
        ]
        self._pidfile(name).parent.mkdir(parents=True, exist_ok=True)
        with open(hd / "console.log", "ab") as console:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=console,
                start_new_session=True,
                env={"PATH": HOST_PATH, "LANG": "C.UTF-8"},
            )
        self._pidfile(name).write_text(str(proc.pid))
        wait_for(f"{name} init", lambda: self.is_up(name), 20, 0.05)
        self.spawn(
            name, "sshd", "/usr/sbin/sshd -D -e -f /etc/ssh/sshd_config", "/var/log/sshd.log"
        )

    def _boot_systemd(self, name: str, uptime: int) -> None:
        """Start systemd as the host's PID 1 in a cgroup of its own; up when lab.target
        reached lab-ready.service (after ssh.service): /run/lab/ready."""
        spec, hd = HOSTS[name], self.host_dir(name)
        self._pidfile(name).parent.mkdir(parents=True, exist_ok=True)
        proc = systemd_host.start_host(
            systemd_host.unshare_argv(spec.netns, hd / "init.sh", uptime),
            self.cgroup(name),
            hd / "console.log",
            {"PATH": HOST_PATH, "LANG": "C.UTF-8"},
        )
        self._pidfile(name).write_text(str(proc.pid))
        wait_for(f"{name} systemd boot", lambda: self.is_up(name), 60, 0.05)

    def poweroff(self, name: str, timeout: float = 60) -> None:
        """A clean power-off where the host has a service manager to do it (systemd stops
        its units, each within its TimeoutStopSec); a process host is killed."""
        pid = self.init_pid(name)
        if self.is_systemd(name) and pid is not None:
            with contextlib.suppress(OSError, ValueError):
                parent = int(self._pidfile(name).read_text())
                if not systemd_host.poweroff(pid, parent, timeout):
                    print(f"[lab] {name}: poweroff not done in {timeout:.0f}s, killing")
        self.kill(name)

    def kill(self, name: str) -> None:
        """Power off: every process of the host dies (SIGKILL to its PID 1), net removed."""
        pid = self.init_pid(name)
        pidfile = self._pidfile(name)
        parent: int | None = None
        with contextlib.suppress(OSError, ValueError):
            parent = int(pidfile.read_text())
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        if parent is not None:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and Path(f"/proc/{parent}").exists():
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(parent, os.WNOHANG)
                time.sleep(0.05)
        pidfile.unlink(missing_ok=True)
        if self.is_systemd(name):
            systemd_host.remove_cgroup(self.cgroup(name))
        ns = HOSTS[name].netns
        if self._netns_exists(ns):
            run(["ip", "netns", "del", ns], check=False)

    # ---- running things inside -----------------------------------------------
    def nsenter_argv(self, name: str) -> list[str]:
        pid = self.init_pid(name)
        if pid is None:
            raise LabError(f"host {name} is not running")
        return [
            "nsenter",
            "-t",
            str(pid),
            *NSENTER_FLAGS,
            "--",
            "/usr/bin/env",
            "-i",
            f"PATH={HOST_PATH}",
            "HOME=/root",
            "LANG=C.UTF-8",
            f"HOSTNAME={name}",
        ]

    def exec(
        self,
        name: str,
        cmd: str,
        *,
        check: bool = True,
        input: str | None = None,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        return run(
            [*self.nsenter_argv(name), "/bin/sh", "-c", cmd],
            check=check,
            input=input,
            timeout=timeout,
        )

    def spawn(
        self,
        name: str,
        service: str,
        command: str,
        log: str,
        env: str = "",
        *,
        stop_timeout: float = 10,
        stop_signal: str = "TERM",
    ) -> int:
        """Start a daemon (in the foreground of its own session) and record its PID.
        On a systemd host: write and enable its unit, ``systemctl start`` it."""
        if self.is_systemd(name):
            svc = Service(service, name, command, log, env, stop_timeout, stop_signal)
            if self.container_of(name, service):
                return self.start_container(name, svc)
            return self.start_unit(name, svc)
        logdir = os.path.dirname(log)
        script = (
            f"mkdir -p {logdir} /run/lab; cd /; {env} setsid {command} >>{log} 2>&1 "
            f"</dev/null & echo $! > /run/lab/{service}.pid; echo $!"
        )
        return int(self.exec(name, script).stdout.strip())

    # ---- systemd hosts -------------------------------------------------------------
    def path(self, name: str, path: str) -> str:
        """Where a canonical path (``/etc/nova/nova.conf``) is on this host (kolla:
        ``/etc/kolla/nova-compute/nova.conf``)."""
        return kolla_host.host_path(path) if self.is_kolla(name) else path

    def unit_of(self, name: str, service: str) -> str:
        """The unit that runs a lab service on a systemd host (kolla: its container's)."""
        container = self.container_of(name, service)
        return kolla_host.unit_name(container) if container else systemd_host.unit_name(service)

    def build_image(self, name: str, container: str, release: str = "base") -> None:
        """Build the container's image on the host and tag it with kolla's name (a
        ``release`` other than base: the same inputs, another image, as an upgrade's)."""
        venv = str(self.venv_bin.parent)
        inputs = kolla_host.inputs_digest(container, venv)
        build = self.root(name) / "var/lib/containers/lab-build"
        build.mkdir(parents=True, exist_ok=True)
        (build / f"{container}.tar").write_bytes(kolla_host.rootfs_tar(container, release))
        tar = f"/var/lib/containers/lab-build/{container}.tar"
        cmd = kolla_host.import_cmd(container, tar, inputs, release)
        # (images no container uses and no name points to are pruned, as operators do)
        self.exec(
            name, f"{cmd} >/dev/null; rm -f {tar}; podman image prune -f >/dev/null", timeout=300
        )

    def recreate_container(self, name: str, svc: Service) -> int:
        """Stop, remove and create again the service's container from the image its
        name points to now, and start it (kolla-ansible's deploy after an image change)."""
        container = kolla_host.CONTAINERS[svc.name]
        unit = kolla_host.unit_name(container)
        self.exec(name, f"systemctl stop {unit}; podman rm -f {container} >/dev/null", timeout=120)
        return self.start_container(name, svc)

    def start_container(self, name: str, svc: Service) -> int:
        """A kolla host: the service's image built (once, kept), its container created
        as kolla creates it, its ``kolla-<name>-container`` unit written, enabled and
        started; the container's main PID (0 when it is not running)."""
        container = kolla_host.CONTAINERS[svc.name]
        root = self.root(name)
        venv = str(self.venv_bin.parent)
        inputs = kolla_host.inputs_digest(container, venv)
        if self.exec(name, kolla_host.image_inputs_cmd(container)).stdout.strip() != inputs:
            self.build_image(name, container)
        self.exec(name, kolla_host.ensure_container_cmd(container, venv, inputs), timeout=120)
        unit = kolla_host.unit_name(container)
        text = kolla_host.unit_file(container, svc.stop_timeout)
        changed = systemd_host.install_unit(root / "etc", svc, text, name=unit)
        reload = "systemctl daemon-reload && " if changed else ""
        # (a unit that hit its start limit stays failed until reset, as an operator does)
        start = f"systemctl reset-failed {unit} 2>/dev/null; {systemd_host.start_cmd(unit)}"
        self.exec(name, reload + start, timeout=svc.stop_timeout + 120)
        return self.service_pid(name, svc.name) or 0

    def start_unit(self, name: str, svc: Service) -> int:
        """Write and enable the unit of ``svc`` in the host's /etc (a daemon-reload when it
        changed), ``systemctl start`` it; its main PID (0 when it is not running)."""
        unit = systemd_host.unit_name(svc.name)
        changed = systemd_host.install_unit(self.root(name) / "etc", svc)
        reload = "systemctl daemon-reload && " if changed else ""
        self.exec(name, reload + systemd_host.start_cmd(unit), timeout=svc.stop_timeout + 120)
        return self.service_pid(name, svc.name) or 0

    def service_pid(self, name: str, service: str) -> int | None:
        """In-host PID of a recorded service if that process is alive (a systemd host:
        the main PID of its active unit)."""
        if self.is_systemd(name):
            if not self.is_up(name):
                return None
            container = self.container_of(name, service)
            if container:
                out = self.exec(name, kolla_host.pid_cmd(container), check=False).stdout.strip()
                return int(out) if out.isdigit() and int(out) > 0 else None
            unit = systemd_host.unit_name(service)
            out = self.exec(name, systemd_host.main_pid_cmd(unit), check=False).stdout.strip()
            return int(out) if out.isdigit() and int(out) > 0 else None
        try:
            root = self.root(name)
            pid = int((root / "run" / "lab" / f"{service}.pid").read_text())
        except (OSError, ValueError, LabError):
            return None
        res = self.exec(
            name,
            f"kill -0 {pid} 2>/dev/null && ! grep -q '^State:.*Z' /proc/{pid}/status",
            check=False,
        )
        return pid if res.returncode == 0 else None

    def stop(self, name: str, service: str, timeout: float = 10, sig: str = "TERM") -> None:
        """Stop a recorded service by PID: signal its process group, SIGKILL at deadline."""
        if not self.is_up(name):
            return
        if self.is_systemd(name):
            # the unit's KillSignal and TimeoutStopSec are the service's stop signal and
            # deadline (written from the same Service)
            unit = self.unit_of(name, service)
            self.exec(name, systemd_host.stop_cmd(unit), timeout=timeout + 30)
            return
        n = max(1, int(timeout / 0.2))
        script = (
            f"f=/run/lab/{service}.pid; [ -f $f ] || exit 0; p=$(cat $f); "
            f"kill -{sig} -$p 2>/dev/null || kill -{sig} $p 2>/dev/null; i=0; "
            f"while kill -0 $p 2>/dev/null && [ $i -lt {n} ]; do "
            f"grep -q '^State:.*Z' /proc/$p/status 2>/dev/null && break; "
            f"sleep 0.2; i=$((i+1)); done; "
            f"kill -KILL -$p 2>/dev/null; kill -KILL $p 2>/dev/null; rm -f $f; exit 0"
        )
        self.exec(name, script, timeout=timeout + 30)

    def stop_many(self, name: str, services: list[tuple[str, float, str]]) -> None:
        """Stop several services at once: signal all, wait up to each deadline, SIGKILL."""
        if not self.is_up(name) or not services:
            return
        if self.is_systemd(name):
            units = " ".join(shlex.quote(self.unit_of(name, s)) for s, _, _ in services)
            deadline = max(t for _, t, _ in services) + 60
            self.exec(name, f"systemctl stop {units}", timeout=deadline)
            return
        lines = ["pids=''"]
        for svc, _timeout, sig in services:
            lines.append(
                f'f=/run/lab/{svc}.pid; if [ -f $f ]; then p=$(cat $f); pids="$pids $p"; '
                f"kill -{sig} -$p 2>/dev/null || kill -{sig} $p 2>/dev/null; rm -f $f; fi"
            )
        n = max(1, int(max(t for _, t, _ in services) / 0.2))
        lines.append(
            f"i=0; while [ $i -lt {n} ]; do alive=''; for p in $pids; do "
            "kill -0 $p 2>/dev/null && ! grep -q '^State:.*Z' /proc/$p/status 2>/dev/null "
            '&& alive="$alive $p"; done; [ -z "$alive" ] && break; pids=$alive; '
            "sleep 0.2; i=$((i+1)); done; "
            "for p in $pids; do kill -KILL -$p 2>/dev/null; kill -KILL $p 2>/dev/null; done; "
            "exit 0"
        )
        self.exec(name, "\n".join(lines), timeout=n * 0.2 + 60)

    def write(self, name: str, path: str, content: str, mode: int = 0o644) -> None:
        """A file of a host, replaced whole: a reader (a service starting, kolla_start
        copying its configuration into a container just re-created) sees the old content or
        the new, never a truncated file."""
        target = self.root(name) / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.lab-tmp")
        tmp.write_text(content)
        tmp.chmod(mode)
        os.replace(tmp, target)

    def read(self, name: str, path: str) -> str:
        return (self.root(name) / path.lstrip("/")).read_text()


def operator_argv() -> list[str]:
    return ["ip", "netns", "exec", OPERATOR_NS]

"""The Lab: one OpenStack on one machine, every host a set of namespaces."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from . import apiprobe, compute, controlplane, install, outputs, swift, workload
from . import ceph as cephmod
from .config import CONTROLLER_IP, HOSTS, LAB_DIR, OPERATOR_NS, operator_env, state_dir
from .hosts import Hosts
from .services import Service
from .shell import LabError, run, wait_for


class Lab:
    def __init__(self, state: str | os.PathLike[str] | None = None) -> None:
        self.state = state_dir(state)
        self.state.mkdir(parents=True, exist_ok=True)
        self.hosts = Hosts(self.state)
        self.venv = self.state / "venv"
        self._pw: dict[str, str] | None = None
        self.timings: list[tuple[str, float]] = []
        self._deferred_green: list[float] | None = None  # set while heal_all() runs

    # ---- small helpers ---------------------------------------------------------
    @property
    def pw(self) -> dict[str, str]:
        if self._pw is None:
            self._pw = outputs.secrets_for(self.state)
        return self._pw

    @staticmethod
    def ip(host: str) -> str:
        return HOSTS[host].ip

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        t0 = time.monotonic()
        print(f"[lab] {name} ...", flush=True)
        yield
        dt = time.monotonic() - t0
        self.timings.append((name, dt))
        print(f"[lab] {name}: {dt:.1f}s", flush=True)

    def done(self, host: str, step: str) -> bool:
        return (self.hosts.root(host) / "var/lib/afterboot-lab" / step).exists()

    def mark(self, host: str, step: str) -> None:
        self.hosts.write(host, f"/var/lib/afterboot-lab/{step}", time.ctime() + "\n")

    def host_exec(
        self, host: str, cmd: str, *, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        return self.hosts.exec(host, cmd, check=check, timeout=timeout)

    def operator_env(self) -> dict[str, str]:
        return operator_env(self.state)

    def operator_run(
        self, argv: Sequence[str], *, check: bool = True, timeout: float = 600, capture: bool = True
    ) -> subprocess.CompletedProcess[str]:
        full = ["ip", "netns", "exec", OPERATOR_NS, *argv]
        if capture:
            return run(full, check=check, timeout=timeout, env=self.operator_env())
        proc = subprocess.run(full, env=self.operator_env(), timeout=timeout, text=True)
        if check and proc.returncode:
            raise LabError(f"{' '.join(argv)} exited {proc.returncode}")
        return proc

    def venv_tool(
        self, script: str, *args: str, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run lab/venvtools/<script> with the services' venv python, in the operator ns."""
        return self.operator_run(
            [str(self.venv / "bin/python3"), str(LAB_DIR / "venvtools" / script), *args],
            timeout=timeout,
            check=check,
        )

    # ---- services ----------------------------------------------------------------
    def all_services(self) -> list[Service]:
        return [
            *controlplane.services(self),
            *swift.services(self),
            *cephmod.services(self),
            *compute.services(self),
        ]

    def services_of(self, host: str) -> list[Service]:
        return [s for s in self.all_services() if s.host == host]

    def service(self, host: str, name: str) -> Service:
        for s in self.services_of(host):
            if s.name == name:
                return s
        raise LabError(f"no service {name} on {host}")

    def start(self, svc: Service, wait: bool = True) -> None:
        if self.hosts.service_pid(svc.host, svc.name) is None:
            self.hosts.spawn(
                svc.host,
                svc.name,
                svc.command,
                svc.log,
                svc.env,
                stop_timeout=svc.stop_timeout,
                stop_signal=svc.stop_signal,
            )
        if wait and svc.ready is not None:
            wait_for(f"{svc.name} on {svc.host}", svc.ready, svc.ready_timeout, 0.3)
        if wait:
            self.serving(svc)

    def serving(self, svc: Service, restarts: int = 2) -> None:
        """An API the lab started answers a real request (a token, then a GET that reaches
        its database) before anything that calls it starts. One whose answers stay 5xx
        is restarted (at most ``restarts`` times), then one line: what it answered."""
        url = apiprobe.probe_url(svc.name)
        if url is None:
            return
        last: tuple[int | None, str] = (None, "")
        for attempt in range(restarts + 1):
            deadline = time.monotonic() + svc.ready_timeout
            errors = 0
            while time.monotonic() < deadline and errors < 3:
                last = apiprobe.request(self, svc.host, url)
                status = last[0]
                if status is not None and status < 500:
                    if status >= 300:
                        raise LabError(f"{svc.name} on {svc.host}: GET {url} -> {status} {last[1]}")
                    return
                errors += status is not None  # a 5xx; nothing answering yet is waited for
                time.sleep(0.5)
            if attempt < restarts:
                print(f"[lab] {svc.name} answered {last[0]} ({last[1][:80]}): restart", flush=True)
                self.stop(svc)
                self.start(svc, wait=False)
                if svc.ready is not None:
                    wait_for(f"{svc.name} on {svc.host}", svc.ready, svc.ready_timeout, 0.3)
        raise LabError(
            f"{svc.name} on {svc.host} does not serve after {restarts} restarts: "
            f"GET {url} -> {last[0] or 'no answer'} {last[1][:200]}"
        )

    def stop(self, svc: Service) -> None:
        self.hosts.stop(svc.host, svc.name, svc.stop_timeout, svc.stop_signal)

    def start_host_services(self, host: str) -> None:
        """What the host's init starts at boot."""
        if host == "controller":
            controlplane.boot(self)
        elif host in ("storage1", "storage2"):
            if host == cephmod.HOST:
                cephmod.boot(self)
            swift.boot(self, host)
        else:
            compute.boot(self, host)

    # ---- verbs -----------------------------------------------------------------------
    def any_up(self) -> bool:
        return self.hosts.any_up()

    def install(self) -> None:
        """What the lab needs on this machine (apt packages, the OpenStack venv, the
        guest's kernel), nothing started: ``up`` then finds it done."""
        install.ensure_apt(self.any_up())
        install.ensure_venv(self.state)
        install.kernel_debs(self.state, self.any_up())

    def up(self, workload_too: bool = True) -> None:
        t0 = time.monotonic()
        self.timings = []
        with self.phase("install"):
            self.install()
        with self.phase("hosts"):
            key = outputs.ensure_client_key(self.state)
            self.hosts.net_up()
            for h in HOSTS:
                self.hosts.boot(h, key)
            outputs.write_ssh_config(self.state, {h: self.hosts.host_key(h) for h in HOSTS})
            outputs.write_inventory(self.state)
            outputs.write_clouds(self.state, self.pw)
        with self.phase("controller"):
            controlplane.boot(self)
        with self.phase("storage"):
            cephmod.boot(self)
            for h in ("storage1", "storage2"):
                swift.boot(self, h)
        with self.phase("compute"):
            for h in compute.HOSTS:
                compute.boot(self, h)
            compute.discover(self)
        with self.phase("green"):
            self.wait_green(since=t0)
        if workload_too:
            with self.phase("workload"):
                workload.ensure(self)
        total = time.monotonic() - t0
        print(
            "[lab] up: "
            + ", ".join(f"{n} {d:.1f}s" for n, d in self.timings)
            + f"; total {total:.1f}s",
            flush=True,
        )

    def wait_green(
        self, since: float | None = None, timeout: float = 240, only: Sequence[str] = ()
    ) -> None:
        """Wait until every expected service (or ``only`` these) reported after ``since``
        (a monotonic time; default now). Inside heal_all() a full wait is deferred."""
        if self._deferred_green is not None and not only:
            self._deferred_green.append(since if since is not None else time.monotonic())
            return
        started = time.time() - (time.monotonic() - since) if since is not None else time.time()
        self.venv_tool(
            "green.py",
            "--since",
            f"{started:.3f}",
            # since a restart: only the new process's reports count (nova's updated_at
            # may drop the fraction: the first report comes seconds after a start anyway)
            "--slack",
            "0" if since is not None else "5",
            "--timeout",
            f"{timeout:.0f}",
            *(["--only", *only] if only else self.expected()),
            timeout=timeout + 60,
        )

    def flush_green(self) -> None:
        """Inside heal_all(): wait now for the green the heals so far deferred (a heal that
        acts through the cloud's APIs needs the services healed before it back first)."""
        pending = self._deferred_green
        if pending:
            self._deferred_green = None
            try:
                self.wait_green(since=max(pending))
            finally:
                self._deferred_green = []

    def expected(self) -> list[str]:
        """What a green cloud reports: `binary@host`, plus `swift`."""
        return [*controlplane.EXPECTED, *cephmod.EXPECTED, *swift.EXPECTED, *compute.EXPECTED]

    def down(self) -> None:
        """Stop every service by PID (deadline, then SIGKILL), kill the hosts, remove nets."""
        from concurrent.futures import ThreadPoolExecutor

        infra = {
            "mariadbd",
            "rabbit",
            "memcached",
            "ceph-mon",
            "ceph-mgr",
            "ceph-osd",
            "dbus-daemon",
        }

        def host_down(h: str) -> None:
            if self.hosts.is_systemd(h):
                self.hosts.poweroff(h)  # systemd stops its units, each by its deadline
                return
            if self.hosts.is_up(h):
                svcs = self.services_of(h)
                for batch in (
                    [s for s in svcs if s.name not in infra],
                    [s for s in svcs if s.name in infra],
                ):
                    try:
                        self.hosts.stop_many(
                            h, [(s.name, s.stop_timeout, s.stop_signal) for s in batch]
                        )
                    except LabError as exc:
                        print(f"[lab] stop services on {h}: {exc}", file=sys.stderr)
            self.hosts.kill(h)

        computes = [h for h in HOSTS if h in compute.HOSTS]
        others = [h for h in HOSTS if h not in compute.HOSTS]
        with ThreadPoolExecutor(len(HOSTS)) as pool:
            list(pool.map(host_down, computes))
            list(pool.map(host_down, others))
        self.hosts.net_down()
        swift.release_loops(self)

    def reboot(self, host: str) -> None:
        if host not in HOSTS:
            raise LabError(f"unknown host {host}")
        key = outputs.ensure_client_key(self.state)
        self.hosts.poweroff(host)  # a process host: killed; a systemd host: shut down
        self.hosts.boot(host, key)
        self.start_host_services(host)

    def status(self) -> dict[str, dict[str, object]]:
        result: dict[str, dict[str, object]] = {}
        for h in HOSTS:
            up = self.hosts.is_up(h)
            procs: dict[str, bool] = {}
            if up:
                procs["sshd"] = self.hosts.service_pid(h, "sshd") is not None
                for svc in self.services_of(h):
                    procs[svc.name] = self.hosts.service_pid(h, svc.name) is not None
            reach = False
            if up:
                r = self.operator_run(
                    ["ssh", "-F", str(self.state / "ssh_config"), "-o", "BatchMode=yes", h, "true"],
                    check=False,
                    timeout=20,
                )
                reach = r.returncode == 0
            result[h] = {"up": up, "reachable": reach, "processes": procs}
        return result

    def reset_instances(self, names: Sequence[str]) -> None:
        """Bring stuck instances back without ``down``/``up``, as an operator would: the
        domain destroyed on its hypervisor (one paused "starting up" by a hard reboot
        that lost its libvirt), nova's state reset to active (its task cleared), then a
        hard reboot through nova, waited for; one line for any that does not come back."""
        from . import faults

        known = {str(s["name"]): s for s in faults.servers(self)}
        missing = [n for n in names if n not in known]
        if missing:
            raise LabError(f"no server {', '.join(missing)}; servers: {', '.join(sorted(known))}")
        for name in names:
            server = known[name]
            host, domain = str(server["host"]), str(server["instance_name"])
            if host in HOSTS and self.hosts.is_up(host):
                self.host_exec(
                    host,
                    f"{compute.virsh(self, host)} destroy {domain} >/dev/null 2>&1 || true",
                    timeout=60,
                )
        faults.hard_reboot(self, names=tuple(names), reset=True)

    def inject(self, name: str) -> None:
        from . import faults

        faults.get(name).inject(self)

    def heal(self, name: str) -> None:
        from . import faults

        faults.get(name).heal(self)

    def heal_all(self, names: Sequence[str]) -> None:
        """Heal several faults, then wait once for green: one fault's heal waiting for a
        green cloud would wait for the others, not healed yet. Every heal is tried."""
        from . import faults

        errors: list[str] = []
        self._deferred_green = []
        # heals through the cloud's APIs last (order kept otherwise): they need the rest
        names = sorted(names, key=lambda n: faults.get(n).through_api)
        try:
            for name in names:
                try:
                    faults.get(name).heal(self)
                except LabError as exc:
                    errors.append(f"{name}: {str(exc).splitlines()[0]}")
        finally:
            pending, self._deferred_green = self._deferred_green, None
        if pending:
            self.wait_green(since=max(pending))
        if errors:
            raise LabError("heal failed: " + "; ".join(errors))


__all__ = ["CONTROLLER_IP", "Lab", "Path"]

"""A systemd host booted on its own (no lab): its own network namespace (abtest-*),
addresses (10.99.0.0/24), state under /tmp and cgroup, so it can run beside a lab.

Boots systemd as a namespace host's PID 1 with sshd and a fake service (python's
http.server as a unit), then: the unit is active, a kill -9 brings it back through
Restart= (NRestarts 0 -> 1), its output is in the journal, sshd answers, a clean
power-off, a second boot (the same units come back), a hard kill.  Prints boot time and
memory.  Run alone: ``python -m tests.lab.test_systemd_host`` (root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from afterboot.domains import services as suite
from lab import systemd_host as sd
from lab.config import HostSpec
from lab.hosts import HOST_PATH, SSHD_CONFIG, tmp_mount
from lab.services import Service

pytestmark = pytest.mark.lab

NETNS = "abtest-sd1"
HOST = "abtest-sd1"
IP = "10.99.0.10"
GROUP = "abtest"
UNIT = "abtest-web.service"


def sh(
    argv: list[str], check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode:
        raise AssertionError(f"{argv} -> {proc.returncode}\n{proc.stdout}{proc.stderr}")
    return proc


@dataclass
class Booted:
    state: Path
    parent: int
    init: int
    boot_seconds: float


class SystemdHost:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.hd = state / HOST
        self.key = state / "id_ed25519"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def cgroup(self) -> Path:
        return sd.cgroup_dir(GROUP, HOST)

    def prepare(self) -> None:
        etc = self.hd / "upper" / "etc"
        for d in ("etc", "var", "srv", "root"):
            (self.hd / "upper" / d).mkdir(parents=True, exist_ok=True)
            (self.hd / "work" / d).mkdir(parents=True, exist_ok=True)
        (etc / "ssh" / "authorized_keys").mkdir(parents=True, exist_ok=True)
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)])
        sh(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-f",
                str(etc / "ssh/ssh_host_ed25519_key"),
            ]
        )
        (etc / "ssh" / "sshd_config").write_text(SSHD_CONFIG.format(ip=IP))
        ak = etc / "ssh" / "authorized_keys" / "root"
        ak.write_text((self.state / "id_ed25519.pub").read_text())
        ak.chmod(0o600)
        (etc / "hostname").write_text(HOST + "\n")
        sd.prepare_etc(etc)
        web = Service(
            "abtest-web",
            HOST,
            f"/usr/bin/python3 -u -m http.server 8000 --bind {IP} --directory /srv",
            "/var/log/abtest-web.log",
            env="PYTHONUNBUFFERED=1 ABTEST=yes",
        )
        sd.install_unit(etc, web)
        # the lab's own private /tmp: a clone under /tmp (its venv, this state) stays visible
        init = sd.init_sh(HOST, self.hd, ("etc", "var", "srv", "root"), tmp_mount(self.hd))
        (self.hd / "init.sh").write_text(init)

    def net_up(self) -> None:
        sh(["ip", "netns", "add", NETNS])
        sh(["ip", "-n", NETNS, "link", "set", "lo", "up"])
        sh(["ip", "-n", NETNS, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"])
        sh(["ip", "-n", NETNS, "addr", "add", f"{IP}/24", "dev", "eth0"])
        sh(["ip", "-n", NETNS, "link", "set", "eth0", "up"])

    def init_pid(self) -> int | None:
        if self.proc is None:
            return None
        with contextlib.suppress(OSError):
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
            return int(kids.split()[0]) if kids.split() else None
        return None

    def boot(self) -> float:
        t0 = time.monotonic()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        argv = sd.unshare_argv(NETNS, self.hd / "init.sh", int(uptime))
        self.proc = sd.start_host(
            argv, self.cgroup, self.hd / "console.log", {"PATH": HOST_PATH, "LANG": "C.UTF-8"}
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pid = self.init_pid()
            if pid and Path(f"/proc/{pid}/root/run/lab/ready").exists():
                return time.monotonic() - t0
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(
            "systemd host did not come up:\n" + (self.hd / "console.log").read_text()[-3000:]
        )

    def exec(self, cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        pid = self.init_pid()
        assert pid, "host is down"
        argv = ["nsenter", "-t", str(pid), "--net", "--uts", "--mount", "--pid", "--ipc"]
        argv += ["--time", "--", "/usr/bin/env", "-i", f"PATH={HOST_PATH}", "/bin/sh", "-c", cmd]
        return sh(argv, check=check)

    def ssh(self, cmd: str) -> subprocess.CompletedProcess[str]:
        return sh(
            [
                *("ip", "netns", "exec", NETNS, "ssh", "-i", str(self.key)),
                *("-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"),
                *("-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"),
                f"root@{IP}",
                cmd,
            ],
            check=False,
            timeout=30,
        )

    def rss_kib(self) -> int:
        total = 0
        for pid in sd.cgroup_pids(self.cgroup):
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total

    def poweroff(self) -> float:
        pid = self.init_pid()
        assert pid
        assert self.proc
        t0 = time.monotonic()
        assert sd.poweroff(pid, self.proc.pid, 30), "poweroff did not finish"
        self.proc.wait(5)
        return time.monotonic() - t0

    def kill(self) -> None:
        pid = self.init_pid()
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        sd.remove_cgroup(self.cgroup)

    def cleanup(self) -> None:
        self.kill()
        if Path(f"/run/netns/{NETNS}").exists():
            sh(["ip", "netns", "del", NETNS], check=False)
        shutil.rmtree(self.state, ignore_errors=True)


@pytest.fixture
def sd_host() -> Iterator[SystemdHost]:
    if os.geteuid() != 0 or not Path("/lib/systemd/systemd").exists():
        pytest.skip("needs root and systemd")
    if Path(f"/run/netns/{NETNS}").exists():
        pytest.fail(f"network namespace {NETNS} is left from an earlier run: ip netns del {NETNS}")
    h = SystemdHost(Path(tempfile.mkdtemp(prefix="abtest-systemd-", dir="/tmp")))
    try:
        h.net_up()
        h.prepare()
        yield h
    finally:
        h.cleanup()


def wait(what: str, cond: object, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def show(h: SystemdHost, unit: str, prop: str) -> str:
    return h.exec(f"systemctl show -p {prop} --value {unit}").stdout.strip()


def judged(h: SystemdHost) -> suite.ServiceState:
    """What the suite's ``units`` read and parsing make of the unit, on real systemd."""
    out = h.exec(f"systemctl show --property=Id,ActiveState,SubState,NRestarts --no-pager {UNIT}")
    blocks = suite._unit_blocks(FakeRemote(out.stdout))  # type: ignore[arg-type]
    return suite._by_systemd(blocks, suite.Service("abtest-web", ".", ("abtest-web",)))


@dataclass
class FakeRemote:
    units: str
    name: str = "systemd-host"

    def read(self, name: str, *, again: bool = False) -> subprocess.CompletedProcess[str]:
        assert name == "units"
        return subprocess.CompletedProcess([], 0, self.units, "")


def faults(h: SystemdHost) -> float:
    """The lab's systemd faults on a real unit, judged by the suite's parsing; returns how
    long the restart loop took to be reported."""
    assert judged(h).running
    t0 = time.monotonic()
    h.exec(sd.restart_loop_cmd(UNIT))
    wait("NRestarts > 3", lambda: int(show(h, UNIT, "NRestarts")) > 3, 40)
    loop_s = time.monotonic() - t0
    wait("active in the loop", lambda: show(h, UNIT, "ActiveState") == "active", 10)
    state = judged(h)
    assert not state.running
    assert state.state == "restarting"
    assert state.unit == UNIT
    h.exec(sd.heal_cmd(UNIT))
    assert show(h, UNIT, "NRestarts") == "0", "a manual restart resets NRestarts"
    time.sleep(3)  # longer than the loop's RuntimeMaxSec: the override is gone
    assert show(h, UNIT, "NRestarts") == "0"
    assert judged(h).running
    h.exec(sd.failed_cmd(UNIT))
    wait("failed", lambda: show(h, UNIT, "ActiveState") == "failed", 10)
    state = judged(h)
    assert not state.running
    assert (state.unit, state.state) == (UNIT, "failed")
    h.exec(sd.heal_cmd(UNIT))
    wait("active after heal", lambda: judged(h).running, 10)
    return loop_s


def test_systemd_host(sd_host: SystemdHost) -> None:
    boot = sd_host.boot()
    h = sd_host
    wait(
        "unit active",
        lambda: h.exec(f"systemctl is-active {UNIT}", check=False).stdout.strip() == "active",
    )
    assert show(h, UNIT, "NRestarts") == "0"
    assert "ABTEST=yes" in show(h, UNIT, "Environment")
    # pid 1 is systemd, the host's cgroup is its cgroup namespace's root
    assert h.exec("cat /proc/1/comm").stdout.strip() == "systemd"
    failed = h.exec("systemctl list-units --failed --plain --no-legend", check=False).stdout
    state = h.exec("systemctl is-system-running", check=False).stdout.strip()
    r = h.ssh("systemctl is-active ssh.service; hostname")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["active", HOST]
    rss = h.rss_kib()
    nproc = len(sd.cgroup_pids(h.cgroup))
    # a kill -9 of the service: Restart=on-failure brings it back, NRestarts 0 -> 1
    main = int(show(h, UNIT, "MainPID"))
    assert main > 0
    h.exec(f"kill -9 {main}")
    wait("restart", lambda: show(h, UNIT, "NRestarts") == "1", 10)
    wait(
        "active again",
        lambda: h.exec(f"systemctl is-active {UNIT}", check=False).stdout.strip() == "active",
    )
    assert int(show(h, UNIT, "MainPID")) not in (0, main)
    loop_s = faults(h)
    # stop: is-active rc 3; start again
    h.exec(f"systemctl stop {UNIT}")
    assert h.exec(f"systemctl is-active {UNIT}", check=False).returncode == 3
    h.exec(f"systemctl start {UNIT}")
    # its output is in the journal (http.server's "Serving HTTP on ..." line)
    wait(
        "journal",
        lambda: "Serving HTTP" in h.exec(f"journalctl -u {UNIT} --no-pager -o cat").stdout,
    )
    off = h.poweroff()
    assert not sd.cgroup_pids(h.cgroup), "processes left after poweroff"
    boot2 = h.boot()  # second boot: the unit is enabled, systemd starts it by itself
    wait(
        "unit active after reboot",
        lambda: h.exec(f"systemctl is-active {UNIT}", check=False).stdout.strip() == "active",
    )
    assert show(h, UNIT, "NRestarts") == "0"
    boots = h.exec("journalctl --list-boots --no-pager | wc -l").stdout.strip()
    assert int(boots) >= 2, "the journal did not see a new boot (boot_id)"
    h.kill()
    assert not sd.cgroup_pids(h.cgroup)
    assert not h.cgroup.exists()
    print(
        f"\nsystemd host: boot {boot:.2f}s (second {boot2:.2f}s), poweroff {off:.2f}s, "
        f"{nproc} processes {rss / 1024:.0f} MiB RSS after an ssh login; "
        f"restart loop reported (NRestarts > 3) after {loop_s:.1f}s; "
        f"system state {state}; failed units: {failed.strip() or 'none'}"
    )


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-s", "-p", "no:cacheprovider"]))


SWIFT_CONF = """[swift-hash]
swift_hash_path_suffix = abtest
swift_hash_path_prefix = abtest
[storage-policy:0]
name = Policy-0
default = yes
"""
OBJECT_CONF = f"""[DEFAULT]
bind_ip = {IP}
bind_port = 6200
workers = 0
user = root
swift_dir = /etc/swift
devices = /srv/node
mount_check = true
log_name = swift-object-server
[pipeline:main]
pipeline = healthcheck recon object-server
[app:object-server]
use = egg:swift#object
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:recon]
use = egg:swift#recon
recon_cache_path = /var/cache/swift
"""


def test_swift_and_rsync_units(sd_host: SystemdHost) -> None:
    """The lab's storage services as units (Debian's names), as lab.Hosts starts them on
    storage2: swift's object server (logging to /dev/log, journald's), rsync, a loop-
    mounted XFS device inside the host's own /dev."""
    from lab.config import state_dir

    venv = state_dir() / "venv" / "bin"
    if not (venv / "swift-object-server").exists():
        pytest.skip(f"no lab venv with swift at {venv}")
    h = sd_host
    h.boot()
    root = Path(f"/proc/{h.init_pid()}/root")
    # the disk image inside the host (its private /tmp hides the test's state dir)
    img = "/srv/d9.xfs"
    with open(root / img.lstrip("/"), "wb") as fh:
        fh.truncate(300 << 20)
    sh(["mkfs.xfs", "-q", str(root / img.lstrip("/"))])
    (root / "etc/swift").mkdir(parents=True, exist_ok=True)
    (root / "etc/swift/swift.conf").write_text(SWIFT_CONF)
    (root / "etc/swift/object-server.conf").write_text(OBJECT_CONF)
    (root / "etc/rsyncd.conf").write_text(
        f"uid = root\ngid = root\npid file = /run/rsyncd.pid\naddress = {IP}\n\n"
        "[object]\npath = /srv/node/\nread only = false\nlock file = /run/lock/object.lock\n"
    )
    h.exec(f"mkdir -p /srv/node/d9 /var/cache/swift && mount -o loop {img} /srv/node/d9")
    assert "/srv/node/d9 xfs" in h.exec("cat /proc/mounts").stdout
    services = [
        Service(
            "swift-object-server",
            HOST,
            f"{venv}/swift-object-server /etc/swift/object-server.conf",
            "/var/log/swift/object-server.log",
        ),
        Service(
            "rsync", HOST, "/usr/bin/rsync --daemon --no-detach --config=/etc/rsyncd.conf", "-"
        ),
    ]
    t0 = time.monotonic()
    for svc in services:  # what lab.hosts.Hosts.start_unit does
        sd.install_unit(root / "etc", svc)
    h.exec("systemctl daemon-reload && systemctl start swift-object.service rsync.service")
    for unit in ("swift-object.service", "rsync.service"):
        wait(unit, lambda u=unit: show(h, u, "ActiveState") == "active", 20)
    check = (
        "import urllib.request as u;"
        f"print(u.urlopen('http://{IP}:6200/healthcheck', timeout=5).read().decode())"
    )
    wait(
        "healthcheck",
        lambda: (
            sh(["ip", "netns", "exec", NETNS, "python3", "-c", check], check=False)
            .stdout.strip()
            .endswith("OK")
        ),
        30,
    )
    ready = time.monotonic() - t0
    assert h.exec(f"rsync rsync://{IP}/ 2>&1").stdout.split()[0] == "object"
    # swift's own log lines (syslog to /dev/log) land in the unit's journal: an access
    # line for a HEAD of an object the device does not hold
    head = (
        "import urllib.request as u, urllib.error as e\n"
        f"r = u.Request('http://{IP}:6200/d9/0/a/c/o', method='HEAD')\n"
        "try: u.urlopen(r, timeout=5)\nexcept e.HTTPError as x: print(x.code)"
    )
    assert sh(["ip", "netns", "exec", NETNS, "python3", "-c", head]).stdout.strip() == "404"

    def logged() -> bool:
        out = h.exec("journalctl -u swift-object --no-pager -o cat").stdout
        return '"HEAD /d9/0/a/c/o" 404' in out

    wait("swift's log in the journal", logged, 20)
    ids = h.exec("journalctl -u swift-object --no-pager -o verbose | grep -c SYSLOG_IDENTIFIER")
    pid = int(show(h, "swift-object.service", "MainPID"))
    assert pid > 0
    assert "swift-object-server" in h.exec(f"cat /proc/{pid}/cmdline | tr '\\0' ' '").stdout
    rss = h.rss_kib()
    h.exec("systemctl stop swift-object.service")
    assert show(h, "swift-object.service", "ActiveState") == "inactive"
    off = h.poweroff()  # systemd stops rsync; the loop mount goes with the mount namespace
    print(
        f"\nswift units: object server healthy {ready:.1f}s after systemctl start; "
        f"host with swift-object + rsync {rss / 1024:.0f} MiB RSS; journal lines with a "
        f"syslog identifier: {ids.stdout.strip()}; poweroff {off:.2f}s"
    )


class AbtestSpec(HostSpec):
    """A lab host spec whose network namespace cannot clash with a lab's (lab-*)."""

    @property
    def netns(self) -> str:
        return f"abtest-{self.name}"


def test_lab_hosts_drive_a_systemd_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """lab.hosts.Hosts itself (the code `lab up`, `reboot`, `status`, faults use) on a
    systemd host, with the lab's names swapped for abtest ones: boot, spawn (a unit),
    service_pid (MainPID), stop, stop_many, poweroff + boot (reboot), kill."""
    from lab import hosts as hostsmod

    if os.geteuid() != 0:
        pytest.skip("needs root")
    name = "s2"
    spec = AbtestSpec(name, "10.99.0.32", ("object-storage",), init="systemd")
    monkeypatch.setattr(hostsmod, "HOSTS", {name: spec})
    monkeypatch.setattr(hostsmod, "BRIDGE_NS", "abtest-br")
    monkeypatch.setattr(hostsmod, "OPERATOR_NS", "abtest-op")
    monkeypatch.setattr(hostsmod, "OPERATOR_IP", "10.99.0.5")
    monkeypatch.setattr(hostsmod, "CGROUP_GROUP", GROUP)
    # the state lives under /tmp here (the test's), nothing runs from it
    monkeypatch.setattr(hostsmod, "tmp_mount", lambda state: "mount -t tmpfs tmpfs /tmp")
    for ns in ("abtest-br", "abtest-op", spec.netns):
        if Path(f"/run/netns/{ns}").exists():
            pytest.fail(f"network namespace {ns} is left from an earlier run: ip netns del {ns}")
    state = Path(tempfile.mkdtemp(prefix="abtest-hosts-", dir="/tmp"))
    hosts = hostsmod.Hosts(state)
    try:
        key = state / "id_ed25519"
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
        hosts.net_up()
        t0 = time.monotonic()
        hosts.boot(name, (state / "id_ed25519.pub").read_text())
        boot = time.monotonic() - t0
        assert hosts.is_up(name)
        assert hosts.exec(name, "cat /proc/1/comm").stdout.strip() == "systemd"
        assert hosts.service_pid(name, "sshd"), "ssh.service has a MainPID"
        # from the operator namespace over the bridge, as the suite connects
        r = sh(
            [
                *("ip", "netns", "exec", "abtest-op", "ssh", "-i", str(key)),
                *("-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"),
                *("-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"),
                "root@10.99.0.32",
                "systemctl is-active ssh.service; hostname",
            ],
            check=False,
        )
        assert r.stdout.split() == ["active", name], r.stderr
        cmd = "/usr/bin/python3 -m http.server 8001 --bind 10.99.0.32"
        pid = hosts.spawn(name, "abtest-web2", cmd, "/var/log/x.log", "A=1")
        assert pid > 0
        assert hosts.service_pid(name, "abtest-web2") == pid
        enabled = state / "hosts" / name / "upper/etc/systemd/system/lab.target.wants"
        assert (enabled / "abtest-web2.service").is_symlink()
        hosts.stop(name, "abtest-web2")
        assert hosts.service_pid(name, "abtest-web2") is None
        hosts.spawn(name, "abtest-web2", cmd, "/var/log/x.log", "A=1")
        # reboot: a clean power-off, then the unit comes back by itself (enabled)
        t0 = time.monotonic()
        hosts.poweroff(name)
        off = time.monotonic() - t0
        assert not hosts.is_up(name)
        assert not hosts.cgroup(name).exists()
        hosts.boot(name, (state / "id_ed25519.pub").read_text())
        wait("enabled unit back after reboot", lambda: hosts.service_pid(name, "abtest-web2"))
        hosts.stop_many(name, [("abtest-web2", 10, "TERM"), ("sshd", 10, "TERM")])
        assert hosts.service_pid(name, "abtest-web2") is None
        hosts.kill(name)
        assert hosts.init_pid(name) is None
        assert not hosts.cgroup(name).exists()
        assert not Path(f"/run/netns/{spec.netns}").exists()
        print(f"\nlab.hosts on a systemd host: boot {boot:.2f}s, poweroff {off:.2f}s")
    finally:
        hosts.kill(name)
        hosts.net_down()
        shutil.rmtree(state, ignore_errors=True)

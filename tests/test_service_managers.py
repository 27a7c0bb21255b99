"""The systemd manager: unit states as the suite judges them, the remediation it renders
per unit state, and the lab's systemd host (unit names the suite looks for, unit files,
inventory). No lab, no systemd needed: ``tests/lab/test_systemd_host.py`` boots one."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from afterboot.domains import services as suite
from afterboot.inventory.load import load_inventory
from afterboot.procedures import runbook
from lab import Lab, outputs, swift, systemd_host
from lab.config import HOSTS, service_manager
from lab.services import Service

SHOW = """Id=swift-object.service
ActiveState=active
SubState=running
NRestarts=0

Id=openstack-swift-object.service
ActiveState=inactive
SubState=dead
NRestarts=0

Id=swift-object-server.service
ActiveState=inactive
SubState=dead
NRestarts=0

Id=swift-object-replicator.service
ActiveState={repl_active}
SubState={repl_sub}
NRestarts={repl_restarts}

Id=openstack-swift-object-replicator.service
ActiveState=inactive
SubState=dead
NRestarts=0
"""


@dataclass
class FakeRemote:
    text: str
    name: str = "storage1"

    def read(self, name: str, *, again: bool = False) -> subprocess.CompletedProcess[str]:
        assert name == "units"
        return subprocess.CompletedProcess([], 0, self.text, "")


def judge(name: str, active: str, sub: str, restarts: int) -> suite.ServiceState:
    text = SHOW.format(repl_active=active, repl_sub=sub, repl_restarts=restarts)
    blocks = suite._unit_blocks(FakeRemote(text))  # type: ignore[arg-type]
    return suite._by_systemd(blocks, suite.service(name))


def test_debian_unit_names_of_swift_servers_are_found() -> None:
    state = judge("swift-object-server", "active", "running", 0)
    assert state.running
    assert state.unit == "swift-object.service"
    assert "swift-object" in suite.service("swift-object-server").units
    assert "openstack-swift-proxy" in suite.service("swift-proxy-server").units
    assert suite.service("swift-object-replicator").units[0] == "swift-object-replicator"


@pytest.mark.parametrize(
    ("active", "sub", "restarts", "running", "state"),
    [
        ("active", "running", 0, True, "active"),
        ("active", "running", 3, True, "active"),
        ("active", "running", 7, False, "restarting"),  # a loop caught while it runs
        ("activating", "auto-restart", 7, False, "restarting"),  # between two runs
        ("deactivating", "stop-sigterm", 7, False, "restarting"),  # a loop's run ending
        ("activating", "start", 7, False, "restarting"),  # and the next one starting
        ("deactivating", "stop-sigterm", 0, False, "deactivating"),  # an operator's stop
        ("failed", "failed", 0, False, "failed"),
        ("inactive", "dead", 0, False, "inactive"),
    ],
)
def test_unit_states(active: str, sub: str, restarts: int, running: bool, state: str) -> None:
    got = judge("swift-object-replicator", active, sub, restarts)
    assert (got.running, got.state) == (running, state)
    assert got.unit == "swift-object-replicator.service"
    if state == "restarting":
        assert f"({restarts} restarts)" in got.detail


def _commands(manager: str, unit_state: str) -> str:
    proc = runbook.load()["SVC-007"]
    finding = runbook.Finding(
        subject="swift-object-replicator",
        host="storage2",
        extra={
            "service": "swift-object-replicator",
            "manager": manager,
            "unit": "swift-object-replicator.service",
            "unit_state": unit_state,
        },
    )
    return "\n".join(c for step in runbook.render(proc, [finding]) for c in step.commands)


def test_remediation_of_a_unit_in_a_restart_loop_reads_its_journal_then_restarts_once() -> None:
    cmds = _commands("systemd", "restarting")
    assert "systemctl status swift-object-replicator.service" in cmds
    assert "journalctl -u swift-object-replicator.service" in cmds
    assert "systemctl restart swift-object-replicator.service" in cmds
    assert "reset-failed" not in cmds
    assert "swift-init all start" not in cmds  # daemons systemd would not know of


def test_remediation_of_a_failed_unit_resets_it() -> None:
    cmds = _commands("systemd", "failed")
    assert "systemctl reset-failed swift-object-replicator.service" in cmds
    assert "systemctl restart" not in cmds


def test_remediation_without_systemd_is_unchanged() -> None:
    cmds = _commands("process", "")
    assert "swift-init all start" in cmds
    assert "journalctl" not in cmds


def test_lab_units_are_the_ones_the_suite_looks_for(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "state")
    systemd_hosts = [h for h in HOSTS if HOSTS[h].init == "systemd"]
    assert systemd_hosts == ["storage2"]
    for svc in lab.services_of("storage2"):
        unit = systemd_host.unit_name(svc.name).removesuffix(".service")
        assert unit in suite.service(svc.name).units, svc.name
    assert {s.name for s in swift.services(lab) if s.host == "storage2"} >= {
        "rsync",
        "swift-object-server",
        "swift-object-replicator",
    }


def test_unit_file_from_a_lab_service() -> None:
    svc = Service(
        "swift-object-server",
        "storage2",
        "/v/bin/swift-object-server /etc/swift/object-server.conf",
        "/var/log/swift/object-server.log",
        env="A=1 B='two words'",
        stop_timeout=15,
        stop_signal="INT",
    )
    text = systemd_host.unit_file(svc)
    assert "ExecStart=/v/bin/swift-object-server /etc/swift/object-server.conf\n" in text
    assert "Environment=A=1\n" in text
    assert "Environment='B=two words'\n" in text
    assert "Restart=on-failure\n" in text
    assert "KillSignal=SIGINT\n" in text
    assert "TimeoutStopSec=15\n" in text
    assert "WantedBy=lab.target" in text


def test_host_etc_and_enabled_units(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    systemd_host.prepare_etc(etc)
    mid = (etc / "machine-id").read_text()
    systemd_host.prepare_etc(etc)
    assert (etc / "machine-id").read_text() == mid, "machine-id kept across boots"
    assert len(mid.strip()) == 32
    system = etc / "systemd" / "system"
    assert (system / "systemd-sysctl.service").readlink() == Path("/dev/null")
    assert (system / "lab.target.wants" / "ssh.service").is_symlink()
    svc = Service("rsync", "storage2", "/usr/bin/rsync --daemon --no-detach", "/x.log")
    assert systemd_host.install_unit(etc, svc)
    assert not systemd_host.install_unit(etc, svc), "unchanged: no daemon-reload"
    assert (system / "lab.target.wants" / "rsync.service").is_symlink()
    init = systemd_host.init_sh("storage2", tmp_path, ("etc", "var"))
    assert init.rstrip().endswith("--unit=lab.target")
    assert "mount -t tmpfs -o mode=1777 tmpfs /tmp" in init


def test_inventory_gives_the_systemd_host_its_manager(tmp_path: Path) -> None:
    outputs.write_inventory(tmp_path)
    inv = load_inventory(tmp_path / "inventory.yaml")
    managers = {name: h.service_manager for name, h in inv.hosts.items()}
    assert managers["storage2"] == "systemd" == service_manager("storage2")
    assert managers["storage1"] == "process"
    assert managers["controller"] == "process"


@pytest.mark.parametrize("check", ["SVC-001", "SVC-003", "SVC-004", "SVC-008"])
def test_every_service_check_reads_the_unit_first_on_systemd(check: str) -> None:
    proc = runbook.load()[check]
    values = {"service": "x", "manager": "systemd", "unit": "nova-compute.service"}
    finding = runbook.Finding(subject="x", host="c1", extra={**values, "unit_state": "failed"})
    steps = runbook.render(proc, [finding])
    assert "journalctl -u nova-compute.service" in steps[0].commands[0]
    unknown = runbook.Finding(subject="x", host="c1", extra={"manager": "systemd"})
    rendered = "\n".join(c for s in runbook.render(proc, [unknown]) for c in s.commands)
    assert "{unit}" not in rendered
    assert "systemctl show -p NRestarts" not in rendered


@pytest.mark.parametrize(
    ("started_ago", "running"),
    [
        (30.0, False),  # restarted 7 times, the current run 30 s old: still looping
        (3600.0, True),  # 7 restarts long ago, up for an hour since: it recovered
    ],
)
def test_restarts_long_ago_are_no_loop(started_ago: float, running: bool) -> None:
    now = 1_795_930_000.0
    text = SHOW.format(repl_active="active", repl_sub="running", repl_restarts=7)
    text = text.replace(
        "Id=swift-object-replicator.service",
        f"Id=swift-object-replicator.service\nExecMainStartTimestamp=@{now - started_ago:.0f}",
    )
    blocks = suite._unit_blocks(FakeRemote(text))  # type: ignore[arg-type]
    got = suite._by_systemd(blocks, suite.service("swift-object-replicator"), now)
    assert got.running is running
    # without a timestamp (systemd before 248: its local format), more than 3 is a loop
    plain = suite._unit_blocks(
        FakeRemote(SHOW.format(repl_active="active", repl_sub="running", repl_restarts=7))
    )  # type: ignore[arg-type]
    assert not suite._by_systemd(plain, suite.service("swift-object-replicator"), now).running

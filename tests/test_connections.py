"""Connections against a real sshd on loopback: reuse, deadlines, and a host that does
not answer ending as *could not run* within --timeout while the other host passes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from afterboot.errors import CommandTimeout, HostUnreachable
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.snapshot import HostSnapshot
from afterboot.transport.connections import Connections, Remote

from . import sshd as sshd_mod

pytestmark = pytest.mark.skipif(bool(sshd_mod.available()), reason=str(sshd_mod.available()))

CHECK = '''
import pytest

@pytest.mark.check("HOST-009", tier=1)
def test_answers(host):
    """The host runs a command."""
    assert host.run("echo hi").stdout.strip() == "hi"

@pytest.mark.check("HOST-010", tier=1)
def test_second(host):
    """A second check on the same host reuses its connection."""
    assert host.file("/etc/hostname").exists
'''


@pytest.mark.parametrize("connection", ["ssh", "paramiko"])
def test_commands_run_and_connection_is_reused(
    server: sshd_mod.Sshd, control_dir: str, connection: str
) -> None:
    remote = Remote(sshd_mod.host_spec(server, connection), timeout=5, control_dir=control_dir)
    try:
        assert remote.run("echo %s", "a b").stdout == "a b\n"
        assert remote.file("/etc/hostname").exists
        started = time.monotonic()
        for _ in range(10):
            assert remote.run("true").rc == 0
        per_command = (time.monotonic() - started) / 10
        assert per_command < 0.5, f"{per_command:.3f}s per command: connection not reused"
    finally:
        remote.close()


@pytest.mark.parametrize("connection", ["ssh", "paramiko"])
def test_command_past_deadline_is_could_not_run(
    server: sshd_mod.Sshd, control_dir: str, connection: str
) -> None:
    remote = Remote(sshd_mod.host_spec(server, connection), timeout=1.5, control_dir=control_dir)
    try:
        remote.probe()
        started = time.monotonic()
        with pytest.raises(CommandTimeout, match=r"did not finish within 1\.5s"):
            remote.run("sleep 20")
        assert time.monotonic() - started < 4
    finally:
        remote.close()


def test_silent_host_is_unreachable_within_timeout(control_dir: str) -> None:
    with sshd_mod.silent_listener() as port:
        remote = Remote(
            HostSpec(
                name="hung", address="127.0.0.1", port=port, user="root", ssh_config="/dev/null"
            ),
            timeout=2,
            control_dir=control_dir,
        )
        started = time.monotonic()
        with pytest.raises(HostUnreachable, match="host hung unreachable"):
            remote.probe()
        assert time.monotonic() - started < 5
        started = time.monotonic()
        with pytest.raises(HostUnreachable):
            remote.run("true")  # the verdict is remembered: no second wait
        assert time.monotonic() - started < 0.5


def test_unreachable_host_could_not_run_while_others_pass(
    suite: pytest.Pytester, server: sshd_mod.Sshd
) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    with sshd_mod.silent_listener() as silent_port:
        (suite.path / "inv.yaml").write_text(
            "defaults:\n  user: root\n"
            f"  key: {server.key}\n  ssh_config: {server.ssh_config}\n"
            "hosts:\n"  # a host without a role gets no per-host check
            f"  good:\n    address: 127.0.0.1\n    port: {server.port}\n    roles: [network]\n"
            f"  hung:\n    address: 127.0.0.1\n    port: {silent_port}\n    roles: [network]\n"
            "  gone:\n    address: 127.0.0.1\n    port: 9\n    roles: [network]\n"
        )
        started = time.monotonic()
        result = suite.runpytest("--inventory=inv.yaml", "--timeout", "2", "-rA")
        elapsed = time.monotonic() - started
    result.assert_outcomes(passed=2, errors=4)
    result.stdout.fnmatch_lines(
        [
            "*could not run (fix access, then run again)*",
            "could not run: host hung unreachable (*)  [[]2 checks]",
            "could not run: host gone unreachable (*Connection refused*)  [[]2 checks]",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    # the remediation of a check that could not look is access, not the cloud's procedure
    result.stdout.fnmatch_lines(["HOST-009 could not run: host hung unreachable (*"])
    # one probe per host, each bounded by --timeout: never a hang
    assert elapsed < 2 * 2 + 6, f"run took {elapsed:.1f}s"


def test_a_pool_makes_its_control_dir_for_openssh_hosts_only_and_removes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tempfile

    made: list[str] = []
    mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda **kw: made.append(mkdtemp(**kw)) or made[-1])
    specs = {
        "local-1": HostSpec("local-1", connection="local"),
        "ssh-1": HostSpec("ssh-1", address="192.0.2.1"),
        "ssh-2": HostSpec("ssh-2", address="192.0.2.2"),
    }
    pool = Connections(Inventory(specs, "t"), 1.0)
    pool["local-1"]
    assert made == []
    assert pool.masters() == 0
    assert Path(pool["ssh-1"].control_path).parent == Path(made[0])
    assert Path(pool["ssh-2"].control_path).parent == Path(made[0])
    assert len(made) == 1
    pool.close()  # no host was probed: no master to ask to exit, the dir goes
    assert not Path(made[0]).exists()


def test_a_pool_whose_ssh_hosts_open_no_connection_makes_no_control_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Hosts given their reads (a snapshot judged, a test) never start ssh: nothing is made
    that a pool nobody closes would leave in the temporary directory."""
    import tempfile

    made: list[str] = []
    mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda **kw: made.append(mkdtemp(**kw)) or made[-1])
    pool = Connections(Inventory({"ssh-1": HostSpec("ssh-1", address="192.0.2.1")}, "t"), 1.0)
    pool["ssh-1"].adopt(HostSnapshot("ssh-1", started=1.0, ended=2.0))
    assert pool["ssh-1"].spec.connection == "ssh"
    assert made == []
    assert pool["ssh-1"].ssh_argv() is not None  # its command line needs the socket's place
    assert len(made) == 1
    pool.close()
    assert not Path(made[0]).exists()

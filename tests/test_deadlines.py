"""One overall deadline and capped output for every remote command, against a real sshd
on loopback; and ssh started from an argv list, so no value becomes a local command."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from afterboot.errors import CommandTimeout, CouldNotRun
from afterboot.transport import transports
from afterboot.transport.connections import Remote

from . import sshd as sshd_mod

pytestmark = pytest.mark.skipif(bool(sshd_mod.available()), reason=str(sshd_mod.available()))


@pytest.mark.parametrize("connection", ["ssh", "paramiko", "local"])
def test_a_trickling_command_ends_at_the_deadline(
    server: sshd_mod.Sshd, control_dir: str, connection: str
) -> None:
    remote = Remote(sshd_mod.host_spec(server, connection), timeout=1.5, control_dir=control_dir)
    try:
        remote.probe()
        started = time.monotonic()
        with pytest.raises(CommandTimeout, match=r"did not finish within 1\.5s"):
            remote.run("for i in $(seq 40); do echo $i; sleep 0.2; done")
        assert time.monotonic() - started < 2.5
    finally:
        remote.close()


@pytest.mark.parametrize("connection", ["ssh", "paramiko", "local"])
def test_output_is_capped_to_its_tail(
    server: sshd_mod.Sshd, control_dir: str, connection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transports, "OUTPUT_CAP", 1 << 20)
    remote = Remote(sshd_mod.host_spec(server, connection), timeout=20, control_dir=control_dir)
    try:
        result = remote.run("head -c 30000000 /dev/zero | tr '\\0' x; echo END")
        assert result.rc == 0
        assert len(result.stdout_bytes) == 1 << 20
        assert result.stdout.endswith("xEND\n")
        assert "stdout cut to its last 1048576 bytes" in result.stderr
    finally:
        remote.close()


@pytest.mark.parametrize("field", ["name", "address", "user"], ids=["name", "address", "user"])
def test_ssh_never_runs_a_value_locally(
    server: sshd_mod.Sshd, control_dir: str, tmp_path: Path, field: str
) -> None:
    """Even a HostSpec made without the inventory's validation cannot inject options."""
    marker = tmp_path / "pwned"
    hostile = f"-oProxyCommand=touch {marker}"
    remote = Remote(
        sshd_mod.host_spec(server, **{field: hostile}), timeout=3, control_dir=control_dir
    )
    try:
        with pytest.raises(CouldNotRun):
            remote.probe()
    finally:
        remote.close()
    assert not marker.exists()

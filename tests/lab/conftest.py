"""End-to-end tests of the lab: a session fixture brings it up once (or reuses it)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from lab import Lab
from lab.config import HOSTS
from tests.labsession import lab_once


class LabClient:
    """The lab plus the operator's view of it (ssh, openstack CLI), from the operator ns."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.ssh_config = str(lab.state / "ssh_config")

    def ssh(self, host: str, cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        __tracebackhide__ = True
        proc = self.lab.operator_run(
            ["ssh", "-F", self.ssh_config, "-o", "BatchMode=yes", host, cmd],
            check=False,
            timeout=120,
        )
        if check and proc.returncode != 0:
            pytest.fail(f"ssh {host} {cmd!r} -> {proc.returncode}\n{proc.stdout}{proc.stderr}")
        return proc

    def openstack(self, *args: str) -> Any:
        __tracebackhide__ = True
        proc = self.lab.operator_run(
            [
                str(self.lab.venv / "bin/openstack"),
                "--os-cloud",
                "afterboot-lab",
                *args,
                "-f",
                "json",
            ],
            check=False,
            timeout=180,
        )
        if proc.returncode != 0:
            pytest.fail(f"openstack {' '.join(args)} -> {proc.returncode}\n{proc.stderr}")
        return json.loads(proc.stdout)

    def servers(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.openstack("server", "list", "--long", "--all-projects")
        return data

    def domain_state(self, host: str, instance_name: str) -> str:
        return self.ssh(host, f"virsh domstate {instance_name}", check=False).stdout.strip()


@pytest.fixture(scope="session")
def lab() -> LabClient:
    return LabClient(lab_once())  # a failed up() fails every test with its one cause


@pytest.fixture(params=list(HOSTS))
def hostname(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name

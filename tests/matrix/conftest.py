"""The fault matrix needs the lab: brought up once per session (or reused if running)."""

from __future__ import annotations

import os
from typing import Any

import pytest


@pytest.fixture(scope="session")
def lab() -> Any:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (namespaces, mounts)")
    from lab import Lab

    cloud = Lab()
    if cloud.any_up():
        cloud.wait_green(timeout=300)
    else:
        cloud.up()
    return cloud


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.matrix.harness import ROWS

    if ROWS:
        terminalreporter.write_sep("=", "fault matrix")
        for row in ROWS:
            terminalreporter.write_line(row)

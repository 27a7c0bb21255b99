"""The fault matrix needs the lab: brought up once per session (or reused if running)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.labsession import lab_once
from tests.matrix import harness


@pytest.fixture(scope="session")
def lab() -> Any:
    return lab_once()  # shared with tests/lab: one up() a session, a failure final


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if harness.ROWS:
        terminalreporter.write_sep("=", "fault matrix")
        for row in harness.ROWS:
            terminalreporter.write_line(row)

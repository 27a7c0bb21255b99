"""The fault matrix needs the lab: brought up once per session (or reused if running)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.labsession import lab_once


@pytest.fixture(scope="session")
def lab() -> Any:
    return lab_once()  # shared with tests/lab: one up() a session, a failure final


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.matrix.harness import ROWS

    if ROWS:
        terminalreporter.write_sep("=", "fault matrix")
        for row in ROWS:
            terminalreporter.write_line(row)

"""Two outcomes kept apart: *the cloud is wrong* (failed) and *the check could not run*.

The pytest hooks of it; the work is in :mod:`afterboot.verdict.outcomes`.
"""

from __future__ import annotations

import pytest

from afterboot.verdict.entries import WAIVED
from afterboot.verdict.outcomes import could_not_run, waived


def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, str] | None:
    if report.failed and could_not_run(report):
        return "error", "N", "COULD NOT RUN"
    if waived(report):
        return WAIVED, "w", "WAIVED"
    return None


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    reports = [
        r
        for r in terminalreporter.stats.get("error", [])
        if isinstance(r, pytest.TestReport) and could_not_run(r)
    ]
    if not reports:
        return
    terminalreporter.write_sep("=", "could not run (fix access, then run again)", yellow=True)
    seen: set[str] = set()
    for r in reports:
        line = str(r.longrepr)
        if line in seen:
            continue
        seen.add(line)
        count = sum(1 for x in reports if str(x.longrepr) == line)
        terminalreporter.write_line(f"{line}  [{count} check{'s' if count > 1 else ''}]")

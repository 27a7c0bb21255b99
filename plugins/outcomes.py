"""Two outcomes kept apart: *the cloud is wrong* (failed) and *the check could not run*.

The pytest hooks of it; the work is in :mod:`afterboot.verdict.outcomes`.
"""

from __future__ import annotations

from collections import Counter

import pytest

from afterboot.verdict.entries import WAIVED
from afterboot.verdict.outcomes import could_not_run, unrun_report, waived


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> pytest.TestReport | None:
    """A could-not-run report without its traceback formatted (the verdict's wrappers
    judge it as any other)."""
    return unrun_report(item, call)


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
    for line, count in Counter(str(r.longrepr) for r in reports).items():  # in first-seen order
        terminalreporter.write_line(f"{line}  [{count} check{'s' if count > 1 else ''}]")

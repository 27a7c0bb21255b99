"""Two outcomes kept apart: *the cloud is wrong* (failed) and *the check could not run*.

A :class:`~fixtures.errors.CouldNotRun` raised anywhere in a check (an unreachable host,
bad credentials, a command past its deadline), or an API erring on its side while a check
reads the cloud through it, ends the test as an error whose whole report is one line
naming what to fix, tagged ``could-not-run`` for JUnit and the summary. Everything else
keeps pytest's normal meaning.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from fixtures.cloud import api_unavailable
from fixtures.errors import CouldNotRun

COULD_NOT_RUN = "could-not-run"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    excinfo = call.excinfo
    unrun = None if excinfo is None else excinfo.value
    if unrun is not None and not isinstance(unrun, CouldNotRun):
        unrun = api_unavailable(unrun)
    if isinstance(unrun, CouldNotRun):
        report.outcome = "failed"
        report.longrepr = f"could not run: {unrun}"
        report.user_properties.append(("outcome", COULD_NOT_RUN))
    return report


def could_not_run(report: pytest.TestReport | pytest.CollectReport) -> bool:
    props = getattr(report, "user_properties", ())  # a CollectReport has none
    return any(k == "outcome" and v == COULD_NOT_RUN for k, v in props)


def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, str] | None:
    if report.failed and could_not_run(report):
        return "error", "N", "COULD NOT RUN"
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

"""Waivers: a failure the site has accepted, until a date, is reported as *waived*: the pytest hooks over :mod:`afterboot.verdict.waivers`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from pathlib import Path

import pytest

from afterboot.checks.hosts import host_of
from afterboot.checks.identity import check_key
from afterboot.reports.reportfiles import ENTRY_PROPERTY, Entry
from afterboot.settings import settings
from afterboot.verdict.outcomes import WAIVED, could_not_run
from afterboot.verdict.remediation import findings_of
from afterboot.verdict.waiverfile import (
    APPLIED,
    EXPIRED,
    WAIVER_PROPERTY,
    WaiverBook,
    WaiverError,
    WaiverUse,
    book,
    book_key,
    judge,
    ledger_lines,
    load,
)
from afterboot.verdict.waivers import _Ledger, _location


def pytest_configure(config: pytest.Config) -> None:
    s = settings(config).waivers
    if s.value is None:
        config.stash[book_key] = WaiverBook()
        return
    try:
        config.stash[book_key] = WaiverBook(str(s.value), load(Path(str(s.value))))
    except WaiverError as exc:
        raise pytest.UsageError(f"waivers (from {s.source}): {exc}") from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    waivers = book(item.config).waivers
    check = item.stash.get(check_key, None)
    if (
        not waivers
        or check is None
        or not report.failed
        or report.when not in ("setup", "call")
        or could_not_run(report)
    ):
        return report
    found = findings_of(item, report)
    verdict = judge(waivers, check.id, found, dt.date.today())
    props: list[tuple[str, object]] = []
    if verdict.waived:
        text = "waived: " + "; ".join(w.describe() for w in verdict.applied)
        message = report.longreprtext.strip()
        report.sections.append(("Waived failure", message))
        report.outcome = "skipped"
        report.longrepr = (*_location(item), text)
        first = next((line for line in message.splitlines() if line.startswith("E ")), "")
        entry = Entry(
            check.id, check.tier, report.nodeid, host_of(item), WAIVED,
            first.removeprefix("E").strip()[:500], findings=tuple(found), waiver=text,
        )  # fmt: skip
        props.append(("outcome", WAIVED))
        props.append((ENTRY_PROPERTY, entry.to_json()))
        props.extend(
            (WAIVER_PROPERTY, WaiverUse(w.key, APPLIED, report.nodeid, w.describe()).to_json())
            for w in verdict.applied
        )
    elif verdict.expired:
        text = "; ".join(w.describe() for w in verdict.expired)
        report.sections.append(
            ("Waiver expired", f"{text}\nThe failure counts again: fix it, or renew the waiver.")
        )
        props.extend(
            (WAIVER_PROPERTY, WaiverUse(w.key, EXPIRED, report.nodeid, w.describe()).to_json())
            for w in verdict.expired
        )
    report.user_properties.extend(props)
    item.user_properties.extend(props)  # JUnit writes the teardown report's properties
    return report


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.pluginmanager.register(_Ledger(book(session.config)), "afterboot-waiver-ledger")


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    waivers = book(config)
    if not waivers.waivers:
        return
    terminalreporter.write_sep("=", f"waivers ({waivers.source})", yellow=True)
    for line in ledger_lines(waivers.rows(), dt.date.today()):
        terminalreporter.write_line(line)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The ledger as JUnit testsuite properties, before the JUnit writer writes its file."""
    config = session.config
    waivers = book(config)
    if not waivers.waivers or hasattr(config, "workerinput"):
        return
    writers = [p for p in config.pluginmanager.get_plugins() if hasattr(p, "add_global_property")]
    lines = ledger_lines(waivers.rows(), dt.date.today())
    for writer in writers:
        for w, line in zip(waivers.waivers, lines, strict=True):
            writer.add_global_property(f"waiver {w.key}", line)

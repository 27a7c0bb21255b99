"""Waivers: a failure the site has accepted, until a date, is reported as *waived*.

Hooks only; the file format and the judgement live in :mod:`afterboot.verdict.waiverfile`. In the
worker (or the only process) a failed check whose every finding a waiver in force covers
becomes a skipped report tagged ``waived`` (``w``/``WAIVED`` in the terminal, ``<skipped>``
in JUnit, *skipped* with a "waived:" message in Allure), keeping the original failure as a
section; a matching waiver past its date leaves the failure failed and says so. On the
controller every waiver is listed with what it did: in the terminal, summary.json and as
JUnit testsuite properties.
Could-not-run results are never waived: they say nothing about the cloud.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from afterboot.checks.hosts import host_of
from afterboot.checks.identity import check_key
from afterboot.verdict.entries import ENTRY_PROPERTY, WAIVED, Entry
from afterboot.verdict.outcomes import could_not_run
from afterboot.verdict.remediation import findings_of
from afterboot.verdict.waiverfile import (
    APPLIED,
    EXPIRED,
    WAIVER_PROPERTY,
    WaiverBook,
    WaiverUse,
    book,
    judge,
    ledger_lines,
)


def _location(item: pytest.Item) -> tuple[str, int]:
    path, line = item.reportinfo()[:2]
    return os.fspath(path), (line or 0) + 1


class Ledger:
    """On the controller: every waiver's uses, as the reports arrive (also from workers)."""

    def __init__(self, waivers: WaiverBook) -> None:
        self.book = waivers

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown" or not self.book.waivers:
            return
        for key, value in report.user_properties:
            if key == WAIVER_PROPERTY:
                use = WaiverUse.from_json(str(value))
                if use not in self.book.uses:
                    self.book.uses.append(use)


def apply_waivers(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> pytest.TestReport:
    """A failure a waiver covers becomes waived (skipped); an expired waiver is said."""
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


def ledger_properties(session: pytest.Session) -> None:
    """The waiver ledger as JUnit testsuite properties (before the JUnit writer writes its file)."""
    config = session.config
    waivers = book(config)
    if not waivers.waivers or hasattr(config, "workerinput"):
        return
    writers = [p for p in config.pluginmanager.get_plugins() if hasattr(p, "add_global_property")]
    lines = ledger_lines(waivers.rows(), dt.date.today())
    for writer in writers:
        for w, line in zip(waivers.waivers, lines, strict=True):
            writer.add_global_property(f"waiver {w.key}", line)

"""Two outcomes kept apart: *the cloud is wrong* (failed) and *the check could not run*.

A :class:`~afterboot.errors.CouldNotRun` raised anywhere in a check (an unreachable host,
bad credentials, a command past its deadline), or an API erring on its side while a check
reads the cloud through it, ends the test as an error whose whole report is one line
naming what to fix, tagged ``could-not-run`` for JUnit and the summary. Everything else
keeps pytest's normal meaning.
"""

from __future__ import annotations

import pytest

from afterboot.errors import CouldNotRun
from afterboot.reads.cloud import api_unavailable
from afterboot.verdict.entries import BROKEN, COULD_NOT_RUN, WAIVED


def _verdict(exc: BaseException) -> bool:
    """An assertion (or ``pytest.fail``) is the check's verdict; anything else is a bug."""
    return isinstance(exc, (AssertionError, pytest.fail.Exception))


def broken(report: pytest.TestReport) -> bool:
    """The check itself failed (an unexpected exception), whatever the cloud's state."""
    return report.failed and any(k == "outcome" and v == BROKEN for k, v in report.user_properties)


def could_not_run(report: pytest.TestReport | pytest.CollectReport) -> bool:
    props = getattr(report, "user_properties", ())  # a CollectReport has none
    return any(k == "outcome" and v == COULD_NOT_RUN for k, v in props)


def waived(report: pytest.TestReport | pytest.CollectReport) -> bool:
    props = getattr(report, "user_properties", ())
    return report.skipped and any(k == "outcome" and v == WAIVED for k, v in props)


def outcome_of(report: pytest.TestReport) -> str:
    """passed, failed, broken, could-not-run, waived, blocked or skipped: what a phase report
    says."""
    if report.failed:
        return COULD_NOT_RUN if could_not_run(report) else BROKEN if broken(report) else "failed"
    if report.skipped:
        if waived(report):
            return WAIVED
        blocked = any(k == "blocked_by" for k, _ in report.user_properties)
        return "blocked" if blocked else "skipped"
    return "passed"


def unrun_report(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport | None:
    """A could-not-run check's report, made at once: its one line, no traceback formatted.

    pytest formats a failure's traceback from the check's source (each entry parses the
    module again): ~0.1 s a report, minutes for a fleet whose silent hosts each end a few
    checks could-not-run. :func:`classify` gives it its outcome as for any other."""
    excinfo = call.excinfo
    if excinfo is None or call.when == "collect" or not isinstance(excinfo.value, CouldNotRun):
        return None
    sections = [(f"Captured {key} {when}", text) for when, key, text in item._report_sections]
    return pytest.TestReport(
        item.nodeid,
        item.location,
        dict.fromkeys(item.keywords, 1),
        "failed",
        f"could not run: {excinfo.value}",
        call.when,
        sections,
        call.duration,
        call.start,
        call.stop,
        user_properties=item.user_properties,
    )


def classify(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> pytest.TestReport:
    """Could-not-run and broken told apart from a failed check (the cloud is wrong)."""
    excinfo = call.excinfo
    unrun = None if excinfo is None else excinfo.value
    if unrun is not None and not isinstance(unrun, CouldNotRun):
        unrun = api_unavailable(unrun)
    if isinstance(unrun, CouldNotRun):
        report.outcome = "failed"
        report.longrepr = f"could not run: {unrun}"
        report.user_properties.append(("outcome", COULD_NOT_RUN))
    elif report.failed and excinfo is not None and not _verdict(excinfo.value):
        report.user_properties.append(("outcome", BROKEN))
    return report

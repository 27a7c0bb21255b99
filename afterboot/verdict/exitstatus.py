"""Exit status by severity, in the manner of ``nova-status upgrade check``.

====  ==========================================================================
0     every check passed (waived failures included: the site accepted them)
1     a failure, but only of checks whose procedure severity is normal or minor
2     a failure of a check whose procedure severity is critical or blocker, or a bug in a
      check (an unexpected exception), or a failed test that is not a check or has no
      procedure: nothing says it is mild
3     could not run only: afterboot could not look somewhere, and found nothing wrong
4     usage error (bad option, inventory, procedure or waiver file): pytest's own
====  ==========================================================================

Decided on the controller in ``pytest_sessionfinish`` from the reports it saw (pytest-xdist
hands every worker's reports over), and only when pytest itself ended with 0 or 1: an
interrupted run, an internal error or an empty collection keep pytest's status.
"""

from __future__ import annotations

import enum

import pytest

from afterboot.procedures.book import severity
from afterboot.verdict.entries import BROKEN, COULD_NOT_RUN
from afterboot.verdict.outcomes import outcome_of

MILD = ("normal", "minor")


class Status(enum.IntEnum):
    PASSED = 0
    WARNING = 1
    FAILURE = 2
    COULD_NOT_RUN = 3
    USAGE = 4


def verdict(failed_severities: list[str], unrun: int) -> Status:
    """The run's status from the severities of its failures and its could-not-run count."""
    if any(s not in MILD for s in failed_severities):
        return Status.FAILURE
    if failed_severities:
        return Status.WARNING
    return Status.COULD_NOT_RUN if unrun else Status.PASSED


class Tally:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.failed: dict[str, str] = {}  # nodeid -> severity
        self.unrun: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = outcome_of(report)
        if outcome == COULD_NOT_RUN:
            self.unrun.add(report.nodeid)
        elif outcome == BROKEN:
            self.failed[report.nodeid] = BROKEN
        elif outcome == "failed":
            check = next((str(v) for k, v in report.user_properties if k == "check_id"), "")
            self.failed[report.nodeid] = severity(self.config, check) if check else ""

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.failed[report.nodeid or "collection"] = ""


tally_key = pytest.StashKey[Tally]()


def set_exit_status(session: pytest.Session) -> None:
    """The run's exit status from its verdicts (the most severe failure, could-not-run)."""
    tally = session.config.stash.get(tally_key, None)
    if tally is None or session.exitstatus not in (
        pytest.ExitCode.OK,
        pytest.ExitCode.TESTS_FAILED,
    ):
        return
    session.exitstatus = verdict(list(tally.failed.values()), len(tally.unrun))

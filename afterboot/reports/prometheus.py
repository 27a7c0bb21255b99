"""``--prometheus=FILE``: every check's outcome per host as a node_exporter textfile.

Hooks only (the format is :mod:`afterboot.reports.textfile`). Meant for the ``periodic`` phase run
from cron or a timer, with FILE in node_exporter's ``--collector.textfile.directory``. In
the worker each report carries its host (a ``host`` property); on the controller the
reports are folded into one result per check and host, and the file is written once at the
end of the session, atomically, keeping each failing check's last success from the file
it replaces.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from afterboot.checks.hosts import host_of
from afterboot.checks.identity import check_key
from afterboot.procedures.book import severity
from afterboot.reports.textfile import Result, last_successes, render, write_atomically
from afterboot.settings import settings
from afterboot.verdict.outcomes import outcome_of

# The worst outcome of a check's setup, call and teardown is its outcome.
_RANK = ("passed", "skipped", "blocked", "waived", "could_not_run", "failed", "broken")


def textfile_target(config: pytest.Config) -> Path | None:
    value = settings(config).prometheus.value
    return Path(str(value)) if value else None


class Results:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.rows: dict[str, Result] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = {str(k): str(v) for k, v in report.user_properties}
        check = props.get("check_id")
        if not check:
            return
        outcome = outcome_of(report).replace("-", "_")
        old = self.rows.get(report.nodeid)
        if old is not None:
            if _RANK.index(old.outcome) > _RANK.index(outcome):
                outcome = old.outcome
            seconds = old.seconds + report.duration
        else:
            seconds = report.duration
        self.rows[report.nodeid] = Result(
            check,
            props.get("host", old.host if old else ""),
            props.get("tier", ""),
            severity(self.config, check),
            outcome,
            seconds,
        )


results_key = pytest.StashKey[Results]()


def note_host(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> pytest.TestReport:
    """With --prometheus: the host of each check result, for its metric labels."""
    if textfile_target(item.config) is not None and item.stash.get(check_key, None) is not None:
        report.user_properties.append(("host", host_of(item)))
    return report


def write_textfile(session: pytest.Session) -> None:
    """With --prometheus: every check's outcome as a node_exporter textfile."""
    config = session.config
    results = config.stash.get(results_key, None)
    target = textfile_target(config)
    if results is None or target is None or not results.rows:
        return
    try:
        previous = last_successes(target.read_text()) if target.is_file() else {}
        rows, phase = list(results.rows.values()), settings(config).phase.value
        text = render(rows, phase, time.time(), previous)
        write_atomically(target, text)
    except (OSError, ValueError) as exc:  # ValueError: a file that is not text (a link)
        # a timer job must not go stale silently: one line, and the run fails (status 4,
        # the option's target being unusable)
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        sys.stderr.write(f"ERROR: afterboot: prometheus textfile {target}: {why}\n")
        session.exitstatus = pytest.ExitCode.USAGE_ERROR

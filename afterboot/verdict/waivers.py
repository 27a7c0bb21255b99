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

import os

import pytest

from afterboot.verdict.waiverfile import (
    WAIVER_PROPERTY,
    WaiverBook,
    WaiverUse,
)


def _location(item: pytest.Item) -> tuple[str, int]:
    path, line = item.reportinfo()[:2]
    return os.fspath(path), (line or 0) + 1


class _Ledger:
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

"""Waivers: a failure the site has accepted, until a date, is reported as *waived*.

The pytest hooks of it; the work is in :mod:`afterboot.verdict.waivers`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from afterboot.settings import settings
from afterboot.verdict.waiverfile import (
    WaiverBook,
    WaiverError,
    book,
    book_key,
    ledger_lines,
    load,
)
from afterboot.verdict.waivers import Ledger


def pytest_configure(config: pytest.Config) -> None:
    s = settings(config).waivers
    if s.value is None:
        config.stash[book_key] = WaiverBook()
        return
    try:
        config.stash[book_key] = WaiverBook(str(s.value), load(Path(str(s.value))))
    except WaiverError as exc:
        raise pytest.UsageError(f"waivers (from {s.source}): {exc}") from None


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.pluginmanager.register(Ledger(book(session.config)), "afterboot-waiver-ledger")


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    waivers = book(config)
    if not waivers.waivers:
        return
    terminalreporter.write_sep("=", f"waivers ({waivers.source})", yellow=True)
    for line in ledger_lines(waivers.rows(), dt.date.today()):
        terminalreporter.write_line(line)

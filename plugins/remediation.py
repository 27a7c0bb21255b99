"""Remediation: every failed check shows its filled-in procedure, ordered by tier.

The pytest hooks of it; the work is in :mod:`afterboot.verdict.remediation`.
"""

from __future__ import annotations

import pytest

from afterboot.procedures.book import procedures
from afterboot.reports.reportfiles import summary_lines
from afterboot.settings import reports_dir
from afterboot.verdict.entries import WAIVED
from afterboot.verdict.remediation import Collector, collector_key, entries, host_specs


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    collector = Collector()
    session.config.stash[collector_key] = collector
    session.config.pluginmanager.register(collector, "afterboot-remediation-collector")


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    found = entries(config)
    if all(e.outcome == WAIVED for e in found):
        return  # nothing to do; the waivers section lists what was waived
    terminalreporter.write_sep("=", "remediation (lowest tier first: start there)", red=True)
    for line in summary_lines(found, procedures(config), host_specs(config)):
        terminalreporter.write_line(line)
    out = reports_dir(config)
    terminalreporter.write_line(f"plan: {out / 'summary.json'}, {out / 'remediation.sh'}")

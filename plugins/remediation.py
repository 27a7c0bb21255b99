"""Remediation: every failed check shows its filled-in procedure, ordered by tier: the pytest hooks over :mod:`afterboot.verdict.remediation`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from afterboot.procedures.book import procedures
from afterboot.redact import redact_tree
from afterboot.reports.manifest import manifest
from afterboot.reports.reportfiles import (
    WAIVED,
    script,
    summary_data,
    summary_lines,
)
from afterboot.settings import reports_dir
from afterboot.verdict.remediation import (
    _Collector,
    _collector_key,
    entries,
    host_specs,
    meta,
)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    collector = _Collector()
    session.config.stash[_collector_key] = collector
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


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    collector = config.stash.get(_collector_key, None)
    if hasattr(config, "workerinput") or collector is None or not collector.checks_seen:
        return  # a worker, the catalog listing, or a run without checks (our own tests)
    found, procs, info = entries(config), procedures(config), meta(config)
    info = {**info, "run": manifest(config), "judged": collector.judged(found)}
    specs = host_specs(config)
    out = reports_dir(config)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(
            json.dumps(summary_data(found, procs, info, specs), indent=2)
        )
        plan = out / "remediation.sh"
        plan.write_text(script(found, procs, info, specs))
        plan.chmod(0o644)  # not executable: a human reviews it first
    except OSError as exc:
        config.issue_config_time_warning(pytest.PytestWarning(f"afterboot: {exc}"), stacklevel=2)
    # The last pass over files other plugins wrote (JUnit XML), whatever they contain.
    xml = getattr(config.option, "xmlpath", None)
    redact_tree([Path(xml)] if xml else [])

"""The plan a run leaves: `summary.json` and `remediation.sh` in the reports directory,
written by the controller at the session's end, then the last redaction pass over JUnit's
file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from afterboot.procedures.book import procedures
from afterboot.redact import redact_tree
from afterboot.reports.manifest import manifest
from afterboot.reports.reportfiles import script, summary_data
from afterboot.settings import reports_dir
from afterboot.verdict.remediation import collector_key, entries, host_specs, meta


def write_plan(session: pytest.Session) -> None:
    """summary.json and remediation.sh; then the last redaction pass over JUnit's file."""
    config = session.config
    collector = config.stash.get(collector_key, None)
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

"""Remediation: every failed check shows its filled-in procedure, ordered by tier.

Hooks and options only. In the worker (or the only process) a failed check gets a
"Remediation" section and JUnit properties (``remediation`` text, ``afterboot`` JSON: check,
tier, host, outcome, findings); every report then passes through the redaction layer.
On the controller the reports are gathered in ``pytest_runtest_logreport`` (xdist hands
them over serialized), summarised in ``pytest_terminal_summary`` and written once to
``summary.json`` and ``remediation.sh`` in the reports directory.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from afterboot.checks.catalog import Check
from afterboot.checks.findings import Finding, item_findings
from afterboot.checks.hosts import host_of
from afterboot.checks.identity import check_key
from afterboot.inventory.load import loaded_inventory
from afterboot.inventory.model import HostSpec
from afterboot.procedures.book import procedures
from afterboot.procedures.runbook import Procedure, message_findings
from afterboot.procedures.signatures import CAUSE_PROPERTY
from afterboot.procedures.text import procedure_text
from afterboot.redact import redact_obj
from afterboot.settings import settings
from afterboot.verdict.blocking import relabel
from afterboot.verdict.entries import (
    BLOCKED,
    BROKEN,
    COULD_NOT_RUN,
    ENTRY_PROPERTY,
    FAILED,
    NEW_PROPERTY,
    WAIVED,
    Entry,
)
from afterboot.verdict.outcomes import broken, could_not_run
from afterboot.verdict.roots import ROOT_PROPERTY, from_property, root_label
from afterboot.verdict.settle import summary as settle_summary
from afterboot.verdict.waiverfile import WAIVER_PROPERTY, WaiverUse, book


def _message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr or "")
    return text.strip()


def host_specs(config: pytest.Config) -> dict[str, HostSpec]:
    """The inventory's hosts by name, which the host commands are adapted to (the whole
    inventory: a step may run on a host other than the check's, ``host_from``)."""
    inv = loaded_inventory(config)
    return dict(inv.hosts) if inv else {}


def _findings(item: pytest.Item, proc: Procedure | None, host: str, message: str) -> list[Finding]:
    explicit = item_findings(item)
    if explicit:
        return [
            f if f.host else Finding(f.subject, host, f.expected, f.actual, f.extra)
            for f in explicit
        ]
    derived = message_findings(proc, message, host) if proc else []
    return derived or [Finding(host=host)]


def findings_of(item: pytest.Item, report: pytest.TestReport) -> list[Finding]:
    """What a failed check names: its findings, else those its procedure reads from the
    assertion message, else its host."""
    check = item.stash.get(check_key, None)
    proc = procedures(item.config).get(check.id) if check else None
    return _findings(item, proc, host_of(item), _message(report))


def _annotate(item: pytest.Item, report: pytest.TestReport, check: Check) -> None:
    procs = procedures(item.config)
    proc = procs.get(check.id)
    host = host_of(item)
    message = _message(report)
    found = _findings(item, proc, host, message)
    entry = Entry(
        check.id,
        check.tier,
        report.nodeid,
        host,
        COULD_NOT_RUN if could_not_run(report) else BROKEN if broken(report) else FAILED,
        message.splitlines()[0][:500] if message else "",
        findings=tuple(found),
        waiver="; ".join(
            WaiverUse.from_json(str(v)).description
            for k, v in report.user_properties
            if k == WAIVER_PROPERTY
        ),
        cause=next((str(v) for k, v in report.user_properties if k == CAUSE_PROPERTY), ""),
    )
    root, root_hosts = from_property(
        next((str(v) for k, v in report.user_properties if k == ROOT_PROPERTY), "")
    )
    entry = replace(entry, root=root, root_hosts=root_hosts)
    if entry.outcome == COULD_NOT_RUN:
        # Not the cloud's fault (yet): the remediation is to let the check look.
        reason = entry.message.removeprefix("could not run: ")
        text = (
            f"{check.id} could not run: {reason}\n"
            "Fix what the line names (reach the host, credentials, --timeout), then run "
            "again; the check's procedure applies once it can look."
        )
    elif entry.outcome == BROKEN:
        text = (
            f"{check.id} raised an unexpected exception: a bug in the check, which has not "
            f"judged the cloud.\nReport it with the traceback above; {check.id}'s procedure "
            "applies only once the check gives a verdict."
        )
    else:
        text = procedure_text(
            proc,
            check.id,
            found,
            [entry.cause],
            host_specs(item.config),
            tier=check.tier,
            roots=[root_label(entry)],
        )
    report.sections.append(("Remediation", text))
    for props in (report.user_properties, item.user_properties):  # JUnit reads teardown's
        props.append(("remediation", text))
        props.append((ENTRY_PROPERTY, entry.to_json()))


def _redacted(config: pytest.Config, report: pytest.TestReport) -> pytest.TestReport:
    """The report with every string passed through the redaction layer (same type), but
    its identity: the node id and location name the test (an xdist worker checks that a
    report is the test it ran; Allure's history hangs on them), never what it found."""
    if report.longrepr is None and not report.sections:
        # it says nothing but its identity, its outcome and its properties (check ID, tier,
        # host): those redacted alone, where they need it, cost no serialising of the report
        props = redact_obj(report.user_properties)
        if props == report.user_properties:
            return report
    data = config.hook.pytest_report_to_serializable(config=config, report=report)
    if data is None:
        return report
    clean = redact_obj(data)
    if isinstance(clean, dict):
        clean.update({k: data[k] for k in ("nodeid", "location") if k in data})
    if clean == data:
        return report
    new = config.hook.pytest_report_from_serializable(config=config, data=clean)
    return new if isinstance(new, pytest.TestReport) else report


def _entry_of(report: pytest.TestReport) -> Entry | None:
    props = {str(k): v for k, v in report.user_properties}
    if ENTRY_PROPERTY not in props or not (report.failed or report.skipped):
        return None
    entry = Entry.from_json(str(props[ENTRY_PROPERTY]))
    if (
        NEW_PROPERTY in props
    ):  # --compare: afterboot/verdict/compare.py said whether it failed before
        entry = replace(entry, new=str(props[NEW_PROPERTY]) == "true")
    return entry if report.failed or entry.outcome in (BLOCKED, WAIVED) else None


class Collector:
    """Gathers failed/blocked entries as reports arrive (on the controller, from workers)."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.checks_seen = False
        self.outcomes: dict[str, tuple[str, str]] = {}  # nodeid -> (check, pytest outcome)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        check = next((str(v) for k, v in report.user_properties if k == "check_id"), "")
        self.checks_seen = self.checks_seen or bool(check)
        if report.when != "teardown":
            entry = _entry_of(report)
            if entry is not None:
                self.entries.append(entry)
            if check and (report.when == "call" or not report.passed):
                self.outcomes[report.nodeid] = (check, report.outcome)

    def judged(self, entries: list[Entry]) -> dict[str, Any]:
        """Every check this run judged, with its outcome (an entry's where it has one:
        could-not-run, blocked, waived...), and the count of each: the audit record of
        what was verified, not only of what failed."""
        said = {e.nodeid: e.outcome for e in entries}
        rows = [
            {"check": check, "nodeid": nodeid, "outcome": said.get(nodeid, outcome)}
            for nodeid, (check, outcome) in sorted(self.outcomes.items())
        ]
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
        return {"counts": dict(sorted(counts.items())), "results": rows}


collector_key = pytest.StashKey[Collector]()


def entries(config: pytest.Config) -> list[Entry]:
    """Failed, could-not-run and blocked checks of this run, as the controller saw them."""
    collector = config.stash.get(collector_key, None)
    found = list(collector.entries) if collector else []
    return relabel(config, found, procedures(config))


def meta(config: pytest.Config) -> dict[str, Any]:
    s = settings(config)
    info: dict[str, Any] = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "phase": s.phase.value,
        "cloud": s.os_cloud.value,
        "inventory": s.inventory.value,
    }
    waivers = book(config)
    if waivers.waivers:
        info["waivers"] = waivers.rows()
    info.update(settle_summary(config))  # --settle: how long each failing check took
    return info


def annotate_failure(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> pytest.TestReport:
    """A failed check gets its filled procedure and its entry; every report leaves redacted."""
    check = item.stash.get(check_key, None)
    if check is not None and report.failed and report.when in ("setup", "call"):
        _annotate(item, report, check)
    return _redacted(item.config, report)

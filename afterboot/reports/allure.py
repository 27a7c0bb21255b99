"""Allure: tier as epic, component as feature, check as story, severity, the check ID as
Allure id; the remediation attached with a link to its procedure; and, once per run on the
controller, ``categories.json`` (cloud broken / check could not run / blocked),
``environment.properties`` and ``executor.json``, the previous HTML report's ``history/``
(``reports/allure-html``, see :mod:`afterboot.reports.allure_html`), then a redaction pass.

Labels are set in the worker through ``allure.dynamic`` while allure-pytest still holds the
test open; nothing happens when ``--alluredir`` is not given.
"""

from __future__ import annotations

import importlib
import json
import platform
from pathlib import Path
from typing import Any

import pytest

from afterboot.checks.identity import check_key
from afterboot.procedures.book import procedures
from afterboot.procedures.text import tier_label
from afterboot.redact import redact, redact_tree
from afterboot.reports.allure_html import HTML, carry_history
from afterboot.reports.manifest import flat, manifest
from afterboot.reports.reportfiles import ALREADY_FAILING
from afterboot.settings import reports_dir, settings
from afterboot.verdict.entries import COULD_NOT_RUN, NEW_PROPERTY, WAIVED
from afterboot.verdict.outcomes import outcome_of
from afterboot.verdict.waiverfile import WAIVER_PROPERTY, WaiverUse, book

SEVERITY = {"blocker": "blocker", "critical": "critical", "normal": "normal", "minor": "minor"}

# Allure gives a result the first category whose statuses and regexes it matches (the
# regexes must match the whole message, hence "(?s)" and ".*").
CATEGORIES = [
    {
        "name": "Blocked by a root cause (fix the check it names first)",
        "matchedStatuses": ["skipped"],
        "messageRegex": "(?s).*blocked by.*",
    },
    {
        "name": "Waived (accepted by the site until the waiver expires)",
        "matchedStatuses": ["skipped"],
        "messageRegex": "(?s)waived: .*",
    },
    {
        "name": "Check could not run (fix access, credentials or the inventory)",
        "matchedStatuses": ["broken"],
        "messageRegex": "(?s)could not run: .*",
    },
    {
        "name": "Bug in a check (an unexpected exception: fix the check, not the cloud)",
        "matchedStatuses": ["broken"],
    },
    {"name": "Cloud is broken (follow the remediation)", "matchedStatuses": ["failed"]},
]


def alluredir(config: pytest.Config) -> Path | None:
    value = getattr(config.option, "allure_report_dir", None)
    return Path(value) if value else None


def _allure() -> Any:
    return importlib.import_module("allure")  # untyped library: used through Any


def _labels(item: pytest.Item) -> None:
    allure = _allure()

    check = item.stash.get(check_key, None)
    if check is None:
        return
    proc = procedures(item.config).get(check.id)
    allure.dynamic.epic(tier_label(check.tier))
    allure.dynamic.feature(check.component)
    allure.dynamic.story(f"{check.id} {check.title}")
    allure.dynamic.id(check.id)
    allure.dynamic.label("tier", str(check.tier))
    if proc is not None:
        allure.dynamic.severity(allure.severity_level(SEVERITY[proc.severity]))
        url = proc.runbook or Path(proc.source).as_uri()  # a site's text: redacted too
        allure.dynamic.link(redact(url), name=f"procedure {check.id}")


def _status_message(config: pytest.Config, report: pytest.TestReport) -> None:
    """Allure's message for a result that could not run or was waived starts with saying so,
    so that its category tells it from a bug in the check (both are exceptions to Allure)."""
    outcome = outcome_of(report)
    if outcome not in (COULD_NOT_RUN, WAIVED):
        return
    listener = config.pluginmanager.get_plugin("allure_listener")
    logger = getattr(listener, "allure_logger", None)
    result = logger.get_test(None) if logger is not None else None
    if result is None:
        return
    longrepr = report.longrepr
    text = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    details = getattr(result, "statusDetails", None)
    if details is None:
        result.statusDetails = _allure_commons_model().StatusDetails(message=redact(text))
    else:
        details.message = redact(text)


def _allure_commons_model() -> Any:
    return importlib.import_module("allure_commons.model2")


def _write(directory: Path, config: pytest.Config) -> None:
    s = settings(config)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "categories.json").write_text(json.dumps(CATEGORIES, indent=2))
    env = {
        "cloud": s.os_cloud.value or "(OS_* variables)",
        "inventory": s.inventory.value or "(none)",
        "phase": s.phase.value,
        "roles": ",".join(s.roles.value) or "(all)",
        "python": platform.python_version(),
        "pytest": pytest.__version__,
    }
    env.update(flat(manifest(config)))  # which afterboot, run by whom, on which cloud
    waivers = book(config)
    if waivers.waivers:
        env["waivers"] = f"{waivers.source} ({len(waivers.waivers)})"
    (directory / "environment.properties").write_text(
        "".join(f"{k} = {redact(str(v))}\n" for k, v in env.items())
    )
    executor = {
        "name": "afterboot",
        "type": "pytest",
        "buildName": f"afterboot {s.phase.value} {s.os_cloud.value or ''}".strip(),
        "reportName": "afterboot: OpenStack after reboot",
    }
    (directory / "executor.json").write_text(json.dumps(executor, indent=2))


def annotate_allure(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> pytest.TestReport:
    """With --alluredir: the result's labels, status message and attachments."""
    if alluredir(item.config) is None:
        return report
    allure = _allure()

    if report.when == "setup":
        _labels(item)
    if report.when == "teardown":
        return report
    _status_message(item.config, report)
    for key, value in report.user_properties:
        if key == WAIVER_PROPERTY:
            allure.attach(
                redact(WaiverUse.from_json(str(value)).description),
                name="Waiver" if report.skipped else "Waiver expired",
                attachment_type=allure.attachment_type.TEXT,
            )
        elif key == "remediation" and report.failed:
            allure.attach(
                redact(str(value)), name="Remediation", attachment_type=allure.attachment_type.TEXT
            )
        elif key == "blocked_by":
            allure.dynamic.label("blocked_by", redact(str(value)))
        elif key == NEW_PROPERTY and report.failed:  # --compare (afterboot/verdict/compare.py)
            allure.dynamic.label("new", str(value))
            allure.dynamic.tag("new failure" if value == "true" else ALREADY_FAILING)
    return report


def write_allure_files(session: pytest.Session) -> None:
    """With --alluredir: the environment, categories and history files, then redaction."""
    config = session.config
    directory = alluredir(config)
    if directory is None or hasattr(config, "workerinput"):
        return
    try:
        _write(directory, config)
        carry_history(reports_dir(config) / HTML, directory)
    except OSError as exc:
        config.issue_config_time_warning(pytest.PytestWarning(f"afterboot: {exc}"), stacklevel=2)
    redact_tree([directory])

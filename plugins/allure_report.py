"""Allure: tier as epic, component as feature, check as story, severity, the check ID as: the pytest hooks over :mod:`afterboot.reports.allure`."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from afterboot.redact import redact, redact_tree
from afterboot.reports.allure import _allure, _labels, _status_message, _write, alluredir
from afterboot.reports.allure_html import HTML, carry_history
from afterboot.reports.reportfiles import ALREADY_FAILING, NEW_PROPERTY
from afterboot.settings import reports_dir
from afterboot.verdict.waiverfile import WAIVER_PROPERTY, WaiverUse


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
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


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
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

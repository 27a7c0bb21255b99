"""Allure: tier as epic, component as feature, check as story, severity, the check ID as: the pytest hooks over :mod:`afterboot.reports.allure`."""

from __future__ import annotations

import pytest

from afterboot.redact import redact_tree
from afterboot.reports.allure import _write, alluredir
from afterboot.reports.allure_html import HTML, carry_history
from afterboot.settings import reports_dir


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

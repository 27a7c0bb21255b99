"""The verdict pipeline's two hooks (:mod:`afterboot.verdict.pipeline` declares the stages).

Judging wraps the report as an ordinary hook wrapper: its stages run before the wrappers
of plugins registered later (allure-pytest's listener), which see the judged report.
Exporting is the outermost wrapper: the entry, the redaction and the Allure annotations
come after every other plugin has seen the report.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from afterboot.verdict.pipeline import EXPORT, JUDGE, run


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    return run(JUDGE, item, call, report)


class _Export:
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        return run(EXPORT, item, call, report)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Export(), "afterboot-verdict-export")

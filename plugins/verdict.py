"""The verdict pipeline's hooks: :mod:`afterboot.pipeline` declares the stages and
their order; this module only says when each list runs.

A report is judged in an ordinary hook wrapper: its stages run before the wrappers of
plugins registered later (allure-pytest's listener), which see the judged report. It is
exported in the outermost wrapper, after every other plugin has seen it. At the session's
end the same two moments: before the JUnit writer writes its file, and after.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from afterboot.pipeline import BEFORE_WRITERS, EXPORT, FINISH, JUDGE, finish, run


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    return run(JUDGE, item, call, report)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    finish(BEFORE_WRITERS, session)


class _Last:
    """The second moment of each: registered at configure, after every plugin's own."""

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        return run(EXPORT, item, call, report)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        finish(FINISH, session)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Last(), "afterboot-verdict-last")

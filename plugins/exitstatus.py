"""Exit status by severity, in the manner of ``nova-status upgrade check``: the pytest hooks over :mod:`afterboot.verdict.exitstatus`."""

from __future__ import annotations

import pytest

from afterboot.verdict.exitstatus import _Tally, _tally_key, verdict


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        return
    tally = _Tally(session.config)
    session.config.stash[_tally_key] = tally
    session.config.pluginmanager.register(tally, "afterboot-exit-status")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    tally = session.config.stash.get(_tally_key, None)
    if tally is None or session.exitstatus not in (
        pytest.ExitCode.OK,
        pytest.ExitCode.TESTS_FAILED,
    ):
        return
    session.exitstatus = verdict(list(tally.failed.values()), len(tally.unrun))

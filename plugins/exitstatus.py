"""Exit status by severity, in the manner of ``nova-status upgrade check``: the pytest hooks over :mod:`afterboot.verdict.exitstatus`."""

from __future__ import annotations

import pytest

from afterboot.verdict.exitstatus import _Tally, _tally_key


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        return
    tally = _Tally(session.config)
    session.config.stash[_tally_key] = tally
    session.config.pluginmanager.register(tally, "afterboot-exit-status")



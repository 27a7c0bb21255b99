"""Exit status by severity, in the manner of ``nova-status upgrade check``.

The pytest hooks of it; the work is in :mod:`afterboot.verdict.exitstatus`.
"""

from __future__ import annotations

import pytest

from afterboot.verdict.exitstatus import Tally, tally_key


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        return
    tally = Tally(session.config)
    session.config.stash[tally_key] = tally
    session.config.pluginmanager.register(tally, "afterboot-exit-status")

"""The run's manifest: what an audit needs to know a report by.

The pytest hooks of it; the work is in :mod:`afterboot.reports.manifest`.
"""

from __future__ import annotations

import time

import pytest

from afterboot.reports.manifest import started_key


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[started_key] = time.time()

"""The run's manifest: what an audit needs to know a report by: the pytest hooks over :mod:`afterboot.reports.manifest`."""

from __future__ import annotations

import time

import pytest

from afterboot.reports.manifest import _started_key, flat, manifest


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_started_key] = time.time()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The manifest as JUnit testsuite properties, before the JUnit writer writes its file."""
    config = session.config
    writers = [p for p in config.pluginmanager.get_plugins() if hasattr(p, "add_global_property")]
    if not writers or hasattr(config, "workerinput"):
        return
    for key, value in flat(manifest(config)).items():
        for writer in writers:
            writer.add_global_property(f"afterboot {key}", value)

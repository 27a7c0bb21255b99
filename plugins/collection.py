"""The collection pass: read each host once, all hosts at once, then let the checks judge.

The pytest hooks of it; the work is in :mod:`afterboot.collection`.
"""

from __future__ import annotations

import contextlib

import pytest

from afterboot.collection import READS_HELP, unknown_reads


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", READS_HELP)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    bad = unknown_reads(items)
    if bad:
        raise pytest.UsageError(bad[0])


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller removes what the workers shared (it holds the hosts' raw reads)."""
    config = session.config
    if getattr(config, "workerinput", None) is None and getattr(
        config.option, "numprocesses", None
    ):
        base = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
        for name in ("afterboot-host-reads.json", "afterboot-host-reads.lock"):
            with contextlib.suppress(OSError):
                (base / name).unlink()

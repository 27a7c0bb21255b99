"""The collection pass: read each host once, all hosts at once, then let the checks judge.

The pytest hooks of it; the work is in :mod:`afterboot.collection`.
"""

from __future__ import annotations

import contextlib

import pytest

from afterboot.collection import (
    READS_HELP,
    also_reads_key,
    cloud_readers,
    reads_cloud,
    unknown_reads,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", READS_HELP)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    bad = unknown_reads(items)
    if bad:
        raise pytest.UsageError(bad[0])
    if not reads_cloud(config):  # shards 2..N: shard 1 reads the cloud for all of them
        drop = cloud_readers(items)
        # their host reads are made all the same: the shards are judged together
        config.stash[also_reads_key] = [*config.stash.get(also_reads_key, []), *drop]
        if drop:
            config.hook.pytest_deselected(items=drop)
            dropped = set(map(id, drop))
            items[:] = [it for it in items if id(it) not in dropped]


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

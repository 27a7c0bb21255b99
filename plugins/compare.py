"""Before and after: ``--compare=FILE`` judges this run against an earlier snapshot.

The pytest hooks of it; the work is in :mod:`afterboot.verdict.compare`.
"""

from __future__ import annotations

import time

import pytest

from afterboot.collection import also_reads_key
from afterboot.redact import redact
from afterboot.settings import settings
from afterboot.snapshotfile import read_when
from afterboot.verdict.compare import (
    PRE_MAINTENANCE,
    Judged,
    after_key,
    before_after,
    compared_key,
    current_identity,
    judged_key,
    load_compared,
    started_key,
)
from afterboot.verdict.compared import other_cloud


def pytest_configure(config: pytest.Config) -> None:
    load_compared(config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Another cloud's snapshot stops the run before any worker starts or host is read."""
    config = session.config
    config.stash[started_key] = time.time()
    if not hasattr(config, "workerinput"):
        config.stash[judged_key] = set()
        config.pluginmanager.register(Judged(config.stash[judged_key]), "afterboot-judged")
    base = config.stash.get(compared_key, None)
    if base is None or after_key in config.stash or hasattr(config, "workerinput"):
        return
    why = other_cloud(base.doc.get("identity"), current_identity(config))
    if why:
        source = settings(config).compare.source
        raise pytest.UsageError(
            f"compare (from {source}): {base.path} is a snapshot of another cloud: {why}"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Before/after checks only with --compare (their reads also in pre-maintenance);
    only them with --snapshot-file. Runs after the phase selection
    (:mod:`afterboot.checks.identity`)."""
    if settings(config).list_checks:
        return
    if compared_key not in config.stash:
        pairs = [it for it in items if before_after(it)]
        if settings(config).phase.value == PRE_MAINTENANCE:
            config.stash[also_reads_key] = pairs
        drop = pairs
    elif after_key in config.stash:
        drop = [it for it in items if not before_after(it)]
    else:
        return
    if drop:
        config.hook.pytest_deselected(items=drop)
        dropped = set(map(id, drop))
        items[:] = [it for it in items if id(it) not in dropped]


def pytest_report_header(config: pytest.Config) -> list[str]:
    base = config.stash.get(compared_key, None)
    if base is None:
        return []
    line = (
        f"afterboot: compare={base.path} (taken {read_when(base.doc)}, "
        f"phase {base.doc.get('phase') or '?'})"
    )
    after = config.stash.get(after_key, None)
    if after is not None:
        line += f", judging {after.path} (no host, no API)"
    elif not base.has_results:
        line += "; it holds no results: failures are not marked new"
    return [redact(line)]

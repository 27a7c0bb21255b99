"""Check identity: every check carries a stable ID and a restoration tier.

The pytest hooks of it; the work is in :mod:`afterboot.checks.identity`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from afterboot.checks.catalog import MARKER_HELP, format_catalog
from afterboot.checks.identity import (
    catalog_key,
    check_key,
    identify,
    selected,
    worker_error_key,
)
from afterboot.settings import settings


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    roots = [Path(p) for p in config.getini("afterboot_check_paths")]
    try:
        catalog = identify(items, roots)
    except pytest.UsageError as exc:
        workeroutput = getattr(config, "workeroutput", None)
        if workeroutput is None:
            raise
        # An xdist worker cannot stop the run with a usage error: it hands the line to
        # the controller (pytest_testnodedown below) and runs nothing.
        workeroutput["afterboot_usage_error"] = str(exc)
        items[:] = []
        return
    config.stash[catalog_key] = catalog
    s = settings(config)
    if s.list_checks:
        return
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        check = item.stash.get(check_key, None)
        if check is None or selected(check, s.phase.value, s.roles.value):
            keep.append(item)
        else:
            dropped.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    # Restoration order: the lowest tier first, so the first failure is the first fix.
    keep.sort(key=lambda it: it.stash[check_key].tier if check_key in it.stash else 1000)
    items[:] = keep


def pytest_testnodedown(node: Any, error: object) -> None:
    message = getattr(node, "workeroutput", {}).get("afterboot_usage_error")
    if message:
        node.config.stash[worker_error_key] = message


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    message = session.config.stash.get(worker_error_key, None)
    if message:
        sys.stderr.write(f"ERROR: {message}\n")
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


def pytest_runtestloop(session: pytest.Session) -> bool | None:
    config = session.config
    if not settings(config).list_checks:
        return None
    tr = config.pluginmanager.get_plugin("terminalreporter")
    s = settings(config)
    checks = [
        c
        for c in config.stash.get(catalog_key, {}).values()
        # a --phase (or --role) the operator gave lists what that run would judge; the
        # ini's or the default phase: every check
        if selected(
            c, s.phase.value if s.phase.source.startswith(("--", "$")) else "", s.roles.value
        )
    ]
    lines = format_catalog(checks)
    for line in lines:
        if tr is not None:
            tr.write_line(line)
        else:
            print(line)
    return True

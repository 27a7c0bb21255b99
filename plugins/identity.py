"""Check identity: every check carries a stable ID and a restoration tier.

The pytest hooks of it; the work is in :mod:`afterboot.checks.identity`.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from afterboot.checks.catalog import MARKER_HELP
from afterboot.checks.identity import (
    identify_and_select,
    list_checks,
    worker_error_key,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    identify_and_select(config, items)


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
    return list_checks(session.config)

"""Root cause first: a check whose dependency failed ends as *skipped, blocked by X on H*.

The pytest hooks of it; the work is in :mod:`afterboot.verdict.blocking`.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

import pytest

from afterboot.checks.hosts import host_of
from afterboot.checks.identity import check_key
from afterboot.procedures.book import procedures
from afterboot.procedures.dependencies import blocker, depth, root_of
from afterboot.settings import settings
from afterboot.verdict.blocking import (
    broken_checks,
    broken_key,
    dir_key,
    enabled,
    enabled_key,
    mark_broken,
)
from afterboot.verdict.entries import BLOCKED, ENTRY_PROPERTY, Entry


def pytest_configure(config: pytest.Config) -> None:
    config.stash[enabled_key] = bool(settings(config).blocking.value)
    config.stash[broken_key] = {}
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        config.stash[dir_key] = str(workerinput.get("afterboot_broken_dir", ""))
    elif getattr(config.option, "numprocesses", None):  # workers share what broke
        config.stash[dir_key] = tempfile.mkdtemp(prefix="afterboot-broken-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and config.stash.get(dir_key, ""):
        shutil.rmtree(config.stash[dir_key], ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    node.workerinput["afterboot_broken_dir"] = node.config.stash.get(dir_key, "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # After identity's tier sort (tryfirst): a dependency before its dependents in a tier.
    procs = procedures(config)

    def key(item: pytest.Item) -> tuple[int, int]:
        check = item.stash.get(check_key, None)
        return (check.tier, depth(check.id, procs)) if check else (1000, 0)

    items.sort(key=key)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    check = item.stash.get(check_key, None)
    if check is None or not enabled(item.config):
        return
    procs, host, broken = procedures(item.config), host_of(item), broken_checks(item.config)
    if blocker(procs.get(check.id), host, broken):
        cause = root_of(check.id, host, procs, broken)
        mark_broken(item.config, check.id, host)  # its own dependents are blocked too
        entry = Entry(check.id, check.tier, item.nodeid, host, BLOCKED, blocked_by=cause)
        item.user_properties.append(("blocked_by", cause))
        item.user_properties.append((ENTRY_PROPERTY, entry.to_json()))
        raise pytest.skip.Exception(f"blocked by {cause}", _use_item_location=True)

"""Root cause first: a check whose dependency failed ends as *skipped, blocked by X on H*.

Hooks and options only; the graph is ``depends_on`` in the procedures (plugins/dependencies).

How it stays sound with pytest-xdist: the run is ordered by tier, and within a tier by
dependency depth, so a dependency is normally handed out before its dependents. Every
process records the checks that failed; workers share them through a directory the
controller creates (passed in ``workerinput``), so a dependent skips when its dependency
already failed on *any* worker. A dependent that started before its dependency failed on
another worker still fails, and the controller, which sees every report, relabels it as
blocked in the remediation summary (``relabel``): the terminal summary, summary.json and
remediation.sh always name one root cause, whatever the scheduling. ``--no-blocking``
turns all of it off.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Generator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from plugins.dependencies import blocker, depth, root_of
from plugins.hosts import host_of
from plugins.identity import check_key
from plugins.procedure_book import procedures
from plugins.reportfiles import BLOCKED, ENTRY_PROPERTY, Entry
from plugins.runbook import Procedure

_broken_key = pytest.StashKey[dict[str, set[str]]]()
_dir_key = pytest.StashKey[str]()
_enabled_key = pytest.StashKey[bool]()
_TRUE = ("1", "true", "yes", "on")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("afterboot").addoption(
        "--no-blocking",
        dest="afterboot_no_blocking",
        action="store_true",
        default=None,
        help="run and fail dependents of a failed check instead of skipping them as blocked "
        "[env AFTERBOOT_NO_BLOCKING=1, ini afterboot_blocking = false]",
    )
    parser.addini(
        "afterboot_blocking", "skip dependents of a failed check", type="bool", default=True
    )


def enabled(config: pytest.Config) -> bool:
    return config.stash.get(_enabled_key, True)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("afterboot_no_blocking"):
        on = False
    elif os.environ.get("AFTERBOOT_NO_BLOCKING"):
        on = os.environ["AFTERBOOT_NO_BLOCKING"].lower() not in _TRUE
    else:
        on = bool(config.getini("afterboot_blocking"))
    config.stash[_enabled_key] = on
    config.stash[_broken_key] = {}
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        config.stash[_dir_key] = str(workerinput.get("afterboot_broken_dir", ""))
    elif config.pluginmanager.hasplugin("xdist"):
        config.stash[_dir_key] = tempfile.mkdtemp(prefix="afterboot-broken-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and config.stash.get(_dir_key, ""):
        shutil.rmtree(config.stash[_dir_key], ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    node.workerinput["afterboot_broken_dir"] = node.config.stash.get(_dir_key, "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # After identity's tier sort (tryfirst): a dependency before its dependents in a tier.
    procs = procedures(config)

    def key(item: pytest.Item) -> tuple[int, int]:
        check = item.stash.get(check_key, None)
        return (check.tier, depth(check.id, procs)) if check else (1000, 0)

    items.sort(key=key)


def _broken(config: pytest.Config) -> dict[str, set[str]]:
    broken = config.stash[_broken_key]
    shared = config.stash.get(_dir_key, "")
    if shared and os.path.isdir(shared):
        for name in os.listdir(shared):
            check, _, host = name.partition("@")
            broken.setdefault(check, set()).add(host)
    return broken


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    check = item.stash.get(check_key, None)
    if check is None or not enabled(item.config):
        return
    procs, host, broken = procedures(item.config), host_of(item), _broken(item.config)
    if blocker(procs.get(check.id), host, broken):
        cause = root_of(check.id, host, procs, broken)
        _mark_broken(item.config, check.id, host)  # its own dependents are blocked too
        entry = Entry(check.id, check.tier, item.nodeid, host, BLOCKED, blocked_by=cause)
        item.user_properties.append(("blocked_by", cause))
        item.user_properties.append((ENTRY_PROPERTY, entry.to_json()))
        raise pytest.skip.Exception(f"blocked by {cause}", _use_item_location=True)


def _mark_broken(config: pytest.Config, check: str, host: str) -> None:
    config.stash[_broken_key].setdefault(check, set()).add(host)
    shared = config.stash.get(_dir_key, "")
    if shared and os.path.isdir(shared):
        Path(shared, f"{check}@{host}").touch()


def mend(config: pytest.Config, check: str, host: str) -> None:
    """``check`` on ``host`` passed after all (``--settle``): it blocks nothing any more."""
    hosts = config.stash[_broken_key].get(check)
    if hosts is not None:
        hosts.discard(host)
        if not hosts:
            del config.stash[_broken_key][check]
    shared = config.stash.get(_dir_key, "")
    if shared:
        Path(shared, f"{check}@{host}").unlink(missing_ok=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    check = item.stash.get(check_key, None)
    if check is not None and report.failed and report.when in ("setup", "call"):
        _mark_broken(item.config, check.id, host_of(item))
    return report


def relabel(
    config: pytest.Config, entries: list[Entry], procs: dict[str, Procedure]
) -> list[Entry]:
    """On the controller: failures whose dependency also failed become *blocked*."""
    if not enabled(config):
        return entries
    broken: dict[str, set[str]] = {}
    for e in entries:
        broken.setdefault(e.check, set()).add(e.host)
    out = []
    for e in entries:
        if blocker(procs.get(e.check), e.host, broken):  # also re-rooted with all reports
            e = replace(e, outcome=BLOCKED, blocked_by=root_of(e.check, e.host, procs, broken))
        out.append(e)
    return out

"""Check identity: every check carries a stable ID and a restoration tier.

Collection stops with one line when a check under ``afterboot_check_paths`` has no ID, or
when two checks share one.  The run is ordered by tier (Table 11-1) and limited to the
checks of ``--phase`` and ``--role``; ``--list-checks`` prints the catalog and runs nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from plugins.catalog import MARKER_HELP, Check, CheckError, format_catalog, parse_marker
from plugins.options import settings

check_key = pytest.StashKey[Check]()
_catalog_key = pytest.StashKey[dict[str, Check]]()
_worker_error_key = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)


def _in_check_paths(item: pytest.Item, roots: list[Path]) -> bool:
    path = Path(item.path)
    return any(path == root or root in path.parents for root in roots)


def _where(item: pytest.Item) -> str:
    return item.nodeid.split("[", 1)[0]


def _identify(items: list[pytest.Item], roots: list[Path]) -> dict[str, Check]:
    catalog: dict[str, Check] = {}
    for item in items:
        marker = item.get_closest_marker("check")
        where = _where(item)
        if marker is None:
            if _in_check_paths(item, roots):
                raise pytest.UsageError(
                    f"{where}: check has no ID; add "
                    '@pytest.mark.check("AREA-NNN", tier=N) (IDs are listed by --list-checks)'
                )
            continue
        doc = getattr(getattr(item, "function", None), "__doc__", None)
        try:
            check = parse_marker(marker, where, doc)
        except CheckError as exc:
            raise pytest.UsageError(str(exc)) from None
        known = catalog.get(check.id)
        if known is not None and known.where != where:
            raise pytest.UsageError(f"check ID {check.id} is used twice: {known.where} and {where}")
        catalog[check.id] = check
        item.stash[check_key] = check
        item.extra_keyword_matches.add(check.id)  # -k NOVA-005 selects the check
        item.user_properties.append(("check_id", check.id))
        item.user_properties.append(("tier", str(check.tier)))
    return catalog


def _selected(check: Check, phase: str, roles: tuple[str, ...]) -> bool:
    """In the run of ``phase`` ("": any) limited to ``roles`` (none: every role)."""
    if phase and phase not in check.phases:
        return False
    return not roles or not check.roles or bool(set(roles) & set(check.roles))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    roots = [Path(p) for p in config.getini("afterboot_check_paths")]
    try:
        catalog = _identify(items, roots)
    except pytest.UsageError as exc:
        workeroutput = getattr(config, "workeroutput", None)
        if workeroutput is None:
            raise
        # An xdist worker cannot stop the run with a usage error: it hands the line to
        # the controller (pytest_testnodedown below) and runs nothing.
        workeroutput["afterboot_usage_error"] = str(exc)
        items[:] = []
        return
    config.stash[_catalog_key] = catalog
    s = settings(config)
    if s.list_checks:
        return
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        check = item.stash.get(check_key, None)
        if check is None or _selected(check, s.phase.value, s.roles.value):
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
        node.config.stash[_worker_error_key] = message


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    message = session.config.stash.get(_worker_error_key, None)
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
        for c in config.stash.get(_catalog_key, {}).values()
        # a --phase (or --role) the operator gave lists what that run would judge; the
        # ini's or the default phase: every check
        if _selected(
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


def catalog(config: pytest.Config) -> dict[str, Check]:
    """The checks collected in this run, by ID."""
    return config.stash.get(_catalog_key, {})

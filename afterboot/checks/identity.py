"""Check identity: every check carries a stable ID and a restoration tier.

Collection stops with one line when a check under ``afterboot_check_paths`` has no ID, or
when two checks share one.  The run is ordered by tier (Table 11-1) and limited to the
checks of ``--phase`` and ``--role``; ``--list-checks`` prints the catalog and runs nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from afterboot.checks.catalog import Check, CheckError, format_catalog, parse_marker
from afterboot.inventory.limits import check_roles, terms
from afterboot.settings import settings

check_key = pytest.StashKey[Check]()
catalog_key = pytest.StashKey[dict[str, Check]]()
worker_error_key = pytest.StashKey[str]()


def _in_check_paths(item: pytest.Item, roots: list[Path]) -> bool:
    path = Path(item.path)
    return any(path == root or root in path.parents for root in roots)


def _where(item: pytest.Item) -> str:
    return item.nodeid.split("[", 1)[0]


def identify(items: list[pytest.Item], roots: list[Path]) -> dict[str, Check]:
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


def selected(check: Check, phase: str, roles: tuple[str, ...]) -> bool:
    """In the run of ``phase`` ("": any) limited to the roles a --role pattern names
    (none: every role)."""
    if phase and phase not in check.phases:
        return False
    wanted = check_roles(terms(roles))
    return not wanted or not check.roles or bool(set(wanted) & set(check.roles))


def catalog(config: pytest.Config) -> dict[str, Check]:
    """The checks collected in this run, by ID."""
    return config.stash.get(catalog_key, {})


def identify_and_select(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every check identified (its marker, once per ID), then only those of this run's
    phase and roles kept, lowest tier first: the first failure is the first fix."""
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


def list_checks(config: pytest.Config) -> bool | None:
    """With --list-checks: the catalog printed, and the run done (None: not asked for)."""
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

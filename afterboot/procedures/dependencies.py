"""Root causes along the dependency graph kept in the procedures (``depends_on``).

Plain module. A dependency is *host*-scoped (only the dependent on the same host is
blocked: libvirtd down on compute-01 blocks compute-01's instance checks) or *cloud*-wide
(the database down blocks every API check). ``broken`` maps a check ID to the hosts it
failed on ("" for a check without host).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

from afterboot.procedures.runbook import Procedure

Broken = Mapping[str, set[str]]


SHOWN = 5  # hosts named in a blocker; beyond them a count (a fleet's thousands)


def describe(check: str, hosts: set[str] | list[str]) -> str:
    named = [h for h in hosts if h]
    if len(named) > SHOWN:
        first = heapq.nsmallest(SHOWN, named)
        return f"{check} on {', '.join(first)} and {len(named) - SHOWN} more"
    return f"{check} on {', '.join(sorted(named))}" if named else check


def blocker(proc: Procedure | None, host: str, broken: Broken) -> str | None:
    """``"SVC-001 on db-1"`` if a dependency of this check (for ``host``) is broken."""
    if proc is None:
        return None
    for dep in proc.depends_on:
        failed_on = broken.get(dep.check)
        if not failed_on:
            continue
        if dep.scope == "cloud":
            return describe(dep.check, failed_on)
        if host and host in failed_on:
            return describe(dep.check, [host])
    return None


def root_of(check: str, host: str, procs: Mapping[str, Procedure], broken: Broken) -> str:
    """Follow blockers down to the first broken check that is not itself blocked."""
    seen: set[str] = set()
    current, where = check, host
    while current not in seen:
        seen.add(current)
        found = blocker(procs.get(current), where, broken)
        if found is None:
            break
        current = found.split(" on ", 1)[0]
        hosts = broken.get(current, set())
        where = where if where in hosts else (min(hosts) if hosts else "")
    return describe(current, [where] if where else [])


def depth(check: str, procs: Mapping[str, Procedure], _seen: frozenset[str] = frozenset()) -> int:
    """How many dependencies deep a check is (0: depends on nothing); cycles stop."""
    proc = procs.get(check)
    if proc is None or check in _seen:
        return 0
    return max((1 + depth(d.check, procs, _seen | {check}) for d in proc.depends_on), default=0)

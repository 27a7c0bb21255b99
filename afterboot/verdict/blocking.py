"""Root cause first: a check whose dependency failed ends as *skipped, blocked by X on H*.

Hooks and options only; the graph is ``depends_on`` in the procedures (plugins/dependencies).

How it stays sound with pytest-xdist: the run is ordered by tier, and within a tier by
dependency depth, so a dependency is normally handed out before its dependents. Every
process records the checks that failed; workers share them through a directory the
controller creates (passed in ``workerinput``), so a dependent skips when its dependency
already failed on *any* worker. A dependent that started before its dependency failed on
another worker still fails, and the controller, which sees every report, relabels it as
blocked in the remediation summary (``relabel``): the terminal summary, summary.json and
remediation.sh always name one root cause, whatever the scheduling. A failure whose
evidence names its root in another service is blocked, there, by that service's own
failed check (:mod:`afterboot.verdict.roots`). ``--no-blocking`` turns all of it off.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from afterboot.checks.hosts import host_of
from afterboot.checks.identity import check_key
from afterboot.procedures.dependencies import blocker, root_of
from afterboot.procedures.runbook import Procedure
from afterboot.verdict.entries import BLOCKED, Entry
from afterboot.verdict.roots import blocked_by_root

broken_key = pytest.StashKey[dict[str, set[str]]]()
dir_key = pytest.StashKey[str]()
_listed_key = pytest.StashKey[int]()  # the shared directory's mtime when last listed
enabled_key = pytest.StashKey[bool]()
_TRUE = ("1", "true", "yes", "on")


def enabled(config: pytest.Config) -> bool:
    return config.stash.get(enabled_key, True)


def broken_checks(config: pytest.Config) -> dict[str, set[str]]:
    """The checks broken so far (here, and in the other xdist workers: their marks in the
    shared directory, listed again only when it changed)."""
    broken = config.stash[broken_key]
    shared = config.stash.get(dir_key, "")
    if shared:
        try:
            changed = os.stat(shared).st_mtime_ns
        except OSError:
            return broken
        if changed != config.stash.get(_listed_key, None):
            config.stash[_listed_key] = changed
            for name in os.listdir(shared):
                check, _, host = name.partition("@")
                broken.setdefault(check, set()).add(host)
    return broken


def mark_broken(config: pytest.Config, check: str, host: str) -> None:
    config.stash[broken_key].setdefault(check, set()).add(host)
    shared = config.stash.get(dir_key, "")
    if shared and os.path.isdir(shared):
        Path(shared, f"{check}@{host}").touch()


def mend(config: pytest.Config, check: str, host: str) -> None:
    """``check`` on ``host`` passed after all (``--settle``): it blocks nothing any more."""
    hosts = config.stash[broken_key].get(check)
    if hosts is not None:
        hosts.discard(host)
        if not hosts:
            del config.stash[broken_key][check]
    shared = config.stash.get(dir_key, "")
    if shared:
        Path(shared, f"{check}@{host}").unlink(missing_ok=True)


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
        elif by := blocked_by_root(e, entries):  # its evidence named a root that failed too
            e = replace(e, outcome=BLOCKED, blocked_by=by)
        out.append(e)
    return out


def note_broken(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> pytest.TestReport:
    """A check that failed (or could not run) is noted broken: its dependents are then blocked."""
    check = item.stash.get(check_key, None)
    if check is not None and report.failed and report.when in ("setup", "call"):
        mark_broken(item.config, check.id, host_of(item))
    return report

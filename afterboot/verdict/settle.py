"""``--settle=SECONDS``: right after a reboot, wait until the cloud has converged, then judge.

Round 1 runs every check as usual, but the reports of a check that fails or could not run
(and *settles*: ``@pytest.mark.check(..., settles=False)`` says waiting will not fix it)
are held back, as are the checks blocked behind one. Then, while a held check still fails
and the budget is not spent: wait (2 s, backing off to 15 s, never past the budget), read
again only what the held checks read (:func:`afterboot.collection.recollect`, run by the
first check of the round) and judge them again, printing one line per round. A check
that passes is not run again. At the end the last round's reports are logged, once: the
terminal, JUnit, Allure, summary.json and the exit status see the final verdict only, with
"passed after N s" / "still failing after N s" (seconds since the run started).

One process only: with pytest-xdist (``-n``) ``--settle`` is a usage error.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from _pytest.runner import runtestprotocol

from afterboot.checks.findings import findings_key
from afterboot.checks.hosts import host_of
from afterboot.checks.identity import check_key
from afterboot.collection import cloud_context, collect, needs
from afterboot.inventory.load import scoped_inventory
from afterboot.reads.cloudreads import CloudContext
from afterboot.reads.hostreads import is_shared
from afterboot.settings import settings
from afterboot.snapshot import Snapshot
from afterboot.transport.connections import Connections
from afterboot.verdict.blocking import mend
from afterboot.verdict.entries import COULD_NOT_RUN
from afterboot.verdict.outcomes import outcome_of

ENV = "AFTERBOOT_SETTLE"
FIRST_WAIT = 2.0  # seconds before the first round; each wait is 1.5 times the last
MAX_WAIT = 15.0
SETTLED_AFTER = "settled_after"
STILL_FAILING_AFTER = "still_failing_after"
FAILING = ("failed", COULD_NOT_RUN)  # judged again while the budget lasts
FINE = ("passed", "waived", "skipped")  # came back (a broken check is final: a bug)
# session fixtures a check reads the cloud through: retried when they failed (keystone down)
SOURCES = ("cloud", "db", "identity", "swift", "connections", "snapshot")


def budget(config: pytest.Config) -> float | None:
    """The settle budget in seconds (None: no settling)."""
    value = settings(config).settle.value
    return None if value is None else float(value)


@dataclass
class Held:
    """A check whose verdict waits: its latest reports and since when it fails."""

    item: pytest.Item
    reports: list[pytest.TestReport]
    outcome: str
    since: float  # seconds into the run when it first failed
    allure: Any = None  # its open Allure result, written once with the final verdict


@dataclass
class Row:
    """How one check that failed at some point ended (for the summary and summary.json)."""

    check: str
    host: str
    nodeid: str
    outcome: str
    after: float
    settles: bool = True

    def to_json(self) -> dict[str, Any]:
        key = SETTLED_AFTER if self.outcome in FINE else STILL_FAILING_AFTER
        data: dict[str, Any] = {
            "check": self.check,
            "host": self.host,
            "nodeid": self.nodeid,
            "outcome": self.outcome,
        }
        if self.settles:
            data[key] = round(self.after, 1)
        else:
            data["settles"] = False
        return data

    def line(self) -> str:
        if not self.settles:
            where = label_of(self.check, self.host)
            return f"{where} {self.outcome} (does not settle: not waited for)"
        after = round(self.after, 1)  # as summary.json says it: both round to one second alike
        if self.outcome in FINE:
            return f"{label_of(self.check, self.host)} {self.outcome} after {after:.0f} s"
        return f"{label_of(self.check, self.host)} still {self.outcome} after {after:.0f} s"


def label_of(check: str, host: str) -> str:
    return f"{check}@{host}" if host else check


class _KeepSession:
    """A ``nextitem`` that keeps only the session set up: the session's fixtures (the
    connections, the snapshot) live on between rounds."""

    def __init__(self, session: pytest.Session) -> None:
        self._session = session

    def listchain(self) -> list[Any]:
        return [self._session]


@dataclass
class Settle:
    config: pytest.Config
    budget: float
    started: float = field(default_factory=time.monotonic)
    held: dict[str, Held] = field(default_factory=dict)  # nodeid -> held, in run order
    rows: list[Row] = field(default_factory=list)
    rounds: int = 1
    seconds: float = 0.0
    ran: bool = False  # checks ran (not --list-checks, --collect-only)
    base_props: dict[str, list[tuple[str, object]]] = field(default_factory=dict)
    done_list: list[tuple[pytest.Item, list[pytest.TestReport], Any]] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() - self.started

    # -- one item ---------------------------------------------------------------------

    def run(self, item: pytest.Item, nextitem: pytest.Item | None) -> list[pytest.TestReport]:
        props = self.base_props.setdefault(item.nodeid, list(item.user_properties))
        item.user_properties[:] = props
        item._report_sections = []
        if findings_key in item.stash:
            del item.stash[findings_key]
        keep = nextitem if nextitem is not None else _KeepSession(item.session)
        return runtestprotocol(item, log=False, nextitem=cast(pytest.Item, keep))

    def first(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        """Round 1 for one item: logged at once unless its verdict can wait."""
        reports = self.run(item, nextitem)
        outcome = _outcome(reports)
        check = item.stash.get(check_key, None)
        if check is not None and outcome in FAILING and not check.settles:
            self.rows.append(Row(check.id, host_of(item), item.nodeid, outcome, self.now(), False))
        waits = check is not None and (
            (outcome in FAILING and check.settles) or outcome == "blocked"
        )
        if not waits and nextitem is None:  # the last: logged after the session's teardown
            self.done_list.append((item, reports, _allure_keep(item)))
            return
        if not waits:
            _log(item, reports)
            return
        self.held[item.nodeid] = Held(item, reports, outcome, self.now(), _allure_keep(item))

    # -- the rounds -------------------------------------------------------------------

    def waiting(self) -> list[Held]:
        """Held checks that may still come back (blocked ones wait for their blocker)."""
        return [h for h in self.held.values() if h.outcome in FAILING]

    def settle(self, session: pytest.Session) -> None:
        wait = FIRST_WAIT
        if self.waiting():
            self.progress([], f"; waiting up to {self.budget:g}s")
        grace = settings(self.config).timeout.value
        # what a round costs (at first what judging the held checks took in round 1): the
        # next one starts only if it ends within the budget and one --timeout
        cost = sum(r.duration for h in self.held.values() for r in h.reports)
        while self.waiting() and not (session.shouldfail or session.shouldstop):
            left = self.budget - self.now()
            pause = min(wait, left)
            if left <= 0 or pause + cost > left + grace:
                break
            time.sleep(pause)
            wait = min(wait * 1.5, MAX_WAIT)
            self.rounds += 1
            started = self.now()
            self.one_round(session)
            cost = self.now() - started

    def one_round(self, session: pytest.Session) -> None:
        todo = list(self.held.values())
        items = [h.item for h in todo]
        _retry_failed_sources(items)
        self.config.stash[again_key] = items  # read again by the round's first check
        back: list[tuple[Held, float]] = []
        for i, held in enumerate(todo):
            nextitem = items[i + 1] if i + 1 < len(items) else None
            _allure_drop(held)
            reports = self.run(held.item, nextitem)
            held.allure = _allure_keep(held.item)
            outcome = _outcome(reports)
            held.reports = reports
            check = held.item.stash[check_key]
            held.outcome = outcome
            if outcome in FAILING or outcome == "blocked":
                continue
            if outcome in FINE:
                mend(self.config, check.id, host_of(held.item))
                back.append((held, self.now()))
            self.rows.append(
                Row(check.id, host_of(held.item), held.item.nodeid, outcome, self.now())
            )
            del self.held[held.item.nodeid]
            self.done(held)
        if again_key in self.config.stash:
            del self.config.stash[again_key]
        self.progress(back)

    def progress(self, back: list[tuple[Held, float]], tail: str = "") -> None:
        still = self.waiting()
        names = ", ".join(f"{_label(h.item)} since {h.since:.0f}s" for h in still[:8])
        more = f" +{len(still) - 8} more" if len(still) > 8 else ""
        line = f"settle: round {self.rounds} at {self.now():.0f}s: {len(still)} still failing"
        if still:
            line += f" ({names}{more})"
        if back:
            line += "; back: " + ", ".join(f"{_label(h.item)} after {t:.0f}s" for h, t in back)
        _write_line(self.config, line + tail)

    # -- the verdict ------------------------------------------------------------------

    def done(self, held: Held) -> None:
        """Log a held check's final reports (now or at the end) with how long it took."""
        row = next((r for r in reversed(self.rows) if r.nodeid == held.item.nodeid), None)
        if row is not None:
            key = SETTLED_AFTER if row.outcome in FINE else STILL_FAILING_AFTER
            value = f"{row.after:.1f}"
            for report in held.reports:
                report.user_properties.append((key, value))
                report.sections.append(("Settle", row.line()))
            _allure_label(held, row.line())
        self.done_list.append((held.item, held.reports, held.allure))

    def finish(self, session: pytest.Session) -> None:
        for held in list(self.held.values()):
            check = held.item.stash[check_key]
            self.rows.append(
                Row(check.id, host_of(held.item), held.item.nodeid, held.outcome, self.now())
            )
            self.done(held)
        self.held.clear()
        self.seconds = self.now()


settle_key = pytest.StashKey[Settle]()


def _outcome(reports: list[pytest.TestReport]) -> str:
    """One run's outcome: the first failing phase's, else the setup's (skipped, blocked)."""
    for report in reports:
        if report.failed:
            return outcome_of(report)
    for report in reports:
        if report.skipped:
            return outcome_of(report)
    return "passed"


def _label(item: pytest.Item) -> str:
    check = item.stash.get(check_key, None)
    return label_of(check.id if check else item.nodeid, host_of(item))


def _log(item: pytest.Item, reports: list[pytest.TestReport]) -> None:
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    for report in reports:
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)


def _write_line(config: pytest.Config, line: str) -> None:
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None:
        tr.write_line(line)


def _retry_failed_sources(items: list[pytest.Item]) -> None:
    """Session fixtures that raised (keystone down, a database refused) are set up again
    when next asked for, as pytest-rerunfailures does: their cached error is dropped."""
    if not items:
        return
    manager = items[0].session._fixturemanager
    seen: set[int] = set()
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        names = set(getattr(info, "name2fixturedefs", {})) | set(SOURCES)
        for name in names:
            for fixturedef in manager.getfixturedefs(name, item) or ():
                if id(fixturedef) in seen:
                    continue
                seen.add(id(fixturedef))
                cached = fixturedef.cached_result
                if cached is not None and cached[2] is not None:
                    _forget(fixturedef)


def _forget(fixturedef: Any) -> None:
    """What ``FixtureDef.finish`` does, without a request: run what was registered while
    the fixture failed (pytest's post-finalizer hook, dependents' teardown), drop the
    cached error. pytest 9 asserts no finalizer is left before a fixture runs again."""
    finalizers = fixturedef._finalizers
    while finalizers:
        with contextlib.suppress(Exception):
            finalizers.pop()()
    fixturedef.cached_result = None


# -- Allure: one result per check, the final one -------------------------------------


def _allure_listener(config: pytest.Config) -> Any:
    return config.pluginmanager.get_plugin("allure_listener")


def _allure_keep(item: pytest.Item) -> Any:
    """Take the item's open Allure result from allure-pytest, which would write it now."""
    listener = _allure_listener(item.config)
    if listener is None:
        return None
    return listener._cache.pop(item.nodeid)


def _allure_drop(held: Held) -> None:
    """A new round's run replaces the result of the last."""
    listener = _allure_listener(held.item.config)
    if listener is not None and held.allure is not None:
        listener.allure_logger.drop_test(held.allure)
    held.allure = None


def _allure_label(held: Held, text: str) -> None:
    listener = _allure_listener(held.item.config)
    if listener is None or held.allure is None:
        return
    from allure_commons.model2 import Label

    result = listener.allure_logger.get_test(held.allure)
    if result is not None:
        result.labels.append(Label(name="settle", value=text))


def _allure_close(config: pytest.Config, uuid: Any) -> None:
    listener = _allure_listener(config)
    if listener is not None and uuid is not None:
        listener.allure_logger.close_test(uuid)


# -- hooks ---------------------------------------------------------------------------


def teardown_and_log(session: pytest.Session, state: Settle) -> None:
    """Tear the session down (its errors go to the last report, as in a plain run), then
    log every held check's final reports, in run order."""
    rank = {item.nodeid: i for i, item in enumerate(session.items)}
    done = sorted(state.done_list, key=lambda d: rank.get(d[0].nodeid, 0))
    state.done_list = []
    call = pytest.CallInfo.from_call(
        lambda: session._setupstate.teardown_exact(None),
        "teardown",
    )
    if call.excinfo is not None and done:
        item, reports, uuid = done[-1]
        report = item.ihook.pytest_runtest_makereport(item=item, call=call)
        done[-1] = (item, [r for r in reports if r.when != "teardown"] + [report], uuid)
    for item, reports, uuid in done:
        _log(item, reports)
        _allure_close(session.config, uuid)


def summary(config: pytest.Config) -> dict[str, Any]:
    """The settle section of summary.json (empty without --settle)."""
    state = config.stash.get(settle_key, None)
    if state is None or not state.ran:
        return {}
    return {
        "settle": {
            "budget": state.budget,
            "rounds": state.rounds,
            "seconds": round(state.seconds, 1),
            "checks": [row.to_json() for row in state.rows],
        }
    }


# --settle (afterboot/verdict/settle.py): the checks whose reads the next check to run reads again
again_key = pytest.StashKey[list[pytest.Item]]()


# Reads whose first sample --settle keeps beside the latest, as "<name>@first": a process
# in D in both that has not run in between was blocked the whole time (afterboot/domains/blocked.py)
FIRST_KEPT = ("blocked",)


def recollect(
    snap: Snapshot,
    connections: Connections,
    per_host: dict[str, set[str]],
    cloud_reads: set[str],
    context: Callable[[], CloudContext],
    timeout: float,
) -> None:
    """Read again only ``per_host`` and ``cloud_reads`` (what failing checks read, for
    ``--settle``) and put the new results into ``snap`` in place, so every check judging it
    (and each host's :class:`Remote`) sees them; the hosts' other reads are kept."""
    wanted = {name: reads for name, reads in per_host.items() if reads}
    fresh = collect(connections, wanted, cloud_reads, context, timeout)
    # a cluster's state a check read on a later host (a shared read the first hosts did not
    # answer) is not kept there: asked again, that host answers now, not its old answer
    cluster = {r for reads in wanted.values() for r in reads if is_shared(r)}
    for name, held in snap.hosts.items():
        if name in wanted:
            continue
        for read in cluster & held.reads.keys():
            del held.reads[read]
            connections[name].reads.pop(read, None)
    for name, host_snap in fresh.hosts.items():
        old = snap.hosts.get(name)
        if old is None:
            snap.hosts[name] = host_snap
            continue
        for read in FIRST_KEPT:  # what a later sample is compared with
            if read in old.reads and read in host_snap.reads:
                first = old.reads.setdefault(f"{read}@first", old.reads[read])
                connections[name].reads.setdefault(f"{read}@first", first)
        old.reads.update(host_snap.reads)
        old.unreachable = host_snap.unreachable
        old.started, old.ended = host_snap.started, host_snap.ended
        old.paths.update(host_snap.paths)
    snap.cloud.update(fresh.cloud)


def read_again_if_due(
    config: pytest.Config,
    snap: Snapshot,
    connections: Connections,
    fixture: Callable[[str], Any],
) -> None:
    """At a new round's first check: what the failing checks read, read again into ``snap``
    (nothing when no round is due)."""
    again = config.stash.get(again_key, None)
    if not again:
        return
    del config.stash[again_key]
    per_host, cloud_reads = needs(again, scoped_inventory(config))
    timeout = settings(config).timeout.value
    recollect(snap, connections, per_host, cloud_reads, cloud_context(timeout, fixture), timeout)

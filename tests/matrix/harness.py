"""The fault matrix: inject a real fault into the lab, run the suite, read what it said.

A run of the suite is a subprocess in the lab's operator namespace (exactly what an
operator runs), reading back ``reports/summary.json`` for the failed, could-not-run and
blocked checks, their hosts and the remediation steps rendered for them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.config import HOSTS

ROOT = Path(__file__).resolve().parents[2]
ROWS: list[str] = []  # the printed matrix: one line per fault, filled as batches run
LAB_HOSTS = frozenset(HOSTS)


@dataclass(frozen=True)
class Expect:
    """What the suite must say about one injected fault."""

    fault: str
    fails: tuple[str, ...]  # "CHECK-ID" or "CHECK-ID@host": must fail (the cloud is wrong)
    root: str  # the check the summary must name where to start (lowest broken tier)
    remedy: tuple[str, ...]  # texts the root's rendered remediation must contain
    may_fail: tuple[str, ...] = ()  # consequences allowed to fail too (timing-dependent)
    footprint: tuple[str, ...] = ()  # what the fault touches; faults sharing none run together
    phase: str = "post-reboot"
    settle_s: float = 0.0  # wait after injecting before the suite runs (with ``gone``: at most)
    # (host, service) whose process the fault ends (it exits on its own after the
    # injection): polled until gone, within settle_s, instead of sleeping it all
    gone: tuple[str, str] = ()
    # service records ("binary@host") the API must say are down before the suite runs: a
    # stopped service's record claims "up" for service_down_time (60 s); polled, not slept
    down: tuple[str, ...] = ()
    alone: bool = False  # its blast radius (keystone, database, queue) would hide others
    shares: bool = False  # may fail the same check as another sharing fault (remedy tells)
    # checks reading through what it broke could not run (not failed): on its hosts, or
    # anywhere for a fault run alone
    blinds: bool = False
    never: tuple[str, ...] = ()  # texts no rendered remediation may contain (a wrong remedy)
    cause: str = ""  # the log signature the root's result must name (plugins/signatures)
    # "CHECK@host": blocked, not failed, because its evidence named its root in another
    # service whose own check failed (afterboot/verdict/roots.py); the root's check is
    # what ``blocked_by`` must name
    blocked: tuple[str, ...] = ()


@dataclass
class Outcome:
    """One run of the suite, as its summary.json tells it."""

    exit_code: int
    failed: set[str] = field(default_factory=set)  # "CHECK@host" (host "" when cloud-wide)
    broken: set[str] = field(default_factory=set)  # a bug in a check: never the expected one
    could_not_run: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)
    blocked_by: dict[str, str] = field(default_factory=dict)  # "CHECK@host" -> its blocker
    start_here: set[str] = field(default_factory=set)  # checks of the lowest broken tier
    remediation: dict[str, str] = field(default_factory=dict)  # check -> rendered commands
    causes: dict[str, set[str]] = field(default_factory=dict)  # check -> signature IDs named
    messages: dict[str, str] = field(default_factory=dict)  # "CHECK@host" -> what it said
    script_errors: str = ""  # bash -n over remediation.sh: "" when it is valid shell
    tiers: dict[str, int] = field(default_factory=dict)  # check -> its restoration tier
    summary: bool = False  # the run wrote summary.json
    seconds: float = 0.0
    output: str = ""

    def alarms(self) -> set[str]:
        """What a healthy cloud must not show: failures, bugs, checks that could not run."""
        return self.failed | self.broken | self.could_not_run

    def unsound(self, healthy: bool) -> list[str]:
        """What makes a run no evidence at all, whatever it failed: no summary.json (a
        crash, a usage error), an exit status that is not a verdict's, a check's bug."""
        problems = []
        if not self.summary:
            last = (self.output.strip().splitlines() or ["no output"])[-1]
            problems.append(f"no summary.json (exit {self.exit_code}): {last[:200]}")
        expected = (0,) if healthy else (1, 2)
        if self.exit_code not in expected:
            problems.append(f"exit status {self.exit_code}, not {' or '.join(map(str, expected))}")
        problems.extend(
            f"bug in the check {k}: {self.messages.get(k, '?')}" for k in sorted(self.broken)
        )
        return problems

    def failed_checks(self) -> set[str]:
        return {k.split("@", 1)[0] for k in self.failed}

    def matches(self, spec: str, pool: set[str]) -> bool:
        if "@" in spec:
            return spec in pool
        return any(k.split("@", 1)[0] == spec for k in pool)


def suite_argv(reports: Path, *extra: str) -> list[str]:
    """The suite against the lab, as an operator runs it (``python -m lab run -- -q``)."""
    return [
        sys.executable,
        "-m",
        "lab",
        "run",
        "--",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--reports-dir={reports}",
        *extra,
    ]


def write_baseline(base: Path, reports: Path) -> subprocess.CompletedProcess[str]:
    """The lab's configuration baseline written to ``base`` (``--write-baseline``); the
    run must succeed."""
    proc = subprocess.run(
        suite_argv(reports, f"--write-baseline={base}"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def run_suite(
    reports: Path, phase: str = "post-reboot", extra: Sequence[str] = (), timeout: float = 900
) -> Outcome:
    """Run the suite against the lab (bringing nothing up), return what it reported."""
    reports.mkdir(parents=True, exist_ok=True)
    argv = suite_argv(reports, f"--phase={phase}", f"--junitxml={reports}/junit.xml", *extra)
    started = time.monotonic()
    proc = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    outcome = Outcome(
        proc.returncode,
        seconds=time.monotonic() - started,
        output=proc.stdout[-20000:] + proc.stderr[-5000:],
    )
    summary = reports / "summary.json"
    if not summary.exists():
        return outcome
    data = json.loads(summary.read_text())
    outcome.summary = True
    script = reports / "remediation.sh"
    if script.exists():
        syntax = subprocess.run(
            ["bash", "-n", str(script)], capture_output=True, text=True, check=False
        )
        outcome.script_errors = syntax.stderr.strip() if syntax.returncode else ""
    for check in data.get("checks", []):
        cid = check["check"]
        if isinstance(check.get("tier"), int):
            outcome.tiers[cid] = check["tier"]
        for result in check.get("results", []):
            if result.get("cause"):
                outcome.causes.setdefault(cid, set()).add(result["cause"].split(":", 1)[0])
            key = f"{cid}@{result.get('host') or ''}"
            if result.get("message"):
                outcome.messages[key] = result["message"][:300]
            if result.get("blocked_by"):
                outcome.blocked_by[key] = result["blocked_by"]
            {
                "failed": outcome.failed,
                "broken": outcome.broken,  # an alarm, never the failure a row expects
                "could-not-run": outcome.could_not_run,
                "blocked": outcome.blocked,
            }.get(result.get("outcome", ""), set()).add(key)
        if check.get("start_here"):
            outcome.start_here.add(cid)
        outcome.remediation[cid] = "\n".join(
            line
            for step in check.get("steps", [])
            for part in ("text", "commands")
            for line in step.get(part, ())
        )
    return outcome


def _judged(reports: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Each check result of a run's summary.json: its outcome and offenders."""
    data = json.loads((reports / "summary.json").read_text())
    got = {r["nodeid"]: (r["outcome"], ()) for r in data["judged"]["results"]}
    for check in data.get("checks", []):
        for r in check.get("results", []):
            subjects = tuple(
                sorted(f"{f.get('host')}:{f.get('subject')}" for f in r.get("findings") or [])
            )
            got[r["nodeid"]] = (r["outcome"], subjects)
    return got


def judged_again(reports: Path, phase: str) -> list[str]:
    """The run's snapshot judged again offline (``--from-snapshot``): every difference from
    what the run itself judged (outcome or offenders), one line each."""
    again = reports / "again"
    argv = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--phase={phase}",
        f"--from-snapshot={reports / 'snapshot.json'}", f"--reports-dir={again}",
    ]  # fmt: skip
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    if not (again / "summary.json").exists():
        return [f"judged again: no summary.json (exit {proc.returncode}): {proc.stderr[-300:]}"]
    live, offline = _judged(reports), _judged(again)
    return [
        f"judged again from its snapshot: {nodeid} {live.get(nodeid)} -> {offline.get(nodeid)}"
        for nodeid in sorted(set(live) | set(offline))
        if live.get(nodeid) != offline.get(nodeid)
    ]


def _overlap(a: str, b: str) -> bool:
    """Two check specs meet: same ID, and the same host unless either names none."""
    (ida, _, ha), (idb, _, hb) = a.partition("@"), b.partition("@")
    return ida == idb and (not ha or not hb or ha == hb)


def _checks(exp: Expect) -> set[str]:
    """The check IDs a fault may fail."""
    return {c.split("@", 1)[0] for c in (*exp.fails, exp.root, *exp.may_fail)}


def conflict(a: Expect, b: Expect) -> bool:
    """Injected together, could one fault's effects be mistaken for the other's?"""
    if a.alone or b.alone or a.phase != b.phase or set(a.footprint) & set(b.footprint):
        return True
    for x, y in ((a, b), (b, a)):
        if x.never and _checks(x) & _checks(y):
            return True  # what the other prescribes in a shared check would be blamed
        must = (*x.fails, x.root)
        if any(_overlap(m, o) for m in must for o in y.may_fail):
            return True
        # the same check failing for both is fine when each names its own offender
        if not (x.shares and y.shares) and any(
            _overlap(m, o) for m in must for o in (*y.fails, y.root)
        ):
            return True
    return False


def waits(exp: Expect) -> bool:
    """The fault needs time before the suite runs (a record to go stale, a process to die)."""
    return bool(exp.settle_s or exp.down)


def batches(expectations: Iterable[Expect]) -> list[list[Expect]]:
    """Group faults that cannot be mistaken for each other (greedy, in order; faults that
    wait first, so that their waits overlap in as few batches as can hold them)."""
    groups: list[list[Expect]] = []
    for exp in sorted(expectations, key=lambda e: not waits(e)):
        for members in groups:
            if not any(conflict(exp, m) for m in members):
                members.append(exp)
                break
        else:
            groups.append([exp])
    return groups


def _hosts(exp: Expect) -> set[str]:
    """The lab hosts a fault is about: named in its specs or its footprint."""
    named = {spec.partition("@")[2] for spec in (*exp.fails, exp.root, *exp.may_fail)}
    return (named | set(exp.footprint)) & LAB_HOSTS


def _allows(exp: Expect, key: str, specs: Iterable[str]) -> bool:
    """``key`` ("CHECK@host") is one of ``specs``: a spec with a host names it; a bare ID
    covers the fault's own hosts and cloud-wide results, any host for a fault run alone
    (its blast radius is the cloud), on the control plane (what every host's checks read
    through: nova's API failing while neutron is down) or that names no lab host."""
    cid, _, host = key.partition("@")
    hosts = _hosts(exp)
    if "controller" in hosts:
        hosts = set()
    for spec in specs:
        sid, _, shost = spec.partition("@")
        if sid != cid:
            continue
        if shost:
            if shost == host:
                return True
        elif exp.alone or not hosts or not host or host in hosts:
            return True
    return False


def verdict(batch: Sequence[Expect], outcome: Outcome) -> dict[str, list[str]]:
    """Problems per fault of the batch (empty lists: the suite said exactly the right thing)."""
    problems: dict[str, list[str]] = {e.fault: outcome.unsound(healthy=False) for e in batch}
    root_tiers = {e.root: outcome.tiers[e.root] for e in batch if e.root in outcome.tiers}
    first = min(root_tiers.values(), default=None)
    for exp in batch:
        for spec in exp.fails:
            if not outcome.matches(spec, outcome.failed):
                problems[exp.fault].append(f"{spec} did not fail")
        if not outcome.matches(exp.root, outcome.failed):
            problems[exp.fault].append(f"root {exp.root} did not fail")
        for spec in exp.blocked:
            if not outcome.matches(spec, outcome.blocked):
                problems[exp.fault].append(f"{spec} was not blocked by its root")
            by = [v for k, v in outcome.blocked_by.items() if outcome.matches(spec, {k})]
            if by and not any(b.startswith(exp.root.split("@", 1)[0]) for b in by):
                problems[exp.fault].append(f"{spec} blocked by {by}, not by {exp.root}")
        # every batch: the lowest tier among the roots is where the summary starts
        if root_tiers.get(exp.root) == first and exp.root not in outcome.start_here:
            problems[exp.fault].append(
                f"summary starts at {sorted(outcome.start_here)}, not {exp.root}"
            )
        text = outcome.remediation.get(exp.root.split("@", 1)[0], "")
        problems[exp.fault].extend(
            f"remediation of {exp.root} lacks {want!r}" for want in exp.remedy if want not in text
        )
        problems[exp.fault].extend(
            f"remediation of {cid} says {bad!r}"
            for cid in sorted(_checks(exp))
            for bad in exp.never
            if bad in outcome.remediation.get(cid, "")
        )
        named = outcome.causes.get(exp.root.split("@", 1)[0], set())
        if exp.cause and exp.cause not in named:
            problems[exp.fault].append(
                f"{exp.root} names cause {sorted(named) or 'none'}, not {exp.cause}"
            )
    if outcome.script_errors:
        for exp in batch:
            problems[exp.fault].append(
                f"remediation.sh is not valid shell: {outcome.script_errors}"
            )
    starts = sorted(c for c in outcome.start_here if not any(c in _checks(e) for e in batch))
    if starts:
        for exp in batch:
            problems[exp.fault].append(f"summary starts at unrelated {starts}")
    # each failure must be one a fault of the batch allows, on that fault's hosts; "could
    # not run" too (a consequence that reads through what the fault broke), or any check
    # on what a blinding fault took away (an API, the database); anywhere else it would
    # hide a broken check
    unexpected = sorted(
        [
            k
            for k in outcome.failed
            if not any(_allows(e, k, (*e.fails, *e.may_fail, e.root)) for e in batch)
        ]
        + [
            k
            for k in outcome.could_not_run
            if not any(
                _allows(e, k, (*e.fails, *e.may_fail, e.root))
                or (e.blinds and _allows(e, k, (k.partition("@")[0],)))
                for e in batch
            )
        ]
    )
    if unexpected:
        said = "; ".join(f"{k}: {outcome.messages.get(k, '?')}" for k in unexpected)
        for exp in batch:
            problems[exp.fault].append(f"unrelated failures: {said}")
    return problems

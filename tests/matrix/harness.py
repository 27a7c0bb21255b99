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

ROOT = Path(__file__).resolve().parents[2]
ROWS: list[str] = []  # the printed matrix: one line per fault, filled as batches run


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
    settle_s: float = 0.0  # wait after injecting before the suite runs
    alone: bool = False  # its blast radius (keystone, database, queue) would hide others
    shares: bool = False  # may fail the same check as another sharing fault (remedy tells)
    blinds: bool = False  # checks reading through what it broke could not run (not failed)
    never: tuple[str, ...] = ()  # texts no rendered remediation may contain (a wrong remedy)
    cause: str = ""  # the log signature the root's result must name (plugins/signatures)


@dataclass
class Outcome:
    """One run of the suite, as its summary.json tells it."""

    exit_code: int
    failed: set[str] = field(default_factory=set)  # "CHECK@host" (host "" when cloud-wide)
    could_not_run: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)
    start_here: set[str] = field(default_factory=set)  # checks of the lowest broken tier
    remediation: dict[str, str] = field(default_factory=dict)  # check -> rendered commands
    causes: dict[str, set[str]] = field(default_factory=dict)  # check -> signature IDs named
    messages: dict[str, str] = field(default_factory=dict)  # "CHECK@host" -> what it said
    script_errors: str = ""  # bash -n over remediation.sh: "" when it is valid shell
    seconds: float = 0.0
    output: str = ""

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
    script = reports / "remediation.sh"
    if script.exists():
        syntax = subprocess.run(
            ["bash", "-n", str(script)], capture_output=True, text=True, check=False
        )
        outcome.script_errors = syntax.stderr.strip() if syntax.returncode else ""
    for check in data.get("checks", []):
        cid = check["check"]
        for result in check.get("results", []):
            if result.get("cause"):
                outcome.causes.setdefault(cid, set()).add(result["cause"].split(":", 1)[0])
            key = f"{cid}@{result.get('host') or ''}"
            if result.get("message"):
                outcome.messages[key] = result["message"][:300]
            {
                "failed": outcome.failed,
                "broken": outcome.failed,  # a bug in a check is no less an alarm
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


def batches(expectations: Iterable[Expect]) -> list[list[Expect]]:
    """Group faults that cannot be mistaken for each other (greedy, in order)."""
    groups: list[list[Expect]] = []
    for exp in expectations:
        for members in groups:
            if not any(conflict(exp, m) for m in members):
                members.append(exp)
                break
        else:
            groups.append([exp])
    return groups


def verdict(batch: Sequence[Expect], outcome: Outcome) -> dict[str, list[str]]:
    """Problems per fault of the batch (empty lists: the suite said exactly the right thing)."""
    allowed = {s for e in batch for s in (*e.fails, *e.may_fail, e.root)}
    problems: dict[str, list[str]] = {e.fault: [] for e in batch}
    for exp in batch:
        for spec in exp.fails:
            if not outcome.matches(spec, outcome.failed):
                problems[exp.fault].append(f"{spec} did not fail")
        if not outcome.matches(exp.root, outcome.failed):
            problems[exp.fault].append(f"root {exp.root} did not fail")
        if len(batch) == 1 and exp.root not in outcome.start_here:
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
    # "could not run" is the right answer of a check that reads through an API or a
    # database the fault took away; anywhere else it would hide a broken check
    looked = outcome.failed | (set() if any(e.blinds for e in batch) else outcome.could_not_run)
    unexpected = sorted(
        k for k in looked if not any(k == s or k.split("@", 1)[0] == s for s in allowed)
    )
    if unexpected:
        said = "; ".join(f"{k}: {outcome.messages.get(k, '?')}" for k in unexpected)
        for exp in batch:
            problems[exp.fault].append(f"unrelated failures: {said}")
    return problems

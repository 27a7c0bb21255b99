"""The fault matrix: healthy lab -> no failure; each fault -> the right check fails, names
the offender, prescribes the right procedure, and nothing unrelated fails; healed -> green.

Independent faults are injected together (one suite run per batch) to keep CI short.
The matrix is printed at the end of the session.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.matrix.expectations import EXPECTATIONS
from tests.matrix.harness import (
    ROWS,
    Expect,
    Outcome,
    batches,
    judged_again,
    run_suite,
    verdict,
)

pytestmark = pytest.mark.lab

BATCHES = batches(EXPECTATIONS)
STEPS = ("inject", "settle", "suite", "heal")


def _healthy(lab: Any, reports: Path) -> Outcome:
    outcome = run_suite(reports)
    broken = sorted(outcome.alarms())
    assert not broken, f"healthy lab, yet: {', '.join(broken)}\n{outcome.output[-4000:]}"
    unsound = outcome.unsound(healthy=True)
    assert not unsound, f"{'; '.join(unsound)}\n{outcome.output[-4000:]}"
    again = judged_again(reports, "post-reboot")
    assert not again, "\n".join(again)
    return outcome


def settle(lab: Any, batch: list[Expect]) -> None:
    """Wait for what the batch's faults need before the suite runs: a condition polled
    where one is known (a process that exits on its own), a time where the judgement
    itself is about time (a process 60 s in D); a record's ``down``, as the API says it."""
    started = time.monotonic()
    for exp in batch:
        if exp.gone:
            host, service = exp.gone
            deadline = started + exp.settle_s
            while lab.hosts.service_pid(host, service) is not None:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"{exp.fault}: {service} on {host} still runs after {exp.settle_s:g}s"
                    )
                time.sleep(0.5)
    down = [record for e in batch for record in e.down]
    if down:
        polled = lab.venv_tool("ops.py", "services-down", *down, "--timeout=150", check=False)
        if polled.returncode:
            pytest.fail(f"records never said down: {polled.stderr.strip()[-300:]}")
    timed = [e.settle_s for e in batch if not e.gone and not e.down]
    time.sleep(max(0.0, max(timed, default=0.0) - (time.monotonic() - started)))


def test_healthy_lab_has_no_failure(lab: Any, tmp_path: Path) -> None:
    outcome = _healthy(lab, tmp_path / "healthy")
    ROWS.append(f"healthy (before)  -> 0 failures in {outcome.seconds:.0f}s  PASS")


@pytest.mark.parametrize("batch", BATCHES, ids=["+".join(e.fault for e in b) for b in BATCHES])
def test_fault_batch(lab: Any, tmp_path: Path, batch: list[Expect]) -> None:
    injected: list[Expect] = []
    marks = [time.monotonic()]  # inject, settle, suite, heal: where the matrix's time goes
    try:
        for exp in batch:
            lab.inject(exp.fault)
            injected.append(exp)
        marks.append(time.monotonic())
        settle(lab, batch)
        marks.append(time.monotonic())
        outcome = run_suite(tmp_path / "faulty", phase=batch[0].phase)
        marks.append(time.monotonic())
    finally:
        # a rebooted host's servers are hard-rebooted last, once the rest is healed
        order = sorted(reversed(injected), key=lambda e: e.fault.startswith("reboot@"))
        lab.heal_all([e.fault for e in order])
        marks.append(time.monotonic())
    problems = verdict(batch, outcome)
    if outcome.summary:  # the same verdict from its snapshot, touching no host and no API
        for exp in batch:
            problems[exp.fault] += judged_again(tmp_path / "faulty", batch[0].phase)
    for exp in batch:
        failed = sorted(
            k
            for k in outcome.failed
            if k.split("@")[0] in {*(s.split("@")[0] for s in exp.fails), exp.root}
        )
        status = "FAIL: " + "; ".join(problems[exp.fault]) if problems[exp.fault] else "PASS"
        remedy = outcome.remediation.get(exp.root, "").splitlines()
        first = next((line for line in remedy if any(r in line for r in exp.remedy)), "")
        ROWS.append(
            f"{exp.fault:38} -> {', '.join(failed) or '-':40} root "
            f"{','.join(sorted(outcome.start_here)) or '-':12} {first[:70]!r}  {status}"
        )
    spent = ", ".join(
        f"{step} {b - a:.0f}s" for step, a, b in zip(STEPS, marks, marks[1:], strict=False)
    )
    ROWS.append(f"  batch of {len(batch)}: {spent}")
    assert not any(problems.values()), problems


def test_healed_lab_is_green_again(lab: Any, tmp_path: Path) -> None:
    outcome = _healthy(lab, tmp_path / "healed")
    ROWS.append(f"healthy (after)   -> 0 failures in {outcome.seconds:.0f}s  PASS")

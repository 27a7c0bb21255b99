"""--settle against the lab: a rebooted compute host converges while the suite waits; a
fault nobody heals is reported after the budget; a fault that does not settle (a ring
differs) gives its verdict without waiting. Each row notes its time to verdict.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.matrix.harness import ROWS, Outcome, run_suite

pytestmark = pytest.mark.lab


def _settle_rows(reports: Path) -> dict[str, dict[str, Any]]:
    """summary.json's settle rows by ``CHECK@host``."""
    data = json.loads((reports / "summary.json").read_text())
    return {f"{r['check']}@{r['host']}": r for r in data.get("settle", {}).get("checks", [])}


def _row(name: str, outcome: Outcome, ok: bool, note: str = "") -> None:
    ROWS.append(
        f"{name:38} -> exit {outcome.exit_code}, verdict in {outcome.seconds:.0f}s {note}  "
        f"{'PASS' if ok else 'FAIL'}"
    )


def test_a_rebooted_compute_host_settles(lab: Any, tmp_path: Path) -> None:
    """Reboot compute1 and run at once with --settle=180 while the heal brings its
    instances back in the background: the run waits for them and exits 0, saying after
    how long NOVA-005 (and NOVA-002, if its record was late) came back."""
    from lab import faults

    errors: list[BaseException] = []

    def heal() -> None:
        try:
            # the operator's heal begins once the run judged its first round (about 5 s):
            # a heal quicker than the first read would leave nothing to settle
            time.sleep(12)
            faults.get("reboot@compute1").heal(lab)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    lab.reboot("compute1")  # the fault without its wait for nova-compute: run at once
    healer = threading.Thread(target=heal, name="heal-reboot@compute1", daemon=True)
    healer.start()
    try:
        outcome = run_suite(tmp_path / "settle", extra=["--settle=180"], timeout=900)
    finally:
        healer.join(timeout=600)
    assert not errors, f"heal failed: {errors[0]!r}"
    rows = _settle_rows(tmp_path / "settle")
    nova005 = rows.get("NOVA-005@compute1", {})
    ok = outcome.exit_code == 0 and nova005.get("outcome") == "passed"
    _row("settle: reboot@compute1 --settle=180", outcome, ok, f"NOVA-005 back {nova005}")
    assert outcome.exit_code == 0, outcome.output[-6000:]
    assert nova005.get("outcome") == "passed", rows
    assert 0 < nova005["settled_after"] <= 180 + 10
    assert re.search(r"NOVA-005@compute1 passed after \d+ s", outcome.output)
    assert re.search(r"settle: round \d+ at \d+s: .*back: .*NOVA-005@compute1", outcome.output)
    nova002 = rows.get("NOVA-002@compute1")
    assert nova002 is None or nova002["outcome"] == "passed", rows  # at once, or came back
    assert not any("still_failing_after" in r for r in rows.values()), rows
    assert outcome.seconds < 180 + 60


def test_a_fault_nobody_heals_is_reported_after_the_budget(lab: Any, tmp_path: Path) -> None:
    """nova-compute stopped on compute1 and left so: --settle=20 waits its budget, then
    fails as a plain run would, listing what never came back."""
    lab.inject("nova-compute-stopped@compute1")
    try:
        outcome = run_suite(tmp_path / "unhealed", extra=["--settle=20"], timeout=600)
    finally:
        lab.heal_all(["nova-compute-stopped@compute1"])
    rows = _settle_rows(tmp_path / "unhealed")
    svc = rows.get("SVC-003@compute1", {})
    ok = outcome.exit_code not in (0, 4) and svc.get("outcome") == "failed"
    _row("settle: nova-compute-stopped --settle=20", outcome, ok)
    assert outcome.exit_code not in (0, 4), outcome.output[-6000:]
    assert "SVC-003@compute1" in outcome.failed
    assert svc.get("outcome") == "failed", rows
    assert svc["still_failing_after"] >= 20, rows
    assert re.search(r"SVC-003@compute1 still failed after \d+ s", outcome.output)
    # the budget, then at most the last round (a re-read bounded by --timeout) and the end
    assert 20 <= outcome.seconds < 20 + 60, outcome.seconds


def test_a_fault_that_does_not_settle_gives_the_verdict_at_once(lab: Any, tmp_path: Path) -> None:
    """A ring differs on storage2 (SWIFT-002 does not settle): --settle=120 returns
    without waiting for the budget."""
    lab.inject("swift-ring-changed@storage2")
    try:
        outcome = run_suite(tmp_path / "ring", extra=["--settle=120"], timeout=600)
    finally:
        lab.heal_all(["swift-ring-changed@storage2"])
    ok = outcome.exit_code not in (0, 4) and outcome.seconds < 40
    _row("settle: swift-ring-changed --settle=120", outcome, ok)
    assert "SWIFT-002@" in " ".join(sorted(outcome.failed)), outcome.output[-6000:]
    assert outcome.exit_code not in (0, 4)
    assert "SWIFT-002 failed (does not settle: not waited for)" in outcome.output
    assert "settle: round 2" not in outcome.output
    assert outcome.seconds < 40, f"waited {outcome.seconds:.0f}s for a ring that will not settle"


def test_settle_rows_leave_the_lab_green(lab: Any, tmp_path: Path) -> None:
    outcome = run_suite(tmp_path / "after")
    broken = sorted(outcome.alarms()) + outcome.unsound(healthy=True)
    ROWS.append(f"healthy (after settle rows) -> {len(broken)} failures in {outcome.seconds:.0f}s")
    assert not broken, f"after the settle rows: {', '.join(broken)}\n{outcome.output[-4000:]}"

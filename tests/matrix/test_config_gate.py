"""The configuration gate on the lab, end to end (issue 16's rows).

A baseline written from the healthy lab (twice: identical); one option changed on one
compute host -> the gate red naming it, "host drifted"; the same change on both compute
hosts -> "role changed, not in baseline"; the baseline written again -> green; a change
that keeps nova-compute from starting after its restart -> red naming the service
(SVC-003); a secret changed -> reported as changed, its value nowhere in the reports.

Rows run in order (each heals what it injected); the gate's output is kept in the
printed matrix.
"""

from __future__ import annotations

import filecmp
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from lab.faults import CHANGED_SECRET
from tests.matrix.harness import ROWS, Outcome, run_suite, write_baseline

pytestmark = pytest.mark.lab

NOVA = "/etc/nova/nova.conf"


def _same_tree(a: Path, b: Path) -> list[str]:
    """Files that differ, or exist on one side only (recursively, byte for byte)."""
    cmp = filecmp.dircmp(a, b)
    odd = [str(a / n) for n in (*cmp.left_only, *cmp.right_only)]
    odd += [str(a / n) for n in cmp.common_files if not filecmp.cmp(a / n, b / n, shallow=False)]
    for name in cmp.common_dirs:
        odd += _same_tree(a / name, b / name)
    return odd


@pytest.fixture(scope="module")
def baseline(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab's baseline, written from the healthy lab once per module."""
    root = tmp_path_factory.mktemp("gate")
    base = root / "baseline"
    write_baseline(base, root / "write-reports")
    return base


def _gate(base: Path, reports: Path) -> Outcome:
    return run_suite(reports, phase="config-gate", extra=[f"--baseline={base}"])


def _conf_findings(reports: Path) -> list[dict[str, Any]]:
    data = json.loads((reports / "summary.json").read_text())
    return [
        f
        for c in data.get("checks", [])
        if c["check"] == "CONF-002"
        for r in c.get("results", [])
        for f in r.get("findings", [])
    ]


def _row(name: str, outcome: Outcome, findings: list[dict[str, Any]], ok: bool) -> None:
    said = "; ".join(
        f"{f['host']} {f['extra'].get('file', '')} [{f['extra'].get('section', '')}] "
        f"{f['extra'].get('option', '')} {f['expected']} -> {f['actual']} "
        f"({f['extra'].get('verdict', '')})"
        for f in findings[:4]
    )
    failed = ", ".join(sorted(outcome.failed)) or "-"
    ROWS.append(f"gate: {name:34} -> {failed:40} {said[:160]!r}  {'PASS' if ok else 'FAIL'}")


def _healthy_gate(base: Path, reports: Path, name: str) -> None:
    outcome = _gate(base, reports)
    broken = sorted(outcome.alarms()) + outcome.unsound(healthy=True)
    _row(name, outcome, [], not broken)
    assert not broken, f"{name}: {', '.join(broken)}\n{outcome.output[-4000:]}"
    assert outcome.exit_code == 0, outcome.output[-4000:]


def test_baseline_written_twice_is_identical(baseline: Path, tmp_path: Path) -> None:
    first = tmp_path / "first"
    shutil.copytree(baseline, first)
    proc = write_baseline(baseline, tmp_path / "reports")
    odd = _same_tree(first, baseline)
    ROWS.append(
        f"gate: {'baseline written twice':34} -> {len(odd)} file(s) differ  "
        f"{'PASS' if not odd else 'FAIL'}"
    )
    assert not odd, odd
    assert "baseline compute: 1 file(s) from compute1, compute2" in proc.stdout
    compute = (baseline / "compute/etc/nova/nova.conf.yaml").read_text()
    assert "my_ip:" in compute  # host-specific, per host


def test_gate_green_on_the_healthy_lab(baseline: Path, tmp_path: Path) -> None:
    _healthy_gate(baseline, tmp_path / "gate", "healthy lab")


def test_one_host_changed_is_host_drifted(lab: Any, baseline: Path, tmp_path: Path) -> None:
    lab.inject("config-option-changed@compute2")
    try:
        outcome = _gate(baseline, tmp_path / "gate")
    finally:
        lab.heal_all(["config-option-changed@compute2"])
    found = _conf_findings(tmp_path / "gate")
    want = [
        f
        for f in found
        if f["host"] == "compute2"
        and f["extra"].get("file") == NOVA
        and f["extra"].get("section") == "DEFAULT"
        and f["extra"].get("option") == "reserved_host_memory_mb"
        and (f["expected"], f["actual"]) == ("512", "1024")
        and f["extra"].get("verdict") == "host-drifted"
    ]
    ok = bool(want) and len(found) == 1 and outcome.failed_checks() == {"CONF-002"}
    _row("option changed on compute2", outcome, found, ok)
    assert ok, (found, sorted(outcome.failed), outcome.output[-4000:])
    assert "(host drifted: re-deploy its config)" in outcome.output


def test_whole_role_changed_then_baseline_updated(lab: Any, baseline: Path, tmp_path: Path) -> None:
    faults = ["config-option-changed@compute1", "config-option-changed@compute2"]
    updated = tmp_path / "updated"
    shutil.copytree(baseline, updated)
    try:
        for fault in faults:
            lab.inject(fault)
        outcome = _gate(updated, tmp_path / "gate")
        found = _conf_findings(tmp_path / "gate")
        hosts = sorted(f["host"] for f in found)
        ok = (
            hosts == ["compute1", "compute2"]
            and all(f["extra"].get("verdict") == "role-changed" for f in found)
            and all(f["extra"].get("option") == "reserved_host_memory_mb" for f in found)
            and outcome.failed_checks() == {"CONF-002"}
        )
        _row("same change on both compute hosts", outcome, found, ok)
        assert ok, (found, sorted(outcome.failed), outcome.output[-4000:])
        assert "role changed, not in baseline: update the baseline" in outcome.output
        # the reviewed change goes into the baseline in the same merge request: green
        write_baseline(updated, tmp_path / "rewrite")
        assert _same_tree(baseline, updated) == [
            str(baseline / "compute/etc/nova/nova.conf.yaml")
        ], "the rewritten baseline holds the change, and only it"
        _healthy_gate(updated, tmp_path / "gate-updated", "baseline updated")
    finally:
        lab.heal_all(faults)


def test_service_kept_from_starting_fails_naming_it(
    lab: Any, baseline: Path, tmp_path: Path
) -> None:
    fault = "nova-compute-bad-config@compute1"
    lab.inject(fault)
    try:
        time.sleep(30)  # nova-compute imports nova before it finds no driver and exits
        outcome = _gate(baseline, tmp_path / "gate")
    finally:
        lab.heal_all([fault])
    found = _conf_findings(tmp_path / "gate")
    ok = (
        "SVC-003@compute1" in outcome.failed
        and "nova-compute" in outcome.remediation.get("SVC-003", "")
        and any(f["extra"].get("option") == "compute_driver" for f in found)
    )
    _row("nova-compute kept from starting", outcome, found, ok)
    assert ok, (sorted(outcome.failed), found, outcome.output[-4000:])


def test_secret_changed_is_reported_without_its_value(
    lab: Any, baseline: Path, tmp_path: Path
) -> None:
    fault = "config-secret-changed@compute1"
    lab.inject(fault)
    try:
        outcome = _gate(baseline, tmp_path / "gate")
    finally:
        lab.heal_all([fault])
    found = _conf_findings(tmp_path / "gate")
    secret = [
        f
        for f in found
        if f["host"] == "compute1"
        and f["extra"].get("section") == "keystone_authtoken"
        and f["extra"].get("option") == "password"
    ]
    leaks = [
        str(p)
        for p in (tmp_path / "gate").rglob("*")
        if p.is_file() and CHANGED_SECRET in p.read_text(errors="replace")
    ]
    ok = (
        len(secret) == 1
        and secret[0]["actual"] == "changed"
        and CHANGED_SECRET not in outcome.output
        and not leaks
    )
    _row("secret changed on compute1", outcome, found, ok)
    assert ok, (found, leaks, outcome.output[-4000:])

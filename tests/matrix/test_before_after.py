"""Before and after on the lab (issue 11): a snapshot taken before the "maintenance", then a
real change, then the compared run names exactly the differences.

Rows (each a few suite runs of ~6 s, plus injecting and healing):

- the healthy lab compared with its own pre-maintenance snapshot gives no difference, run
  after run (no false alarm from times, counters, pids or order);
- compute1 rebooted: DIFF-001 names each of its instances (they stayed off);
- an instance shut off by its owner between the runs: the plain run says nothing (the
  cloud is healthy), the compared run's DIFF-001 names it, and nothing else fails;
- a swift device unmounted: DIFF-005 names it;
- a fault that was there before the first run is marked ``new: false`` when it still fails;
- one run, four faults: a compute service disabled (DIFF-003), memcached stopped
  (DIFF-004), compute1's AMQP cut (DIFF-006: its queue lost its consumer), nova.conf
  changed (DIFF-007).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.matrix.expectations import rebooted
from tests.matrix.harness import ROWS, Outcome, run_suite

pytestmark = pytest.mark.lab

REPEAT = 5  # healthy compared runs in a row: no false alarm from times, counters, order
OWNER_STOPPED = "ab-fw-compute1"  # a server without a volume: nothing else depends on it
DIFF_CHECKS = {f"DIFF-00{n}" for n in range(1, 8)}


def _results(reports: Path) -> dict[str, list[dict[str, Any]]]:
    """check -> its results in summary.json (outcome, host, findings, new)."""
    summary = json.loads((reports / "summary.json").read_text())
    return {c["check"]: c["results"] for c in summary.get("checks", [])}


def _subjects(reports: Path, check: str) -> set[tuple[str, str]]:
    """What the check's failed results name (a result that could not run names nothing:
    a read the lab could not answer at that moment, e.g. ceph's mon busy, is no finding)."""
    return {
        (f["subject"], f["host"])
        for r in _results(reports).get(check, [])
        if r.get("outcome") == "failed"
        for f in r.get("findings", [])
        if f.get("subject")
    }


def _compared(reports: Path, before: Path, *extra: str) -> Outcome:
    return run_suite(reports, extra=[f"--compare={before}", *extra])


@pytest.fixture(scope="module")
def pre_snapshot(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The healthy lab's pre-maintenance snapshot, every host named as about to go down so
    that each is in the "before" (MAINT-001 and PERIODIC-007 fail there: the compute hosts
    run instances that could not go elsewhere; the pre-maintenance checks' business)."""
    from lab.config import HOSTS

    reports = tmp_path_factory.mktemp("pre-maintenance")
    outcome = run_suite(reports, phase="pre-maintenance", extra=[f"--host={','.join(HOSTS)}"])
    failed = {k.split("@")[0] for k in outcome.failed}
    assert failed <= {"MAINT-001", "PERIODIC-007"}, outcome.output[-3000:]
    # MAINT-001's proof: both compute hosts run instances, each named, each to migrate
    assert {"MAINT-001@compute1", "MAINT-001@compute2"} <= outcome.failed, sorted(outcome.failed)
    servers = json.loads(lab.venv_tool("ops.py", "servers").stdout)
    for server in servers:
        said = outcome.messages.get(f"MAINT-001@{server['host']}", "")
        assert server["id"] in said, (server, said)
        remedy = outcome.remediation.get("MAINT-001", "")
        assert f"openstack server migrate --live-migration {server['id']}" in remedy, remedy
    ROWS.append(f"{'pre-maintenance: computes not drained':38} -> MAINT-001 names {len(servers)}")
    snap = json.loads((reports / "snapshot.json").read_text())
    reads = set(snap["hosts"]["compute1"]["reads"])
    assert {"domains", "configs", "processes"} <= reads, reads  # a whole "before"
    assert {"instances", "volumes", "compute_services"} <= set(snap["cloud"])
    path = tmp_path_factory.mktemp("snapshots") / "before.json"
    shutil.copy(reports / "snapshot.json", path)
    return path


def test_healthy_lab_compared_gives_no_difference(
    lab: Any, pre_snapshot: Path, tmp_path: Path
) -> None:
    for n in range(REPEAT):
        outcome = _compared(tmp_path / f"healthy-{n}", pre_snapshot)
        broken = sorted(outcome.alarms()) + outcome.unsound(healthy=True)
        assert not broken, f"run {n + 1}: {', '.join(broken)}\n{outcome.output[-4000:]}"
    offline = run_suite(
        tmp_path / "offline", extra=[f"--compare={pre_snapshot}", f"--snapshot-file={pre_snapshot}"]
    )
    assert offline.exit_code == 0, offline.output[-3000:]
    ROWS.append(f"{'before/after: healthy x' + str(REPEAT):38} -> 0 differences  PASS")


def test_reboot_names_each_instance_that_ran_there(
    lab: Any, pre_snapshot: Path, tmp_path: Path
) -> None:
    from lab import faults

    ran = {str(s["id"]) for s in faults.servers(lab, "compute1")}
    assert ran, "the lab runs no instance on compute1"
    try:
        lab.inject("reboot@compute1")
        outcome = _compared(tmp_path / "rebooted", pre_snapshot)
    finally:
        lab.heal_all(["reboot@compute1"])
    reports = tmp_path / "rebooted"
    named = _subjects(reports, "DIFF-001")
    assert named == {(uuid, "compute1") for uuid in ran}, named
    assert all(r.get("new") is True for r in _results(reports)["DIFF-001"])
    row = rebooted("compute1")
    # as NOVA-002 and MQ-002 may, their before/after twins may still see compute1's record
    # or queue consumer coming back (timing, not a false alarm)
    allowed = {*row.fails, *row.may_fail, row.root, "DIFF-001", "DIFF-003", "DIFF-006"}
    unexpected = sorted(
        k for k in outcome.failed if not any(k == s or k.split("@")[0] == s for s in allowed)
    )
    assert not unexpected, unexpected
    ROWS.append(f"{'before/after: reboot@compute1':38} -> DIFF-001 names {len(ran)}  PASS")


def test_an_instance_its_owner_stopped_only_the_comparison_names(
    lab: Any, pre_snapshot: Path, tmp_path: Path
) -> None:
    from lab import faults

    (server,) = [s for s in faults.servers(lab) if s["name"] == OWNER_STOPPED]
    try:
        lab.venv_tool("ops.py", "server-stop", OWNER_STOPPED)
        plain = run_suite(tmp_path / "plain")
        compared = _compared(tmp_path / "compared", pre_snapshot)
    finally:
        lab.venv_tool("ops.py", "server-start", OWNER_STOPPED)
    assert not plain.failed, f"the plain run judged a stopped instance: {sorted(plain.failed)}"
    assert compared.failed == {"DIFF-001@"}, sorted(compared.failed)
    (result,) = _results(tmp_path / "compared")["DIFF-001"]
    (finding,) = result["findings"]
    assert (finding["subject"], finding["host"]) == (server["id"], "compute1")
    assert finding["actual"].startswith("stopped"), finding
    ROWS.append(f"{'before/after: stopped by its owner':38} -> DIFF-001 only  PASS")


def test_an_unmounted_device_is_named(lab: Any, pre_snapshot: Path, tmp_path: Path) -> None:
    from lab.swift import device

    mount = f"/srv/node/{device('storage1')}"
    try:
        lab.inject("swift-device-unmounted@storage1")
        outcome = _compared(tmp_path / "unmounted", pre_snapshot)
    finally:
        lab.heal_all(["swift-device-unmounted@storage1"])
    assert _subjects(tmp_path / "unmounted", "DIFF-005") == {(mount, "storage1")}
    allowed = {"DIFF-005", "SWIFT-003", "SWIFT-001", "SWIFT-005"}
    assert {k.split("@")[0] for k in outcome.failed} <= allowed, sorted(outcome.failed)
    ROWS.append(f"{'before/after: device unmounted':38} -> DIFF-005 {mount}  PASS")


def test_a_fault_older_than_the_snapshot_is_not_new(lab: Any, tmp_path: Path) -> None:
    """The 'before' is a post-reboot run here: a pre-maintenance run does not judge SVC-007
    (a failure of a check the compared run did not judge is marked neither way)."""
    fault = "swift-object-server-stopped@storage2"
    try:
        lab.inject(fault)
        first = run_suite(tmp_path / "first")
        assert "SVC-007@storage2" in first.failed, sorted(first.failed)
        snap = tmp_path / "first.json"
        shutil.copy(tmp_path / "first" / "snapshot.json", snap)
        again = _compared(tmp_path / "again", snap)
    finally:
        lab.heal_all([fault])
    (svc,) = _results(tmp_path / "again")["SVC-007"]
    assert svc["new"] is False, svc
    summary = json.loads((tmp_path / "again" / "summary.json").read_text())
    assert "SVC-007" in {r["check"] for r in summary["already_failing_before_the_maintenance"]}
    # it was already stopped before: no before/after check calls it a difference
    assert not {k.split("@")[0] for k in again.failed} & DIFF_CHECKS, sorted(again.failed)
    ROWS.append(f"{'before/after: ' + fault:38} -> SVC-007 new: false  PASS")


# fault -> the before/after check that must name it: (check, subject, host)
NAMED = {
    "compute-disabled@compute2": ("DIFF-003", "nova-compute", "compute2"),
    # compute2 is a kolla host: the file is named where it is there
    "config-option-changed@compute2": ("DIFF-007", "/etc/kolla/nova-compute/nova.conf", "compute2"),
    "nova-compute-amqp-cut@compute1": ("DIFF-006", "compute.compute1", "controller"),
    "memcached-stopped": ("DIFF-004", "memcached", "controller"),
}
# detached by its owner through nova (no fault: the cloud stays healthy): DIFF-002 names it
DETACHED = ("ab-vol-compute2", "ab-linux-compute2")
# what else a before/after check may name meanwhile, of the same faults: compute1's
# nova-compute record goes down once its reports stop reaching the conductor, and its
# other per-host topic (nova's compute-alt) loses its consumer too (amqp cut)
TOLERATED = {
    ("DIFF-003", "nova-compute", "compute1"),
    ("DIFF-006", "compute-alt.compute1", "controller"),
}


def test_services_clusters_and_configuration_named(
    lab: Any, pre_snapshot: Path, tmp_path: Path
) -> None:
    """One compared run, four faults and a volume its owner detached, no two of which a
    before/after check could confuse."""
    volume, server = DETACHED
    volume_id = lab.venv_tool("ops.py", "volume-id", volume).stdout.strip()
    assert volume_id, f"the lab has no volume {volume}"
    injected: list[str] = []
    try:
        lab.venv_tool("ops.py", "volume-detach", volume, server)
        for fault in NAMED:
            lab.inject(fault)
            injected.append(fault)
        _compared(tmp_path / "batch", pre_snapshot)
    finally:
        lab.heal_all(list(reversed(injected)))
        lab.venv_tool("ops.py", "volume-attach", volume, server)
    reports = tmp_path / "batch"
    named = {
        (check, subject, host)
        for check in DIFF_CHECKS
        for subject, host in _subjects(reports, check)
    }
    missing = sorted(set(NAMED.values()) - named)
    assert not missing, f"not named: {missing}; named: {sorted(named)}"
    detached = {(c, s) for c, s, _ in named if c == "DIFF-002"}
    assert detached == {("DIFF-002", volume_id)}, f"DIFF-002 named {sorted(detached)}"
    steps = _results(reports)["DIFF-002"]
    assert any(r.get("outcome") == "failed" for r in steps), steps
    extra = sorted(
        n for n in named - set(NAMED.values()) - TOLERATED if n[:2] != ("DIFF-002", volume_id)
    )
    assert not extra, f"named beyond the faults: {extra}"
    for fault, (check, subject, host) in NAMED.items():
        ROWS.append(f"{'before/after: ' + fault:38} -> {check} {subject}@{host}  PASS")
    ROWS.append(f"{'before/after: volume detached by its owner':38} -> DIFF-002 {volume_id}  PASS")

"""NOVA-012 on nova's own placement oracle (``nova-manage placement heal_allocations
--dry-run`` and ``nova-manage placement audit``), and the remedies of NOVA-010 to NOVA-012.

The real read scripts run in a local shell with a fake nova-manage on PATH that prints
nova's lines (tests/data/placementaudit/README.md) and exits with nova's status; the real
parsers and the real check judge what they read. NOVA-011 and NOVA-012 on the recorded
lab are in tests/test_checks_fail_on_recorded_state.py."""

from __future__ import annotations

import copy
import re
import shlex
from dataclasses import replace
from pathlib import Path

import pytest

import tests_cloud.test_capacity as capacity
from afterboot.checks.findings import Finding, Findings, item_findings
from afterboot.collection import compose, read_host
from afterboot.domains.placementaudit import (
    AUDIT_COMMAND,
    AUDIT_READ,
    CONTAINER,
    HEAL_COMMAND,
    HEAL_READ,
    audit_script,
    heal_script,
    parse_audit,
    parse_heal,
)
from afterboot.domains.placementaudit import (
    READS as ORACLE_READS,
)
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.procedures.hostcommands import IN_CONTAINER
from afterboot.procedures.runbook import load, render
from afterboot.reads.hostreads import READS
from afterboot.snapshot import ReadResult
from afterboot.transport.connections import Connections

from .conftest import PLACEMENT_DATA as DATA
from .test_from_snapshot import Doc, judge, write

FIRST = "1be42712-e6d2-48a0-8028-1de5638b5793"  # instance-00000001, on compute1
COMPUTE1_RP = "0af81acf-6cff-446b-80ae-fa5c26ec4623"
COMPUTE2_RP = "9f94f23c-2b7d-4de3-954c-b2b679e54771"
ORPHAN = "0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a"
PROCS = load()


def _tool(bin_dir: Path, stdout: str = "", rc: int = 0, body: str = "") -> None:
    """A fake nova-manage printing a file of DATA and nova's stderr, exiting with ``rc``;
    every command line it was given is appended to ``nova-manage.args``."""
    out = shlex.quote(str(DATA / stdout)) if stdout else "/dev/null"
    err = shlex.quote(str(DATA / "nova-manage.stderr"))
    log = shlex.quote(str(bin_dir / "nova-manage.args"))
    (bin_dir / "nova-manage").write_text(
        f'#!/bin/sh\necho "$@" >> {log}\n' + (body or f"cat {out}; cat {err} >&2; exit {rc}") + "\n"
    )
    (bin_dir / "nova-manage").chmod(0o755)


def _controller(name: str = "ctl-01") -> HostSpec:
    return HostSpec(name, connection="local", roles=("controller",))


def _collect(connections: Connections, host: str, timeout: float = 5.0) -> None:
    remote = connections[host]
    remote.adopt(read_host(remote, list(ORACLE_READS), timeout))


def _connections(*names: str, timeout: float = 5.0) -> Connections:
    """Local controllers whose collection pass ran the real read scripts."""
    names = names or ("ctl-01",)
    connections = Connections(Inventory({n: _controller(n) for n in names}, "t"), timeout)
    for name in names:
        _collect(connections, name, timeout)
    return connections


def _judge(connections: Connections, request: pytest.FixtureRequest) -> list[Finding]:
    try:
        capacity.test_placement_audit_finds_nothing(connections, Findings(request.node))
    finally:
        found = item_findings(request.node)
    return found


def _both(bin_dir: Path, heal: tuple[str, int], audit: tuple[str, int]) -> None:
    """nova-manage answering heal_allocations with one file and status, audit another."""
    h, a = (shlex.quote(str(DATA / f)) if f else "/dev/null" for f in (heal[0], audit[0]))
    _tool(
        bin_dir,
        body=(
            f'cat {shlex.quote(str(DATA / "nova-manage.stderr"))} >&2; case "$2" in '
            f"heal_allocations) cat {h}; exit {heal[1]} ;; audit) cat {a}; exit {audit[1]} ;; "
            "esac; exit 127"
        ),
    )


# -- the reads ---------------------------------------------------------------------------


def test_the_reads_are_read_only() -> None:
    """heal_allocations always as a dry run, the audit never with --delete, on any host."""
    for spec in (_controller(), HostSpec("k", service_manager="container")):
        heal, audit = heal_script(spec), audit_script(spec)
        assert "heal_allocations --dry-run" in heal
        assert "--delete" not in heal + audit
        assert re.findall(r"nova-manage [^;)]*", heal + audit) == [
            'nova-manage >/dev/null 2>&1 || { echo "@@afterboot-part absent"',
            HEAL_COMMAND,
            'nova-manage >/dev/null 2>&1 || { echo "@@afterboot-part absent"',
            AUDIT_COMMAND,
        ]


def test_the_reads_are_slow_bounded_and_in_nova_api_s_container() -> None:
    for name in ORACLE_READS:
        read = READS[name]
        assert read.slow
        assert read.budget > 0
        assert read.container == CONTAINER == "nova_api"
    assert IN_CONTAINER["nova-manage"] == CONTAINER
    spec = HostSpec("ctl-01", service_manager="container", container_engine="podman")
    script = compose([READS[n] for n in ORACLE_READS], spec, "@@n", 10)
    assert "exec nova_api sh -c" in script


def test_the_lab_s_healthy_answers_parse(fakebin: Path) -> None:
    _both(fakebin, ("heal-healthy.stdout", 4), ("audit-healthy.stdout", 0))
    reads = _connections()["ctl-01"].reads
    assert reads[HEAL_READ].rc == reads[AUDIT_READ].rc == 0  # answers, not failed reads
    heal = parse_heal(reads[HEAL_READ], "ctl-01")
    audit = parse_audit(reads[AUDIT_READ], "ctl-01")
    assert (heal.installed, heal.instances, audit.installed, audit.orphans) == (True, (), True, ())
    said = (fakebin / "nova-manage.args").read_text().splitlines()
    assert sorted(said) == [  # both at once, in the background
        "placement audit --verbose",
        "placement heal_allocations --dry-run --verbose",
    ]


def test_an_instance_without_allocations_is_named_with_its_provider(fakebin: Path) -> None:
    _both(fakebin, ("heal-lost.stdout", 4), ("audit-healthy.stdout", 0))
    heal = parse_heal(_connections()["ctl-01"].reads[HEAL_READ], "ctl-01")
    (item,) = heal.instances
    assert (item.instance, item.action, item.providers) == (FIRST, "create", (COMPUTE1_RP,))
    assert item.resources == "DISK_GB=1, MEMORY_MB=64, VCPU=1"


def test_an_update_among_tasks_hostless_instances_and_log_lines() -> None:
    text = (DATA / "heal-update.stdout").read_text() + "@@afterboot-part exit 4\n"
    heal = parse_heal(ReadResult(HEAL_READ, 0, text), "h")
    (item,) = heal.instances
    assert (item.action, item.providers) == ("update", (COMPUTE2_RP,))


def test_orphans_are_named_with_their_provider(fakebin: Path) -> None:
    _both(fakebin, ("heal-healthy.stdout", 4), ("audit-node-gone.stdout", 3))
    audit = parse_audit(_connections()["ctl-01"].reads[AUDIT_READ], "ctl-01")
    assert [(o.consumer[:8], o.provider[:8]) for o in audit.orphans] == [
        ("5f4e3d2c", "e4f5a6b7"),
        ("6a5b4c3d", "e4f5a6b7"),
    ]
    assert audit.orphans[1].resources == "DISK_GB=20, MEMORY_MB=2048, VCPU=2"
    assert audit.unknown_nodes == ("e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f6a7b8",)


FAILED = {
    # heal_allocations' own errors: a compute node not found, placement unreachable, vGPU
    "heal-2": (("heal-no-compute-node.stdout", 2), ("audit-healthy.stdout", 0)),
    "heal-3": (("heal-placement-down.stdout", 3), ("audit-healthy.stdout", 0)),
    "heal-8": (("heal-vgpu.stdout", 8), ("audit-healthy.stdout", 0)),
    "heal-crash": (("nova-manage-crash.stdout", 255), ("audit-healthy.stdout", 0)),
    # a heal that is no dry run's: it created allocations
    "heal-0": (("heal-healthy.stdout", 0), ("audit-healthy.stdout", 0)),
    "audit-crash": (("heal-healthy.stdout", 4), ("nova-manage-crash.stdout", 255)),
    "audit-1": (("heal-healthy.stdout", 4), ("audit-orphan.stdout", 1)),
    "audit-127": (("heal-healthy.stdout", 4), ("", 127)),
    # a status and lines that disagree
    "audit-0-with-orphans": (("heal-healthy.stdout", 4), ("audit-orphan.stdout", 0)),
    "audit-3-without": (("heal-healthy.stdout", 4), ("audit-healthy.stdout", 3)),
    # output that is no nova-manage's: not a heal without instances
    "heal-garbage": (("audit-orphan.stdout", 4), ("audit-healthy.stdout", 0)),
    "heal-unfinished": (("audit-healthy.stdout", 4), ("audit-healthy.stdout", 0)),
    "audit-garbage": (("heal-healthy.stdout", 4), ("heal-healthy.stdout", 0)),
}


@pytest.mark.parametrize("how", sorted(FAILED))
def test_a_failure_crash_or_garbage_is_could_not_run(
    fakebin: Path, how: str, request: pytest.FixtureRequest
) -> None:
    _both(fakebin, *FAILED[how])
    with pytest.raises(CouldNotRun, match="ctl-01"):
        _judge(_connections(), request)
    assert not item_findings(request.node)


def test_a_failed_read_says_what_nova_manage_said(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    _both(fakebin, *FAILED["heal-2"])
    with pytest.raises(CouldNotRun) as failed:
        _judge(_connections(), request)
    assert "exit 2: " in str(failed.value)
    assert "Compute host compute3 could not be found." in str(failed.value)


def test_a_nova_manage_that_does_not_finish_is_could_not_run(
    fakebin: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(READS, HEAL_READ, replace(READS[HEAL_READ], budget=2))
    monkeypatch.setitem(READS, AUDIT_READ, replace(READS[AUDIT_READ], budget=2))
    _tool(fakebin, body="sleep 30")
    with pytest.raises(CouldNotRun, match="did not finish in time"):
        _judge(_connections(timeout=1.0), request)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Processed 0 instances.\nsh: 1: nova-manage: Permission denied",
        f"Processed 0 instances.\n[dry-run] Create allocations for instance {FIRST}: not json",
        f'Processed 0 instances.\n[dry-run] Create allocations for instance {FIRST}: {{"a": 1}}',
        "Processed 0 instances.\n[dry-run] Create allocations for instance "
        f'{FIRST}: {{"allocations": {{"{COMPUTE1_RP}": {{"resources": {{"VCPU": "one"}}}}}}}}',
        "Processed 2 instances.",
    ],
)
def test_a_heal_answer_not_understood_is_could_not_run(text: str) -> None:
    with pytest.raises(CouldNotRun, match="host h: "):
        parse_heal(ReadResult(HEAL_READ, 0, f"{text}\n@@afterboot-part exit 4"), "h")


def test_a_read_without_its_status_line_is_could_not_run() -> None:
    text = (DATA / "heal-healthy.stdout").read_text()
    with pytest.raises(CouldNotRun, match="no exit status"):
        parse_heal(ReadResult(HEAL_READ, 0, text), "h")
    with pytest.raises(CouldNotRun, match="no exit status"):
        parse_audit(ReadResult(AUDIT_READ, 0, ""), "h")


# -- NOVA-012 ------------------------------------------------------------------------------


def test_nova_012_passes_on_the_lab_s_healthy_answers(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    _both(fakebin, ("heal-healthy.stdout", 4), ("audit-healthy.stdout", 0))
    assert _judge(_connections(), request) == []


def test_nova_012_names_each_instance_and_orphan_once_over_two_controllers(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    _both(fakebin, ("heal-lost.stdout", 4), ("audit-orphan.stdout", 3))
    connections = _connections("ctl-01", "ctl-02")
    with pytest.raises(AssertionError, match="placement audit finds") as failed:
        _judge(connections, request)
    found = item_findings(request.node)
    assert [(f.subject, f.host, f.extra["kind"]) for f in found] == [
        (FIRST, "ctl-01", "heal"),
        (ORPHAN, "ctl-01", "orphan"),
    ]
    assert found[0].extra["provider"] == COMPUTE1_RP
    assert found[1].extra["provider"] == COMPUTE2_RP
    assert f"instance {FIRST}: nova-manage would create its allocations" in str(failed.value)


def test_nova_012_judges_the_controller_that_has_nova_manage(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    """ctl-02 has no nova-manage (said, not failed): ctl-01's answer is judged."""
    _both(fakebin, ("heal-lost.stdout", 4), ("audit-healthy.stdout", 0))
    connections = Connections(Inventory({n: _controller(n) for n in ("ctl-01", "ctl-02")}, "t"), 5)
    _collect(connections, "ctl-01")
    (fakebin / "nova-manage").unlink()
    _collect(connections, "ctl-02")
    assert "@@afterboot-part absent" in connections["ctl-02"].reads[HEAL_READ].stdout
    with pytest.raises(AssertionError, match=FIRST):
        _judge(connections, request)


def test_nova_012_without_nova_manage_anywhere_is_could_not_run(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    with pytest.raises(CouldNotRun, match="nova-manage is installed on no controller"):
        _judge(_connections(), request)


def test_nova_012_says_what_it_found_before_a_controller_that_could_not_answer(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    connections = Connections(Inventory({n: _controller(n) for n in ("ctl-01", "ctl-02")}, "t"), 5)
    _both(fakebin, ("heal-lost.stdout", 4), ("audit-healthy.stdout", 0))
    _collect(connections, "ctl-01")
    _both(fakebin, ("nova-manage-crash.stdout", 255), ("audit-healthy.stdout", 0))
    _collect(connections, "ctl-02")
    with pytest.raises(AssertionError, match=r"no answer from ctl-02: not judged"):
        _judge(connections, request)


def test_an_orphan_on_a_provider_without_compute_node_says_so_and_its_removal_is_guarded(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    _both(fakebin, ("heal-healthy.stdout", 4), ("audit-node-gone.stdout", 3))
    with pytest.raises(AssertionError, match="nova finds no compute node for that provider"):
        _judge(_connections(), request)
    found = item_findings(request.node)
    assert [f.extra["node"] for f in found] == ["gone", "gone"]
    steps = render(PROCS["NOVA-012"], found)
    (delete,) = [s for s in steps if any("provider delete" in c for c in s.commands)]
    assert delete.commands == (
        "openstack resource provider delete e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f6a7b8",
    )
    assert "no host this provider stands for" in delete.guard_line()
    # an orphan on a provider nova knows: no provider removal offered
    known = [replace(f, extra={**f.extra, "node": "known"}) for f in found]
    assert not any(
        "provider delete" in c for s in render(PROCS["NOVA-012"], known) for c in s.commands
    )


# -- the remedies ----------------------------------------------------------------------------


def _finding(subject: str, **extra: str) -> Finding:
    return Finding(subject, "controller", "", "", extra)


HEAL = _finding(FIRST, kind="heal", uuid=FIRST, provider=COMPUTE1_RP, controller="controller")
LEAK = _finding(
    ORPHAN, kind="orphan", consumer=ORPHAN, provider=COMPUTE2_RP, controller="controller"
)
FINDINGS = {
    "NOVA-010": [
        Finding(ORPHAN, "compute2", "", "", {"consumer": ORPHAN, "provider": COMPUTE2_RP})
    ],
    "NOVA-011": [replace(HEAL, host="compute1", extra={**HEAL.extra, "status": "ACTIVE"})],
    "NOVA-012": [HEAL, LEAK],
}


@pytest.mark.parametrize("check", sorted(FINDINGS))
def test_no_rendered_command_deletes_or_writes_without_a_guard(check: str) -> None:
    """--delete, and heal_allocations without --dry-run, only in a guarded step; the run's
    values filled (no <placeholder> left where a finding knows it)."""
    steps = render(PROCS[check], FINDINGS[check])
    writes = 0
    for step in steps:
        for command in step.commands:
            assert "<" not in command, command
            writing = (
                "--delete" in command
                or "provider delete" in command
                or ("heal_allocations" in command and "--dry-run" not in command)
            )
            if writing:
                writes += 1
                assert step.guard_line(), (check, command)
    assert writes == (2 if check == "NOVA-012" else 1)


def test_the_heal_is_rendered_on_the_controller_dry_run_first() -> None:
    steps = render(PROCS["NOVA-011"], FINDINGS["NOVA-011"])
    commands = [c for s in steps for c in s.commands]
    assert commands == [
        f"openstack resource provider allocation show {FIRST}",
        f"ssh controller -- 'sudo nova-manage placement heal_allocations --instance {FIRST} "
        "--dry-run --verbose'",
        f"ssh controller -- 'sudo nova-manage placement heal_allocations --instance {FIRST} "
        "--verbose'",
    ]
    assert FIRST in steps[2].guard_line()
    assert COMPUTE1_RP in steps[2].guard_line()


def test_on_a_kolla_controller_nova_manage_runs_in_nova_api() -> None:
    hosts = {"controller": HostSpec("controller", service_manager="container",
                                    container_engine="podman")}  # fmt: skip
    steps = render(PROCS["NOVA-012"], FINDINGS["NOVA-012"], hosts=hosts)
    commands = [c for s in steps for c in s.commands if "nova-manage" in c]
    assert commands
    assert all("exec nova_api nova-manage placement" in c for c in commands)


# -- the recorded lab, healthy ----------------------------------------------------------------


def test_nova_011_and_012_pass_on_the_recorded_lab(checks: pytest.Pytester, recorded: Doc) -> None:
    """The lab as recorded (nova-manage's answers in its healthy format, the recording
    predates them): every instance holds its allocations, the oracle finds nothing."""
    doc = copy.deepcopy(recorded)
    result, outcomes = judge(checks, write(checks, "lab.json", doc), phase="post-restore")
    for test in (
        "tests_cloud/test_capacity.py::test_instances_hold_their_allocations[compute1]",
        "tests_cloud/test_capacity.py::test_instances_hold_their_allocations[compute2]",
        "tests_cloud/test_capacity.py::test_placement_audit_finds_nothing",
    ):
        assert outcomes.get(test) == "passed", (test, result.stdout.str()[-3000:])

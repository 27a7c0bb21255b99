"""Remediation, unit layer: procedures as data, rendering, findings, redaction, graph."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from afterboot.checks.catalog import TIERS
from afterboot.checks.findings import Finding
from afterboot.procedures.dependencies import blocker, depth, root_of
from afterboot.procedures.runbook import OURS, ProcedureError, fill, load, message_findings, render
from afterboot.redact import redact
from afterboot.reports.reportfiles import script, summary_lines
from afterboot.verdict.entries import BLOCKED, Entry

ROOT = Path(__file__).resolve().parent.parent
UUID_A = "6f0c1d2e-1111-2222-3333-444455556666"
UUID_B = "7a0c1d2e-1111-2222-3333-444455556666"


def _cloud_checks() -> dict[str, tuple[int, str]]:
    """Check ID -> (tier, module) for every @pytest.mark.check in tests_cloud (read, not
    imported); the module as its procedure file names it (test_rabbitmq.py: rabbitmq)."""
    found: dict[str, tuple[int, str]] = {}
    for path in sorted((ROOT / "tests_cloud").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "pytest.mark.check":
                tier = next(k.value for k in node.keywords if k.arg == "tier")
                assert isinstance(node.args[0], ast.Constant)
                assert isinstance(tier, ast.Constant)
                module = path.stem.removeprefix("test_")
                found[str(node.args[0].value)] = (int(tier.value), module)
    return found


PROCS = load()
_FOUND = _cloud_checks()
CHECKS = {check: tier for check, (tier, _) in _FOUND.items()}  # a check's tier: its marker's
MODULES = {check: module for check, (_, module) in _FOUND.items()}


def test_every_check_has_a_procedure_and_every_procedure_a_check() -> None:
    assert CHECKS, "no checks found in tests_cloud"
    assert sorted(set(CHECKS) - set(PROCS)) == [], "checks without a procedure"
    assert sorted(set(PROCS) - set(CHECKS)) == [], "procedures without a check"


def test_the_tier_is_only_in_the_check_marker() -> None:
    assert all(tier in TIERS for tier in CHECKS.values())
    for path in sorted(OURS.glob("[!_]*.yaml")):
        data = yaml.safe_load(path.read_text())
        written = sorted(cid for cid, proc in data.items() if "tier" in proc)
        assert not written, f"{path.name}: tier: belongs in the check marker, not in {written}"


def test_a_site_procedure_with_a_tier_is_refused(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text("SVC-003:\n  tier: 4\n")
    with pytest.raises(ProcedureError, match=r"site.yaml: SVC-003: 'tier' is the check's"):
        load([tmp_path])


def test_each_procedure_is_in_the_file_of_its_checks_module() -> None:
    misplaced = {
        cid: Path(proc.source).name
        for cid, proc in PROCS.items()
        if Path(proc.source) != OURS / f"{MODULES[cid]}.yaml"
    }
    assert not misplaced, f"procedure file != tests_cloud module (test_<name>.py): {misplaced}"


def test_dependencies_point_to_known_checks_of_no_higher_tier() -> None:
    for proc in PROCS.values():
        for dep in proc.depends_on:
            assert dep.check in PROCS, f"{proc.id} depends on unknown {dep.check}"
            assert CHECKS[dep.check] <= CHECKS[proc.id], f"{proc.id} -> {dep.check} goes up a tier"
        assert depth(proc.id, PROCS) < 6


def test_svc003_follows_the_d_bus_story() -> None:
    steps = render(PROCS["SVC-003"], [Finding(host="compute-01")])
    cmds = [c for s in steps for c in s.commands]
    assert "dbus" in cmds[0]
    assert "libvirtd" in cmds[1]
    assert "nova-compute" in cmds[2]
    assert all(c.startswith("ssh compute-01 -- ") for c in cmds)


def test_guide_foreground_daemon_is_offered_for_glance() -> None:
    cmds = [c for s in render(PROCS["GLANCE-001"], [Finding(host="ctl-01")]) for c in s.commands]
    assert "ssh ctl-01 -- 'sudo -u glance -H glance-api'" in cmds


def test_findings_from_message_fill_one_command_per_instance_deduplicated() -> None:
    message = f"no libvirt domain on cmp-01 (needs a hard reboot): {UUID_A}, {UUID_B}, {UUID_A}"
    found = message_findings(PROCS["NOVA-005"], message, "cmp-01")
    assert [f.extra["uuid"] for f in found] == [UUID_A, UUID_B]
    reboot = render(PROCS["NOVA-005"], found)[1]
    assert reboot.commands == (
        f"openstack server reboot --hard {UUID_A}",
        f"openstack server reboot --hard {UUID_B}",
    )
    assert reboot.historical[0] == f"nova reboot --hard {UUID_A}"
    # the host-only step renders once for both findings
    assert len(render(PROCS["NOVA-005"], found)[0].commands) == 1


def test_steps_render_only_for_the_findings_they_apply_to() -> None:
    vol_a, vol_b = UUID_A.replace("6f", "0a", 1), UUID_B.replace("7a", "0b", 1)
    found = [
        Finding(vol_a, "cmp-01", "disk in domain XML", "absent",
                {"volume": vol_a, "uuid": UUID_A, "device": "/dev/vdb"}),
        Finding(vol_b, "", "attached to a live instance", "deleted",
                {"volume": vol_b, "uuid": UUID_B}),
    ]  # fmt: skip
    commands = [c for s in render(PROCS["CINDER-004"], found) for c in s.commands]
    assert any(c.startswith(f"openstack server remove volume {UUID_A} {vol_a}") for c in commands)
    assert f"openstack volume set --state available --detached {vol_b}" in commands
    assert not any(vol_b in c and "server" in c for c in commands)
    assert not any(vol_a in c and "--detached" in c for c in commands)
    # without findings (a message nobody parsed) every step shows, unfilled
    assert len(render(PROCS["CINDER-004"], [])) == len(PROCS["CINDER-004"].steps)


def test_unknown_placeholder_stays_visible_and_is_commented_in_the_script() -> None:
    entry = Entry("NOVA-005", 5, "t::x[cmp-01]", "cmp-01", findings=(Finding(host="cmp-01"),))
    text = script([entry], PROCS, {"phase": "post-reboot"})
    assert "# fill in, then uncomment: openstack server reboot --hard <uuid>" in text
    head = text.splitlines()
    assert head[0] == "#!/bin/sh"
    assert "exit 1" in head[: head.index("exit 1") + 1]


def test_site_procedures_merge_over_ours(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text(
        "SVC-003:\n  runbook: https://wiki.example/compute\n  contact: '#oncall'\n"
    )
    merged = load([tmp_path])
    assert merged["SVC-003"].runbook == "https://wiki.example/compute"
    assert merged["SVC-003"].steps == PROCS["SVC-003"].steps


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("X-001: {title: t, steps: [s]}", "missing 'why'"),
        ("SVC-003: {severity: urgent}", "severity 'urgent'"),
        ("SVC-003: {steps: [{text: a, at: moon}]}", "'at' must be one of"),
        ("SVC-003: {colour: red}", "unknown key 'colour'"),
        ("SVC-003: {steps: [{text: a, when: [x]}]}", "'when' maps finding fields"),
    ],
)
def test_bad_site_procedures_are_one_line_errors(tmp_path: Path, yaml: str, message: str) -> None:
    (tmp_path / "site.yaml").write_text(yaml + "\n")
    with pytest.raises(ProcedureError, match=message):
        load([tmp_path])


def test_an_include_step_is_its_blocks_steps_in_place(tmp_path: Path) -> None:
    (tmp_path / "_blocks.yaml").write_text(
        "outer: [{text: one}, {include: inner}]\ninner: [{text: two, run: ls, at: host}]\n"
    )
    (tmp_path / "site.yaml").write_text(
        "SVC-003:\n  steps: [{text: zero}, {include: outer}, three, {include: hung-process}]\n"
    )
    steps = load([tmp_path])["SVC-003"].steps
    assert [s.text for s in steps[:4]] == ["zero", "one", "two", "three"]
    assert (steps[2].run, steps[2].at) == ("ls", "host")
    assert steps[4:] == PROCS["SVC-001"].steps[: len(steps) - 4]  # ours, hung-process first


@pytest.mark.parametrize(
    ("blocks", "steps", "message"),
    [
        ("", "[{include: nope}]", "SVC-003: include of unknown block 'nope'"),
        ("a: [{include: b}]\nb: [{include: a}]", "[{include: a}]", "include cycle a -> b -> a"),
        ("a: [{text: t}]", "[{include: a, text: t}]", r"is \{include: <block name>\}, with"),
        ("a: [{text: t}]", "[{include: [a]}]", r"is \{include: <block name>\}, with"),
        ("a: [{text: t}]", "[{include: a, with: [x]}]", r"is \{include: <block name>\}, with"),
        ("a: [{text: 't {x}'}]", "[{include: a, with: {y: 1}}]", r"block 'a' has no \{y\} to fill"),
        ("a: [{text: t, host: ls, at: host}]", "[{include: a}]", "'host: COMMAND' or 'run'"),
        ("a: [{txt: t}]", "[{include: a}]", "SVC-003: block 'a': a step needs 'text'"),
        ("a: {text: t}", "[{include: a}]", "_blocks.yaml: block 'a' must be a list of steps"),
    ],
)
def test_bad_includes_are_one_line_errors_naming_file_and_procedure(
    tmp_path: Path, blocks: str, steps: str, message: str
) -> None:
    (tmp_path / "_blocks.yaml").write_text(blocks + "\n")
    (tmp_path / "site.yaml").write_text(f"SVC-003:\n  steps: {steps}\n")
    with pytest.raises(ProcedureError, match=message) as err:
        load([tmp_path])
    assert len(str(err.value).splitlines()) == 1
    assert str(tmp_path) in str(err.value)


def test_an_include_with_values_fills_them_and_leaves_the_findings_placeholders(
    tmp_path: Path,
) -> None:
    (tmp_path / "_blocks.yaml").write_text(
        "a:\n  - text: '{api} on {host} is down'\n    host: systemctl restart {api}\n"
        "    when: {project: '{api}'}\n"
    )
    (tmp_path / "site.yaml").write_text(
        "SVC-003:\n  steps: [{include: a, with: {api: nova-api}}]\n"
    )
    step = load([tmp_path])["SVC-003"].steps[0]
    assert (step.text, step.run, step.at) == (
        "nova-api on {host} is down",
        "systemctl restart nova-api",
        "host",
    )
    assert step.when == (("project", "nova-api"),)


def test_a_procedure_without_a_severity_is_critical(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text(
        "X-001: {title: t, why: w, guide: g, steps: [s]}\n"
        "X-002: {title: t, severity: minor, why: w, guide: g, steps: [s]}\n"
    )
    book = load([tmp_path])
    assert (book["X-001"].severity, book["X-002"].severity) == ("critical", "minor")


def test_every_step_is_written_once_and_every_block_is_used() -> None:
    """A step two procedures share is a block of _blocks.yaml, included by name."""
    blocks = yaml.safe_load((OURS / "_blocks.yaml").read_text())
    procs = [v for p in OURS.glob("[!_]*.yaml") for v in yaml.safe_load(p.read_text()).values()]
    written = [s for steps in [p["steps"] for p in procs] + list(blocks.values()) for s in steps]
    included = {s["include"] for s in written if "include" in s}
    steps = [repr(s) for s in written if "include" not in s]
    assert sorted({s for s in steps if steps.count(s) > 1}) == [], "written twice"
    assert sorted(set(blocks) - included) == [], "blocks no procedure includes"


@pytest.mark.parametrize(
    "line",
    [
        "connection = mysql+pymysql://nova:CANARY1@db/nova",
        "transport_url = rabbit://openstack:CANARY1@mq:5672/",
        "admin_password = CANARY1",
        "X-Auth-Token: CANARY1",
        "Authorization: Bearer CANARY1",
        '{"password": "CANARY1"}',
        "token=gAAAAABCANARY1CANARY1CANARY1CANARY1",
    ],
)
def test_redaction_masks_every_secret_form(line: str) -> None:
    assert "CANARY1" not in redact(line)


def test_blocking_is_host_scoped_or_cloud_wide() -> None:
    broken = {"SVC-003": {"cmp-01"}, "SVC-001": {"db-01"}}
    assert blocker(PROCS["NOVA-005"], "cmp-01", broken) == "SVC-003 on cmp-01"
    assert blocker(PROCS["NOVA-005"], "cmp-02", broken) is None
    assert blocker(PROCS["KEYSTONE-001"], "", broken) == "SVC-001 on db-01"
    broken["KEYSTONE-001"] = {""}
    assert root_of("GLANCE-001", "", PROCS, broken) == "SVC-001 on db-01"


def test_summary_marks_the_lowest_broken_tier() -> None:
    entries = [
        Entry("NOVA-001", 99, "a::b", findings=(Finding(),)),
        Entry("SVC-001", 10, "a::c[db-01]", "db-01", findings=(Finding(host="db-01"),)),
        Entry("KEYSTONE-001", 15, "a::d", outcome=BLOCKED, blocked_by="SVC-001 on db-01"),
    ]
    lines = summary_lines(entries, PROCS)
    assert lines[0] == "--- tier 10: message queue and database services  <== start here"
    assert "  KEYSTONE-001 a::d: blocked by SVC-001 on db-01" in lines


def test_placeholder_default_applies_only_when_the_finding_lacks_the_value() -> None:

    assert fill("server {reboot|reboot --hard} {uuid}", {"uuid": "u1"}) == "server reboot --hard u1"
    assert fill("server {reboot|reboot --hard} {uuid}", {"reboot": "reboot", "uuid": "u1"}) == (
        "server reboot u1"
    )
    assert fill("{device}", {}) == "<device>"


def test_url_paths_named_like_secrets_are_not_masked() -> None:

    msg = "Unable to establish connection to http://10.0.0.1:5000/v3/auth/tokens: Pool(host='x')"
    assert redact(msg) == msg
    assert redact("tokens: gAAAAAsecretvalue") == "tokens: ***"

"""UPG-001 and KEYSTONE-002 on the projects' own upgrade checks and keystone's doctor, as
the lab's controller printed them (tests/data/upgradecheck/README.md says how each was
recorded), plus Failure results in the same formats.

The real read scripts run in a local shell with fake tools on PATH that print the recorded
output and exit with the recorded status; the real checks judge what they read."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import tests_cloud.test_upgrade_checks as checks
from afterboot.checks.findings import Findings, item_findings
from afterboot.collection import compose, read_host
from afterboot.domains.upgradecheck import (
    BY_NAME,
    DOCTOR_READ,
    FAILURE,
    PROJECTS,
    SUCCESS,
    WARNING,
    Project,
    parse,
    parse_doctor,
)
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.procedures.hostcommands import IN_CONTAINER
from afterboot.reads.hostreads import READS
from afterboot.snapshot import ReadResult
from afterboot.transport.connections import Connections

DATA = Path(__file__).resolve().parent / "data" / "upgradecheck"
TOOLS = {p.tool for p in PROJECTS} | {"keystone-manage"}


def _data(name: str) -> str:
    return (DATA / name).read_text() if name else ""


def _tool(
    bin_dir: Path,
    name: str,
    stdout: str = "",
    stderr: str = "",
    rc: int = 0,
    shebang: str = "/bin/sh",
    body: str = "",
) -> None:
    """A fake tool printing recorded output (files of DATA) and exiting with ``rc``; its
    arguments are kept in ``<name>.args``."""
    out = shlex_path(DATA / stdout) if stdout else "/dev/null"
    err = shlex_path(DATA / stderr) if stderr else "/dev/null"
    (bin_dir / name).write_text(
        f"#!{shebang}\n"
        f'echo "$@" > {shlex_path(bin_dir / name)}.args\n'
        + (body or f"cat {out}; cat {err} >&2; exit {rc}")
        + "\n"
    )
    (bin_dir / name).chmod(0o755)


def shlex_path(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))


def _controller(name: str = "ctl-01", **kw: object) -> HostSpec:
    return HostSpec(name, connection="local", roles=("controller",), **kw)  # type: ignore[arg-type]


def _connections(*specs: HostSpec, reads: tuple[str, ...], timeout: float = 5.0) -> Connections:
    """Local controllers whose collection pass ran the real read scripts."""
    connections = Connections(Inventory({s.name: s for s in specs}, "t"), timeout)
    for spec in specs:
        _collect(connections, spec.name, reads, timeout)
    return connections


def _collect(connections: Connections, host: str, reads: tuple[str, ...], timeout: float) -> None:
    remote = connections[host]
    remote.adopt(read_host(remote, list(reads), timeout))


def _read(spec: HostSpec, name: str, timeout: float = 5.0) -> ReadResult:
    return _connections(spec, reads=(name,), timeout=timeout)[spec.name].reads[name]


def _judge(
    project: Project, connections: Connections, request: pytest.FixtureRequest
) -> tuple[list[str], list[tuple[str, object]]]:
    """UPG-001 for one project: (its findings' subjects, the properties it recorded)."""
    props: list[tuple[str, object]] = []
    findings = Findings(request.node)
    try:
        checks.test_upgrade_checks_pass(
            project, connections, findings, lambda k, v: props.append((k, v))
        )
    finally:
        subjects = [f.subject for f in item_findings(request.node)]
    return subjects, props


# -- the reads ---------------------------------------------------------------------------


def test_the_reads_are_declared_slow_in_their_services_containers() -> None:
    for project in PROJECTS:
        read = READS[project.read]
        assert read.slow, project.name
        assert read.container == project.container, project.name
    assert READS[DOCTOR_READ].slow
    assert READS[DOCTOR_READ].container == "keystone"


def test_on_a_kolla_controller_each_tool_runs_in_its_container() -> None:
    spec = HostSpec("ctl-01", service_manager="container", container_engine="podman")
    script = compose([READS[p.read] for p in PROJECTS] + [READS[DOCTOR_READ]], spec, "@@n", 10)
    for project in PROJECTS:
        assert f"exec {project.container} sh -c" in script, project.name
    # keystone's two reads share one exec (written twice: as a job and in its fallback)
    assert script.count("exec keystone sh -c") == script.count("exec nova_api sh -c") == 2


@pytest.mark.parametrize(
    ("project", "stdout", "stderr", "rc", "checks"),
    [
        ("nova", "nova-status.table", "nova-status.stderr", 0, 7),
        ("placement", "placement-status-json.table", "", 0, 3),
        ("cinder", "cinder-status.json", "", 0, 7),
        ("keystone", "keystone-status.json", "", 0, 3),
        ("neutron", "neutron-status.json", "neutron-status.stderr", 1, 16),
    ],
)
def test_the_lab_s_answers_parse(
    fakebin: Path, project: str, stdout: str, stderr: str, rc: int, checks: int
) -> None:
    p = BY_NAME[project]
    _tool(fakebin, p.tool, stdout, stderr, rc)
    got = _read(_controller(), p.read)
    assert got.rc == 0, got  # an exit 1 (a warning) is an answer, not a failed read
    answer = parse(got, p, "ctl-01")
    assert (answer.installed, answer.status, len(answer.checks)) == (True, rc, checks)
    assert not answer.failures
    said = (fakebin / f"{p.tool}.args").read_text().split()
    assert ("--json" in said) == p.json  # nova-status refuses it, placement ignores it


def test_neutron_s_warnings_on_the_healthy_lab() -> None:
    read = ReadResult(
        "upgrade_check_neutron", 0, _data("neutron-status.json") + "\n@@afterboot-part exit 1"
    )
    warned = parse(read, BY_NAME["neutron"], "controller").warnings
    assert [w.check for w in warned] == [
        "Worker counts configured",
        "OVN support for BM provisioning over IPv6 check",
    ]
    assert "rpc_workers" in warned[0].details
    assert "tcp:127.0.0.1:6641" in warned[1].details


@pytest.mark.parametrize(
    ("project", "base"),
    [
        ("neutron", "neutron-status"),
        ("cinder", "cinder-status"),
        ("keystone", "keystone-status"),
        ("glance", "glance-status-failure"),
        ("cinder", "crafted-cinder-failure"),
    ],
)
def test_the_table_and_the_json_say_the_same(project: str, base: str) -> None:
    p = BY_NAME[project]

    def answer(suffix: str) -> object:
        text = _data(f"{base}.{suffix}")
        worst = (
            2
            if "Failure" in text or '"result": 2' in text
            else 1
            if "Warning" in text or '"result": 1' in text
            else 0
        )
        return parse(ReadResult(p.read, 0, f"{text}\n@@afterboot-part exit {worst}"), p, "h").checks

    assert answer("table") == answer("json")


def test_the_config_files_the_service_reads_are_passed_where_they_exist(
    fakebin: Path, tmp_path: Path
) -> None:
    (tmp_path / "neutron" / "plugins" / "ml2").mkdir(parents=True)
    (tmp_path / "neutron" / "neutron.conf").write_text("[DEFAULT]\n")
    _tool(fakebin, "neutron-status", "neutron-status.json", rc=1)
    spec = _controller(paths={"/etc/neutron": str(tmp_path / "neutron")})
    assert _read(spec, "upgrade_check_neutron").rc == 0
    said = (fakebin / "neutron-status.args").read_text().split()
    # the ML2 file is absent here: only neutron.conf is passed
    assert said == [
        "--config-file",
        str(tmp_path / "neutron/neutron.conf"),
        "upgrade",
        "check",
        "--json",
    ]


# -- glance: its crash, and its checks run again -------------------------------------------


def _glance(fakebin: Path, rerun: str) -> None:
    """glance-status crashing as glance 33.0.0 does, its interpreter answering ``-c``."""
    (fakebin / "python3").write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = -c ]; then echo "$@" > {shlex_path(fakebin)}/rerun.args; {rerun}; fi\n'
        'exec /bin/sh "$@"\n'
    )
    (fakebin / "python3").chmod(0o755)
    _tool(
        fakebin,
        "glance-status",
        "glance-status-crash.stdout",
        "glance-status-crash.stderr",
        255,
        shebang=str(fakebin / "python3"),
    )


def test_glance_s_own_crash_is_rerun_and_its_failures_judged(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    _glance(fakebin, f"cat {shlex_path(DATA / 'glance-status-failure.json')}; exit 2")
    connections = _connections(_controller(), reads=("upgrade_check_glance",))
    answer = parse(connections["ctl-01"].reads["upgrade_check_glance"], BY_NAME["glance"], "ctl-01")
    assert "glance.common.config" in answer.note
    assert [c.check for c in answer.failures] == [
        "Sheepdog Driver Removal",
        "Config option owner_is_tenant removal",
    ]
    assert "import glance.common.config" in (fakebin / "rerun.args").read_text()
    with pytest.raises(AssertionError, match="Sheepdog Driver Removal") as failed:
        _judge(BY_NAME["glance"], connections, request)
    assert "owner_is_tenant" in str(failed.value)


def test_glance_crashing_again_is_could_not_run_with_its_error(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    _glance(
        fakebin,
        f"cat {shlex_path(DATA / 'glance-status-crash.stdout')}; exit 255",
    )
    connections = _connections(_controller(), reads=("upgrade_check_glance",))
    assert connections["ctl-01"].reads["upgrade_check_glance"].rc == 255
    with pytest.raises(
        CouldNotRun, match=r"read 'upgrade_check_glance' failed \(exit 255: .*NoSuchOptError"
    ):
        _judge(BY_NAME["glance"], connections, request)


# -- UPG-001 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("project", "stdout", "expected"),
    [
        ("nova", "crafted-nova-failure.table", ["nova: Cells v2", "nova: Older than N-1 computes"]),
        ("cinder", "crafted-cinder-failure.json", ["cinder: Removed Drivers"]),
    ],
)
def test_upg_001_fails_naming_each_failed_check(
    fakebin: Path, project: str, stdout: str, expected: list[str], request: pytest.FixtureRequest
) -> None:
    p = BY_NAME[project]
    _tool(fakebin, p.tool, stdout, rc=FAILURE)
    connections = _connections(_controller(), reads=(p.read,))
    with pytest.raises(AssertionError, match=f"{p.tool} upgrade check reports Failure") as failed:
        _judge(p, connections, request)
    subjects = [f.subject for f in item_findings(request.node)]
    assert subjects == expected
    finding = item_findings(request.node)[0]
    assert finding.host == "ctl-01"
    assert finding.extra["project"] == project
    assert finding.extra["details"] in str(failed.value)


def test_upg_001_records_warnings_and_passes_on_the_healthy_lab_s_neutron(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    _tool(fakebin, "neutron-status", "neutron-status.json", "neutron-status.stderr", WARNING)
    connections = _connections(_controller(), reads=("upgrade_check_neutron",))
    subjects, props = _judge(BY_NAME["neutron"], connections, request)
    assert subjects == []
    warned = [str(v) for k, v in props if k == "upgrade_warning"]
    assert len(warned) == 2
    assert warned[0].startswith("ctl-01 neutron: Worker counts configured: ")


def test_upg_001_judges_every_controller_that_has_the_tool(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    """ctl-02 has no cinder-status (PATH without it): ctl-01's Failure is still judged."""
    _tool(fakebin, "cinder-status", "crafted-cinder-failure.json", rc=FAILURE)
    inventory = Inventory({n: _controller(n) for n in ("ctl-01", "ctl-02")}, "t")
    connections = Connections(inventory, 5.0)
    _collect(connections, "ctl-01", ("upgrade_check_cinder",), 5.0)
    (fakebin / "cinder-status").unlink()
    _collect(connections, "ctl-02", ("upgrade_check_cinder",), 5.0)
    with pytest.raises(AssertionError, match="cinder on ctl-01: Removed Drivers"):
        _judge(BY_NAME["cinder"], connections, request)


def test_upg_001_a_tool_on_no_controller_is_could_not_run_naming_it(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    connections = _connections(_controller(), reads=("upgrade_check_placement",))
    assert (
        "@@afterboot-part absent" in connections["ctl-01"].reads["upgrade_check_placement"].stdout
    )
    with pytest.raises(CouldNotRun, match="placement-status is installed on no controller"):
        _judge(BY_NAME["placement"], connections, request)


CRASHED = {
    # oslo.upgradecheck's own error: a traceback on stdout, exit 255
    "crash": {"stdout": "glance-status-crash.stdout", "rc": 255},
    # a tool that refuses --json (argparse: exit 2, usage on stderr, no result)
    "refused-json": {"stderr": "nova-status-json.stderr", "rc": 2},
    # a crash before any output (python's own exit 1)
    "traceback": {"stderr": "keystone-doctor-crash.stderr", "rc": 1},
    # output not understood, with a status that would be an answer
    "garbage": {"stdout": "keystone-doctor-symptoms.stdout", "rc": 1},
    # a table whose worst result is not the status the tool exited with
    "disagrees": {"stdout": "cinder-status.table", "rc": 2},
    # the tool's status is neither an answer nor an error of oslo's
    "killed": {"stdout": "cinder-status.json", "rc": 137},
}


@pytest.mark.parametrize("how", sorted(CRASHED))
def test_upg_001_a_crash_or_garbage_is_could_not_run(
    fakebin: Path, how: str, request: pytest.FixtureRequest
) -> None:
    _tool(fakebin, "cinder-status", **CRASHED[how])  # type: ignore[arg-type]
    connections = _connections(_controller(), reads=("upgrade_check_cinder",))
    with pytest.raises(CouldNotRun, match="ctl-01"):
        _judge(BY_NAME["cinder"], connections, request)


def test_upg_001_a_tool_that_does_not_finish_is_could_not_run(
    fakebin: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounded by its budget (past --timeout: the tools cost seconds of CPU), not waited
    for past it."""
    monkeypatch.setitem(READS, "upgrade_check_nova", replace(READS["upgrade_check_nova"], budget=2))
    _tool(fakebin, "nova-status", body="sleep 30")
    connections = _connections(_controller(), reads=("upgrade_check_nova",), timeout=1.0)
    with pytest.raises(CouldNotRun, match="did not finish in time"):
        _judge(BY_NAME["nova"], connections, request)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{}",
        '{"name": "Upgrade Check Results", "checks": []}',
        '{"name": "x", "checks": [{"check": "A", "result": 3, "details": null}]}',
        '{"name": "x", "checks": [{"check": "A", "result": true, "details": null}]}',
        '{"name": "x", "checks": [{"result": 0}]}',
        "+---+\n| Upgrade Check Results |\n+---+\n| Check: A |\n| Result: Fine |\n"
        "| Details: None |\n+---+",
        "+---+\n| Upgrade Check Results |\n+---+\n| Kontrolle: A |\n| Ergebnis: Erfolg |\n+---+",
        "+---+\n| Upgrade Check Results |\n+---+",
    ],
)
def test_an_answer_not_understood_is_could_not_run(text: str) -> None:
    read = ReadResult("upgrade_check_cinder", 0, f"{text}\n@@afterboot-part exit 0")
    with pytest.raises(CouldNotRun, match="host h: cinder-status upgrade check"):
        parse(read, BY_NAME["cinder"], "h")


def test_a_read_without_its_status_line_is_could_not_run() -> None:
    read = ReadResult("upgrade_check_cinder", 0, _data("cinder-status.json"))
    with pytest.raises(CouldNotRun, match="no exit status"):
        parse(read, BY_NAME["cinder"], "h")


def test_details_wrapped_in_the_table_are_joined() -> None:
    text = _data("crafted-nova-failure.table") + "\n@@afterboot-part exit 2"
    checks = parse(ReadResult("upgrade_check_nova", 0, text), BY_NAME["nova"], "h").checks
    cells = checks[0]
    assert (cells.check, cells.code) == ("Cells v2", FAILURE)
    assert cells.details == (
        "No host mappings found but there are compute nodes. Run command "
        "'nova-manage cell_v2 simple_cell_setup' and then retry."
    )
    assert [c.code for c in checks].count(SUCCESS) == 4
    assert checks[1].details == ""  # "Details: None"


# -- KEYSTONE-002 ----------------------------------------------------------------------------


def test_keystone_002_passes_on_the_lab_s_doctor(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    _tool(fakebin, "keystone-manage", stderr="keystone-doctor.stderr", rc=0)
    connections = _connections(_controller(), reads=(DOCTOR_READ,))
    checks.test_keystone_doctor_finds_no_symptom(connections, Findings(request.node))
    assert (fakebin / "keystone-manage.args").read_text().split() == ["doctor"]


def test_keystone_002_fails_naming_each_symptom(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    _tool(
        fakebin, "keystone-manage", "keystone-doctor-symptoms.stdout", "keystone-doctor.stderr", 1
    )
    connections = _connections(_controller(), reads=(DOCTOR_READ,))
    with pytest.raises(AssertionError, match="keystone-manage doctor finds symptoms"):
        checks.test_keystone_doctor_finds_no_symptom(connections, Findings(request.node))
    found = item_findings(request.node)
    assert [f.subject for f in found] == [
        "`keystone.conf [cache] enabled` is not enabled.",
        "Credential key repository is empty.",
        "Credential key repository is not setup correctly.",
        "SQLite is not recommended for production deployments.",
        "Fernet key repository is empty.",
    ]
    # its log lines on stdout are no part of a symptom
    assert found[1].extra["detail"].startswith("After configuring keystone")
    assert "ERROR" not in found[1].extra["detail"]


@pytest.mark.parametrize(
    ("stdout", "stderr", "rc", "match"),
    [
        ("", "keystone-doctor-crash.stderr", 1, "crashed"),
        ("", "keystone-doctor.stderr", 1, "without naming a symptom"),
        ("keystone-doctor-symptoms.stdout", "", 0, "exited 0"),
        ("", "keystone-doctor-crash.stderr", 2, "read 'keystone_doctor' failed"),
    ],
)
def test_keystone_002_a_crash_is_could_not_run(
    fakebin: Path, stdout: str, stderr: str, rc: int, match: str, request: pytest.FixtureRequest
) -> None:
    _tool(fakebin, "keystone-manage", stdout, stderr, rc)
    connections = _connections(_controller(), reads=(DOCTOR_READ,))
    with pytest.raises(CouldNotRun, match=match):
        checks.test_keystone_doctor_finds_no_symptom(connections, Findings(request.node))


def test_keystone_002_missing_everywhere_is_could_not_run(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    connections = _connections(_controller(), reads=(DOCTOR_READ,))
    with pytest.raises(CouldNotRun, match="keystone-manage is installed on no controller"):
        checks.test_keystone_doctor_finds_no_symptom(connections, Findings(request.node))


def test_doctor_symptoms_parse_from_the_recorded_output() -> None:
    read = ReadResult(
        DOCTOR_READ, 0, _data("keystone-doctor-symptoms.stdout") + "\n@@afterboot-part exit 1"
    )
    got = parse_doctor(read, "h")
    assert len(got.symptoms) == 5
    assert got.symptoms[-1].detail.endswith("`keystone-manage fernet_rotate`.")


def test_every_tool_is_adapted_to_its_container_in_the_procedures() -> None:

    for project in PROJECTS:
        assert IN_CONTAINER[project.tool] == project.container
    assert IN_CONTAINER["keystone-manage"] == "keystone"
    assert set(IN_CONTAINER) >= TOOLS

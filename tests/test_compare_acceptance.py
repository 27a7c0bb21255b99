"""Before and after, acceptance layer (pytester runs of the real plugins and the real
before/after checks): a file that cannot be compared with is one line and status 4; two
saved snapshots compared without touching a cloud; failures marked new or already failing
in summary.json, JUnit and the terminal; the snapshot keeps the run's results; and the
pre-maintenance run reads what the before/after checks will need."""

from __future__ import annotations

import copy
import json
import shutil
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from afterboot.verdict.exitstatus import Status

from .conftest import ROOT, SAMPLES

SAMPLE = SAMPLES / "snapshot-healthy.json"
STOPPED = "0eb94168-e83f-40bc-9c00-f2d97ab6f0b9"  # ran on compute1 in the sample


@pytest.fixture
def diffsuite(suite: pytest.Pytester) -> pytest.Pytester:
    """The suite with the real before/after checks (and nothing else) under tests_cloud."""
    shutil.copy(ROOT / "tests_cloud" / "test_before_after.py", suite.path / "tests_cloud")
    return suite


def _sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text())
    return data


def _write(p: pytest.Pytester, name: str, doc: dict[str, Any]) -> str:
    (p.path / name).write_text(json.dumps(doc))
    return name


def _errors(result: pytest.RunResult) -> list[str]:
    return [line for line in result.errlines if line.startswith("ERROR")]


# -- a file that cannot be compared with ---------------------------------------------


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "missing.json: no such file"),
        ('{"schema": 1, "hosts": {}, ', "not JSON"),
        (
            '{"schema": 2, "hosts": {}, "cloud": {}}',
            "snapshot schema 2, this afterboot reads schema 1",
        ),
        ("[]", "not an afterboot snapshot"),
    ],
)
def test_a_file_that_cannot_be_compared_with_is_one_line_and_4(
    diffsuite: pytest.Pytester, content: str | None, said: str
) -> None:
    if content is not None:
        (diffsuite.path / "missing.json").write_text(content)
    result = diffsuite.runpytest_subprocess("--compare=missing.json")
    assert result.ret == Status.USAGE
    errors = _errors(result)
    assert len(errors) == 1, result.errlines
    assert errors[0].startswith("ERROR: compare (from --compare): ")
    assert said in errors[0]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_a_snapshot_of_another_cloud_is_one_line_and_4(diffsuite: pytest.Pytester) -> None:
    ours = _sample()
    ours["identity"] = {"auth_url": "http://10.77.0.10:5000/v3", "hosts": ["controller"]}
    other = copy.deepcopy(ours)
    other["identity"] = {"auth_url": "https://keystone.prod.example:5000/v3", "hosts": []}
    _write(diffsuite, "lab.json", ours)
    _write(diffsuite, "prod.json", other)
    result = diffsuite.runpytest_subprocess("--compare=lab.json", "--snapshot-file=prod.json")
    assert result.ret == Status.USAGE
    (error,) = _errors(result)
    assert "lab.json and prod.json are snapshots of different clouds" in error
    assert "keystone.prod.example" in error


def test_this_runs_inventory_sharing_no_host_is_another_cloud(
    diffsuite: pytest.Pytester,
) -> None:
    """Told before any host is read (this inventory's host is this machine)."""
    ours = _sample()
    ours["identity"] = {"hosts": ["controller", "compute1"]}
    _write(diffsuite, "lab.json", ours)
    diffsuite.makefile(".yaml", inventory="hosts:\n  cmp-01: {connection: local}\n")
    result = diffsuite.runpytest_subprocess("--compare=lab.json", "--inventory=inventory.yaml")
    assert result.ret == Status.USAGE
    (error,) = _errors(result)
    assert "lab.json is a snapshot of another cloud: no host in common" in error
    assert not (diffsuite.path / "reports" / "snapshot.json").exists()


def test_snapshot_file_needs_compare(diffsuite: pytest.Pytester) -> None:
    result = diffsuite.runpytest_subprocess(f"--snapshot-file={SAMPLE}")
    assert result.ret == Status.USAGE
    assert _errors(result) == [
        "ERROR: --snapshot-file: needs --compare=FILE (the snapshot to compare it with)"
    ]


# -- two saved snapshots, no cloud --------------------------------------------------


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_a_snapshot_compared_with_itself_passes_without_a_cloud(
    diffsuite: pytest.Pytester, xdist: bool
) -> None:
    result = diffsuite.runpytest_subprocess(
        f"--compare={SAMPLE}", f"--snapshot-file={SAMPLE}", "-p", "xdist",
        *(("-n", "2") if xdist else ()),
    )  # fmt: skip
    assert result.ret == Status.PASSED, result.stdout.str()
    result.assert_outcomes(passed=7)
    assert not (diffsuite.path / "reports" / "snapshot.json").exists()  # nothing was read


def test_offline_comparison_names_each_difference(diffsuite: pytest.Pytester) -> None:
    friday = _sample()
    conf = friday["hosts"]["compute2"]["reads"]["configs"]["data"]["/etc/nova/nova.conf"]
    conf["[DEFAULT] reserved_host_memory_mb"] = "1024"
    _write(diffsuite, "friday.json", friday)
    result = diffsuite.runpytest_subprocess(
        f"--compare={SAMPLE}", "--snapshot-file=friday.json", "--junitxml=junit.xml"
    )
    assert result.ret == Status.WARNING  # DIFF-007's severity is normal
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*DIFF-007*",
            "*/etc/nova/nova.conf on compute2: changed [[]DEFAULT[]] reserved_host_memory_mb*",
        ]
    )
    assert "1024" not in result.stdout.str()
    summary = json.loads((diffsuite.path / "reports" / "summary.json").read_text())
    (check,) = summary["checks"]
    assert check["check"] == "DIFF-007"
    (result,) = check["results"]
    assert [(f["subject"], f["host"]) for f in result["findings"]] == [
        ("/etc/nova/nova.conf", "compute2")
    ]
    assert result["new"] is True  # a difference since the snapshot is new by definition


def test_an_instance_stopped_since_is_named_with_its_remedy(diffsuite: pytest.Pytester) -> None:
    friday = _sample()
    row = next(i for i in friday["cloud"]["instances"]["data"] if i["uuid"] == STOPPED)
    row.update(vm_state="stopped", power_state=4)
    _write(diffsuite, "friday.json", friday)
    result = diffsuite.runpytest_subprocess(f"--compare={SAMPLE}", "--snapshot-file=friday.json")
    assert result.ret == Status.FAILURE  # DIFF-001 is critical
    result.assert_outcomes(passed=6, failed=1)
    out = result.stdout.str()
    assert f"{STOPPED} ran on compute1 before, now stopped, power state shutdown" in out
    assert f"openstack server start {STOPPED}" in out


def test_a_snapshot_lacking_a_read_says_how_to_take_it(diffsuite: pytest.Pytester) -> None:
    monday = _sample()
    del monday["cloud"]["volumes"]
    _write(diffsuite, "monday.json", monday)
    result = diffsuite.runpytest_subprocess("--compare=monday.json", f"--snapshot-file={SAMPLE}")
    assert result.ret == Status.COULD_NOT_RUN
    result.stdout.fnmatch_lines(
        ["*could not run: the snapshot monday.json holds no volumes "
         "(take it with --phase=pre-maintenance)*"]
    )  # fmt: skip


# -- new or already failing -----------------------------------------------------------

CHECK = '''
import os
import pytest

@pytest.mark.check("PERIODIC-003", tier=99)
def test_quota(findings):
    """Quota fits."""
    for project in filter(None, os.environ.get("FULL", "").split(",")):
        findings.add(project, expected="room", actual="full", project=project)
    findings.assert_none("quota full: ")

@pytest.mark.check("MAINT-002", tier=4)
def test_alike():
    """CPUs alike."""
    assert not os.environ.get("ODD"), "CPU model differs"
'''


@pytest.fixture
def site(suite: pytest.Pytester) -> pytest.Pytester:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    before = _sample()
    before["results"] = [
        {"check": "PERIODIC-003", "host": "", "outcome": "failed", "offenders": [["", "p-old"]]},
    ]
    _write(suite, "before.json", before)
    return suite


def _results(p: pytest.Pytester) -> dict[str, Any]:
    summary = json.loads((p.path / "reports" / "summary.json").read_text())
    return {r["check"]: r for c in summary["checks"] for r in c["results"]}


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_failures_are_marked_new_or_already_failing(
    site: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: bool
) -> None:
    monkeypatch.setenv("FULL", "p-old")
    monkeypatch.setenv("ODD", "1")
    args = ("--compare=before.json", "--junitxml=junit.xml", "--alluredir=allure", "-p", "xdist")
    result = site.runpytest_subprocess(*args, *(("-n", "2") if xdist else ()))
    assert result.ret == Status.WARNING
    results = _results(site)
    assert results["PERIODIC-003"]["new"] is False
    assert results["MAINT-002"]["new"] is True
    summary = json.loads((site.path / "reports" / "summary.json").read_text())
    assert summary["start_here_tier"] == 4
    assert [r["check"] for r in summary["already_failing_before_the_maintenance"]] == [
        "PERIODIC-003"
    ]
    # the terminal: new failures first, the old ones apart
    out = result.stdout.lines
    start = next(i for i, line in enumerate(out) if "remediation (lowest tier first" in line)
    apart = next(i for i, line in enumerate(out) if "--- already failing before the" in line)
    assert any("MAINT-002" in line for line in out[start:apart])
    assert not any("PERIODIC-003" in line for line in out[start:apart])
    assert any("PERIODIC-003" in line and "p-old" in line for line in out[apart:])
    cases = {
        str(c.get("name")): {p.get("name"): p.get("value") for p in c.iter("property")}
        for c in ET.parse(site.path / "junit.xml").getroot().iter("testcase")
    }
    assert cases["test_quota"]["new"] == "false"
    assert cases["test_alike"]["new"] == "true"
    allure = {
        r["name"]: {(x["name"], x["value"]) for x in r["labels"]}
        for r in (json.loads(f.read_text()) for f in (site.path / "allure").glob("*-result.json"))
    }
    assert {("new", "false"), ("tag", "already failing before the maintenance")} <= allure[
        "test_quota"
    ]
    assert {("new", "true"), ("tag", "new failure")} <= allure["test_alike"]


def test_one_new_offender_makes_the_failure_new(
    site: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULL", "p-old,p-new")
    site.runpytest_subprocess("--compare=before.json")
    assert _results(site)["PERIODIC-003"]["new"] is True


def test_a_check_the_compared_run_did_not_judge_is_not_marked(
    site: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another phase (or --host) judged other checks: neither new nor old."""
    before = json.loads((site.path / "before.json").read_text())
    before["judged"] = [["PERIODIC-003", ""]]
    _write(site, "before.json", before)
    monkeypatch.setenv("FULL", "p-old")
    monkeypatch.setenv("ODD", "1")
    site.runpytest_subprocess("--compare=before.json")
    results = _results(site)
    assert results["PERIODIC-003"]["new"] is False
    assert "new" not in results["MAINT-002"]


def test_without_compare_no_failure_is_marked(
    site: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULL", "p-old")
    site.runpytest_subprocess()
    assert "new" not in _results(site)["PERIODIC-003"]


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_the_snapshot_keeps_the_runs_results_for_the_next(
    site: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: bool
) -> None:
    monkeypatch.setenv("FULL", "p-1,p-2")
    site.runpytest_subprocess(
        "--phase=post-upgrade", "-p", "xdist", *(("-n", "2") if xdist else ())
    )
    saved = json.loads((site.path / "reports" / "snapshot.json").read_text())
    assert saved["phase"] == "post-upgrade"
    assert saved["results"] == [
        {
            "check": "PERIODIC-003",
            "host": "",
            "outcome": "failed",
            "offenders": [["", "p-1"], ["", "p-2"]],
        }
    ]
    assert set(saved["identity"]) == {"os_cloud", "auth_url", "region", "hosts"}
    assert saved["judged"] == [["MAINT-002", ""], ["PERIODIC-003", ""]]
    # ... and the next run, compared with it, finds p-2 already failing
    shutil.copy(site.path / "reports" / "snapshot.json", site.path / "last.json")
    monkeypatch.setenv("FULL", "p-2")
    site.runpytest_subprocess("--compare=last.json", "--phase=post-upgrade")
    assert _results(site)["PERIODIC-003"]["new"] is False


# -- what the pre-maintenance run reads ----------------------------------------------


MAINTENANCE = '''
import pytest

@pytest.mark.check("MAINT-002", tier=4, phases=("pre-maintenance", "post-reboot"))
def test_cpus():
    """CPUs alike."""
'''


@pytest.mark.parametrize(("phase", "read"), [("pre-maintenance", True), ("post-reboot", False)])
def test_pre_maintenance_reads_what_the_comparison_needs(
    diffsuite: pytest.Pytester, phase: str, read: bool
) -> None:
    diffsuite.makefile(
        ".yaml",
        inventory="hosts:\n  cmp-01: {connection: local, service_manager: process, "
        "roles: [compute]}\n",
    )
    diffsuite.makepyfile(**{"tests_cloud/test_m.py": MAINTENANCE})
    result = diffsuite.runpytest_subprocess(
        "--inventory=inventory.yaml", f"--phase={phase}", "--host=cmp-01", "--timeout=5"
    )
    result.assert_outcomes(passed=1, deselected=7)  # without --compare none runs
    saved = json.loads((diffsuite.path / "reports" / "snapshot.json").read_text())
    host = set(saved["hosts"]["cmp-01"]["reads"])
    wanted = {"domains", "processes", "configs"}
    assert (wanted <= host) is read, host
    assert ({"instances", "volumes", "compute_services"} <= set(saved["cloud"])) is read
    if not read:
        assert host == {"clock"}  # nothing that no selected check reads


def test_a_live_run_compares_what_it_read_with_the_snapshot(diffsuite: pytest.Pytester) -> None:
    """End to end on this machine: the pre-maintenance run reads a nova.conf (moved by the
    inventory's ``paths:``), an option changes, the compared run names it and the file."""
    conf = diffsuite.path / "etc-nova"
    conf.mkdir()
    (conf / "nova.conf").write_text("[DEFAULT]\ndebug = false\npassword = s3cret-1\n")
    diffsuite.makefile(
        ".yaml",
        inventory="hosts:\n  cmp-01: {connection: local, service_manager: process, "
        f"roles: [compute], paths: {{/etc/nova: {conf}}}}}\n",
    )
    diffsuite.makepyfile(**{"tests_cloud/test_m.py": MAINTENANCE})
    args = ("--inventory=inventory.yaml", "--timeout=5", "-k", "configuration or cpus")
    first = diffsuite.runpytest_subprocess(*args, "--phase=pre-maintenance", "--host=cmp-01")
    first.assert_outcomes(passed=1, deselected=7)
    shutil.copy(diffsuite.path / "reports" / "snapshot.json", diffsuite.path / "before.json")
    same = diffsuite.runpytest_subprocess(*args, "--compare=before.json")
    same.assert_outcomes(passed=2, deselected=6)
    (conf / "nova.conf").write_text("[DEFAULT]\ndebug = true\npassword = s3cret-2\n")
    changed = diffsuite.runpytest_subprocess(*args, "--compare=before.json")
    changed.assert_outcomes(passed=1, failed=1, deselected=6)
    changed.stdout.fnmatch_lines(
        [f"*{conf}/nova.conf on cmp-01: changed [[]DEFAULT[]] debug, [[]DEFAULT[]] password*"]
    )
    assert "s3cret" not in changed.stdout.str()

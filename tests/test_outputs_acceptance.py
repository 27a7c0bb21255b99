"""Outputs sites plug in, acceptance layer (pytester runs, serial and ``-n 2``): the exit
status by severity, waivers in every report, and Allure's categories telling a bug in a
check from a check that could not look.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import yaml

from afterboot.verdict.exitstatus import Status, verdict
from afterboot.verdict.waiverfile import parse
from tests.conftest import ROOT

UUID = "6f0c1d2e-1111-2222-3333-444455556666"
INVENTORY = """\
defaults:
  connection: local
hosts:
  cmp-01: {roles: [compute]}
  cmp-02: {roles: [compute]}
"""

# NOVA-005 is critical, MAINT-002 normal, PERIODIC-003 minor (afterboot/procedures/data/).
CHECKS = f'''
import os
import pytest
import yaml
from afterboot.errors import CouldNotRun

FAIL = set(os.environ.get("FAIL", "").split(","))

@pytest.mark.check("NOVA-005", tier=5, roles=("compute",))
def test_instances_running(host, findings):
    """Active instances run."""
    if "critical" in FAIL:
        findings.add("{UUID}", host=host.name, expected="running", actual="shut off")
        assert False, "active in nova but shut off: {UUID}"

@pytest.mark.check("MAINT-002", tier=4, roles=("compute",))
def test_cpu_models(host):
    """CPU models agree."""
    assert "normal" not in FAIL, f"CPU model differs on {{host.name}}"

@pytest.mark.check("PERIODIC-003", tier=99)
def test_quota():
    """Quota fits."""
    if "unrun" in FAIL:
        raise CouldNotRun("compute API", "401: rejected credentials")
    if "bug" in FAIL:
        {{}}["missing"]
'''


@pytest.fixture
def site(suite: pytest.Pytester) -> pytest.Pytester:
    suite.makefile(".yaml", inventory=INVENTORY)
    suite.makeini(
        "[pytest]\naddopts = -p no:testinfra -p no:cacheprovider\n"
        "afterboot_check_paths = tests_cloud\nafterboot_inventory = inventory.yaml\n"
    )
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECKS})
    return suite


def _run(
    p: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, fail: str, xdist: bool, *args: str
) -> pytest.RunResult:
    monkeypatch.setenv("FAIL", fail)
    common = ("--junitxml=junit.xml", "--alluredir=allure", "-p", "xdist", *args)
    return p.runpytest_subprocess(*common, *(("-n", "2") if xdist else ()))


def test_verdict_orders_failure_over_warning_over_could_not_run() -> None:
    assert verdict([], 0) == Status.PASSED
    assert verdict(["minor", "normal"], 3) == Status.WARNING
    assert verdict(["normal", "critical"], 0) == Status.FAILURE
    assert verdict([""], 0) == Status.FAILURE  # no procedure: not known to be mild
    assert verdict([], 2) == Status.COULD_NOT_RUN


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
@pytest.mark.parametrize(
    ("fail", "status"),
    [
        ("", 0),
        ("normal", 1),
        ("normal,unrun", 1),
        ("critical,normal", 2),
        ("unrun", 3),
        ("bug", 2),
    ],
)
def test_exit_status_follows_the_worst_severity(
    site: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, fail: str, status: int, xdist: bool
) -> None:
    assert _run(site, monkeypatch, fail, xdist).ret == status


def test_usage_error_is_4(site: pytest.Pytester) -> None:
    assert site.runpytest("--phase=never").ret == Status.USAGE


def _waivers(p: pytest.Pytester, expires: str, **extra: str) -> None:
    fields = "".join(f"    {k}: {v}\n" for k, v in extra.items())
    (p.path / "waivers.yaml").write_text(
        "NOVA-005:\n"
        f"  - offender: {UUID}\n{fields}"
        "    justification: kept stopped for the tenant's forensic review\n"
        "    owner: ops@example.org\n"
        f"    expires: {expires}\n"
    )


def _junit_cases(p: pytest.Pytester) -> dict[str, ET.Element]:
    root = ET.parse(p.path / "junit.xml").getroot()
    return {str(c.get("name")): c for c in root.iter("testcase")}


def _allure(p: pytest.Pytester) -> dict[str, dict[str, object]]:
    results = [json.loads(f.read_text()) for f in (p.path / "allure").glob("*-result.json")]
    return {str(r["name"]): r for r in results}


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_waived_failure_is_waived_in_every_report(
    site: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: bool
) -> None:
    _waivers(site, "2999-12-31", host="cmp-01")
    result = _run(site, monkeypatch, "critical", xdist, "--waivers=waivers.yaml")
    assert result.ret == Status.FAILURE  # cmp-02 is not waived
    assert result.parseoutcomes() == {"passed": 3, "failed": 1, "waived": 1}
    result.stdout.fnmatch_lines(
        [
            "*= waivers (*waivers.yaml) =*",
            f"NOVA-005 on cmp-01 for {UUID}: waived 1 result until 2999-12-31; "
            "owner ops@example.org: kept stopped for the tenant's forensic review",
        ]
    )
    case = _junit_cases(site)["test_instances_running[cmp-01]"]
    skipped = case.find("skipped")
    assert skipped is not None
    assert str(skipped.get("message")).startswith("waived: NOVA-005 on cmp-01")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert "forensic review" in str(props["waiver"])
    suite = next(ET.parse(site.path / "junit.xml").getroot().iter("testsuite"))
    found = suite.find("properties")
    assert found is not None
    ledger = {p.get("name"): p.get("value") for p in found}
    assert str(ledger[f"waiver NOVA-005@cmp-01/{UUID}"]).startswith("NOVA-005 on cmp-01")

    summary = json.loads((site.path / "reports" / "summary.json").read_text())
    assert summary["counts"] == {"waived": 1, "failed": 1}
    results = {r["host"]: r["outcome"] for r in summary["checks"][0]["results"]}
    assert results == {"cmp-01": "waived", "cmp-02": "failed"}
    assert [(w["check"], w["state"]) for w in summary["waivers"]] == [("NOVA-005", "applied")]

    allure = _allure(site)["test_instances_running[cmp-01]"]
    assert allure["status"] == "skipped"
    assert str(allure["statusDetails"]["message"]).startswith("waived: ")  # type: ignore[index]
    assert [a["name"] for a in allure["attachments"]].count("Waiver") == 1  # type: ignore[union-attr]
    env = (site.path / "allure" / "environment.properties").read_text()
    assert "waivers = " in env


def test_all_waived_exits_0(site: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _waivers(site, "2999-12-31")
    result = _run(site, monkeypatch, "critical", False, "--waivers=waivers.yaml")
    assert result.parseoutcomes() == {"passed": 3, "waived": 2}
    assert result.ret == Status.PASSED


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_expired_waiver_fails_again_and_says_so(
    site: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: bool
) -> None:
    _waivers(site, "2020-01-31")
    result = _run(site, monkeypatch, "critical", xdist, "--waivers=waivers.yaml")
    assert result.ret == Status.FAILURE
    result.assert_outcomes(passed=3, failed=2)
    out = result.stdout.str()
    assert "- Waiver expired -" in out
    result.stdout.fnmatch_lines(
        [f"NOVA-005 for {UUID}: EXPIRED 2020-01-31: failing again (2 results); owner *"]
    )
    assert "waiver expired, failing again: NOVA-005 for" in out
    summary = json.loads((site.path / "reports" / "summary.json").read_text())
    assert summary["waivers"][0]["state"] == "expired"
    assert all("2020-01-31" in r["waiver"] for r in summary["checks"][0]["results"])
    names = [a["name"] for r in _allure(site).values() for a in r.get("attachments", [])]  # type: ignore[attr-defined]
    assert names.count("Waiver expired") == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NOVA-005: {justification: x, owner: y}\n", "needs 'expires'"),
        ("NOVA-005: {justification: x, owner: y, expires: soon}\n", "'soon' is not a date"),
        ("nova: {justification: x, owner: y, expires: 2030-01-01}\n", "not a check ID"),
        ("NOVA-005: {owner: y, expires: 2030-01-01}\n", "needs 'justification'"),
        ("NOVA-005: {justification: x, owner: y, expires: 2030-01-01, hots: a}\n", "'hots'"),
        ("NOVA-005: [\n", ":2: invalid YAML"),
    ],
)
def test_bad_waiver_file_is_one_line_and_exit_4(
    site: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    (site.path / "w.yaml").write_text(text)
    monkeypatch.setenv("AFTERBOOT_WAIVERS", "w.yaml")
    result = site.runpytest_subprocess()
    assert result.ret == Status.USAGE
    errors = [line for line in result.errlines if line.startswith("ERROR")]
    assert len(errors) == 1
    assert errors[0].startswith("ERROR: waivers (from $AFTERBOOT_WAIVERS): ")
    assert message in errors[0]


def test_allure_categories_tell_a_bug_from_could_not_run(
    site: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    _run(site, monkeypatch, "unrun", False)
    unrun = _allure(site)["test_quota"]
    _run(site, monkeypatch, "bug", False, "--clean-alluredir")
    bug = _allure(site)["test_quota"]
    categories = json.loads((site.path / "allure" / "categories.json").read_text())

    def category(result: dict[str, object]) -> str:
        message = str(result["statusDetails"]["message"])  # type: ignore[index]
        for c in categories:
            pattern = c.get("messageRegex", "(?s).*")
            if result["status"] in c["matchedStatuses"] and re.fullmatch(pattern, message):
                return str(c["name"])
        return ""

    assert unrun["status"] == bug["status"] == "broken"
    assert category(unrun).startswith("Check could not run")
    assert category(bug).startswith("Bug in a check")


def test_readme_waiver_example_is_accepted() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("# site/waivers.yaml", 1)[1].split("\n", 1)[1].split("```", 1)[0]
    waivers = parse(yaml.safe_load(block), "README")
    assert [(w.check, w.host, str(w.expires)) for w in waivers] == [
        ("NOVA-005", "cmp-03", "2027-01-31"),
        ("PERIODIC-003", "", "2027-01-15"),
    ]


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "xdist"])
def test_a_healthy_runs_summary_lists_every_check_judged_and_the_run(
    site: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: bool
) -> None:
    """The audit record of a green run: what was verified, not only what failed; and
    the run itself (version, commit, procedures, who, when, options, inventory, cloud)."""
    result = _run(site, monkeypatch, "", xdist)
    assert result.ret == Status.PASSED
    summary = json.loads((site.path / "reports" / "summary.json").read_text())
    judged = summary["judged"]
    assert judged["counts"] == {"passed": 5}
    assert {(r["check"], r["outcome"]) for r in judged["results"]} == {
        ("NOVA-005", "passed"),
        ("MAINT-002", "passed"),
        ("PERIODIC-003", "passed"),
    }
    assert len(judged["results"]) == 5  # each host's result, by node ID
    run = summary["run"]
    assert run["afterboot"]
    assert run["procedures"].startswith("sha256:")
    assert run["inventory"].startswith("sha256:")
    assert run["started"] <= run["finished"]
    assert run["started"].endswith("Z")
    assert run["options"]["inventory"] == {
        "value": str(site.path / "inventory.yaml"),
        "source": "ini afterboot_inventory",
    }
    assert run["options"]["phase"]["value"] == "post-reboot"
    assert set(run["operator"]) == {"user", "host"}
    # the same identity in JUnit's testsuite properties and Allure's environment
    suite = next(ET.parse(site.path / "junit.xml").getroot().iter("testsuite"))
    found = suite.find("properties")
    assert found is not None
    props = {p.get("name"): p.get("value") for p in found}
    assert props["afterboot procedures"] == run["procedures"]
    assert props["afterboot inventory_digest"] == run["inventory"]
    environment = (site.path / "allure" / "environment.properties").read_text()
    assert f"procedures = {run['procedures']}" in environment
    assert "afterboot = " in environment


def test_a_failing_runs_judged_record_carries_each_outcome(
    site: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(site, monkeypatch, "critical,unrun", False)
    summary = json.loads((site.path / "reports" / "summary.json").read_text())
    assert summary["judged"]["counts"] == {"could-not-run": 1, "failed": 2, "passed": 2}

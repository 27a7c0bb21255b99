"""Remediation, acceptance layer: real pytester runs of the plugins, serial and ``-n 2``.

A failing check shows its filled-in procedure in the terminal, JUnit XML, Allure results,
summary.json and remediation.sh; a failed dependency blocks its dependents and is named as
the place to start; seeded secrets appear in no output at all.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

UUID = "6f0c1d2e-1111-2222-3333-444455556666"

INVENTORY = """\
defaults:
  connection: local
hosts:
  db-01: {roles: [database]}
  cmp-01: {roles: [compute]}
"""

CHECKS = f'''
import pytest

@pytest.mark.check("SVC-003", tier=4, roles=("compute",))
def test_compute_services(host):
    """d-bus, libvirtd and nova-compute run."""

@pytest.mark.check("NOVA-005", tier=5, roles=("compute",))
def test_instances_running(host):
    """Active instances run."""
    assert False, f"active in nova but no libvirt domain on {{host.name}}: {UUID}"
'''

BLOCKING = '''
import pytest

@pytest.mark.check("SVC-001", tier=10, roles=("database",))
def test_database(host):
    """The database runs."""
    assert False, f"database services not running on {host.name}: mariadb (inactive)"

@pytest.mark.check("KEYSTONE-001", tier=15)
def test_keystone():
    """Keystone answers."""
    assert False, "identity API did not answer"

@pytest.mark.check("GLANCE-001", tier=21)
def test_glance():
    """Glance answers."""
    assert False, "image API did not answer"

@pytest.mark.check("SVC-003", tier=4, roles=("compute",))
def test_compute_services(host):
    """Compute services run."""
'''

CANARIES = ("CANARY_DSN", "CANARY_MQ", "CANARY_PW", "CANARY_TOKEN", "CANARY_LOG", "CANARY_FERNET")

SECRETS = '''
import pytest

@pytest.mark.check("SVC-001", tier=10, roles=("database",))
def test_database(host, findings):
    """The database runs."""
    findings.add("nova.conf", expected="reachable", actual="admin_password = CANARY_PW")
    print("transport_url = rabbit://openstack:CANARY_MQ@ctl-01:5672/")
    assert False, "connection = mysql+pymysql://nova:CANARY_DSN@db-01/nova is down"

@pytest.mark.check("KEYSTONE-001", tier=15)
def test_keystone(record_property):
    """Keystone answers."""
    record_property("request", "X-Auth-Token: gAAAAABCANARY_FERNET0123456789abcdefgh")
    assert False, "Authorization: Bearer CANARY_TOKEN refused"
'''


@pytest.fixture
def cloud(suite: pytest.Pytester) -> pytest.Pytester:
    """The pytester suite with a local two-host inventory."""
    suite.makefile(".yaml", inventory=INVENTORY)
    suite.makeini(
        "[pytest]\naddopts = -p no:testinfra -p no:cacheprovider\n"
        "afterboot_check_paths = tests_cloud\nafterboot_inventory = inventory.yaml\n"
        "afterboot_procedures = site\n"
    )
    suite.mkdir("site")
    return suite


def _run(p: pytest.Pytester, xdist: bool, *args: str) -> pytest.RunResult:
    common = ("--junitxml=junit.xml", "--alluredir=allure", "-p", "xdist", *args)
    if xdist:
        return p.runpytest_subprocess(*common, "-n", "2")
    return p.runpytest_subprocess(*common)


def _properties(p: pytest.Pytester) -> dict[str, dict[str, str]]:
    root = ET.parse(p.path / "junit.xml").getroot()
    return {
        f"{case.get('classname')}.{case.get('name')}": {
            prop.get("name", ""): prop.get("value", "") for prop in case.iter("property")
        }
        for case in root.iter("testcase")
    }


def _allure(p: pytest.Pytester) -> list[dict[str, object]]:
    return [json.loads(f.read_text()) for f in (p.path / "allure").glob("*-result.json")]


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_failing_check_shows_filled_in_remediation_everywhere(
    cloud: pytest.Pytester, xdist: bool
) -> None:
    cloud.makepyfile(**{"tests_cloud/test_x.py": CHECKS})
    result = _run(cloud, xdist)
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert out.count("- Remediation -") == 1  # the failed test's section, once
    result.stdout.fnmatch_lines(
        [
            "*= remediation (lowest tier first: start there) =*",
            "--- tier 5: user virtual machines  <== start here",
            f"*$ openstack server reboot --hard {UUID}",
        ]
    )
    props = _properties(cloud)["tests_cloud.test_x.test_instances_running[cmp-01]"]
    assert props["check_id"] == "NOVA-005"
    assert f"openstack server reboot --hard {UUID}" in props["remediation"]
    assert json.loads(props["afterboot"])["host"] == "cmp-01"

    results = {r["name"]: r for r in _allure(cloud)}
    failed = results["test_instances_running[cmp-01]"]
    labels = {(lab["name"], lab["value"]) for lab in failed["labels"]}  # type: ignore[index]
    assert {
        ("as_id", "NOVA-005"),
        ("epic", "tier 5: user virtual machines"),
        ("feature", "NOVA"),
        ("severity", "critical"),
    } <= labels
    assert failed["links"][0]["name"] == "procedure NOVA-005"  # type: ignore[index]
    attached = [a for a in failed["attachments"] if a["name"] == "Remediation"]  # type: ignore[union-attr]
    assert len(attached) == 1
    text = (cloud.path / "allure" / attached[0]["source"]).read_text()
    assert f"openstack server reboot --hard {UUID}" in text
    categories = json.loads((cloud.path / "allure" / "categories.json").read_text())
    assert [c["matchedStatuses"][0] for c in categories] == [
        "skipped", "skipped", "broken", "broken", "failed"
    ]  # fmt: skip
    env = (cloud.path / "allure" / "environment.properties").read_text()
    assert "phase = post-reboot" in env
    assert "inventory = " in env

    summary = json.loads((cloud.path / "reports" / "summary.json").read_text())
    assert [c["check"] for c in summary["checks"]] == ["NOVA-005"]
    assert summary["checks"][0]["start_here"] is True
    plan = (cloud.path / "reports" / "remediation.sh").read_text()
    assert plan.splitlines()[6] == "exit 1"
    assert f"\nopenstack server reboot --hard {UUID}\n" in plan


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_tier10_failure_blocks_its_dependents(cloud: pytest.Pytester, xdist: bool) -> None:
    cloud.makepyfile(**{"tests_cloud/test_x.py": BLOCKING})
    result = _run(cloud, xdist, "-rs")
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        ["--- tier 10: message queue and database services  <== start here"]
    )
    result.stdout.fnmatch_lines(
        [
            "*KEYSTONE-001 tests_cloud/test_x.py::test_keystone: blocked by SVC-001 on db-01",
            "*GLANCE-001 tests_cloud/test_x.py::test_glance: blocked by SVC-001 on db-01",
        ]
    )
    if not xdist:  # serial: decided before the dependents run
        result.assert_outcomes(passed=1, failed=1, skipped=2)
        assert out.count("SKIPPED [1] tests_cloud/test_x.py:") == 2  # the test, not the plugin
    summary = json.loads((cloud.path / "reports" / "summary.json").read_text())
    assert summary["start_here_tier"] == 10
    outcomes = {c["check"]: [r["outcome"] for r in c["results"]] for c in summary["checks"]}
    assert outcomes == {
        "SVC-001": ["failed"],
        "KEYSTONE-001": ["blocked"],
        "GLANCE-001": ["blocked"],
    }


def test_no_blocking_lets_dependents_fail(cloud: pytest.Pytester) -> None:
    cloud.makepyfile(**{"tests_cloud/test_x.py": BLOCKING})
    result = cloud.runpytest("--no-blocking")
    result.assert_outcomes(passed=1, failed=3)
    assert ": blocked by" not in result.stdout.str()


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_no_canary_secret_in_any_output(cloud: pytest.Pytester, xdist: bool) -> None:
    log = cloud.path / "mariadb.log"
    log.write_text(
        "2024-01-01 INFO oslo_service.periodic_task noise\n"
        "ERROR db connection = mysql+pymysql://root:CANARY_LOG@localhost/nova refused\n"
    )
    (cloud.path / "site" / "db.yaml").write_text(
        f"SVC-001:\n  logs: [{log}]\n  contact: '#oncall-db'\n"
    )
    cloud.makepyfile(**{"tests_cloud/test_x.py": SECRETS})
    result = _run(cloud, xdist, "-rA", "--show-capture=all")
    if not xdist:
        result.assert_outcomes(failed=1, skipped=1)
    terminal = result.stdout.str() + result.stderr.str()
    assert "- Evidence -" in terminal
    assert "Contact: #oncall-db" in terminal
    assert "periodic_task noise" not in terminal  # healthy noise filtered
    assert "mysql+pymysql://root:***@localhost" in terminal
    files = [f for d in ("reports", "allure") for f in (cloud.path / d).rglob("*") if f.is_file()]
    files.append(cloud.path / "junit.xml")
    assert len(files) > 6
    for canary in CANARIES:
        assert canary not in terminal, canary
        for f in files:
            assert canary not in f.read_text(errors="replace"), (canary, f.name)

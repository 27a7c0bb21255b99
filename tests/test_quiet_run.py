"""A healthy run prints no warnings: the project's pytest settings (pyproject.toml) keep the
SDK's deprecations and JUnit's ``record_property`` complaint out of a passing run."""

from __future__ import annotations

import tomllib
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import ROOT

CHECK = '''
import openstack
import pytest

@pytest.mark.check("KEYSTONE-001", tier=15)
def test_identity_answers(record_property):
    """The identity API answers."""
    # Building a connection is where the SDK warns (influxdb: RemovedInSDK60Warning).
    openstack.connection.Connection(
        auth_url="http://127.0.0.1:9/v3", username="u", password="p", project_name="p",
        user_domain_name="Default", project_domain_name="Default", region_name="R",
    )
    record_property("identity_latency_ms", "12")
'''


def _project_ini() -> str:
    """The project's own junit_family and filterwarnings, as a pytest.ini."""
    ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    filters = "".join(f"    {f}\n" for f in ini["filterwarnings"])
    return f"junit_family = {ini['junit_family']}\nfilterwarnings =\n{filters}"


def _run(suite: pytest.Pytester, ini: str) -> pytest.RunResult:
    suite.makeini(
        "[pytest]\naddopts = -p no:testinfra -p no:cacheprovider\n"
        f"afterboot_check_paths = tests_cloud\n{ini}"
    )
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    return suite.runpytest_subprocess("--junitxml=junit.xml")


def test_passing_run_with_junit_prints_no_warnings(suite: pytest.Pytester) -> None:
    result = _run(suite, _project_ini())
    assert result.ret == 0
    assert result.parseoutcomes() == {"passed": 1}
    assert "warnings summary" not in result.stdout.str()
    case = next(ET.parse(suite.path / "junit.xml").getroot().iter("testcase"))
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["identity_latency_ms"] == "12"
    assert props["check_id"] == "KEYSTONE-001"


def test_without_the_project_settings_the_same_run_warns(suite: pytest.Pytester) -> None:
    result = _run(suite, "")
    assert "warnings summary" in result.stdout.str()
    out = result.stdout.str()
    assert "record_property is incompatible with junit_family 'xunit2'" in out
    assert "RemovedInSDK60Warning" in out

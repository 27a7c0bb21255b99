"""afterboot's plugins for a site's own pytest repository: one importable module,
``afterboot.pytest_plugin``, in the order this checkout registers them (no pytest11 entry
point: it would load them into every pytest run of the environment)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from afterboot import pytest_plugin

from .conftest import ROOT

SITE_CHECK = """
import pytest


@pytest.mark.check("HOST-901", tier=1)
def test_site_check(host):
    '''The site's own check runs on each inventory host, with afterboot's host.'''
    assert type(host).__name__ == "Remote", type(host)
    assert host.run("echo hi").stdout.strip() == "hi"
"""
INVENTORY = "defaults: {connection: local}\nhosts:\n  here: {roles: [compute]}\n"


def test_the_checkout_loads_its_plugins_through_the_module() -> None:
    namespace: dict[str, object] = {}
    exec((ROOT / "conftest.py").read_text(), namespace)
    assert namespace["pytest_plugins"] == ["afterboot.pytest_plugin"]
    plugins = pytest_plugin.pytest_plugins
    assert plugins[0] == "plugins.options"  # options first: every other plugin asks for them
    assert plugins.index("plugins.verdict") < plugins.index("plugins.exitstatus")
    assert len(plugins) == len(set(plugins))


def test_no_entry_point_loads_them_into_every_run() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "pytest11" not in project.get("entry-points", {})


@pytest.fixture
def site(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A site's repository: its own check and inventory, nothing of afterboot's checkout
    (afterboot importable as after `pip install`)."""
    for var in ("AFTERBOOT_INVENTORY", "ANSIBLE_INVENTORY", "AFTERBOOT_HOST", "AFTERBOOT_ROLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    pytester.makepyfile(**{"tests_cloud/test_site.py": SITE_CHECK})
    (pytester.path / "inventory.yaml").write_text(INVENTORY)
    assert not (pytester.path / "conftest.py").exists()
    return pytester


def test_a_site_repository_runs_its_check_with_dash_p(site: pytest.Pytester) -> None:
    result = site.runpytest_subprocess(
        "-p", "afterboot.pytest_plugin", "-p", "no:cacheprovider", "--inventory=inventory.yaml"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["afterboot: inventory=*inventory.yaml (from --inventory)*"])
    assert Path(site.path / "reports" / "summary.json").is_file()


def test_a_site_repository_runs_its_check_from_its_conftest(site: pytest.Pytester) -> None:
    site.makeconftest('pytest_plugins = ["afterboot.pytest_plugin"]\n')
    result = site.runpytest_subprocess("-p", "no:cacheprovider", "--inventory=inventory.yaml")
    result.assert_outcomes(passed=1)
    listed = site.runpytest_subprocess("--list-checks")
    listed.stdout.fnmatch_lines(["HOST-901 *The site's own check runs on each inventory host*"])

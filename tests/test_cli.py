"""The ``afterboot`` command runs the suite from any directory, with the suite's options."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _afterboot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AFTERBOOT_", "OS_"))}
    return subprocess.run(
        [sys.executable, "-m", "afterboot", *args, "-p", "no:cacheprovider"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_lists_the_checks_from_another_directory(tmp_path: Path) -> None:
    result = _afterboot(tmp_path, "--list-checks")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "HOST-001" in result.stdout
    assert "NOVA-005" in result.stdout


def test_a_relative_inventory_is_read_from_where_it_runs(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "inventory.yaml").write_text(
        "hosts:\n  cmp-01: {address: 192.0.2.11, roles: [compute]}\n"
    )
    result = _afterboot(tmp_path, "--inventory=site/inventory.yaml", "--list-hosts")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cmp-01" in result.stdout
    assert "192.0.2.11" in result.stdout


def test_a_bad_option_is_one_usage_line(tmp_path: Path) -> None:
    result = _afterboot(tmp_path, "--phase=after-lunch")
    assert result.returncode == 4
    assert "phase" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_path_given_to_an_option_is_never_a_place_to_load_code_from(tmp_path: Path) -> None:
    """``--inventory DIR/inventory.yaml`` (a space, not ``=``): pytest's first look at the
    command line, before the checkout's conftest registers afterboot's options, took the
    path for a test path and imported ``conftest.py`` beside it and in the directories
    above (``--reports-dir /tmp/r``: ``/tmp/conftest.py``, anybody's file). The options are
    known from that first look on: nothing beside the path runs."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "inventory.yaml").write_text(
        "hosts:\n  cmp-01: {address: 192.0.2.11, roles: [compute]}\n"
    )
    ran = tmp_path / "ran"
    for where in (tmp_path, site):
        (where / "conftest.py").write_text(f"open({str(ran)!r}, 'a').write('{where.name}\\n')\n")
    reports = site / "reports"
    reports.mkdir()
    listed = _afterboot(
        tmp_path.parent, "--inventory", str(site / "inventory.yaml"), "--list-hosts"
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "cmp-01" in listed.stdout
    checks = _afterboot(tmp_path.parent, "--reports-dir", str(reports), "--list-checks")
    assert checks.returncode == 0, checks.stdout + checks.stderr
    assert not ran.exists(), ran.read_text()

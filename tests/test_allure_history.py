"""Allure history between runs and ``make report``: the previous HTML report's history is
carried into the new results; rendering says one line and fails cleanly without Allure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from afterboot.reports.allure_html import carry_history, main
from tests.conftest import ROOT

CHECK = '''
import pytest

@pytest.mark.check("DB-001", tier=10)
def test_a():
    """The database answers."""
'''

FAKE_ALLURE = """#!/bin/sh
# allure generate RESULTS -o HTML --clean: writes an index and a history, like Allure 2.
[ "$1" = generate ] || exit 9
rm -rf "$4" && mkdir -p "$4/history"
cp "$2"/history/* "$4/history/" 2>/dev/null
echo '{"run": "new"}' > "$4/history/history.json"
echo '<html></html>' > "$4/index.html"
"""


def _trend(directory: Path) -> Path:
    (directory / "history").mkdir(parents=True)
    trend = directory / "history" / "history-trend.json"
    trend.write_text(json.dumps([{"data": {"passed": 3}}]))
    return trend


def test_a_run_carries_the_previous_history_into_its_results(suite: pytest.Pytester) -> None:
    trend = _trend(suite.path / "reports" / "allure-html")
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    assert suite.runpytest_subprocess("--alluredir=reports/allure").ret == 0
    carried = suite.path / "reports" / "allure" / "history" / "history-trend.json"
    assert carried.read_text() == trend.read_text()


def test_no_history_yet_is_fine(tmp_path: Path) -> None:
    assert carry_history(tmp_path / "allure-html", tmp_path / "allure") == 0
    assert not (tmp_path / "allure").exists()


def test_without_allure_one_line_and_status_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALLURE", str(tmp_path / "no-allure"))
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith("report: Allure 2 is not installed")


def test_render_keeps_history_from_run_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "allure"
    fake.write_text(FAKE_ALLURE)
    fake.chmod(0o755)
    monkeypatch.setenv("ALLURE", str(fake))
    reports = tmp_path / "reports"
    trend = _trend(reports / "allure-html")
    (reports / "allure").mkdir()
    assert main([str(reports)]) == 0
    assert capsys.readouterr().out == f"report: {reports / 'allure-html' / 'index.html'}\n"
    html_history = reports / "allure-html" / "history"
    assert (html_history / "history-trend.json").read_text() == trend.read_text()
    assert (html_history / "history.json").is_file()


def test_make_report_without_allure_says_one_line_and_succeeds(tmp_path: Path) -> None:
    env = {**os.environ, "ALLURE": str(tmp_path / "no-allure")}
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "report", f"REPORTS={tmp_path}",
         f"PYTHON={sys.executable}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("report: Allure 2 is not installed")
    assert (done.stdout + done.stderr).count("\n") == 1

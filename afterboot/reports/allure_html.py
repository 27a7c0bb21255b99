"""Allure's HTML report and its history: trends and "since when" survive between runs.

Plain module, and ``python -m afterboot.reports.allure_html [REPORTS]`` (``make report``). Allure 2
keeps history only if the ``history/`` directory of the previous *generated* report is
copied into the next *results* directory before generating; :func:`carry_history` does
that (the Allure plugin calls it at the end of every run with ``--alluredir``), and
:func:`main` renders ``REPORTS/allure`` into ``REPORTS/allure-html`` when an Allure 2
command line is installed (``$ALLURE``, ``allure`` on PATH, or the README's npm install in
/tmp/afterboot-allure). Exit status: 0 rendered, 1 Allure not installed (one line), 2 the
rendering failed (one line).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

RESULTS, HTML = "allure", "allure-html"
NPM_ALLURE = Path("/tmp/afterboot-allure/npm/node_modules/.bin/allure")


def carry_history(previous_html: Path, results: Path) -> int:
    """Copy ``previous_html/history/*`` into ``results/history/``; the number of files."""
    source = previous_html / "history"
    if not source.is_dir() or previous_html.resolve() == results.resolve():
        return 0
    target = results / "history"
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    for f in source.iterdir():
        if f.is_file():
            shutil.copy2(f, target / f.name)
            copied += 1
    return copied


def find_allure() -> str | None:
    configured = os.environ.get("ALLURE")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("allure") or (str(NPM_ALLURE) if os.access(NPM_ALLURE, os.X_OK) else None)


def main(argv: list[str]) -> int:
    reports = Path(argv[0] if argv else "reports")
    results, html = reports / RESULTS, reports / HTML
    allure = find_allure()
    if allure is None:
        print(
            f"report: Allure 2 is not installed (see README, 'Allure report'); "
            f"the results stay in {results}"
        )
        return 1
    if not results.is_dir():
        print(f"report: no Allure results in {results} (run the suite with --alluredir={results})")
        return 2
    carry_history(html, results)  # in case the run did not (another --alluredir)
    env = {**os.environ, "ALLURE_NO_ANALYTICS": "true"}  # no usage data sent, no tag manager
    try:
        done = subprocess.run(
            [allure, "generate", str(results), "-o", str(html), "--clean"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"report: {allure} failed: {exc}")
        return 2
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        print(f"report: allure generate failed ({done.returncode}): {last[0]}")
        return 2
    print(f"report: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

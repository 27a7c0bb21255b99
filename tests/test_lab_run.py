"""The suite's run against the lab (``python -m lab run``, the README's first command)
loads no plugin of afterboot's own tests: hypothesis, a dev dependency in the checkout's
venv, would load its pytest plugin into every run (0.13 s at start, ~0.1 s more in the
terminal summary). No lab needed: the command is only built, and a pytest run with its
plugin options looks at what it loaded."""

from __future__ import annotations

import itertools
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from lab.config import suite_command


def _blocked(argv: list[str]) -> list[str]:
    return [b for a, b in itertools.pairwise(argv) if a == "-p" and b.startswith("no:")]


def test_the_lab_s_suite_run_loads_no_plugin_of_the_dev_dependencies(tmp_path: Path) -> None:
    blocked = _blocked(suite_command(tmp_path, []))
    # the names hypothesis registers its plugin under (its entry point), all blocked
    names = {e.name for e in entry_points(group="pytest11") if e.value.startswith("_hypothesis")}
    assert names, "hypothesis is a dev dependency: its pytest plugin is installed here"
    assert {f"no:{n}" for n in names} <= set(blocked)
    # and a pytest run given those options has none of them registered
    (tmp_path / "conftest.py").write_text(
        "def pytest_configure(config):\n"
        f"    names = {sorted(names)!r}\n"
        "    loaded = [n for n in names if config.pluginmanager.has_plugin(n)]\n"
        "    open('loaded.txt', 'w').write(','.join(loaded) or 'none')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *(f"-p{b}" for b in blocked), "--co", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (tmp_path / "loaded.txt").read_text() == "none", proc.stdout + proc.stderr
    # without them it would be: the check above can fail
    subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-q"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert (tmp_path / "loaded.txt").read_text() != "none"

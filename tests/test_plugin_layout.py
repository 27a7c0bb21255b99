"""Plugin layout: procedure loading has one module, plugins import each other without a
circle or a deferred import, and every check title of the real catalog is a whole sentence.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from afterboot.checks.catalog import first_sentence

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "plugins"


def _imports(path: Path) -> tuple[set[str], list[str]]:
    """(plugins.* modules imported at top level, those imported inside a function)."""
    top: set[str] = set()
    deferred: list[str] = []
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("plugins."):
            continue
        if node in tree.body:
            top.add(str(node.module))
        else:
            deferred.append(f"{path.name}:{node.lineno} {node.module}")
    return top, deferred


def test_plugins_import_each_other_without_a_circle_or_deferred_import() -> None:
    graph: dict[str, set[str]] = {}
    deferred: list[str] = []
    for path in sorted(PLUGINS.glob("*.py")):
        top, late = _imports(path)
        graph[f"plugins.{path.stem}"] = top
        deferred.extend(late)
    assert not deferred

    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import circle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for dep in graph.get(module, ()):
            visit(dep, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())


def test_procedures_are_loaded_in_one_module() -> None:
    loaders = sorted(
        p.name
        for p in PLUGINS.glob("*.py")
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.ImportFrom)
        and node.module == "afterboot.procedures.runbook"
        and any(alias.name == "load" for alias in node.names)
    )
    assert loaders == ["procedure_book.py"]
    for name in ("blocking", "evidence", "remediation", "allure_report"):
        assert "from afterboot.procedures.book import" in (PLUGINS / f"{name}.py").read_text()


@pytest.mark.parametrize(
    ("doc", "title"),
    [
        ("One line.", "One line."),
        (
            "Starts here and goes\n    on to the next line.\n\n    Details.",
            "Starts here and goes on to the next line.",
        ),
        ("First. Second.", "First."),
        ("Uses e.g. Nova here. Then more.", "Uses e.g. Nova here."),
        ("", ""),
    ],
)
def test_title_is_the_first_sentence_across_line_breaks(doc: str, title: str) -> None:
    assert first_sentence(doc) == title


def test_every_listed_title_of_the_real_checks_is_a_whole_sentence() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AFTERBOOT_", "OS_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--list-checks", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if "  " in line and "-" in line[:14]]
    rows = [r for r in rows if r.split()[0].rsplit("-", 1)[-1].isdigit()]
    assert len(rows) > 50
    cut = [r.split()[0] for r in rows if not r.rstrip().endswith((".", "!", "?"))]
    assert not cut, f"titles cut mid-sentence: {cut}"
    assert "warnings summary" not in result.stdout

"""The house's layout: every module in its layer, no import circle, no import inside a
function; fixtures/ holds fixtures, plugins/ hooks; one verdict pipeline; procedure
loading in one module; every check title of the real catalog a whole sentence.
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
PACKAGES = ("afterboot", "fixtures", "plugins", "tests_cloud", "tests")
# The layers, lowest first: a module imports from its own layer or a lower one, never a
# higher one. The longest prefix names a module's layer.
LAYERS = (
    # what everything uses: errors, bounded input files, redaction, the options
    ("afterboot.errors", "afterboot.inputfile", "afterboot.yamlines", "afterboot.redact_forms",
     "afterboot.redact", "afterboot.settings"),
    ("afterboot.inventory",),  # the hosts
    # what was read (and a saved snapshot file read back); one connection per host
    ("afterboot.snapshot", "afterboot.snapshotfile", "afterboot.transport"),
    # the registries of reads, and the cloud's connection
    ("afterboot.reads.hostreads", "afterboot.reads.cloudreads", "afterboot.reads.answers",
     "afterboot.reads.cloud"),
    ("afterboot.domains",),  # each part of the cloud: its reads, parsers and judgements
    ("afterboot.checks", "afterboot.procedures"),  # the catalog; the procedure engine
    ("afterboot.collection",),  # the collection pass: every read, once
    # the verdict's stages: classify, evidence, blocking, waivers ...; saved snapshots judged
    ("afterboot.verdict", "afterboot.offline"),
    ("afterboot.reports",),  # its exporters: summary.json, remediation.sh, Allure, metrics
    ("afterboot.pipeline",),  # the stages in their order
    # the afterboot command; the plugins' list for pytest
    ("afterboot.cli", "afterboot.__main__", "afterboot.pytest_plugin"),
    ("fixtures", "plugins"),  # pytest's side: fixtures, hooks
    ("tests_cloud",),  # the checks
    ("tests",),  # afterboot's own tests (the lab, lab/, is a program of its own)
)  # fmt: skip


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _layer(module: str) -> int:
    best = (-1, 0)
    for index, group in enumerate(LAYERS):
        for prefix in group:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[1]:
                best = (index, len(prefix))
    return best[0]


def _project_imports(node: ast.AST) -> list[str]:
    """The project modules an import statement names (``from a import b``: a, and a.b
    where that is a module)."""
    if isinstance(node, ast.ImportFrom) and node.module:
        names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    elif isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        return []
    return [n for n in names if n in MODULES and MODULES[n].name != "__init__.py"]


def _imports(path: Path) -> tuple[set[str], list[str]]:
    """(project modules imported at module level, TYPE_CHECKING aside; imports made inside
    a function or a class, as "file:line module")."""
    top: set[str] = set()
    deferred: list[str] = []
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        top.update(_project_imports(node))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for inner in ast.walk(node):
                deferred += [
                    f"{path.relative_to(ROOT)}:{inner.lineno} {name}"
                    for name in _project_imports(inner)
                ]
    return top, deferred


GRAPH = {module: _imports(path) for module, path in MODULES.items()}


def test_every_module_has_a_layer() -> None:
    packages = {m for m, path in MODULES.items() if path.name == "__init__.py"}
    assert [m for m in MODULES if m not in packages and _layer(m) < 0] == []


def test_no_module_imports_a_project_module_inside_a_function() -> None:
    assert [line for _, deferred in GRAPH.values() for line in deferred] == []


def test_nothing_is_imported_from_a_higher_layer() -> None:
    upward = [
        f"{module} (layer {_layer(module)}) imports {dep} (layer {_layer(dep)})"
        for module, (top, _) in GRAPH.items()
        for dep in sorted(top)
        if _layer(dep) > _layer(module)
    ]
    assert upward == []


def test_the_modules_import_each_other_without_a_circle() -> None:
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import circle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for dep in sorted(GRAPH[module][0]):
            visit(dep, (*path, module))
        done.add(module)

    for module in GRAPH:
        visit(module, ())


def test_fixtures_hold_fixtures_and_plugins_hold_hooks() -> None:
    """fixtures/: pytest fixtures (and the factory of the cloud reads' fixtures); plugins/:
    pytest hooks. Everything else lives in afterboot/."""
    stray = []
    for module, path in MODULES.items():
        package = module.split(".")[0]
        if package not in ("fixtures", "plugins"):
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.If)):
                continue
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                continue  # the docstring
            if isinstance(node, ast.FunctionDef):
                fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
                hook = node.name.startswith("pytest_")
                if (package == "fixtures" and (fixture or node.name == "cloud_fixture")) or (
                    package == "plugins" and hook
                ):
                    continue
            if (
                isinstance(node, ast.Assign)
                and package == "fixtures"
                and "cloud_fixture(" in ast.unparse(node.value)
            ):
                continue
            if isinstance(node, ast.ClassDef) and package == "plugins":
                methods = [n for n in node.body if isinstance(n, ast.FunctionDef)]
                if methods and all(m.name.startswith("pytest_") for m in methods):
                    continue  # hooks registered at configure (a second place in the order)
            if (
                isinstance(node, ast.Assign)
                and package == "plugins"
                and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets)
            ):
                continue  # a constant of the hooks'
            stray.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert stray == []


def test_at_most_two_makereport_hooks() -> None:
    """One verdict pipeline (afterboot.pipeline), hooked at two moments; beside them only
    the could-not-run report made at once (plugins/outcomes.py: no traceback formatted)."""
    hooks = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in MODULES.values()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef)
        and node.name == "pytest_runtest_makereport"
        and path != ROOT / "plugins" / "outcomes.py"
    ]
    assert len(hooks) <= 2, hooks


def test_procedures_are_loaded_in_one_module() -> None:
    loaders = sorted(
        str(path.relative_to(ROOT))
        for module, path in MODULES.items()
        if not module.startswith("tests.")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom)
        and node.module == "afterboot.procedures.runbook"
        and any(alias.name == "load" for alias in node.names)
    )
    assert loaders == ["afterboot/procedures/book.py"]


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

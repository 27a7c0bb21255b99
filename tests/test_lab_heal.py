"""Healing several lab faults at once: every heal is tried, the cloud is waited for once
(a heal waiting for green alone would wait for faults not healed yet). No lab needed."""

from __future__ import annotations

import ast
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from lab import Lab, faults
from lab.shell import LabError


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Lab, list[tuple[str, ...]]]:
    cloud = Lab(tmp_path / "state")
    calls: list[tuple[str, ...]] = []

    def venv_tool(script: str, *args: str, **kw: Any) -> None:
        calls.append((script, *args))

    monkeypatch.setattr(cloud, "venv_tool", venv_tool)
    return cloud, calls


def _register(monkeypatch: pytest.MonkeyPatch, name: str, heal: faults.Action) -> None:
    monkeypatch.setitem(faults.REGISTRY, name, faults.Fault(name, "test", lambda lab: None, heal))


def test_heals_all_then_waits_for_green_once(lab: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cloud, calls = lab
    healed: list[str] = []

    def restart(name: str) -> faults.Action:
        def heal(lab: Lab) -> None:
            healed.append(name)
            lab.wait_green(since=time.monotonic())

        return heal

    def broken(lab: Lab) -> None:
        healed.append("broken")
        raise LabError("could not heal\nmore detail")

    _register(monkeypatch, "t-a", restart("a"))
    _register(monkeypatch, "t-broken", broken)
    _register(monkeypatch, "t-b", restart("b"))
    with pytest.raises(LabError, match=r"^heal failed: t-broken: could not heal$"):
        cloud.heal_all(["t-a", "t-broken", "t-b"])
    assert healed == ["a", "broken", "b"]
    greens = [c for c in calls if c[0] == "green.py"]
    assert len(greens) == 1
    assert "--only" not in greens[0]
    # a targeted wait is not deferred, and nothing stays deferred after heal_all
    cloud.heal_all([])
    cloud.wait_green(only=["nova-compute@compute1"])
    assert calls[-1][-2:] == ("--only", "nova-compute@compute1")


def test_no_fault_helper_of_the_registry_is_bound_twice() -> None:
    """lab/faults.py binds each module-level name once: a later fault's constant or helper
    of the same name replaces an earlier one's, and that fault then injects the other's
    (seen: orphan-domain@compute1 defined an RBD image's name as its domain's XML)."""
    source = Path(faults.__file__).read_text()
    bound: Counter[str] = Counter()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound[node.name] += 1
        elif isinstance(node, ast.Assign):
            bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            bound[node.target.id] += 1
    assert [name for name, n in bound.items() if n > 1] == []

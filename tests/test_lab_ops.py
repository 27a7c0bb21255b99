"""The lab's hard-reboot heal (lab/venvtools/ops.py) resets a server in ERROR or stuck in
a task and reboots it again; one that never comes back is named with its state, in one
line. No lab needed: nova is a fake connection."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

OPS = Path(__file__).resolve().parent.parent / "lab" / "venvtools" / "ops.py"


def _ops() -> Any:
    spec = importlib.util.spec_from_file_location("lab_ops", OPS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Nova:
    """Servers whose states after each reboot are scripted."""

    def __init__(self, script: dict[str, list[tuple[str, str | None, int]]]) -> None:
        self.script = script
        self.calls: list[str] = []
        self.compute = self

    def reboot_server(self, s: Any, kind: str) -> None:
        self.calls.append(f"reboot {s.name}")

    def reset_server_state(self, s: Any, state: str) -> None:
        self.calls.append(f"reset {s.name} {state}")

    def get_server(self, sid: str) -> Any:
        states = self.script[sid]
        status, task, power = states.pop(0) if len(states) > 1 else states[0]
        return SimpleNamespace(
            id=sid, name=f"srv-{sid}", status=status, task_state=task, power_state=power, fault=None
        )


@pytest.fixture
def ops(monkeypatch: pytest.MonkeyPatch) -> Any:
    module = _ops()
    clock = iter(range(0, 10**6, 50))  # each look at the clock: 50 s later
    monkeypatch.setattr(module.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(module.time, "sleep", lambda s: None)
    return module


def _servers(*ids: str) -> list[Any]:
    return [SimpleNamespace(id=i, name=f"srv-{i}") for i in ids]


def test_a_server_stuck_in_its_task_is_reset_and_rebooted_again(ops: Any) -> None:
    nova = Nova(
        {
            "a": [("HARD_REBOOT", "rebooting_hard", 3)] * 4 + [("ACTIVE", None, 1)],
            "b": [("ACTIVE", None, 1)],
        }
    )
    ops.hard_reboot(nova, _servers("a", "b"))
    assert nova.calls.count("reset srv-a active") == 1
    assert nova.calls.count("reboot srv-a") == 2
    assert "reset srv-b active" not in nova.calls
    assert nova.calls.count("reboot srv-b") == 1


def test_reset_first_resets_before_the_first_reboot(ops: Any) -> None:
    nova = Nova({"a": [("ACTIVE", None, 1)]})
    ops.hard_reboot(nova, _servers("a"), reset_first=True)
    assert nova.calls == ["reset srv-a active", "reboot srv-a"]


def test_a_server_that_never_comes_back_is_named_with_its_state(ops: Any) -> None:
    nova = Nova({"a": [("ERROR", None, 0)], "b": [("ACTIVE", None, 1)]})
    with pytest.raises(SystemExit) as info:
        ops.hard_reboot(nova, _servers("a", "b"))
    message = str(info.value)
    assert "\n" not in message
    assert "srv-a (a): status ERROR, task -, power state 0" in message
    assert "srv-b" not in message
    assert nova.calls.count("reboot srv-a") == 3

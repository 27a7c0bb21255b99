"""`python -m lab install`: what the lab needs installed, nothing started (``make test``
runs it beside the no-lab part, so that the lab's part finds it done)."""

from __future__ import annotations

from pathlib import Path

import pytest

import lab.__main__ as lab_cli
from lab import install
from lab.lab import Lab


def test_install_installs_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    done: list[str] = []
    monkeypatch.setattr(install, "ensure_apt", lambda up: done.append(f"apt up={up}"))
    monkeypatch.setattr(install, "ensure_venv", lambda state: done.append(f"venv {state}"))
    monkeypatch.setattr(install, "kernel_debs", lambda state, up: done.append("kernel"))

    def started(*_: object, **__: object) -> None:
        raise AssertionError("install started the lab")

    monkeypatch.setattr(Lab, "up", started)
    monkeypatch.setattr(Lab, "any_up", lambda self: False)
    assert lab_cli.main(["--state", str(tmp_path), "install"]) == 0
    assert done == ["apt up=False", f"venv {tmp_path}", "kernel"]
    assert "[lab] install:" in capsys.readouterr().out

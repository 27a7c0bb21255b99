"""The lab is brought up once a session: a failed ``up()`` (the dpkg lock held, a
service that would not start) fails every test that needs the lab with that one cause,
without trying again per test. No lab needed: ``up()`` is replaced."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import Lab
from lab.shell import LabError
from tests import labsession

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="lab_once skips without root")


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    labsession.forget()
    yield
    labsession.forget()


def _lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, up: object) -> tuple[Lab, list[str]]:
    cloud = Lab(tmp_path / "state")
    calls: list[str] = []

    def fake_up() -> None:
        calls.append("up")
        if isinstance(up, Exception):
            raise up

    monkeypatch.setattr(cloud, "up", fake_up)
    monkeypatch.setattr(cloud, "any_up", lambda: False)
    return cloud, calls


def test_a_failed_up_fails_every_later_caller_with_its_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = LabError(
        "the package lock /var/lib/dpkg/lock-frontend is still held after 900s by pid 77 "
        "(/usr/bin/python3 /usr/bin/unattended-upgrade)\nsecond line"
    )
    cloud, calls = _lab(tmp_path, monkeypatch, held)
    messages = []
    for _ in range(5):
        with pytest.raises(pytest.fail.Exception) as info:
            labsession.lab_once(lambda: cloud)
        messages.append(str(info.value))
    assert calls == ["up"]  # tried once, not once per test
    assert all("still held after 900s by pid 77" in m for m in messages)
    assert all("second line" not in m for m in messages)  # one line
    assert "once this session" in messages[-1]


def test_a_lab_that_came_up_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cloud, calls = _lab(tmp_path, monkeypatch, None)
    assert labsession.lab_once(lambda: cloud) is cloud
    assert labsession.lab_once(lambda: cloud) is cloud
    assert calls == ["up"]

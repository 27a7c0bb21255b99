"""`lab up` waits until each API it started answers a real request (a token, then a GET
reaching its database) before it starts what calls it; an API whose answers stay 5xx
is restarted, then reported in one line. No lab needed: the request is replaced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lab import Lab, apiprobe
from lab.services import Service
from lab.shell import LabError


class Fake:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answers: list[Any]):
        self.lab = Lab(tmp_path / "state")
        self.answers = answers
        self.events: list[str] = []
        monkeypatch.setattr(apiprobe, "request", self.request)
        monkeypatch.setattr(self.lab, "stop", lambda svc: self.events.append("stop"))
        monkeypatch.setattr(
            self.lab.hosts, "service_pid", lambda host, name: 1 if self.events else None
        )
        monkeypatch.setattr(self.lab.hosts, "spawn", lambda *a, **kw: self.events.append("spawn"))
        monkeypatch.setattr("lab.lab.time.sleep", lambda s: None)
        self.svc = Service("neutron-server", "controller", "x", "/var/log/x", ready_timeout=5)

    def request(self, lab: Lab, host: str, url: str, timeout: float = 20) -> tuple[Any, str]:
        self.events.append(f"GET {url.rsplit(':', 1)[1]}")
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer, "detail"


def test_an_api_not_answering_yet_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = Fake(tmp_path, monkeypatch, [None, None, 200])
    fake.lab.serving(fake.svc)
    assert fake.events == ["GET 9696/v2.0/networks?limit=1"] * 3


def test_an_api_answering_5xx_is_restarted_until_it_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = Fake(tmp_path, monkeypatch, [500, 500, 500, 200])
    fake.lab.serving(fake.svc)
    assert fake.events.count("stop") == 1
    assert fake.events[-1].startswith("GET")
    assert fake.events.index("stop") == 3  # after three 5xx, not at the first


def test_an_api_that_never_serves_is_one_line_with_what_it_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = Fake(tmp_path, monkeypatch, [503])
    with pytest.raises(LabError) as info:
        fake.lab.serving(fake.svc, restarts=2)
    assert fake.events.count("stop") == 2
    message = str(info.value)
    assert "\n" not in message
    assert "neutron-server on controller does not serve after 2 restarts" in message
    assert "-> 503" in message


def test_an_api_refusing_the_lab_is_a_configuration_error_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = Fake(tmp_path, monkeypatch, [401])
    with pytest.raises(LabError, match="-> 401"):
        fake.lab.serving(fake.svc)
    assert "stop" not in fake.events


def test_a_service_without_a_probe_is_not_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = Fake(tmp_path, monkeypatch, [500])
    fake.lab.serving(Service("nova-conductor", "controller", "x", "/var/log/x"))
    assert fake.events == []


def test_every_api_of_the_controller_has_a_probe_reaching_its_database(tmp_path: Path) -> None:
    from lab import controlplane

    apis = {"keystone", "placement-api", "glance-api", "neutron-server", "nova-api", "cinder-api"}
    assert apis <= set(apiprobe.PROBES)
    names = {s.name for s in controlplane.services(Lab(tmp_path / "state"))}
    assert set(apiprobe.PROBES) <= names
    for name in apis:  # a resource listing, not the version document at the root
        url = apiprobe.probe_url(name)
        assert url is not None
        assert url.split("/", 3)[3].strip("/") not in ("", "v2", "v2.0", "v2.1", "v3")

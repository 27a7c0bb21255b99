"""HOST-001: a clock reading is judged against the window it was read in; a skew is
confirmed by a second sample before it is reported."""

from __future__ import annotations

import time

import pytest

from afterboot.checks.findings import Findings, item_findings
from afterboot.collection import read_host
from afterboot.domains.hypervisor import skew
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.snapshot import HostSnapshot, ReadResult
from afterboot.transport.connections import Connections, Remote
from tests_cloud.test_hosts import test_clock_in_sync as clock_check


def _adopted(now: float, window: tuple[float, float]) -> tuple[Remote, Connections]:
    """A local host whose collection pass read ``now`` as its clock within ``window``."""
    spec = HostSpec("cmp-01", connection="local")
    connections = Connections(Inventory({"cmp-01": spec}, "t"), 5, read_host)
    remote = connections["cmp-01"]
    snap = HostSnapshot("cmp-01", started=window[0], ended=window[1])
    snap.reads["clock"] = ReadResult("clock", 0, f"{now:.3f} 1234.5\n")
    remote.adopt(snap)
    return remote, connections


@pytest.mark.parametrize(
    ("now", "expected"),
    [(1000.5, 0.0), (1000.0, 0.0), (1001.0, 0.0), (1008.0, 7.0), (990.0, -10.0)],
)
def test_skew_is_the_distance_outside_the_read_window(now: float, expected: float) -> None:
    remote, _ = _adopted(now, (1000.0, 1001.0))
    assert skew(remote, now) == expected


def test_a_sample_within_the_window_passes_with_one_read(request: pytest.FixtureRequest) -> None:
    t = time.time()
    remote, _ = _adopted(t, (t - 0.5, t + 0.5))
    said: dict[str, object] = {}
    clock_check(remote, Findings(request.node), said.__setitem__)
    assert said == {}
    assert remote.commands == 0


def test_a_skew_seen_once_is_read_again_and_not_reported(request: pytest.FixtureRequest) -> None:
    t = time.time()
    remote, _ = _adopted(t - 60, (t - 0.5, t + 0.5))  # the first sample: a minute behind
    said: dict[str, object] = {}
    # the second sample, read now, is this machine's own clock
    clock_check(remote, Findings(request.node), said.__setitem__)
    assert remote.commands == 1
    assert not remote.undeclared
    assert not item_findings(request.node)
    first, _, second = str(said["clock_skew_samples"]).partition(", then ")
    assert float(first.rstrip("s")) == pytest.approx(-59.5, abs=0.1)
    assert abs(float(second.rstrip("s"))) < 1.0


def test_a_skew_seen_twice_fails_naming_the_host_and_both_samples(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    t = time.time()
    remote, _ = _adopted(t + 90, (t - 0.5, t + 0.5))
    ahead = ReadResult("clock", 0, f"{time.time() + 90:.3f} 1234.5\n")
    monkeypatch.setattr(remote, "read", lambda name, again=False: ahead)
    with pytest.raises(AssertionError, match=r"clock of cmp-01 is \+8\d\.\ds off .*twice"):
        clock_check(remote, Findings(request.node), {}.__setitem__)
    (found,) = item_findings(request.node)
    assert (found.host, found.extra["skew"]) == ("cmp-01", f"{found.actual}")
    assert found.actual.startswith("+89.") or found.actual.startswith("+90.")

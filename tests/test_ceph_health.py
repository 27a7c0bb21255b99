"""CEPH-001 on Ceph's own health output, as `ceph -s -f json` prints it (recorded from
the lab's Ceph 16: flags set by a maintenance, a manager down, msgr2 not enabled; the
shape of an OSD down, PGs inactive and nearfull as Ceph documents its health checks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tests_cloud.test_ceph as ceph_checks
from afterboot.checks.findings import Findings
from afterboot.collection import read_host
from afterboot.domains.beforeafter import ceph_status
from afterboot.domains.ceph import health, osdmap_flags
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.reads.hostreads import PART
from afterboot.snapshot import HostSnapshot, ReadResult
from afterboot.transport.connections import Connections

# `ceph -s -f json` on the lab after `ceph osd set pause` and `ceph osd set noout`
PAUSED = {
    "fsid": "2a1b7c0e-0000-4000-8000-000000000001",
    "health": {
        "status": "HEALTH_WARN",
        "checks": {
            "OSDMAP_FLAGS": {
                "severity": "HEALTH_WARN",
                "summary": {"message": "pauserd,pausewr,noout flag(s) set", "count": 3},
                "muted": False,
            }
        },
        "mutes": [],
    },
    "osdmap": {"epoch": 31, "num_osds": 1, "num_up_osds": 1, "num_in_osds": 1},
}
DEGRADED = {
    "health": {
        "status": "HEALTH_ERR",
        "checks": {
            "OSD_DOWN": {
                "severity": "HEALTH_WARN",
                "summary": {"message": "1 osds down", "count": 1},
                "muted": False,
            },
            "PG_AVAILABILITY": {
                "severity": "HEALTH_ERR",
                "summary": {"message": "Reduced data availability: 32 pgs inactive"},
                "muted": False,
            },
            "OSD_NEARFULL": {
                "severity": "HEALTH_WARN",
                "summary": {"message": "1 nearfull osd(s)"},
                "muted": True,
            },
        },
    }
}


def test_a_flag_left_set_is_a_raised_check_with_its_flags() -> None:
    got = health(json.dumps(PAUSED), "storage1")
    assert got.status == "HEALTH_WARN"
    assert [(c.code, c.severity) for c in got.raised] == [("OSDMAP_FLAGS", "HEALTH_WARN")]
    assert osdmap_flags(got.raised[0].message) == ("pause", "noout")


def test_every_raised_check_is_named_and_a_muted_one_is_not() -> None:
    got = health(json.dumps(DEGRADED), "storage1")
    assert got.status == "HEALTH_ERR"
    assert [c.code for c in got.raised] == ["OSD_DOWN", "PG_AVAILABILITY"]
    assert [c.code for c in got.checks if c.muted] == ["OSD_NEARFULL"]


def test_a_healthy_cluster_raises_nothing() -> None:
    ok = {"health": {"status": "HEALTH_OK", "checks": {}, "mutes": []}}
    assert health(json.dumps(ok), "storage1").raised == ()
    old = {"health": {"overall_status": "HEALTH_OK"}}  # before Luminous
    assert health(json.dumps(old), "storage1").status == "HEALTH_OK"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Error initializing cluster client: ObjectNotFound('RADOS object not found')",
        "[]",
        '{"fsid": "x"}',
        '{"health": {"status": "HEALTH_MAYBE"}}',
        '{"health": {"status": "HEALTH_WARN", "checks": {}}}',
        '{"health": {"status": "HEALTH_WARN", "checks": []}}',
    ],
)
def test_an_answer_not_understood_could_not_run(text: str) -> None:
    with pytest.raises(CouldNotRun, match="storage1"):
        health(text, "storage1")


def test_only_plain_flag_words_reach_the_remedy() -> None:
    assert osdmap_flags("noout,norebalance flag(s) set") == ("noout", "norebalance")
    assert osdmap_flags("noout,$(reboot) flag(s) set") == ("noout",)


# -- ceph health detail: read only where the cluster is not healthy ---------------------------

# `ceph health detail -f json`: the same checks, each with what and where
DETAIL = {
    "status": "HEALTH_ERR",
    "checks": {
        "OSD_DOWN": {
            "severity": "HEALTH_WARN",
            "summary": {"message": "1 osds down", "count": 1},
            "detail": [{"message": "osd.3 (root=default,host=storage1) is down"}],
            "muted": False,
        },
        "PG_AVAILABILITY": {
            "severity": "HEALTH_ERR",
            "summary": {"message": "Reduced data availability: 32 pgs inactive"},
            "detail": [{"message": f"pg 2.{n:x} is stuck inactive for 61s"} for n in range(32)],
            "muted": False,
        },
    },
}


def _ceph(bin_dir: Path, status: dict[str, object], detail: str) -> Path:
    """A fake ceph answering ``-s`` with ``status`` and ``health detail`` with ``detail``;
    each command line it was given is appended to ``ceph.args``."""
    log = bin_dir / "ceph.args"
    (bin_dir / "status.json").write_text(json.dumps(status, separators=(",", ":")))
    (bin_dir / "detail.json").write_text(detail)
    (bin_dir / "ceph").write_text(
        f'#!/bin/sh\necho "$@" >> {log}\n'
        f'case "$*" in *" -s "*) cat {bin_dir}/status.json ;; '
        f'*"health detail"*) cat {bin_dir}/detail.json ;; *) exit 22 ;; esac\n'
    )
    (bin_dir / "ceph").chmod(0o755)
    return log


def _read(bin_dir: Path) -> str:
    spec = HostSpec("storage1", connection="local", roles=("ceph",))
    remote = Connections(Inventory({"storage1": spec}, "t"), 5)["storage1"]
    snap = read_host(remote, ["ceph_status"], 5.0)
    got = snap.reads["ceph_status"]
    assert got.rc == 0, got.stderr
    return got.stdout


def test_a_healthy_cluster_costs_no_detail_command(fakebin: Path) -> None:
    ok = {"health": {"status": "HEALTH_OK", "checks": {}, "mutes": []}, "osdmap": {}}
    log = _ceph(fakebin, ok, "")
    text = _read(fakebin)
    assert health(text, "storage1").raised == ()
    assert [line.split()[-3:] for line in log.read_text().splitlines()] == [["-s", "-f", "json"]]


def test_an_unhealthy_cluster_names_what_and_where_from_its_detail(fakebin: Path) -> None:
    log = _ceph(
        fakebin, DEGRADED | {"osdmap": {"num_osds": 3, "num_up_osds": 2}}, json.dumps(DETAIL)
    )
    text = _read(fakebin)
    assert "health detail -f json" in log.read_text()
    got = {c.code: c for c in health(text, "storage1").checks}
    assert got["OSD_DOWN"].detail == ("osd.3 (root=default,host=storage1) is down",)
    pgs = got["PG_AVAILABILITY"].detail
    assert pgs[:2] == ("pg 2.0 is stuck inactive for 61s", "pg 2.1 is stuck inactive for 61s")
    assert pgs[-1] == "(+27 more)"  # five named, the rest counted
    assert got["OSD_NEARFULL"].detail == ()  # not in the detail: its summary stands
    # the before/after comparison reads the status part of the same read
    assert ceph_status(text) == {
        "health": "HEALTH_ERR", "num_osds": 3, "num_up_osds": 2, "num_in_osds": 0,
    }  # fmt: skip


@pytest.mark.parametrize("detail", ["", "Error EACCES: access denied", "[]", '{"checks": []}'])
def test_a_detail_not_understood_leaves_the_summaries(fakebin: Path, detail: str) -> None:
    _ceph(fakebin, DEGRADED, detail)
    got = health(_read(fakebin), "storage1")
    assert [c.code for c in got.raised] == ["OSD_DOWN", "PG_AVAILABILITY"]
    assert all(c.detail == () for c in got.checks)


def test_ceph_001_names_the_osd_that_is_down(request: pytest.FixtureRequest) -> None:
    text = json.dumps(DEGRADED) + f"\n{PART} detail\n" + json.dumps(DETAIL) + "\n"
    spec = HostSpec("storage1", connection="local", roles=("ceph",))
    connections = Connections(Inventory({"storage1": spec}, "t"), 5)
    snap = HostSnapshot("storage1", started=1.0, ended=2.0)
    snap.reads = {"ceph_status": ReadResult("ceph_status", 0, text)}
    connections["storage1"].adopt(snap)
    with pytest.raises(AssertionError, match=r"osd\.3 \(root=default,host=storage1\) is down"):
        ceph_checks.test_ceph_reports_health_ok(connections, Findings(request.node))


def test_a_status_that_fails_fails_the_read_and_asks_no_detail(fakebin: Path) -> None:
    log = fakebin / "ceph.args"
    (fakebin / "ceph").write_text(f'#!/bin/sh\necho "$@" >> {log}\necho "error" >&2\nexit 1\n')
    (fakebin / "ceph").chmod(0o755)
    spec = HostSpec("storage1", connection="local", roles=("ceph",))
    remote = Connections(Inventory({"storage1": spec}, "t"), 5)["storage1"]
    got = read_host(remote, ["ceph_status"], 8.0).reads["ceph_status"]
    assert got.rc != 0
    assert "health detail" not in log.read_text()

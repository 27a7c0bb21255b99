"""CEPH-001 on Ceph's own health output, as `ceph -s -f json` prints it (recorded from
the lab's Ceph 16: flags set by a maintenance, a manager down, msgr2 not enabled; the
shape of an OSD down, PGs inactive and nearfull as Ceph documents its health checks)."""

from __future__ import annotations

import json

import pytest

from afterboot.domains.ceph import health, osdmap_flags
from afterboot.errors import CouldNotRun

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

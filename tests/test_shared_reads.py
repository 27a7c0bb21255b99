"""Shared reads (``HostRead.shared``): a cluster's own state, Ceph's health and RabbitMQ's
users, is read by the collection pass on the first two hosts of its role, not on every
one; a check that gets no answer there reads it on the next host, a bounded number of
them; what it read then is in the snapshot, so a later judge of it says the same."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, cast

import pytest

import tests_cloud.test_ceph as ceph_checks
from afterboot.checks.findings import Findings
from afterboot.collection import LATE_PART, merge_late_parts, needs
from afterboot.domains import beforeafter as ba
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.reads.hostreads import READS
from afterboot.snapshot import HostSnapshot, ReadResult, Snapshot
from afterboot.transport.connections import Connections, Remote
from afterboot.verdict import settle

ROOT = Path(__file__).resolve().parent.parent
HEALTHY = {"health": {"status": "HEALTH_OK", "checks": {}, "mutes": []}, "osdmap": {}}
CEPH_HOSTS = ("st-a", "st-b", "st-c", "st-d")


def test_ceph_health_and_rabbitmq_users_are_the_shared_reads() -> None:
    assert {name for name, read in READS.items() if read.shared} == {
        "ceph_status",
        "rabbitmq_permissions",
    }


def test_the_pass_reads_a_shared_read_on_the_first_two_hosts_of_its_role(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        **{
            "tests_cloud/test_x.py": """
import pytest

@pytest.mark.check("HOST-011", tier=1, roles=("ceph",))
@pytest.mark.reads("ceph_status@ceph", "mounts")
def test_cluster():
    '''The cluster, and each host's mounts.'''
"""
        }
    )
    items, _ = suite.inline_genitems("tests_cloud")
    inv = Inventory({h: HostSpec(h, roles=("ceph",)) for h in CEPH_HOSTS}, "test")
    per_host, _ = needs(items, inv)
    assert per_host == {
        "st-a": {"ceph_status", "mounts"},
        "st-b": {"ceph_status", "mounts"},
        "st-c": {"mounts"},
        "st-d": {"mounts"},
    }


def _ceph_hosts(
    pass_reads: dict[str, ReadResult | None], late: dict[str, ReadResult]
) -> tuple[Connections, list[str]]:
    """Four ceph hosts: what the pass read of Ceph's health on each (None: the host did
    not answer), and what each answers when a check reads it later (the hosts asked)."""
    inv = Inventory({h: HostSpec(h, connection="local", roles=("ceph",)) for h in CEPH_HOSTS}, "t")
    asked: list[str] = []

    def reader(remote: Remote, names: list[str], timeout: float) -> HostSnapshot:
        asked.append(remote.name)
        snap = HostSnapshot(remote.name, started=1.0, ended=2.0)
        snap.reads = {"ceph_status": late[remote.name]}
        return snap

    connections = Connections(inv, 5, reader=reader)
    for host in CEPH_HOSTS:
        snap = HostSnapshot(host, started=1.0, ended=2.0)
        got = pass_reads.get(host)
        if got is not None:
            snap.reads = {"ceph_status": got}
        elif host in pass_reads:
            snap.unreachable = "ssh: connect to host: No route to host"
        connections[host].adopt(snap)
    return connections, asked


def _failed(host: str) -> ReadResult:
    return ReadResult("ceph_status", 1, "", f"[errno 110] RADOS timed out ({host})")


OK = ReadResult("ceph_status", 0, json.dumps(HEALTHY))


def test_where_the_pass_got_no_answer_the_next_host_is_read_then(
    request: pytest.FixtureRequest,
) -> None:
    connections, asked = _ceph_hosts(
        {"st-a": None, "st-b": _failed("st-b")}, {"st-c": OK, "st-d": OK}
    )
    ceph_checks.test_ceph_reports_health_ok(connections, Findings(request.node))
    assert asked == ["st-c"]
    assert connections["st-c"].undeclared == {"ceph_status"}


def test_a_cluster_no_host_answers_is_asked_of_three_hosts_that_answer_not_all(
    request: pytest.FixtureRequest,
) -> None:
    late = {h: _failed(h) for h in CEPH_HOSTS}
    connections, asked = _ceph_hosts({"st-a": _failed("st-a"), "st-b": _failed("st-b")}, late)
    with pytest.raises(CouldNotRun) as caught:
        ceph_checks.test_ceph_reports_health_ok(connections, Findings(request.node))
    assert asked == ["st-c"]  # st-d shares the monitors that did not answer three hosts
    why = str(caught.value)
    assert "st-a" in why
    assert "st-c" in why
    assert "not asked: they share one cluster" in why


def test_hosts_that_do_not_answer_at_all_are_not_counted(request: pytest.FixtureRequest) -> None:
    late = {"st-c": _failed("st-c"), "st-d": OK}
    connections, asked = _ceph_hosts({"st-a": None, "st-b": _failed("st-b")}, late)
    ceph_checks.test_ceph_reports_health_ok(connections, Findings(request.node))
    assert asked == ["st-c", "st-d"]


def test_settle_reads_the_later_host_again_not_its_old_answer(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = {"st-a": _failed("st-a"), "st-b": _failed("st-b")}
    connections, asked = _ceph_hosts(first, {h: OK for h in CEPH_HOSTS})
    ceph_checks.test_ceph_reports_health_ok(connections, Findings(request.node))
    assert asked == ["st-c"]
    snap = Snapshot(hosts={h: HostSnapshot(h, reads=dict(connections[h].reads)) for h in first})
    snap.hosts["st-c"] = HostSnapshot("st-c", reads={"ceph_status": OK})

    def collect(conns: Connections, per_host: dict[str, set[str]], *_: Any) -> Snapshot:
        fresh = Snapshot(
            hosts={h: HostSnapshot(h, reads={"ceph_status": first[h]}) for h in per_host}
        )
        for host, host_snap in fresh.hosts.items():
            conns[host].adopt(host_snap)
        return fresh

    monkeypatch.setattr(settle, "collect", collect)
    wanted = {"st-a": {"ceph_status"}, "st-b": {"ceph_status"}}
    settle.recollect(snap, connections, wanted, set(), lambda: cast(Any, None), 5.0)
    assert "ceph_status" not in snap.hosts["st-c"].reads
    ceph_checks.test_ceph_reports_health_ok(connections, Findings(request.node))
    assert asked == ["st-c", "st-c"]  # read again, now


# -- before and after: the cluster compared once, whichever host read it ------------------


def _doc(**by_host: dict[str, Any] | None) -> dict[str, Any]:
    hosts: dict[str, Any] = {}
    for host, status in by_host.items():
        if status is None:
            hosts[host] = {"reads": {"ceph_status": {"rc": 1, "stderr": "RADOS timed out"}}}
        else:
            hosts[host] = {"reads": {"ceph_status": {"rc": 0, "data": json.dumps(status)}}}
    return {"hosts": hosts}


WARN = {"health": {"status": "HEALTH_WARN"}, "osdmap": {"num_osds": 3, "num_up_osds": 2}}
ALL_UP = {"health": {"status": "HEALTH_OK"}, "osdmap": {"num_osds": 3, "num_up_osds": 3}}


def test_a_snapshot_read_on_every_ceph_host_compares_with_one_read_on_the_first() -> None:
    before = _doc(**{"st-a": ALL_UP, "st-b": ALL_UP, "st-c": ALL_UP})  # before shared reads
    after = _doc(**{"st-a": WARN})
    after["hosts"]["st-c"] = {"reads": {}}
    result = ba.storage(before, after)
    assert {(d.subject, d.host, d.now) for d in result.differences} == {
        ("ceph health", "st-a", "HEALTH_WARN"),
        ("OSDs up", "st-a", "2"),
    }
    assert result.unknown == []
    assert ba.storage(before, _doc(**{"st-b": ALL_UP})).differences == []


def test_a_cluster_read_on_no_host_now_is_unknown_naming_why() -> None:
    result = ba.storage(_doc(**{"st-a": ALL_UP}), _doc(**{"st-a": None, "st-b": None}))
    assert result.differences == []
    assert len(result.unknown) == 1
    assert "st-a: ceph_status failed now (exit 1: RADOS timed out)" in result.unknown[0]


# -- the whole suite: the late read is in the snapshot, judged again the same -------------

# `ceph` whose first four status calls fail (the two hosts the pass reads, each asking
# twice: a fast failure is asked once more) and that answers the fifth; each call logged
CEPH = """#!/bin/sh
echo "$@" >> {log}
n=$(wc -l < {log})
case "$*" in
  *" -s "*) [ "$n" -gt 4 ] && {{ cat {ok}; exit 0; }}
           echo "[errno 110] RADOS timed out (error connecting to the cluster)" >&2; exit 110 ;;
esac
exit 22
"""


def _ceph_site(suite: pytest.Pytester) -> tuple[Path, Path]:
    """Four local ceph hosts, CEPH-001 and the failing ``ceph`` above: its directory (for
    PATH) and the log of its calls."""
    bin_dir = suite.mkdir("fakebin")
    log = bin_dir / "ceph.args"
    (bin_dir / "ok.json").write_text(json.dumps(HEALTHY))
    (bin_dir / "ceph").write_text(CEPH.format(log=log, ok=bin_dir / "ok.json"))
    (bin_dir / "ceph").chmod(0o755)
    hosts = "".join(
        f"  {h}: {{connection: local, service_manager: process, roles: [ceph]}}\n"
        for h in CEPH_HOSTS
    )
    suite.makefile(".yaml", inventory="hosts:\n" + hosts)
    shutil.copy(ROOT / "tests_cloud" / "test_ceph.py", suite.path / "tests_cloud")
    return bin_dir, log


def test_the_late_read_is_saved_and_judged_again_the_same(suite: pytest.Pytester) -> None:
    bin_dir, log = _ceph_site(suite)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
        live = suite.runpytest_subprocess(
            "--inventory=inventory.yaml", "--reports-dir=reports", "--timeout=5"
        )
    live.assert_outcomes(passed=1)
    # the pass: st-a and st-b, each asked twice (a fast failure is asked once more); then st-c
    assert log.read_text().count(" -s ") == 5
    saved = json.loads((suite.path / "reports" / "snapshot.json").read_text())
    assert saved["hosts"]["st-c"]["reads"]["ceph_status"]["rc"] == 0
    assert "ceph_status" not in saved["hosts"]["st-d"]["reads"]
    again = suite.runpytest_subprocess("--from-snapshot=reports/snapshot.json")
    again.assert_outcomes(passed=1)
    assert log.read_text().count(" -s ") == 5  # touching no host


# the check skipped on gw0 once the pass is made there (gw0 saves the snapshot): under
# `--dist each` only gw1 judges it, reading after the pass
ON_GW1_ONLY = """
import pytest

@pytest.fixture(autouse=True)
def _judged_on_gw1(request):
    if getattr(request.config, "workerinput", {}).get("workerid") == "gw0":
        request.getfixturevalue("snapshot")
        pytest.skip("judged on gw1")
"""


def test_a_late_read_on_another_worker_is_in_the_snapshot(suite: pytest.Pytester) -> None:
    bin_dir, log = _ceph_site(suite)
    conftest = suite.path / "conftest.py"
    conftest.write_text(conftest.read_text() + ON_GW1_ONLY)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
        live = suite.runpytest_subprocess(
            "--inventory=inventory.yaml",
            "--reports-dir=reports",
            "--timeout=5",
            "-n",
            "2",
            "--dist",
            "each",
        )
    live.assert_outcomes(passed=1, skipped=1)
    saved = json.loads((suite.path / "reports" / "snapshot.json").read_text())
    assert saved["hosts"]["st-c"]["reads"]["ceph_status"]["rc"] == 0
    assert saved["hosts"]["st-c"]["late_reads"] == ["ceph_status"]
    assert saved["hosts"]["st-c"]["commands"] == 2  # the pass's, and gw1's read after it
    assert not list((suite.path / "reports").glob(".snapshot-late-*"))  # merged, removed
    again = suite.runpytest_subprocess("--from-snapshot=reports/snapshot.json")
    again.assert_outcomes(passed=1)
    assert log.read_text().count(" -s ") == 5  # the pass's four and gw1's one: no host since


def test_a_workers_part_adds_what_gw0_lacks_and_an_old_part_is_dropped(tmp_path: Path) -> None:
    doc = {
        "hosts": {
            "a": {"commands": 1, "late_reads": [], "reads": {"x": {"rc": 0, "data": "gw0"}}},
        }
    }
    part = {
        "read_at": 100.0,
        "hosts": {
            "a": {
                "commands": 2,
                "late_reads": ["x", "y"],
                "reads": {"x": {"rc": 1, "data": "gw1"}, "y": {"rc": 0, "data": "y"}},
                "ran": {"ceph -s": {"rc": 0, "stdout": ""}},
            },
            "gone": {"commands": 1, "late_reads": ["y"], "reads": {}},
        },
    }
    (tmp_path / LATE_PART.format(worker="gw1")).write_text(json.dumps(part))
    old = {**part, "read_at": 50.0, "hosts": {"a": {"commands": 9, "late_reads": ["z"]}}}
    (tmp_path / LATE_PART.format(worker="gw2")).write_text(json.dumps(old))
    merge_late_parts(doc, tmp_path, since=99.0)
    a = doc["hosts"]["a"]
    assert a["reads"]["x"]["data"] == "gw0"  # gw0's own answer stands
    assert a["reads"]["y"]["data"] == "y"
    assert a["late_reads"] == ["x", "y"]  # gw2's older run added nothing
    assert a["commands"] == 3
    assert "ceph -s" in a["ran"]
    assert "gone" not in doc["hosts"]
    assert not list(tmp_path.iterdir())

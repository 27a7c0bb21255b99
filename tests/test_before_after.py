"""Before and after, unit layer: the pure comparisons of two snapshot documents (a real
snapshot of the healthy lab, ``tests/samples/snapshot-healthy.json``, changed the way a
maintenance or the passing of time changes it), and the compared file's loading, cloud
identity and new-or-old judgement."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from afterboot.checks.findings import Finding
from afterboot.domains import beforeafter as ba
from afterboot.snapshotfile import SnapshotFileError, load
from afterboot.verdict.compared import (
    identity,
    is_new,
    other_cloud,
    result_keys,
    result_rows,
)
from afterboot.verdict.entries import COULD_NOT_RUN, FAILED, Entry

from .conftest import SAMPLES

SAMPLE = SAMPLES / "snapshot-healthy.json"
# the lab's instances, by host (instances of the sample)
ON_COMPUTE1 = ("0eb94168-e83f-40bc-9c00-f2d97ab6f0b9", "6aaa5f85-130a-4348-8ea8-3b4db6eec01f")
VOLUME = "55e4faf6-888b-4c34-bab2-371f3325e7c9"


@pytest.fixture
def doc() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text())
    return data


def _read(doc: dict[str, Any], host: str, read: str) -> dict[str, Any]:
    entry: dict[str, Any] = doc["hosts"][host]["reads"][read]
    return entry


def _all(result: dict[str, ba.Comparison]) -> list[str]:
    return [f"{check}: {d.said}" for check, comp in result.items() for d in comp.differences] + [
        f"{check}: {x}" for check, comp in result.items() for x in (*comp.lacking, *comp.unknown)
    ]


def _volatile(doc: dict[str, Any]) -> dict[str, Any]:
    """The same healthy cloud read again later: other pids, ages, times, counters, order,
    per-process queue names, loop device names; nothing an operator would call a change."""
    d = copy.deepcopy(doc)
    d["read_at"] += 3600
    d["seconds"] += 1.5
    for host in d["hosts"].values():
        host["read_at"] += 3600
        host["seconds"] += 0.7
        host["commands"] += 1
        reads = host["reads"]
        if "processes" in reads:
            lines = []
            for line in reads["processes"]["data"].splitlines():
                f = line.split(None, 4)
                if len(f) == 5 and f[0].isdigit():
                    pid, ppid = int(f[0]) + 1000, int(f[1]) + 1000 if f[1] != "0" else 0
                    line = f"{pid} {ppid} {int(f[2]) + 3600} {f[3]} {f[4]}"
                elif line.startswith("top "):  # afterboot's own script, left out
                    line = f"top {int(line.split()[1]) + 1000}"
                lines.append(line)
            reads["processes"]["data"] = "\n".join(reversed(lines))
        if "clock" in reads:
            reads["clock"]["data"] = "1795933215.1 7200.5"
        if "mounts" in reads:
            mounts = reads["mounts"]["data"].replace("/dev/loop0 ", "/dev/loop7 ").splitlines()
            reads["mounts"]["data"] = "\n".join(reversed(mounts))
        if "domains" in reads:
            lines = reads["domains"]["data"].replace("(booted)", "(unpaused)").splitlines()
            reads["domains"]["data"] = "\n".join(reversed(lines)) + "\n"
        if "rabbitmq_root_queues" in reads:
            text = reads["rabbitmq_root_queues"]["data"]
            text = re.sub(r"[0-9a-f]{32}", lambda m: m.group(0)[::-1], text)  # restarts
            text = re.sub(r"\t(\d+)$", "\t17", text, flags=re.M)  # messages ready
            reads["rabbitmq_root_queues"]["data"] = text
    for read in d["cloud"].values():
        read["read_at"] += 3600
        read["seconds"] *= 2
        if isinstance(read.get("data"), list):
            read["data"].reverse()
            for row in read["data"]:
                if isinstance(row, dict) and "updated_at" in row:
                    row["updated_at"] = "2026-12-01T00:00:00.000000"
    return d


def test_a_snapshot_compared_with_itself_has_no_difference(doc: dict[str, Any]) -> None:
    assert _all(ba.compare(doc, copy.deepcopy(doc))) == []


def test_times_pids_counters_and_order_are_no_difference(doc: dict[str, Any]) -> None:
    later = _volatile(doc)
    assert later != doc
    assert _all(ba.compare(doc, later)) == []
    assert _all(ba.compare(later, doc)) == []


def test_the_comparisons_see_the_sample_at_all(doc: dict[str, Any]) -> None:
    """Without this, 'no difference' above could be 'nothing compared'."""
    empty = copy.deepcopy(doc)
    for host in empty["hosts"].values():
        host["reads"] = {}
    empty["cloud"] = {}
    lacking = {r for comp in ba.compare(doc, empty).values() for _, r in comp.lacking}
    assert lacking >= {
        "instances", "domains", "volumes", "compute_services", "volume_services",
        "processes", "swift_checksums", "mounts", "rabbitmq_status", "rabbitmq_root_queues",
        "configs",
    }  # fmt: skip


def test_an_instance_its_owner_stopped_is_named(doc: dict[str, Any]) -> None:
    now = copy.deepcopy(doc)
    row = next(i for i in now["cloud"]["instances"]["data"] if i["uuid"] == ON_COMPUTE1[0])
    row.update(vm_state="stopped", power_state=4)
    dom = _read(now, "compute1", "domains")
    dom["data"] = dom["data"].replace(
        f"{ON_COMPUTE1[0]}\trunning (booted)", f"{ON_COMPUTE1[0]}\tshut off (destroyed)"
    )
    result = ba.instances(doc, now)
    assert [(d.subject, d.host) for d in result.differences] == [(ON_COMPUTE1[0], "compute1")]
    d = result.differences[0]
    assert d.before == "active, running on compute1"
    assert d.now == "stopped, power state shutdown, libvirt: shut off (destroyed)"
    assert d.extra["action"] == "start"


def test_a_rebooted_host_whose_guests_stayed_off_names_each(doc: dict[str, Any]) -> None:
    """nova's database still says running (its power sync is late): libvirt tells."""
    now = copy.deepcopy(doc)
    dom = _read(now, "compute1", "domains")
    dom["data"] = dom["data"].replace("running (booted)", "shut off (unknown)")
    result = ba.instances(doc, now)
    assert sorted(d.subject for d in result.differences) == sorted(ON_COMPUTE1)
    assert {d.host for d in result.differences} == {"compute1"}
    assert all(d.now == "libvirt: shut off (unknown)" for d in result.differences)


def test_an_instance_moved_or_deleted_is_named(doc: dict[str, Any]) -> None:
    now = copy.deepcopy(doc)
    rows = now["cloud"]["instances"]["data"]
    moved = next(i for i in rows if i["uuid"] == ON_COMPUTE1[0])
    moved["host"] = "compute2"
    rows.remove(next(i for i in rows if i["uuid"] == ON_COMPUTE1[1]))
    said = {d.subject: d.now for d in ba.instances(doc, now).differences}
    assert said[ON_COMPUTE1[1]] == "gone (deleted)"
    assert said[ON_COMPUTE1[0]].startswith("on compute2")  # and no domain there


def test_host_down_now_is_unknown_not_a_difference(doc: dict[str, Any]) -> None:
    now = copy.deepcopy(doc)
    now["hosts"]["compute1"] = {"unreachable": "no answer within 22s", "reads": {}}
    result = ba.instances(doc, now)
    assert result.differences == []
    assert result.unknown == ["compute1 could not be read now (no answer within 22s)"]


def test_a_volume_no_longer_attached_is_named(doc: dict[str, Any]) -> None:
    now = copy.deepcopy(doc)
    vol = next(v for v in now["cloud"]["volumes"]["data"] if v["id"] == VOLUME)
    vol.update(attachments=[], status="available")
    (d,) = ba.attachments(doc, now).differences
    assert (d.subject, d.host, d.extra["device"]) == (VOLUME, "compute2", "/dev/vdb")
    assert d.now.endswith("(status available)")


def test_a_service_record_down_or_disabled_is_named(doc: dict[str, Any]) -> None:
    now = copy.deepcopy(doc)
    rows = now["cloud"]["compute_services"]["data"]
    next(r for r in rows if r["host"] == "compute1")["state"] = "down"
    c2 = next(r for r in rows if r["host"] == "compute2")
    c2.update(status="disabled", disabled_reason="maintenance")
    said = {(d.subject, d.host): d.now for d in ba.service_records(doc, now).differences}
    assert said == {
        ("nova-compute", "compute1"): "down",
        ("nova-compute", "compute2"): "disabled (maintenance)",
    }


def test_a_process_gone_or_stopped_is_named(doc: dict[str, Any]) -> None:
    now = copy.deepcopy(doc)
    procs = _read(now, "compute1", "processes")
    procs["data"] = "\n".join(
        line for line in procs["data"].splitlines() if "bin/nova-compute" not in line
    )
    procs = _read(now, "storage2", "processes")
    procs["data"] = re.sub(
        r"^(\s*\d+\s+\d+\s+\d+\s+)\S+(\s+.*swift-object-server)",
        r"\1T\2",
        procs["data"],
        flags=re.M,
    )
    said = {(d.subject, d.host): d.now for d in ba.host_services(doc, now).differences}
    assert said.keys() == {("nova-compute", "compute1"), ("swift-object-server", "storage2")}
    assert said[("nova-compute", "compute1")] == "no process"
    assert "stopped" in said[("swift-object-server", "storage2")]


def test_units_and_containers_that_ran_are_compared() -> None:
    def host(**reads: str) -> dict[str, Any]:
        return {"reads": {k: {"rc": 0, "data": v} for k, v in reads.items()}}

    was = {
        "hosts": {
            "a": host(units="Id=nova-compute.service\nActiveState=active\nSubState=running\n"),
            "b": host(containers="nova_compute running 0 healthy\nrabbitmq running 0 \n"),
        },
        "cloud": {},
    }
    now = {
        "hosts": {
            "a": host(units="Id=nova-compute.service\nActiveState=failed\nSubState=failed\n"),
            "b": host(containers="nova_compute running 3 unhealthy\nrabbitmq running 0 \n"),
        },
        "cloud": {},
    }
    said = {(d.subject, d.host): d.now for d in ba.host_services(was, now).differences}
    assert said == {
        ("nova-compute.service", "a"): "failed",
        ("nova_compute", "b"): "running unhealthy",
    }


def test_an_unmounted_device_and_a_changed_ring_are_named(doc: dict[str, Any]) -> None:
    now = copy.deepcopy(doc)
    mounts = _read(now, "storage1", "mounts")
    mounts["data"] = "\n".join(
        line for line in mounts["data"].splitlines() if "/srv/node/d1" not in line
    )
    sums = _read(now, "storage2", "swift_checksums")
    sums["data"] = re.sub(
        r"^\w+(\s+/etc/swift/object)", r"0123456789abcdef\1", sums["data"], flags=re.M
    )
    said = {(d.subject, d.host): d.now for d in ba.storage(doc, now).differences}
    assert said == {
        ("/srv/node/d1", "storage1"): "not mounted",
        ("object.ring.gz", "storage2"): "md5 0123456789abcdef",
    }


def test_a_swift_device_readable_before_and_failing_now_is_named() -> None:
    def doc_of(listing: str, kernel: str) -> dict[str, Any]:
        data = f"{listing}@@afterboot-part kernel\n{kernel}"
        return {"hosts": {"st1": {"reads": {"swift_device_health": {"rc": 0, "data": data}}}}}

    was = doc_of("ok\td1\nok\td2\n", "")
    now = doc_of(
        "ok\td1\nunreadable\td2\tloop3\tls: cannot open directory '/srv/node/d2': "
        "Input/output error\n",
        "[ 12.3] XFS (loop3): log I/O error -5\n",
    )
    (d,) = ba.storage(was, now).differences
    assert (d.subject, d.host, d.before, d.now) == ("d2", "st1", "readable", "Input/output error")
    # the kernel's lines (times, counters) are no difference on their own
    assert (
        ba.storage(
            now, doc_of("ok\td1\nunreadable\td2\tloop3\tx: Input/output error\n", "other")
        ).differences
        == []
    )


def test_ceph_health_and_osds_compared_in_either_status_layout() -> None:
    osds = {"num_osds": 3, "num_up_osds": 3, "num_in_osds": 3}
    new_style = {"health": {"status": "HEALTH_OK"}, "osdmap": osds}
    old_style = {
        "health": {"status": "HEALTH_WARN"},
        "osdmap": {"osdmap": {"num_osds": 3, "num_up_osds": 2, "num_in_osds": 3}},
    }
    assert ba.ceph_status(json.dumps(old_style))["num_up_osds"] == 2

    def doc_of(status: dict[str, Any]) -> dict[str, Any]:
        return {"hosts": {"st": {"reads": {"ceph_status": {"rc": 0, "data": json.dumps(status)}}}}}

    result = ba.storage(doc_of(new_style), doc_of(old_style))
    said = {d.subject: (d.before, d.now) for d in result.differences}
    assert said == {"ceph health": ("HEALTH_OK", "HEALTH_WARN"), "OSDs up": ("3", "2")}
    assert ba.storage(doc_of(old_style), doc_of(old_style)).differences == []


def test_rabbitmq_nodes_named_queues_and_galera_are_compared(doc: dict[str, Any]) -> None:
    now = copy.deepcopy(doc)
    q = _read(now, "controller", "rabbitmq_root_queues")
    q["data"] = re.sub(r"^conductor\t1\t", "conductor\t0\t", q["data"], flags=re.M)
    q["data"] = re.sub(r"^scheduler\t1\t0\n", "", q["data"], flags=re.M)
    st = _read(doc, "controller", "rabbitmq_status")
    two = json.loads(st["data"])
    two["running_nodes"] = ["rabbit@controller", "rabbit@ctl-02"]
    st["data"] = json.dumps(two)
    doc["cloud"]["galera"] = {
        "data": {"wsrep_cluster_size": "3", "wsrep_cluster_status": "Primary"}
    }
    now["cloud"]["galera"] = {
        "data": {"wsrep_cluster_size": "2", "wsrep_cluster_status": "non-Primary"}
    }
    said = {d.subject: d.now for d in ba.membership(doc, now).differences}
    assert said == {
        "rabbit@ctl-02": "not running",
        "conductor": "no consumer",
        "scheduler": "no such queue",
        "galera": "2 nodes",
        "galera status": "non-Primary",
    }


def test_config_changes_name_options_never_values(doc: dict[str, Any]) -> None:
    now = copy.deepcopy(doc)
    conf = _read(now, "compute2", "configs")["data"]["/etc/nova/nova.conf"]
    conf["[DEFAULT] reserved_host_memory_mb"] = "1024"
    conf["[DEFAULT] transport_url"] = "sha256:0000000000000000"
    conf["[DEFAULT] debug"] = "true"
    del conf["[DEFAULT] ram_allocation_ratio"]
    (d,) = ba.configs(doc, now).differences
    assert (d.subject, d.host) == ("/etc/nova/nova.conf", "compute2")
    assert d.said == (
        "/etc/nova/nova.conf on compute2: changed [DEFAULT] reserved_host_memory_mb, "
        "[DEFAULT] transport_url; added [DEFAULT] debug; removed [DEFAULT] ram_allocation_ratio"
    )
    assert d.before.startswith("checksum ")
    assert d.before != d.now
    assert "1024" not in repr(d)
    assert "sha256" not in repr(d)


def test_a_read_the_before_snapshot_lacks_is_said(doc: dict[str, Any]) -> None:
    before = copy.deepcopy(doc)
    del before["cloud"]["volumes"]
    for host in before["hosts"].values():
        host["reads"].pop("configs", None)
    assert ba.attachments(before, doc).lacking == [(ba.BEFORE, "volumes")]
    assert ba.configs(before, doc).lacking == [(ba.BEFORE, "configs")]
    assert ba.attachments(doc, before).lacking == [(ba.NOW, "volumes")]
    # neither holds it (no such service in this cloud): nothing to say
    assert ba.attachments(before, before) == ba.Comparison()


def test_a_snapshot_of_the_maintained_host_compares_it_and_the_cloud(
    doc: dict[str, Any],
) -> None:
    """pre-maintenance --host=compute1: its reads and the cloud's; the storage hosts' mounts
    or the controller's queues are not "lacking" from it."""
    before = copy.deepcopy(doc)
    before["hosts"] = {"compute1": before["hosts"]["compute1"]}
    assert _all(ba.compare(before, doc)) == []
    now = copy.deepcopy(doc)
    dom = _read(now, "compute1", "domains")
    dom["data"] = dom["data"].replace("running (booted)", "shut off (unknown)")
    del now["hosts"]["storage1"]["reads"]["mounts"]
    assert {d.host for d in ba.instances(before, now).differences} == {"compute1"}
    assert ba.storage(before, now) == ba.Comparison()


def test_a_host_out_of_this_runs_scope_is_not_compared(doc: dict[str, Any]) -> None:
    now = copy.deepcopy(doc)
    del now["hosts"]["storage1"]  # --host limited this run
    now["hosts"]["storage2"]["reads"]["mounts"]["data"] = ""
    said = [(d.subject, d.host) for d in ba.storage(doc, now).differences]
    assert said == [("/srv/node/d2", "storage2")]


# -- the compared file --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (None, "no such file"),
        ('{"schema": 1, "hosts": {', "not JSON"),
        ('{"schema": 7, "hosts": {}, "cloud": {}}', "snapshot schema 7, this afterboot reads"),
        ('{"schema": true, "hosts": {}, "cloud": {}}', "snapshot schema True, this afterboot"),
        ('{"schema": 1.0, "hosts": {}, "cloud": {}}', "snapshot schema 1.0, this afterboot"),
        ('{"checks": []}', "not an afterboot snapshot"),
        ('{"schema": 1, "hosts": []}', "not an afterboot snapshot"),
    ],
)
def test_a_file_that_is_no_snapshot_is_one_line(
    tmp_path: Path, text: str | None, said: str
) -> None:
    path = tmp_path / "snap.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(SnapshotFileError, match=said) as exc:
        load(path)
    assert "\n" not in str(exc.value)


def test_the_sample_loads() -> None:
    assert load(SAMPLE)["schema"] == 1


def test_another_cloud_is_told_by_keystone_region_or_hosts() -> None:
    lab = identity("lab", "http://10.77.0.10:5000/v3/", "RegionOne", ["controller", "compute1"])
    same = identity("lab", "HTTP://user@10.77.0.10:5000/v3", None, ["compute1"])
    assert other_cloud(lab, same) == ""
    assert other_cloud(None, lab) == ""  # a snapshot taken before identities were kept
    assert "auth_url" in other_cloud(lab, identity("p", "https://k.prod:5000/v3", None, []))
    assert "region" in other_cloud(lab, identity("lab", None, "RegionTwo", []))
    assert "no host in common" in other_cloud(lab, identity(None, None, None, ["cmp-01"]))


def test_a_failure_is_new_unless_each_offender_failed_the_check_before() -> None:
    uuid_a, uuid_b = "a" * 8, "b" * 8
    before = [
        Entry("NOVA-005", 5, "t[compute1]", "compute1", FAILED,
              findings=(Finding(uuid_a, "compute1"),)),
        Entry("HOST-001", 1, "t[storage2]", "storage2", COULD_NOT_RUN,
              findings=(Finding(host="storage2"),)),
        Entry("NOVA-002", 4, "t", "", "blocked"),
    ]  # fmt: skip
    rows = result_rows(before)
    assert [r["check"] for r in rows] == ["HOST-001", "NOVA-005"]  # blocked: not a result
    keys = result_keys(json.loads(json.dumps(rows)))
    assert not is_new("NOVA-005", "compute1", [Finding(uuid_a, "compute1")], keys)
    assert is_new("NOVA-005", "compute1", [Finding(uuid_a), Finding(uuid_b)], keys)
    assert is_new("NOVA-005", "compute2", [Finding(uuid_a, "compute2")], keys)
    assert not is_new("HOST-001", "storage2", [Finding(host="storage2")], keys)
    assert is_new("DIFF-001", "", [Finding(uuid_a, "compute1")], keys)

"""NOVA-013: every file a domain uses as a disk is there.

The domains' XML is libvirt's (``virsh dumpxml``: a running domain has an ``id``, a shut
off one none); the files are tested by the real command the pass runs, in a shell, on
files in a directory here."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import tests_cloud.test_hypervisor as checks
from afterboot.checks.findings import Findings, item_findings
from afterboot.domains.diskfiles import disk_files, missing, probe_from
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.reads.hostreads import PART, parts
from afterboot.snapshot import HostSnapshot, ReadResult
from afterboot.transport.connections import Connections, Remote

RUNS = "1be42712-e6d2-48a0-8028-1de5638b5793"
STOPPED = "b020b895-6abb-47b8-91f9-2e722c289c03"


def _xml(name: str, uuid: str, disk: str, running: bool) -> str:
    domain_id = " id='3'" if running else ""
    disk = disk.replace("'", "&apos;")  # as libvirt writes it in an attribute
    return f"""<domain type='kvm'{domain_id}>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='network' device='disk'>
      <source protocol='rbd' name='volumes/volume-3d48640c'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='{disk}.config'/>
      <target dev='hda' bus='ide'/>
    </disk>
  </devices>
</domain>"""


def _xmls(root: Path) -> str:
    return (
        f"{PART} instance-00000001\n"
        + _xml("instance-00000001", RUNS, f"{root}/{RUNS}/disk", running=True)
        + f"\n{PART} instance-00000003\n"
        + _xml("instance-00000003", STOPPED, f"{root}/it's $(here)/disk", running=False)
        + "\n"
    )


def test_only_file_disks_are_taken_with_their_domain_and_whether_it_runs(tmp_path: Path) -> None:
    found = disk_files(parts(_xmls(tmp_path)))
    assert [(d.domain, d.uuid, d.running, d.target) for d in found] == [
        ("instance-00000001", RUNS, True, "vda"),
        ("instance-00000003", STOPPED, False, "vda"),
    ]
    with pytest.raises(CouldNotRun, match="does not parse"):
        disk_files({"instance-00000001": "<domain><devices>"}, "cmp-01")


def _probe(tmp_path: Path) -> ReadResult:
    command = probe_from(HostSpec("cmp-01"), ReadResult("domain_xmls", 0, _xmls(tmp_path)))
    assert isinstance(command, str)
    ran = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
    return ReadResult("disk_files", 0, ran.stdout)


def _compute(tmp_path: Path) -> Remote:
    spec = HostSpec("cmp-01", connection="local", roles=("compute",))
    remote = Connections(Inventory({"cmp-01": spec}, "t"), 5)["cmp-01"]
    snap = HostSnapshot("cmp-01", started=1.0, ended=2.0)
    snap.reads = {
        "clock": ReadResult("clock", 0, "1000.0 500.0\n"),
        "domain_xmls": ReadResult("domain_xmls", 0, _xmls(tmp_path)),
        "disk_files": _probe(tmp_path),
    }
    remote.adopt(snap)
    return remote


def test_a_disk_deleted_under_a_running_domain_and_one_of_a_stopped_domain_fail(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with pytest.raises(AssertionError) as failed:
        checks.test_domain_disk_files_exist(_compute(tmp_path), Findings(request.node))
    said = str(failed.value)
    assert f"{tmp_path}/{RUNS}/disk gone on cmp-01: disk vda of instance-00000001" in said
    assert f"({STOPPED}, not running)" in said
    found = {f.extra["uuid"]: f.extra["running"] for f in item_findings(request.node)}
    assert found == {RUNS: "yes", STOPPED: "no"}


def test_disks_that_are_there_pass(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    for disk in (tmp_path / RUNS, tmp_path / "it's $(here)"):
        disk.mkdir()
        (disk / "disk").write_bytes(b"QFI\xfb")
    checks.test_domain_disk_files_exist(_compute(tmp_path), Findings(request.node))
    assert item_findings(request.node) == []
    assert not (tmp_path / "here").exists()  # a path is an argument, never shell


def test_an_answer_that_is_not_the_probes_is_could_not_run(tmp_path: Path) -> None:
    remote = _compute(tmp_path)
    remote.reads["disk_files"] = ReadResult("disk_files", 0, "garbage\n")
    with pytest.raises(CouldNotRun, match="unexpected line"):
        missing(remote)
    remote.reads["disk_files"] = ReadResult("disk_files", 0, "")  # a file not tested
    with pytest.raises(CouldNotRun, match="no answer for"):
        missing(remote)
    remote.reads["domain_xmls"] = ReadResult("domain_xmls", 0, "error: failed to connect\n")
    with pytest.raises(CouldNotRun, match="unexpected line 'error: failed to connect'"):
        missing(remote)
    failed = probe_from(HostSpec("cmp-01"), ReadResult("domain_xmls", 1, "", "virsh: no"))
    assert isinstance(failed, ReadResult)
    assert failed.rc == 1

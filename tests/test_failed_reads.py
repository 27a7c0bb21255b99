"""No false green: a read that failed, timed out or answered garbage makes every check that
declared it could-not-run (or a finding), never an empty healthy answer, a pass or a skip.

Each reviewer's place is driven with the real read scripts (a local shell whose tools
fail) or with a failed :class:`ReadResult` in the host's snapshot, then judged by the real
check function."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

# the check modules as modules: pytest collects none of their checks in this file
import tests_cloud.test_config as config_checks
import tests_cloud.test_containers as containers_checks
import tests_cloud.test_databases as databases_checks
import tests_cloud.test_hypervisor as hypervisor_checks
import tests_cloud.test_service_records as service_records_checks
import tests_cloud.test_swift as swift_checks
from afterboot.checks.findings import Findings, item_findings
from afterboot.collection import read_host
from afterboot.domains.nova import Instance
from afterboot.domains.services import service_states
from afterboot.domains.storage import device_dirs
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.reads.hostreads import PART
from afterboot.snapshot import HostSnapshot, ReadResult
from afterboot.transport.connections import Connections, Remote

UUID = "0b2c7e3a-9f7e-4a43-8a51-4f2f1d8c6f10"
NOVA_CONF = "[DEFAULT]\ndebug = false\n[database]\nconnection = mysql+pymysql://n:p@db/nova\n"
FAILED = ReadResult("x", 1, "", "some tool: Input/output error")
TIMED_OUT = ReadResult("x", 124, "partial", "")
# nova_compute runs image abc; kolla/nova:1 is image def on the host now
INSPECTED = "nova_compute\\trunning\\t0\\t0\\t\\tabc\\tkolla/nova:1\\n"


def _failed(name: str, how: ReadResult = FAILED) -> ReadResult:
    return ReadResult(name, how.rc, how.stdout, how.stderr)


def _hosts(*specs: HostSpec, reads: dict[str, dict[str, ReadResult]]) -> Connections:
    """Local hosts whose collection pass read ``reads`` (host -> read name -> result)."""
    connections = Connections(Inventory({s.name: s for s in specs}, "t"), 5)
    for spec in specs:
        snap = HostSnapshot(spec.name, started=1.0, ended=2.0)
        snap.reads = {"clock": ReadResult("clock", 0, "1000.0 500.0\n"), **reads[spec.name]}
        connections[spec.name].adopt(snap)
    return connections


def _local(name: str, **kw: object) -> HostSpec:
    return HostSpec(name, connection="local", **kw)  # type: ignore[arg-type]


def _tool(bin_dir: Path, name: str, body: str) -> None:
    (bin_dir / name).write_text("#!/bin/sh\n" + body + "\n")
    (bin_dir / name).chmod(0o755)


def _read_here(spec: HostSpec, *names: str) -> Remote:
    """The real read scripts, run in a local shell; the host adopts what they answered."""
    remote = Remote(spec, 5.0, "")
    remote.adopt(read_host(remote, list(names), 5.0))
    return remote


# -- the shared mechanism ------------------------------------------------------------------


@pytest.mark.parametrize("how", [FAILED, TIMED_OUT], ids=["error-exit", "timeout"])
def test_a_failed_read_is_could_not_run_naming_host_read_and_error(how: ReadResult) -> None:
    with pytest.raises(CouldNotRun) as got:
        _failed("mounts", how).require("stor-01")
    assert "host stor-01: read 'mounts'" in str(got.value)
    if how.rc == 1:
        assert str(got.value).endswith("(exit 1: some tool: Input/output error)")


# -- KOLLA-001: the image listing ----------------------------------------------------------


@pytest.mark.parametrize("fails", ["images", "inspect"])
def test_kolla_001_a_failed_image_listing_is_could_not_run(
    fakebin: Path, fails: str, request: pytest.FixtureRequest
) -> None:
    test_containers_run_the_image_their_name_resolves_to = (
        containers_checks.test_containers_run_the_image_their_name_resolves_to
    )

    _tool(
        fakebin,
        "podman",
        f'case "$1" in ps) echo 10dfa1eda1ed ;; {fails}) echo "Error: database locked" >&2; '
        f"exit 125 ;; inspect) printf '{INSPECTED}' ;; "
        "images) printf 'kolla/nova:1\\tdef\\n' ;; esac",
    )
    spec = _local("cmp-01", service_manager="container", container_engine="podman")
    host = _read_here(spec, "containers")
    assert host.reads["containers"].rc == 125
    with pytest.raises(CouldNotRun, match=r"cmp-01: read 'containers' failed .*database locked"):
        test_containers_run_the_image_their_name_resolves_to(host, Findings(request.node))


def test_kolla_001_an_answering_engine_still_names_the_stale_image(
    fakebin: Path, request: pytest.FixtureRequest
) -> None:
    """The same fake engine answering: the check fails naming the container (the test
    above can fail)."""
    test_containers_run_the_image_their_name_resolves_to = (
        containers_checks.test_containers_run_the_image_their_name_resolves_to
    )

    _tool(
        fakebin,
        "podman",
        f"case \"$1\" in ps) echo 10dfa1eda1ed ;; inspect) printf '{INSPECTED}' ;; "
        "images) printf 'kolla/nova:1\\tdef\\n' ;; esac",
    )
    spec = _local("cmp-01", service_manager="container", container_engine="podman")
    host = _read_here(spec, "containers")
    with pytest.raises(AssertionError, match="nova_compute runs image abc"):
        test_containers_run_the_image_their_name_resolves_to(host, Findings(request.node))


# -- NOVA-007: qemu-img and the exec into nova_libvirt ---------------------------------------


def _instances_dir(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "instances" / UUID).mkdir(parents=True)
    (tmp_path / "instances" / UUID / "disk").write_text("qcow2")
    return {"/var/lib/nova": str(tmp_path)}


QEMU_IMG = {
    "error-exit": "echo \"qemu-img: Could not open '$3': Permission denied\" >&2; exit 1",
    "garbage": "echo 'Segmentation fault handler installed'",
    "timeout": "sleep 30",
}


@pytest.mark.parametrize("how", sorted(QEMU_IMG))
def test_nova_007_a_failing_qemu_img_is_could_not_run(
    fakebin: Path, tmp_path: Path, how: str, request: pytest.FixtureRequest
) -> None:
    test_instance_directories_match = hypervisor_checks.test_instance_directories_match

    _tool(fakebin, "qemu-img", QEMU_IMG[how])
    spec = _local("cmp-01", service_manager="process", paths=_instances_dir(tmp_path))
    remote = Remote(spec, 1.0, "")
    remote.adopt(read_host(remote, ["instance_dirs", "backing_files"], 1.0))
    mine = [Instance(UUID, "cmp-01", "active", 1, None, "instance-1", "cell1")]
    with pytest.raises(CouldNotRun, match="cmp-01: read 'backing_files'"):
        test_instance_directories_match(remote, mine, Findings(request.node))


def test_nova_007_qemu_img_answering_names_the_missing_backing_file(
    fakebin: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    test_instance_directories_match = hypervisor_checks.test_instance_directories_match

    _tool(fakebin, "qemu-img", "printf 'file format: qcow2\\nbacking file: /gone/base\\n'")
    spec = _local("cmp-01", service_manager="process", paths=_instances_dir(tmp_path))
    remote = _read_here(spec, "instance_dirs", "backing_files")
    mine = [Instance(UUID, "cmp-01", "active", 1, None, "instance-1", "cell1")]
    with pytest.raises(AssertionError, match="/gone/base"):
        test_instance_directories_match(remote, mine, Findings(request.node))


def test_nova_007_a_failed_exec_into_nova_libvirt_is_could_not_run(
    fakebin: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    test_instance_directories_match = hypervisor_checks.test_instance_directories_match

    _tool(fakebin, "podman", 'echo "Error: container nova_libvirt is not running" >&2; exit 125')
    spec = _local(
        "cmp-01",
        service_manager="container",
        container_engine="podman",
        paths=_instances_dir(tmp_path),
    )
    remote = _read_here(spec, "instance_dirs", "backing_files")
    with pytest.raises(CouldNotRun, match=r"read 'backing_files' failed.*not running"):
        test_instance_directories_match(remote, [], Findings(request.node))


# -- SWIFT-006: the devices root -------------------------------------------------------------


def test_swift_006_a_devices_root_that_cannot_be_listed_is_could_not_run(
    fakebin: Path, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_mounted_devices_in_rings = swift_checks.test_mounted_devices_in_rings

    monkeypatch.setattr(swift_checks, "ring_devices", lambda host, ring: [])  # rings: no device

    (tmp_path / "node" / "sdb").mkdir(parents=True)
    _tool(fakebin, "ls", "echo \"ls: reading directory '$2': Input/output error\" >&2; exit 2")
    spec = _local("stor-01", roles=("object-storage",), paths={"/srv/node": str(tmp_path / "node")})
    remote = _read_here(spec, "swift_devices")
    remote.reads.update(
        {
            "addresses": ReadResult("addresses", 0, "10.0.0.31\n"),
            "swift_rings": ReadResult("swift_rings", 0, ""),
            "mounts": ReadResult("mounts", 0, f"/dev/sdb {tmp_path}/node/sdb xfs rw 0 0\n"),
        }
    )
    with pytest.raises(CouldNotRun, match=r"stor-01: read 'swift_devices' failed.*Input/output"):
        test_mounted_devices_in_rings(remote, Findings(request.node))


def test_swift_006_no_devices_root_is_no_device(tmp_path: Path) -> None:
    """A devices root that does not exist answers "no device" (SWIFT-005 names each)."""
    spec = _local("stor-01", paths={"/srv/node": str(tmp_path / "none")})
    assert device_dirs(_read_here(spec, "swift_devices")) == set()
    (tmp_path / "none" / "sdc").mkdir(parents=True)
    assert device_dirs(_read_here(spec, "swift_devices")) == {"sdc"}


# -- NOVA-002/004, CINDER-002/003: a boot time that could not be read -----------------------


@pytest.mark.parametrize("how", [FAILED, TIMED_OUT, ReadResult("x", 0, "no clock here\n")])
def test_an_up_record_whose_host_boot_is_unknown_is_could_not_run(
    how: ReadResult, request: pytest.FixtureRequest
) -> None:
    test_nova_compute_reports_since_boot = (
        service_records_checks.test_nova_compute_reports_since_boot
    )

    connections = _hosts(_local("cmp-01"), reads={"cmp-01": {}})
    connections["cmp-01"].reads["clock"] = _failed("clock", how)
    up = SimpleNamespace(
        binary="nova-compute", host="cmp-01", state="up", updated_at="2020-01-01T00:00:00"
    )
    with pytest.raises(CouldNotRun, match=r"no answer from cmp-01 \(cmp-01: .*clock"):
        test_nova_compute_reports_since_boot(
            connections["cmp-01"], [up], connections, Findings(request.node)
        )
    assert item_findings(request.node) == []  # not judged: no offender


def test_a_dead_record_is_named_even_when_another_host_is_unjudged(
    request: pytest.FixtureRequest,
) -> None:
    test_cinder_volume_alive = service_records_checks.test_cinder_volume_alive

    connections = _hosts(_local("stor-01"), _local("stor-02"), reads={"stor-01": {}, "stor-02": {}})
    connections["stor-02"].reads["clock"] = _failed("clock")
    records = [
        SimpleNamespace(
            binary="cinder-volume", host=f"{h}@ceph", state=s, updated_at="2020-01-01T00:00:00"
        )
        for h, s in (("stor-01", "down"), ("stor-02", "up"))
    ]
    with pytest.raises(AssertionError, match=r"cinder-volume on stor-01@ceph is down.*stor-02"):
        test_cinder_volume_alive(records, connections, Findings(request.node))
    # the dead one, on its inventory host (its restart is typed there); the unjudged one not
    (found,) = item_findings(request.node)
    assert (found.host, found.actual, found.extra["service_host"]) == (
        "stor-01",
        "down",
        "stor-01@ceph",
    )


# -- DB-001: a configuration that does not parse ---------------------------------------------


def test_db_001_an_unparsable_configuration_fails_naming_host_and_file() -> None:
    test_service_databases_reachable = databases_checks.test_service_databases_reachable

    broken = f"{PART} /etc/nova/nova.conf\n[database\nconnection = mysql+pymysql://n:p@db/nova\n"
    connections = _hosts(
        _local("ctl-01", roles=("controller",)),
        reads={"ctl-01": {"configs": ReadResult("configs", 0, broken)}},
    )
    with pytest.raises(
        AssertionError, match=r"failing on ctl-01: nova: /etc/nova/nova.conf:1: .*does not parse"
    ):
        test_service_databases_reachable(connections["ctl-01"], None, {}, None)  # type: ignore[arg-type]


# -- SVC-*: the second sample of blocked processes -------------------------------------------

PS = "top 0\n  412     1   900 Ds   /usr/bin/python3 /usr/bin/swift-object-server /etc/x.conf\n"


@pytest.mark.parametrize(
    "how", [FAILED, TIMED_OUT, ReadResult("x", 0, "garbage\n")], ids=["exit", "timeout", "garbage"]
)
def test_svc_a_failed_blocked_sample_is_could_not_run(how: ReadResult) -> None:
    reads = {"processes": ReadResult("processes", 0, PS), "blocked": _failed("blocked", how)}
    connections = _hosts(_local("stor-01", service_manager="process"), reads={"stor-01": reads})
    with pytest.raises(CouldNotRun, match="stor-01: read 'blocked'"):
        service_states(connections["stor-01"], ["swift-object-server"])


def test_svc_an_answered_blocked_sample_judges_the_process() -> None:
    reads = {
        "processes": ReadResult("processes", 0, PS),
        "blocked": ReadResult("blocked", 0, "now 1000.0\n"),
    }
    connections = _hosts(_local("stor-01", service_manager="process"), reads={"stor-01": reads})
    state = service_states(connections["stor-01"], ["swift-object-server"])
    assert state["swift-object-server"].running  # one D sample is any disk I/O


# -- CONF-001: a configuration that does not parse, or could not be read --------------------


def _conf_hosts(*confs: ReadResult) -> Connections:
    specs = [_local(f"cmp-0{i + 1}", roles=("compute",)) for i in range(len(confs))]
    return _hosts(*specs, reads={s.name: {"configs": c} for s, c in zip(specs, confs, strict=True)})


def _nova(text: str) -> ReadResult:
    return ReadResult("configs", 0, f"{PART} /etc/nova/nova.conf\n{text}")


def test_conf_001_an_unparsable_file_is_a_finding_not_a_skip(
    request: pytest.FixtureRequest,
) -> None:
    test_role_config_consistent = config_checks.test_role_config_consistent

    connections = _conf_hosts(_nova(NOVA_CONF), _nova("[DEFAULT]\n = orphan value\n"))
    with pytest.raises(AssertionError, match=r"cmp-02: nova.conf:2: .*refuses it"):
        test_role_config_consistent("compute", connections, Findings(request.node))
    (found,) = item_findings(request.node)
    assert (found.host, found.extra["file"], found.extra["what"]) == (
        "cmp-02",
        "nova.conf",
        "unparsable",
    )


@pytest.mark.parametrize("how", [FAILED, TIMED_OUT], ids=["error-exit", "timeout"])
def test_conf_001_a_host_whose_configs_read_failed_is_could_not_run(
    how: ReadResult, request: pytest.FixtureRequest
) -> None:
    test_role_config_consistent = config_checks.test_role_config_consistent

    connections = _conf_hosts(_nova(NOVA_CONF), _nova(NOVA_CONF), _failed("configs", how))
    with pytest.raises(CouldNotRun, match=r"compute configuration: no answer from cmp-03"):
        test_role_config_consistent("compute", connections, Findings(request.node))


def test_conf_001_a_difference_is_still_named_beside_an_unread_host(
    request: pytest.FixtureRequest,
) -> None:
    test_role_config_consistent = config_checks.test_role_config_consistent

    connections = _conf_hosts(
        _nova(NOVA_CONF), _nova(NOVA_CONF.replace("false", "true")), _failed("configs")
    )
    with pytest.raises(AssertionError, match=r"differ \(.*cmp-03\): nova.conf \[DEFAULT\] debug"):
        test_role_config_consistent("compute", connections, Findings(request.node))

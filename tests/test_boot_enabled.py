"""SVC-011's judgement, on systemctl's and the engines' own output (recorded from the
lab's storage2, systemd 252, and compute2, kolla on podman 4.3): a service that runs but
whose unit is disabled, masked or enabled only until the reboot, or a kolla container
the engine would not start at boot, is named; a read without the state could not run."""

from __future__ import annotations

import pytest

from afterboot.domains.boot import not_at_boot
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.procedures.runbook import RenderedStep
from afterboot.reads.hostreads import PART
from afterboot.snapshot import HostSnapshot, ReadResult
from afterboot.transport.connections import Connections

UNITS = """Id=swift-object.service
ActiveState=active
SubState=running
NRestarts=0
ExecMainStartTimestamp=@1796467200
UnitFileState={object}

Id=swift-object-replicator.service
ActiveState=active
SubState=running
NRestarts=0
ExecMainStartTimestamp=@1796467200
UnitFileState=enabled

Id=rsync.service
ActiveState={rsync_active}
SubState=dead
NRestarts=0
ExecMainStartTimestamp=
UnitFileState=disabled
"""


def _host(spec: HostSpec, read: str, text: str) -> Connections:
    connections = Connections(Inventory({spec.name: spec}, "t"), 5)
    snap = HostSnapshot(spec.name, started=1.0, ended=2.0)
    snap.reads = {read: ReadResult(read, 0, text)}
    connections[spec.name].adopt(snap)
    return connections


def _storage(text: str) -> Connections:
    spec = HostSpec(
        "storage2", connection="local", roles=("object-storage",), service_manager="systemd"
    )
    return _host(spec, "units", text)


SWIFT = ["swift-object-server", "swift-object-replicator", "rsync"]


@pytest.mark.parametrize("state", ["disabled", "masked", "enabled-runtime", "linked-runtime"])
def test_a_running_unit_that_would_not_start_at_boot_is_named(state: str) -> None:
    pool = _storage(UNITS.format(object=state, rsync_active="active"))
    found = not_at_boot(pool["storage2"], SWIFT)
    assert [(b.what, b.state) for b in found] == [
        ("swift-object.service", state),
        ("rsync.service", "disabled"),
    ]


def test_enabled_static_and_stopped_units_are_not_named() -> None:
    pool = _storage(UNITS.format(object="static", rsync_active="inactive"))
    assert not_at_boot(pool["storage2"], SWIFT) == []  # rsync is not running: SVC-007's


def test_a_units_read_without_unit_file_state_could_not_run() -> None:
    old = UNITS.format(object="enabled", rsync_active="active").replace("UnitFileState=", "X=")
    with pytest.raises(CouldNotRun, match="UnitFileState"):
        not_at_boot(_storage(old)["storage2"], SWIFT)


def _kolla(engine: str, policy: str, unit_state: str | None) -> Connections:
    spec = HostSpec(
        "compute2",
        connection="local",
        roles=("compute",),
        service_manager="container",
        container_engine=engine,
    )
    fields = ["/nova_libvirt", "running", "0", "0", "2026-12-05T08:40:01.5Z", "abc"]
    line = "\t".join([*fields, "kolla/nl:1", "healthy", "", "", policy])
    units = (
        f"Id=kolla-nova_libvirt-container.service\nActiveState=active\nSubState=running\n"
        f"NRestarts=0\nUnitFileState={unit_state}\n"
        if unit_state is not None
        else ""
    )
    text = f"engine {engine}\n{line}\n{PART} images\n{PART} units\n{units}"
    return _host(spec, "containers", text)


def test_kollas_podman_unit_disabled_is_named() -> None:
    found = not_at_boot(_kolla("podman", "no", "disabled")["compute2"], ["libvirtd"])
    assert [(b.what, b.state, b.kind) for b in found] == [
        ("kolla-nova_libvirt-container.service", "disabled", "unit")
    ]
    assert not_at_boot(_kolla("podman", "no", "enabled")["compute2"], ["libvirtd"]) == []


def test_a_docker_container_without_kollas_restart_policy_is_named() -> None:
    found = not_at_boot(_kolla("docker", "no", None)["compute2"], ["libvirtd"])
    assert [(b.what, b.state, b.engine) for b in found] == [
        ("nova_libvirt", "restart policy no", "docker")
    ]
    assert not_at_boot(_kolla("docker", "unless-stopped", None)["compute2"], ["libvirtd"]) == []
    with pytest.raises(CouldNotRun, match="restart policy"):
        not_at_boot(_kolla("docker", "", None)["compute2"], ["libvirtd"])


def test_a_process_host_has_nothing_to_judge() -> None:
    spec = HostSpec("compute1", connection="local", roles=("compute",), service_manager="process")
    with pytest.raises(CouldNotRun, match="no boot configuration"):
        not_at_boot(_host(spec, "processes", "")["compute1"], ["nova-compute"])


def test_two_findings_guards_are_two_sentences() -> None:
    step = RenderedStep(
        (), (), (), guard=("only when a belongs on x; else y", "only when b belongs on z")
    )
    assert step.guard_line() == "Only when a belongs on x; else y. Only when b belongs on z."
    one = RenderedStep((), (), (), guard=("only when a.",), verified_by=("X-1",))
    assert one.guard_line() == "only when a. (verified by X-1)"

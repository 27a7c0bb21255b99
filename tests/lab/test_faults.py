"""Faults are real: each one is observable after inject and gone after heal."""

from __future__ import annotations

import pytest

from lab import faults
from lab.kolla_host import TAG
from tests.matrix.harness import run_suite

from .conftest import LabClient


def test_every_fault_is_described() -> None:
    assert len(faults.REGISTRY) >= 12
    for name, f in faults.REGISTRY.items():
        assert f.description
        assert f.name == name


def _fw_domain(lab: LabClient, host: str) -> str:
    return faults.domain_of(lab.lab, f"ab-fw-{host}")


def test_reboot_compute2_then_heal(lab: LabClient) -> None:
    lab.lab.inject("reboot@compute2")
    try:
        up = float(lab.ssh("compute2", "cut -d' ' -f1 /proc/uptime").stdout)
        assert up < 120, f"uptime {up}s after reboot"
        running = lab.ssh("compute2", "virsh list --name").stdout.split()
        assert running == [], f"instances running again without an operator: {running}"
        assert "nova-compute" in lab.ssh("compute2", "ps -eo args").stdout
    finally:
        lab.lab.heal("reboot@compute2")
    assert all(
        lab.domain_state("compute2", n) == "running"
        for n in lab.ssh("compute2", "virsh list --all --name").stdout.split()
    )


@pytest.mark.parametrize(
    ("fault", "where", "probe", "broken_rc"),
    [
        ("nova-compute-stopped@compute1", "compute1", "pgrep -f bin/nova-compute", 1),
        ("libvirtd-stopped@compute1", "compute1", "pgrep -x libvirtd", 1),
        ("keystone-stopped", "controller", "pgrep -f keystone-api", 1),
        ("database-stopped", "controller", "pgrep -x mariadbd", 1),
        ("swift-device-unmounted@storage1", "storage1", "mountpoint -q /srv/node/d1", 32),
        (
            "config-option-changed@compute2",
            "compute2",
            # compute2 is a kolla host: its nova.conf is kolla's
            "grep -q '^reserved_host_memory_mb = 512' /etc/kolla/nova-compute/nova.conf",
            1,
        ),
        ("swift-ring-changed@storage2", "storage2", "", 1),
    ],
)
def test_fault_inject_and_heal(
    lab: LabClient, fault: str, where: str, probe: str, broken_rc: int
) -> None:
    if fault.startswith("swift-ring"):
        lab.ssh(where, "md5sum < /etc/swift/object.ring.gz > /tmp/ring.md5")
        probe = 'test "$(md5sum < /etc/swift/object.ring.gz)" = "$(cat /tmp/ring.md5)"'
    assert lab.ssh(where, probe, check=False).returncode == 0, "probe fails before inject"
    lab.lab.inject(fault)
    try:
        rc = lab.ssh(where, probe, check=False).returncode
        assert rc == broken_rc, f"{fault}: probe rc {rc} after inject"
    finally:
        lab.lab.heal(fault)
    assert lab.ssh(where, probe, check=False).returncode == 0, f"{fault} not healed"


def test_domain_paused_and_undefined(lab: LabClient) -> None:
    dom = _fw_domain(lab, "compute1")
    lab.lab.inject("domain-paused")
    try:
        assert lab.domain_state("compute1", dom) == "paused"
    finally:
        lab.lab.heal("domain-paused")
    assert lab.domain_state("compute1", dom) == "running"
    lab.lab.inject("domain-undefined")
    try:
        assert dom not in lab.ssh("compute1", "virsh list --all --name").stdout.split()
    finally:
        lab.lab.heal("domain-undefined")
    assert lab.domain_state("compute1", dom) == "running"


def test_a_partial_upgrade_judged_with_the_deployment_s_globals(
    lab: LabClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """KOLLA-002 live with --kolla-globals: compute2's two containers on two tags are a tie
    without globals (the matrix row); globals.yml's openstack_tag decides which is odd."""
    globals_yml = tmp_path_factory.mktemp("kolla") / "globals.yml"
    globals_yml.write_text(f"---\nkolla_base_distro: debian\nopenstack_tag: {TAG}\n")
    lab.lab.inject("kolla-partial-upgrade@compute2")
    try:
        outcome = run_suite(
            tmp_path_factory.mktemp("reports"),
            extra=("-k", "KOLLA-002", f"--kolla-globals={globals_yml}"),
        )
    finally:
        lab.lab.heal("kolla-partial-upgrade@compute2")
    assert outcome.failed == {"KOLLA-002@compute2"}, outcome.output[-3000:]
    said = outcome.messages["KOLLA-002@compute2"]
    assert f"nova_compute runs tag lab-next-debian-bookworm, expected {TAG}" in said, said
    assert "nova_libvirt" not in said
    assert "no majority" not in said
    assert "compute2" in outcome.remediation["KOLLA-002"]

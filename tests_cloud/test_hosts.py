"""Every host of the inventory answers, with a sane clock (Table 11-1, tier 1)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.filesystems import read_only_mounts
from afterboot.domains.hypervisor import clock, skew
from afterboot.transport.connections import Remote

MAX_SKEW_S = 5.0


@pytest.mark.check("HOST-001", tier=1)
@pytest.mark.reads("clock")
def test_clock_in_sync(
    host: Remote, findings: Findings, record_property: Callable[[str, object], None]
) -> None:
    """The host answers and its clock is within 5 s of the operator host.

    Service liveness (``updated_at`` of nova and cinder services), tokens and swift
    replication all compare timestamps across hosts; a skewed clock after a reboot makes
    healthy services look down.
    """
    first = skew(host, clock(host)[0])
    if abs(first) <= MAX_SKEW_S:
        return
    # A skew is confirmed by a second sample before it is reported: a clock stepped
    # while the host was read (chronyd's makestep on an operator host that has just
    # booted too) shows only once.
    second = skew(host, clock(host, again=True)[0])
    record_property("clock_skew_samples", f"{first:+.1f}s, then {second:+.1f}s")
    if abs(second) > MAX_SKEW_S:
        findings.add(
            host.name,
            host=host.name,
            expected=f"within {MAX_SKEW_S:g}s",
            actual=f"{second:+.1f}s",
            skew=f"{second:+.1f}s",
            said=f"clock of {host.name} is {second:+.1f}s off the operator host "
            f"(read twice: {first:+.1f}s, then {second:+.1f}s)",
        )
    findings.assert_none()


@pytest.mark.check("HOST-002", tier=1)
@pytest.mark.reads("mounts", "fstab")
def test_no_disk_filesystem_left_read_only(host: Remote, findings: Findings) -> None:
    """No disk filesystem is mounted read-only unless the host's fstab mounts it so.

    ext4 remounts itself read-only at a disk error (errors=remount-ro), a root fsck could
    not repair stays read-only, a remount made for a backup is never undone: the services
    on it look alive while every write fails.
    """
    for fs in read_only_mounts(host):
        findings.add(
            fs.target,
            host=host.name,
            expected="rw, as fstab mounts it" if fs.in_fstab else "rw (no fstab entry says ro)",
            actual=f"ro ({fs.fstype} on {fs.source})",
            mount=fs.target,
            device=fs.source,
            fstype=fs.fstype,
        )
    findings.assert_none()

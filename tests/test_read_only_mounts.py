"""HOST-002 on /proc/mounts and /etc/fstab as hosts print them: a disk filesystem the
kernel remounted read-only after an error (ext4 errors=remount-ro), a swift device
remounted read-only and never back, against mounts fstab itself makes read-only."""

from __future__ import annotations

import pytest

import tests_cloud.test_hosts as hosts_checks
from afterboot.checks.findings import Findings
from afterboot.domains.filesystems import fstab_options, read_only
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.snapshot import HostSnapshot, ReadResult
from afterboot.transport.connections import Connections, Remote

# /proc/mounts of a host whose root ext4 met a disk error (the kernel remounted it "ro"),
# with a swift device on xfs, an EFI partition, the usual pseudo filesystems, a read-only
# tmpfs and a squashfs (snaps) that are never judged
MOUNTS = """\
/dev/sda2 / ext4 ro,relatime,errors=remount-ro 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
sysfs /sys sysfs ro,nosuid,nodev,noexec,relatime 0 0
tmpfs /run tmpfs rw,nosuid,nodev,size=1631452k,mode=755 0 0
/dev/sda1 /boot/efi vfat rw,relatime,fmask=0077,dmask=0077 0 0
/dev/sdb1 /srv/node/sdb1 xfs rw,noatime,attr2,inode64,logbufs=8,noquota 0 0
/dev/loop3 /snap/core20/2015 squashfs ro,nodev,relatime,errors=continue 0 0
tmpfs /mnt/ro\\040tools tmpfs ro,nosuid,nodev,relatime,size=4k 0 0
"""
FSTAB = """\
# /etc/fstab: static file system information.
UUID=8c2e3f0a-8a3b-4f2e-9a6c-1f0b7a9e2d11 /               ext4    errors=remount-ro 0       1
UUID=3A1F-2B4C  /boot/efi       vfat    umask=0077      0       1
LABEL=sdb1 /srv/node/sdb1 xfs noatime,nodiratime,logbufs=8 0 0
"""
# the same swift device later remounted read-only (mount -o remount,ro) and never back
SWIFT_RO = MOUNTS.replace("/dev/sda2 / ext4 ro,", "/dev/sda2 / ext4 rw,").replace(
    "/srv/node/sdb1 xfs rw,", "/srv/node/sdb1 xfs ro,"
)


def test_a_root_the_kernel_remounted_read_only_is_named_with_its_device() -> None:
    found = read_only(MOUNTS, FSTAB)
    assert [(f.target, f.source, f.fstype, f.in_fstab) for f in found] == [
        ("/", "/dev/sda2", "ext4", True)
    ]


def test_a_device_remounted_read_only_and_never_back_is_named() -> None:
    assert [f.target for f in read_only(SWIFT_RO, FSTAB)] == ["/srv/node/sdb1"]
    assert [f.target for f in read_only(SWIFT_RO, "")] == ["/srv/node/sdb1"]  # no fstab


def test_what_fstab_mounts_read_only_and_what_is_no_disk_are_not_judged() -> None:
    fstab = FSTAB.replace("errors=remount-ro 0", "ro,errors=remount-ro 0")
    assert read_only(MOUNTS, fstab) == []
    assert fstab_options("/dev/x /mnt/a\\040b ext4 ro 0 0\n") == {"/mnt/a b": ("ro",)}


def _host(reads: dict[str, ReadResult]) -> Remote:
    connections = Connections(Inventory({"stor-01": HostSpec("stor-01")}, "t"), 5)
    snap = HostSnapshot("stor-01", started=1.0, ended=2.0)
    snap.reads = {"clock": ReadResult("clock", 0, "1000.0 500.0\n"), **reads}
    remote = connections["stor-01"]
    remote.adopt(snap)
    return remote


def test_the_check_fails_naming_host_mount_and_device(request: pytest.FixtureRequest) -> None:
    host = _host(
        {"mounts": ReadResult("mounts", 0, SWIFT_RO), "fstab": ReadResult("fstab", 0, FSTAB)}
    )
    with pytest.raises(AssertionError) as failed:
        hosts_checks.test_no_disk_filesystem_left_read_only(host, Findings(request.node))
    assert "/srv/node/sdb1" in str(failed.value)
    assert "stor-01" in str(failed.value)
    assert "/dev/sdb1" in str(failed.value)


def test_the_check_passes_on_a_healthy_host(request: pytest.FixtureRequest) -> None:
    healthy = MOUNTS.replace("ext4 ro,", "ext4 rw,")
    host = _host(
        {"mounts": ReadResult("mounts", 0, healthy), "fstab": ReadResult("fstab", 0, FSTAB)}
    )
    hosts_checks.test_no_disk_filesystem_left_read_only(host, Findings(request.node))


def test_an_unreadable_fstab_is_could_not_run(request: pytest.FixtureRequest) -> None:
    denied = ReadResult("fstab", 1, "", "cat: /etc/fstab: Permission denied")
    host = _host({"mounts": ReadResult("mounts", 0, SWIFT_RO), "fstab": denied})
    with pytest.raises(CouldNotRun, match="fstab"):
        hosts_checks.test_no_disk_filesystem_left_read_only(host, Findings(request.node))


def test_a_mount_table_without_a_mount_is_could_not_run(request: pytest.FixtureRequest) -> None:
    """Garbage in place of /proc/mounts (a line that is not the kernel's) proves nothing:
    never a pass; nor does an answer without a single mount."""
    garbage = ReadResult("mounts", 0, "permission denied?\n")
    host = _host({"mounts": garbage, "fstab": ReadResult("fstab", 0, FSTAB)})
    with pytest.raises(CouldNotRun, match="unexpected line 'permission denied\\?'"):
        hosts_checks.test_no_disk_filesystem_left_read_only(host, Findings(request.node))
    empty = ReadResult("mounts", 0, "\n")
    host = _host({"mounts": empty, "fstab": ReadResult("fstab", 0, FSTAB)})
    with pytest.raises(CouldNotRun, match="no mount in its answer"):
        hosts_checks.test_no_disk_filesystem_left_read_only(host, Findings(request.node))

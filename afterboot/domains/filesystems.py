"""Disk filesystems a host has mounted read-only, against its own ``/etc/fstab``.

After a reboot or a disk error a filesystem can come back read-only: ext4 mounted with
``errors=remount-ro`` remounts itself read-only at the first error it meets, a root fsck
could not repair stays read-only, a remount made for a backup is never undone. The
services on it stay up while every write fails (logs, databases, instance disks, swift
objects). A disk filesystem (ext2/3/4, xfs, btrfs ...) mounted ``ro`` is a finding unless
the host's fstab mounts it ``ro`` itself: then it is the site's choice. Pseudo and memory
filesystems (tmpfs, squashfs, proc ...) are never judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from afterboot.errors import CouldNotRun
from afterboot.reads.hostreads import HostRead, register
from afterboot.transport.connections import Remote

DISK_FILESYSTEMS = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "vfat"})
_OCTAL = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class ReadOnly:
    """A disk filesystem mounted read-only that fstab does not mount read-only."""

    target: str
    source: str
    fstype: str
    in_fstab: bool  # fstab has an entry for it (mounting it rw)


def unescaped(field: str) -> str:
    """A path as ``/proc/mounts`` and fstab write it: ``\\040`` is a space."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def fstab_options(text: str) -> dict[str, tuple[str, ...]]:
    """fstab's mount options by mount point (comments and short lines left out)."""
    found: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 4:
            found[unescaped(fields[1]).rstrip("/") or "/"] = tuple(fields[3].split(","))
    return found


def read_only(mounts_text: str, fstab_text: str) -> list[ReadOnly]:
    """The disk filesystems ``/proc/mounts`` shows read-only and fstab does not (the last
    mount on a path wins, as the kernel shows it)."""
    fstab = fstab_options(fstab_text)
    last: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            target = unescaped(fields[1]).rstrip("/") or "/"
            last[target] = (unescaped(fields[0]), fields[2], tuple(fields[3].split(",")))
    return [
        ReadOnly(target, source, fstype, target in fstab)
        for target, (source, fstype, options) in sorted(last.items())
        if fstype in DISK_FILESYSTEMS and "ro" in options and "ro" not in fstab.get(target, ())
    ]


def read_only_mounts(remote: Remote) -> list[ReadOnly]:
    """The host's read-only disk filesystems fstab does not declare read-only (a read
    that failed, or a mount table without a single mount in it: could not run)."""
    mounts = remote.read("mounts").stdout
    if not any(len(line.split()) >= 4 for line in mounts.splitlines()):
        raise CouldNotRun(f"host {remote.name}: read 'mounts'", "no mount in its answer")
    return read_only(mounts, remote.read("fstab").stdout)


# -- the reads this module judges (afterboot.reads.hostreads' registry) --------------

register(
    HostRead(
        "fstab",
        "the host's /etc/fstab (none: no entry declares a mount)",
        lambda s: "[ -e /etc/fstab ] || exit 0; cat /etc/fstab",
    ),
)

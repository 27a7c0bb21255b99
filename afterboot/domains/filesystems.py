"""Disk filesystems a host has mounted read-only, against its own ``/etc/fstab``.

After a reboot or a disk error a filesystem can come back read-only: ext4 mounted with
``errors=remount-ro`` remounts itself read-only at the first error it meets, a root fsck
could not repair stays read-only, a remount made for a backup is never undone. The
services on it stay up while every write fails (logs, databases, instance disks, swift
objects). A disk filesystem (ext2/3/4, xfs, btrfs ...) mounted ``ro`` is a finding unless
the host's fstab mounts it ``ro`` itself: then it is the site's choice. Pseudo and memory
filesystems (tmpfs, squashfs, proc ...) are never judged.

Also the parsers of the reads that describe filesystems: ``mounts`` (``/proc/mounts``),
``fstab`` and ``df`` (space and inodes). Each takes only lines in its tool's format: any
other line is could-not-run naming it, never a filesystem less.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from afterboot.errors import CouldNotRun
from afterboot.reads.hostreads import PART, HostRead, register, unexpected
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


def mount_rows(text: str, host: str = "") -> list[list[str]]:
    """``/proc/mounts`` as its rows: source, target, type, options, dump, pass, as the
    kernel writes them (six fields, a space in a path written ``\\040``). Any other line
    is could-not-run naming it."""
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 6 or not (fields[4].isdigit() and fields[5].isdigit()):
            raise unexpected(host, "mounts", line)
        rows.append(fields)
    return rows


# a mount point of fstab: a path, or none for swap (swap: an older spelling)
def _fstab_target(field: str) -> bool:
    return field.startswith("/") or field in ("none", "swap")


def fstab_options(text: str, host: str = "") -> dict[str, tuple[str, ...]]:
    """fstab's mount options by mount point (comments and blank lines left out). A line
    that is no entry (fewer than four fields, a mount point that is no path, dump or pass
    not a number) is could-not-run naming it: ``mount -a`` would not take it either."""
    found: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if (
            len(fields) < 4
            or not _fstab_target(fields[1])
            or not all(f.isdigit() for f in fields[4:6])
        ):
            raise unexpected(host, "fstab", line)
        found[unescaped(fields[1]).rstrip("/") or "/"] = tuple(fields[3].split(","))
    return found


def read_only(mounts_text: str, fstab_text: str, host: str = "") -> list[ReadOnly]:
    """The disk filesystems ``/proc/mounts`` shows read-only and fstab does not (the last
    mount on a path wins, as the kernel shows it)."""
    fstab = fstab_options(fstab_text, host)
    last: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    for fields in mount_rows(mounts_text, host):
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
    if not mount_rows(mounts, remote.name):
        raise CouldNotRun(f"host {remote.name}: read 'mounts'", "no mount in its answer")
    return read_only(mounts, remote.read("fstab").stdout, remote.name)


@dataclass(frozen=True)
class Usage:
    """One filesystem's use of its blocks or its inodes, as ``df -P -T`` (``-i``) says it."""

    kind: str  # "blocks" or "inodes"
    source: str
    fstype: str
    percent: int | None  # None: the filesystem keeps no such count ("-")
    mount: str


# a row of df -P -T (-i): source, type, three counts, the percentage, the mount point; a
# source or mount point may hold spaces (the counts and the type never do)
_DF_ROW = re.compile(
    r"^(?P<source>\S.*?)\s+(?P<type>\S+)\s+(?:\d+|-)\s+(?:\d+|-)\s+(?:\d+|-)"
    r"\s+(?P<percent>\d+%|-)\s+(?P<mount>/.*)$"
)


def parse_df(text: str, host: str = "") -> list[Usage]:
    """The ``df`` read: ``df -P -T``, then a part ``inodes`` with ``df -P -T -i``, each
    with its header line. A missing part or header, or a line that is no row, is
    could-not-run naming it."""
    blocks, marked, inodes = text.partition(f"{PART} inodes\n")
    if not marked:
        raise unexpected(host, "df", text.strip().splitlines()[-1] if text.strip() else "")
    found: list[Usage] = []
    for kind, section in (("blocks", blocks), ("inodes", inodes)):
        lines = [line for line in section.splitlines() if line.strip()]
        if not lines or not lines[0].startswith("Filesystem"):
            raise unexpected(host, "df", lines[0] if lines else "(no header)")
        for line in lines[1:]:
            m = _DF_ROW.match(line.rstrip())
            if m is None:
                raise unexpected(host, "df", line)
            percent = m["percent"].rstrip("%")
            found.append(
                Usage(
                    kind,
                    m["source"],
                    m["type"],
                    int(percent) if percent.isdigit() else None,
                    m["mount"],
                )
            )
    return found


def disk_usage(remote: Remote) -> list[Usage]:
    """Every mounted filesystem's use of blocks and of inodes (the ``df`` read)."""
    return parse_df(remote.read("df").stdout, remote.name)


# -- the reads this module judges (afterboot.reads.hostreads' registry) --------------

register(
    HostRead(
        "fstab",
        "the host's /etc/fstab (none: no entry declares a mount)",
        lambda s: "[ -e /etc/fstab ] || exit 0; cat /etc/fstab",
    ),
)

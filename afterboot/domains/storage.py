"""Swift storage as the hosts hold it: ring checksums, device mounts, replication stamps.

Parsers of the host reads ``swift_checksums``, ``mounts``, ``partitions``,
``swift_devices`` and ``swift_recon`` (:mod:`afterboot.reads.hostreads`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from afterboot.domains.filesystems import mount_rows
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import (
    DEVICES_ROOT,
    PART,
    RECON_DIR,
    RECON_KINDS,
    RINGS,
    SWIFT_FILES,
    HostRead,
    file_parts,
    name_lines,
    parts,
    quoted_path,
    register,
    unexpected,
)
from afterboot.transport.connections import Remote

__all__ = ["DEVICES_ROOT", "SWIFT_FILES", "Mount", "checksums", "device_dirs", "mounts"]


def checksums(remote: Remote) -> dict[str, str]:
    """md5 of each swift file on the host ("missing" when absent); never the content."""
    return parse_checksums(remote.read("swift_checksums").stdout, remote.name)


_CHECKSUM = re.compile(r"^(?:[0-9a-f]+|missing) +\S")


def parse_checksums(text: str, host: str = "") -> dict[str, str]:
    """The ``swift_checksums`` read as file name -> md5 ("missing" when absent); a line
    neither ``md5sum``'s nor ``missing <path>`` is could-not-run naming it."""
    sums: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if not _CHECKSUM.match(line):
            raise unexpected(host, "swift_checksums", line)
        digest, _, path = line.partition(" ")
        sums[path.strip().rsplit("/", 1)[-1]] = digest
    return sums


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    fstype: str


def mounts(remote: Remote) -> dict[str, Mount]:
    """Mount points of the host, by target path (last mount wins, as the kernel shows; a
    mount table without a single mount is could-not-run)."""
    found = parse_mounts(remote.read("mounts").stdout, remote.name)
    if not found:
        raise CouldNotRun(f"host {remote.name}: read 'mounts'", "no mount in its answer")
    return found


def parse_mounts(text: str, host: str = "") -> dict[str, Mount]:
    """``/proc/mounts`` as mount points by target path (last mount wins); a line that is
    not the kernel's is could-not-run naming it."""
    found: dict[str, Mount] = {}
    for fields in mount_rows(text, host):
        found[fields[1]] = Mount(fields[0], fields[1], fields[2])
    return found


def is_partition(remote: Remote, source: str) -> bool:
    name = source.rsplit("/", 1)[-1]
    return name in name_lines(remote.read("partitions").stdout, remote.name, "partitions")


def device_dirs(remote: Remote) -> set[str]:
    """The directories under the devices root (none when the root does not exist; a root
    that cannot be listed is CouldNotRun, never "no device")."""
    return name_lines(remote.read("swift_devices").stdout, remote.name, "swift_devices")


# Errors that mean the file system or the disk under it failed (not a permission the
# reading user lacks: that says nothing about the device).
DEVICE_ERRORS = (
    "Input/output error",
    "Structure needs cleaning",
    "Stale file handle",
    "No such device",
    "Read-only file system",
)


@dataclass(frozen=True)
class DeviceFault:
    """A device directory that cannot be read: the error, and the kernel's last word on it."""

    device: str
    error: str
    kernel_name: str
    kernel: str


def _names(line: str, kernel_name: str) -> bool:
    """Whether a kernel log line is about that block device (``XFS (sdb):``, ``dev sdb,``)."""
    return bool(kernel_name) and (f"({kernel_name})" in line or f"dev {kernel_name}," in line)


def device_health(text: str, host: str = "") -> tuple[list[list[str]], str]:
    """The ``swift_device_health`` read: its listing's rows (``ok<TAB>device``, or
    ``unreadable<TAB>device<TAB>kernel name<TAB>error``) and the kernel's lines after its
    ``kernel`` part, which the read always prints. A row of neither form, or no kernel
    part, is could-not-run naming the line."""
    listing, marked, kernel = text.partition(f"{PART} kernel")
    rows = []
    for line in listing.splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        ok = fields[0] == "ok" and len(fields) == 2
        if not (ok or (fields[0] == "unreadable" and len(fields) >= 4)) or not fields[1]:
            raise unexpected(host, "swift_device_health", line)
        rows.append(fields)
    if not marked:
        lines = listing.strip().splitlines()
        raise unexpected(host, "swift_device_health", lines[-1] if lines else "(no kernel part)")
    return rows, kernel


def unreadable_devices(remote: Remote) -> dict[str, DeviceFault]:
    """Device directories under the devices root whose reading fails with a device error,
    with the last kernel log line naming their block device (``XFS (sdb): ...``)."""
    rows, kernel = device_health(remote.read("swift_device_health").stdout, remote.name)
    faults: dict[str, DeviceFault] = {}
    for fields in rows:
        if fields[0] != "unreadable":
            continue
        _, device, kname, error = fields[:4]
        if not any(e in error for e in DEVICE_ERRORS):
            continue
        said = [k.strip() for k in kernel.splitlines() if _names(k, kname)]
        faults[device] = DeviceFault(
            device, error.rsplit(": ", 1)[-1], kname, said[-1] if said else ""
        )
    return faults


def replication_stamps(remote: Remote) -> dict[str, float]:
    """Last completed replication pass per server type, from the recon cache files."""
    stamps: dict[str, float] = {}
    files = parts(remote.read("swift_recon").stdout)
    for kind in RECON_KINDS:
        path, text = next(
            ((p, t) for p, t in files.items() if p.endswith(f"/{kind}.recon")), ("", "")
        )
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:  # not "no pass yet": it could not be read
            raise CouldNotRun(f"host {remote.name}: {path} is not JSON", exc.msg) from None
        if not isinstance(data, dict):
            raise CouldNotRun(f"host {remote.name}: {path} is not a JSON object", "")
        last = data.get(f"{kind}_replication_last", data.get("replication_last"))
        if last is None:
            continue  # no pass recorded yet
        if not isinstance(last, int | float) or isinstance(last, bool):
            raise CouldNotRun(f"host {remote.name}: {path}: replication_last is {last!r:.40}", "")
        stamps[kind] = float(last)
    return stamps


# -- the reads this module judges (afterboot.reads.hostreads' registry) --------------


def _ring_files(spec: HostSpec) -> str:
    paths = " ".join(quoted_path(spec, f"/etc/swift/{r}.ring.gz") for r in RINGS)
    return (
        f'for f in {paths}; do [ -f "$f" ] || continue; '
        'echo "' + PART + ' $f"; base64 -w0 < "$f" || exit; echo; done'
    )


def _device_health(spec: HostSpec) -> str:
    """Each entry of the devices root: readable, or the error reading it (an XFS shut down
    after I/O errors stays mounted and answers EIO) with its mount's kernel device name;
    then the kernel log's XFS and I/O error lines (dmesg may be root-only: then none)."""
    root = quoted_path(spec, DEVICES_ROOT)
    return (
        # (no -e test: stat fails on the very directories this looks for)
        f'for d in {root}/*; do case "$d" in */\\*) continue ;; esac; '
        'if e=$(ls -- "$d" 2>&1 >/dev/null); then printf \'ok\\t%s\\n\' "${d##*/}"; else '
        "s=$(awk -v m=\"$d\" '$2 == m {print $1}' /proc/mounts | tail -n 1); "
        'k=$(readlink -f "$s" 2>/dev/null); '
        'printf \'unreadable\\t%s\\t%s\\t%s\\n\' "${d##*/}" "${k##*/}" '
        '"$(printf %s "$e" | head -n 1)"; fi; done; '
        f'echo "{PART} kernel"; '
        "dmesg 2>/dev/null | grep -iE 'XFS \\([^)]*\\): .*(shut|error|corrupt|fail)|I/O error' "
        "| tail -n 40; true"
    )


def _recon(spec: HostSpec) -> str:
    # drive.recon: swift-drive-audit's, where it is scheduled (afterboot.domains.recon)
    kinds = [*RECON_KINDS, "drive"]
    return file_parts([spec.path(f"{RECON_DIR}/{k}.recon") for k in kinds])


register(
    HostRead(
        "swift_checksums",
        "md5 of the swift rings and swift.conf",
        lambda s: (
            "for f in "
            + " ".join(quoted_path(s, f"/etc/swift/{n}") for n in SWIFT_FILES)
            + '; do if [ -f "$f" ]; then md5sum "$f"; else echo "missing $f"; fi; done'
        ),
    ),
    HostRead("swift_rings", "the swift ring files (base64)", _ring_files),
    HostRead(
        "swift_devices",
        "directories under the swift devices root",
        # no devices root: no device (SWIFT-005 names each missing one); a root that
        # cannot be listed fails the read
        lambda s: (
            f"[ -e {quoted_path(s, DEVICES_ROOT)} ] || exit 0; ls -1 {quoted_path(s, DEVICES_ROOT)}"
        ),
    ),
    HostRead(
        "swift_device_health",
        "whether each swift device's root can be read; the kernel's XFS and I/O errors",
        _device_health,
    ),
    HostRead("swift_recon", "swift's recon cache (replication stamps, drive audit)", _recon),
)

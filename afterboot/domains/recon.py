"""What ``swift-recon --quarantined --async --driveaudit`` reports, read from the host as the
object server's recon middleware and swift's tools find it.

- Quarantined: the auditors and replicators move damaged objects, containers and accounts to
  ``<devices>/<device>/quarantined/{objects[-N],containers,accounts}/<hash>``; the middleware
  counts those entries (``get_quarantine_count``). Nothing in swift ever removes them.
- Async pendings: container updates the object server could not make are pickled to
  ``<devices>/<device>/async_pending[-N]/<suffix>/<hash>-<timestamp>`` until the
  object-updater sends them (``swift-recon-cron`` counts the same files into
  ``object.recon``'s ``async_pending``: a cron job not every deployment schedules, so the
  files themselves are counted here, with the oldest one's mtime).
- Drive audit: ``swift-drive-audit`` (cron, where scheduled) writes ``drive.recon`` in the
  recon cache: the kernel log's errors per mount point of the last ``minutes`` and their
  total ``drive_audit_errors``; it unmounts a device past ``error_limit``. Read by the
  ``swift_recon`` read (:mod:`afterboot.domains.storage`).

The host read ``swift_device_counts`` counts, for each entry of the devices root, without
listing: one ``find`` per device, at most three levels deep and only under ``quarantined``
and ``async_pending*`` (never the partitions), then one ``awk`` for the host.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import (
    DEVICES_ROOT,
    HostRead,
    outside_parts,
    parts,
    quoted_path,
    register,
    unexpected,
)
from afterboot.transport.connections import Remote

READ = "swift_device_counts"
DRIVE_RECON = "drive.recon"
QUARANTINE_KINDS = ("objects", "containers", "accounts")


@dataclass(frozen=True)
class Quarantined:
    """Entries of one ``quarantined/<kind>`` directory of a device; ``newest``: the latest
    entry's ctime (when it was moved there), host clock."""

    device: str
    kind: str  # objects, objects-1 (a policy's), containers, accounts
    count: int
    newest: float


@dataclass(frozen=True)
class Pending:
    """Async pending files of one ``async_pending[-N]`` directory of a device; ``oldest``:
    the mtime of the one written longest ago (host clock)."""

    device: str
    directory: str
    count: int
    oldest: float


@dataclass(frozen=True)
class DeviceCounts:
    """The ``swift_device_counts`` read: the host's clock when it counted, what each readable
    device holds, and each device whose count failed with the error that stopped it."""

    now: float
    devices: tuple[str, ...]
    quarantined: tuple[Quarantined, ...]
    pending: tuple[Pending, ...]
    unreadable: dict[str, str]


def _number(host: str, line: str, text: str) -> int:
    if not text.isdigit():
        raise unexpected(host, READ, line)
    return int(text)


def parse_counts(text: str, host: str = "") -> DeviceCounts:
    """The read's rows: ``now<TAB>epoch`` first (always), then per device
    ``device<TAB>name<TAB>ok`` followed by its ``quarantined<TAB>device<TAB>kind<TAB>count
    <TAB>newest`` and ``async<TAB>device<TAB>dir<TAB>count<TAB>oldest`` rows, or
    ``device<TAB>name<TAB>error<TAB>message``. Any other line, a row of a device not
    announced, or no ``now`` is could-not-run naming the line."""
    lines = [line for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else "(no clock line)"
    head = first.split("\t")
    if len(head) != 2 or head[0] != "now":
        raise unexpected(host, READ, first)
    now = float(_number(host, first, head[1]))
    devices: list[str] = []
    quarantined: list[Quarantined] = []
    pending: list[Pending] = []
    unreadable: dict[str, str] = {}
    for line in lines[1:]:
        f = line.split("\t")
        if f[0] == "device" and len(f) == 3 and f[2] == "ok" and f[1]:
            devices.append(f[1])
        elif f[0] == "device" and len(f) >= 4 and f[2] == "error" and f[1]:
            unreadable[f[1]] = "\t".join(f[3:]).strip()
        elif f[0] in ("quarantined", "async") and len(f) == 5 and f[1] in devices[-1:]:
            count, stamp = _number(host, line, f[3]), float(_number(host, line, f[4]))
            if f[0] == "quarantined" and f[2].split("-")[0] in QUARANTINE_KINDS:
                quarantined.append(Quarantined(f[1], f[2], count, stamp))
            elif f[0] == "async" and f[2].startswith("async_pending"):
                pending.append(Pending(f[1], f[2], count, stamp))
            else:
                raise unexpected(host, READ, line)
        else:
            raise unexpected(host, READ, line)
    return DeviceCounts(now, tuple(devices), tuple(quarantined), tuple(pending), unreadable)


def device_counts(remote: Remote) -> DeviceCounts:
    """Quarantined entries and async pendings of each device of the host (none when the
    devices root holds no device or does not exist; a root that cannot be listed fails the
    read: could not run, never "nothing quarantined")."""
    return parse_counts(remote.read(READ).stdout, remote.name)


def unreadable_note(counts: DeviceCounts) -> str:
    """The devices that could not be counted, as a could-not-run's reason ("" if none)."""
    return "; ".join(f"{d}: {e}" for d, e in sorted(counts.unreadable.items()))


def drive_audit(remote: Remote) -> dict[str, int] | None:
    """``drive.recon`` of the recon cache (the ``swift_recon`` read): ``drive_audit_errors``
    and each mount point's count, as swift-drive-audit wrote them at its last run; None when
    the file does not exist (swift-drive-audit never ran on the host). A file that is no
    JSON object, a count that is no integer, or a line outside the files' parts (the read
    answered something else: never "no drive.recon") is could-not-run."""
    read = remote.read("swift_recon").stdout
    stray = outside_parts(read)
    if stray:
        raise unexpected(remote.name, "swift_recon", stray)
    files = parts(read)
    path, text = next(
        ((p, t) for p, t in files.items() if p.endswith(f"/{DRIVE_RECON}")), ("", None)
    )
    if text is None:
        return None
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise CouldNotRun(f"host {remote.name}: {path} is not JSON", exc.msg) from None
    if not isinstance(data, dict):
        raise CouldNotRun(f"host {remote.name}: {path} is not a JSON object", "")
    counts: dict[str, int] = {}
    for key, value in data.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise CouldNotRun(f"host {remote.name}: {path}: {key} is {value!r:.40}", "")
        counts[str(key)] = value
    return counts


# -- the read (afterboot.reads.hostreads' registry) ------------------------------------

# Per device: a header line, find's entries (type, mtime, ctime, path below the device)
# with its errors on the same stream, and find's exit status; awk folds them into counts.
_FOLD = r"""
function flush(  k) {
  if (dev == "") return
  if (rc != 0 || err != "") printf "device\t%s\terror\t%s\n", dev, (err != "" ? err : "exit " rc)
  else {
    printf "device\t%s\tok\n", dev
    for (k in qn) printf "quarantined\t%s\t%s\t%d\t%d\n", dev, k, qn[k], qt[k]
    for (k in an) printf "async\t%s\t%s\t%d\t%d\n", dev, k, an[k], at[k]
  }
  dev = ""; err = ""; rc = 0; split("", qn); split("", qt); split("", an); split("", at)
}
$1 == "D" && NF == 2 { flush(); dev = $2; next }
$1 == "E" && NF >= 5 {
  split($5, p, "/")
  if (p[1] == "quarantined" && $2 == "d") { qn[p[2]]++; if (int($4) > qt[p[2]]) qt[p[2]] = int($4) }
  else if (p[1] ~ /^async_pending(-[0-9]+)?$/ && $2 == "f") {
    an[p[1]]++; if (!(p[1] in at) || int($3) < at[p[1]]) at[p[1]] = int($3)
  }
  next
}
$1 == "R" && NF == 2 { rc = $2; next }
{ if (err == "") err = $0 }
END { flush() }
"""


def _counts(spec: HostSpec) -> str:
    """Counts, never listings: a device's entries are not printed past awk. The clock comes
    first, from the same shell, so ages are the host's own. A device whose count fails (a
    directory the reader may not open, EIO) is a row of its own; the root that cannot be
    listed fails the read."""
    root = quoted_path(spec, DEVICES_ROOT)
    find = (
        "find . -mindepth 1 -maxdepth 3 \\( -path './*/*' -o -name quarantined "
        "-o -name 'async_pending*' -o -prune \\) -path './*/*/*' "
        "-printf 'E\\t%y\\t%T@\\t%C@\\t%P\\n'"
    )
    return (
        "printf 'now\\t%s\\n' \"$(date +%s)\"; "
        f"[ -e {root} ] || exit 0; ls -- {root} >/dev/null || exit; "
        f'for d in {root}/*; do case "$d" in */\\*) continue ;; esac; '
        '[ -f "$d" ] && continue; printf \'D\\t%s\\n\' "${d##*/}"; '
        f'(cd -- "$d" && exec {find}) 2>&1; printf \'R\\t%s\\n\' "$?"; done '
        f"| awk -F '\\t' '{_FOLD.strip()}'"
    )


register(
    HostRead(
        READ,
        "per swift device: quarantined entries and async pendings, counted (find, 3 levels)",
        _counts,
    ),
)

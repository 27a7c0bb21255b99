"""Ceph's own judgement of itself: the health checks of ``ceph status`` (JSON), and where
the cluster is not HEALTH_OK, of ``ceph health detail`` (JSON) besides.

Ceph knows more about its cluster than any outside probe: a flag that stops all I/O
(``pause``, ``noout`` left behind by a maintenance), OSDs down or out, placement groups
not active+clean, monitors out of quorum, full and nearfull OSDs, a manager down. Each
raised health check is one finding, by its code, with the first lines of its detail
(``osd.3 (root=default,host=storage1) is down``, the PGs, the monitors); a status that
cannot be read or parsed is could-not-run, never a healthy cluster. The detail costs a
second command only on a cluster that is not healthy; a detail that cannot be read
leaves the summaries, said so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from afterboot.errors import CouldNotRun, shown
from afterboot.reads.hostreads import PART, HostRead, parts, register
from afterboot.transport.connections import Remote

STATUSES = ("HEALTH_OK", "HEALTH_WARN", "HEALTH_ERR")


@dataclass(frozen=True)
class HealthCheck:
    code: str  # OSDMAP_FLAGS, OSD_DOWN, PG_AVAILABILITY, OSD_NEARFULL, MON_DOWN ...
    severity: str  # HEALTH_WARN or HEALTH_ERR
    message: str  # its summary: "pauserd,pausewr flag(s) set"
    muted: bool = False  # `ceph health mute CODE`: the site accepted it for now
    detail: tuple[str, ...] = ()  # ceph health detail's first lines for it (what, where)


@dataclass(frozen=True)
class CephHealth:
    status: str
    checks: tuple[HealthCheck, ...]

    @property
    def raised(self) -> tuple[HealthCheck, ...]:
        return tuple(c for c in self.checks if not c.muted)


# the OSD map's read and write pause bits are set and unset together as "pause"
_FLAG_NAMES = {"pauserd": "pause", "pausewr": "pause"}


def osdmap_flags(message: str) -> tuple[str, ...]:
    """The flags an OSDMAP_FLAGS message names ("pauserd,pausewr,noout flag(s) set"), as
    ``ceph osd unset`` takes them; only plain flag words (a word of anything else is left
    out: it is no flag ceph sets)."""
    words = message.split(" flag", 1)[0].split(",")
    flags = []
    for word in (w.strip() for w in words):
        flag = _FLAG_NAMES.get(word, word)
        if flag.isascii() and flag.replace("_", "").isalpha() and flag not in flags:
            flags.append(flag)
    return tuple(flags)


DETAIL_PART = "detail"  # the read's second part: ceph health detail, when not HEALTH_OK
DETAIL_LINES = 5  # per check: an OSD or PG list can run to thousands


def status_text(text: str) -> str:
    """The ``ceph -s`` JSON of the read (before its detail part, where it has one)."""
    return text.split(f"\n{PART} ", 1)[0] if f"{PART} " in text else text


def _details(text: str) -> dict[str, tuple[str, ...]]:
    """Each check's detail lines from ``ceph health detail -f json`` (nothing from an
    answer not understood: the summaries stand)."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        return {}
    raw = data.get("checks") if isinstance(data, Mapping) else None
    out: dict[str, tuple[str, ...]] = {}
    for code, check in raw.items() if isinstance(raw, Mapping) else ():
        lines = check.get("detail") if isinstance(check, Mapping) else None
        messages = [
            str(d.get("message"))
            for d in lines or ()
            if isinstance(d, Mapping) and d.get("message")
        ]
        more = len(messages) - DETAIL_LINES
        out[str(code)] = tuple(messages[:DETAIL_LINES]) + ((f"(+{more} more)",) if more > 0 else ())
    return out


def health(text: str, host: str) -> CephHealth:
    """The health of ``ceph -s -f json`` as ``host`` printed it (Luminous and later:
    ``health.status`` and ``health.checks``; older: ``overall_status``), each check with
    its detail where the read holds ``ceph health detail``."""
    details = _details(parts(text).get(DETAIL_PART, ""))
    text = status_text(text)
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CouldNotRun(f"host {host}: ceph status is not JSON", str(exc)[:120]) from None
    block = data.get("health") if isinstance(data, Mapping) else None
    if not isinstance(block, Mapping):
        raise CouldNotRun(f"host {host}: ceph status has no health", text.strip()[:120])
    status = block.get("status") or block.get("overall_status")
    if status not in STATUSES:
        raise CouldNotRun(f"host {host}: ceph health status {shown(status)} unknown", "")
    raw = block.get("checks") or {}
    if not isinstance(raw, Mapping):
        raise CouldNotRun(f"host {host}: ceph health checks are not a mapping", "")
    checks = []
    for code, check in sorted(raw.items()):
        check = check if isinstance(check, Mapping) else {}
        summary = check.get("summary")
        message = summary.get("message", "") if isinstance(summary, Mapping) else ""
        checks.append(
            HealthCheck(
                str(code),
                str(check.get("severity") or "HEALTH_WARN"),
                str(message or code),
                bool(check.get("muted")),
                details.get(str(code), ()),
            )
        )
    if status != "HEALTH_OK" and not checks:
        # a status that is not OK names its checks; none named: an answer not understood
        raise CouldNotRun(f"host {host}: ceph says {status} but names no health check", "")
    return CephHealth(str(status), tuple(checks))


def health_of(remote: Remote) -> CephHealth:
    """Ceph's health as this ceph host reads it (the collection pass's ``ceph_status``)."""
    return health(remote.read("ceph_status").stdout, remote.name)


# -- the reads this module judges (afterboot.reads.hostreads' registry) --------------

# A mon may refuse one request for a moment (EPERM: "problem getting command descriptions",
# seen on the lab's mon); an answer that came fast is asked for once more, a second later.
# One that took its time (a mon that does not answer) is not: the read's deadline is near.
_CEPH = "ceph --connect-timeout 10 -s -f json"


_CEPH_STATUS = (
    f"s=$(date +%s); {_CEPH} && exit 0; r=$?; "
    '[ $(($(date +%s) - s)) -lt 3 ] || exit "$r"; sleep 1; ' + _CEPH
)
# ceph -s's JSON is compact: a healthy cluster's says "status":"HEALTH_OK" in its health
_CEPH_READ = (
    f"out=$({_CEPH_STATUS}) || exit $?; printf '%s\\n' \"$out\"; "
    'case $out in *\'"status":"HEALTH_OK"\'*) exit 0 ;; esac; '
    f"echo '{PART} {DETAIL_PART}'; ceph --connect-timeout 10 health detail -f json || true"
)


register(
    HostRead(
        "ceph_status",
        "Ceph's health and OSD counts (ceph status, JSON); ceph health detail when not OK",
        lambda s: _CEPH_READ,
        slow=True,
        shared=True,
    ),
)

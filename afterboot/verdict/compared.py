"""The compared snapshot (``--compare``): telling its cloud, its run's results.

Plain module (no hooks); the file is read, and its shape checked, by
:mod:`afterboot.snapshotfile`. A snapshot document is ``reports/snapshot.json`` of an earlier
run; at the end of every run the controller adds to it the cloud's identity (clouds.yaml
name, auth_url, region; the inventory's host names) and the run's results (each failed,
broken, could-not-run or waived check with its host and offenders), so that a later run
tells the cloud apart and marks each failure ``new`` or already failing before. Which
checks the run judged is kept too (``judged``): a failure of a check the compared run did
not judge (another phase, ``--host``) is neither new nor old, and is not marked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from afterboot.checks.findings import Finding
from afterboot.verdict.entries import BROKEN, COULD_NOT_RUN, FAILED, WAIVED, Entry

RECORDED = (FAILED, BROKEN, COULD_NOT_RUN, WAIVED)  # the outcomes a later run compares with
Key = tuple[str, str, str]  # (check, host, offender)


@dataclass(frozen=True)
class Compared:
    """A snapshot document and where it came from."""

    path: str
    doc: Mapping[str, Any] = field(default_factory=dict)

    @property
    def has_results(self) -> bool:
        return isinstance(self.doc.get("results"), list)

    def failed_before(self) -> set[Key]:
        return result_keys(self.doc.get("results") or [])

    def judged(self) -> set[tuple[str, str]] | None:
        """(check, host) of every check the compared run judged (None: not recorded)."""
        rows = self.doc.get("judged")
        if not isinstance(rows, list):
            return None
        return {(str(r[0]), str(r[1])) for r in rows if isinstance(r, list) and len(r) == 2}


# -- which cloud ------------------------------------------------------------------------


def identity(
    os_cloud: str | None, auth_url: str | None, region: str | None, hosts: Iterable[str]
) -> dict[str, Any]:
    return {
        "os_cloud": os_cloud,
        "auth_url": auth_url,
        "region": region,
        "hosts": sorted(hosts),
    }


def _url(value: Any) -> str:
    """An auth_url without its user info, trailing slash or case differences of its host."""
    if not value:
        return ""
    parts = urlsplit(str(value))
    netloc = (parts.hostname or "").lower() + (f":{parts.port}" if parts.port else "")
    return f"{parts.scheme.lower()}://{netloc}{parts.path.rstrip('/')}"


def other_cloud(was: Mapping[str, Any] | None, now: Mapping[str, Any] | None) -> str:
    """Why two identities are not the same cloud ("" when they may be): a different
    keystone or region, or inventories without a host in common."""
    if not was or not now:
        return ""  # a snapshot without identity (taken before it was recorded)
    a, b = _url(was.get("auth_url")), _url(now.get("auth_url"))
    if a and b and a != b:
        return f"its cloud's auth_url is {a}, this run's {b}"
    if was.get("region") and now.get("region") and was["region"] != now["region"]:
        return f"its region is {was['region']}, this run's {now['region']}"
    hosts_was, hosts_now = set(was.get("hosts") or ()), set(now.get("hosts") or ())
    if hosts_was and hosts_now and not hosts_was & hosts_now:
        shown = ", ".join(sorted(hosts_was)[:5]) + (", ..." if len(hosts_was) > 5 else "")
        return f"no host in common with this run's inventory (it has {shown})"
    return ""


# -- failures before and now ----------------------------------------------------------


def offender_keys(check: str, host: str, findings: Sequence[Finding]) -> set[Key]:
    """(check, host, offender) of each finding; (check, host, "") for a result naming none."""
    keys = {(check, f.host or host, f.subject) for f in findings if f.subject}
    return keys or {(check, host, "")}


def result_rows(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    """What a snapshot keeps of a run's results: check, host, outcome, offenders."""
    rows = []
    for e in entries:
        if e.outcome not in RECORDED:
            continue
        rows.append(
            {
                "check": e.check,
                "host": e.host,
                "outcome": e.outcome,
                "offenders": sorted(
                    [h, s] for _, h, s in offender_keys(e.check, e.host, e.findings)
                ),
            }
        )
    return sorted(rows, key=lambda r: (r["check"], r["host"]))


def result_keys(rows: Iterable[Any]) -> set[Key]:
    keys: set[Key] = set()
    for row in rows:
        if not isinstance(row, Mapping) or not row.get("check"):
            continue
        check, host = str(row["check"]), str(row.get("host") or "")
        for pair in row.get("offenders") or [[host, ""]]:
            if isinstance(pair, list | tuple) and len(pair) == 2:
                keys.add((check, str(pair[0] or host), str(pair[1])))
    return keys


def is_new(check: str, host: str, findings: Sequence[Finding], before: set[Key]) -> bool:
    """True unless every offender of this failure failed the same check before."""
    return not offender_keys(check, host, findings) <= before

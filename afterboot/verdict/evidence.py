"""Evidence: on failure, the tail of the logs the procedure names, from the host involved.

The host's connection comes from the session's ``connections`` pool (the check's ``host``
fixture, or the host of its findings); the read is bounded (bytes, lines, logs) and runs
under the connection's deadline; the known noise of a healthy cloud is dropped (regexes in
``procedures/_evidence.yaml``). Evidence that cannot be fetched is noted, never a failure.

On a kolla host the logs are read where the host's ``paths:`` put them
(``/var/log/nova`` -> ``/var/log/kolla/nova``), and when none names a cause, the output of
the containers the findings name (``docker/podman logs --tail``), as the journal of the
units they name on a systemd host.

A log signature (:mod:`afterboot.procedures.signatures`) that matches a log names the cause: one
``cause:`` line above that log's tail, and the first cause found as the ``cause`` and
``cause_id`` properties (JUnit), which the remediation plugin carries into the entry (the
fitting procedure step first, ``summary.json``). A cause that lies in another service
names it as the failure's root (:mod:`afterboot.verdict.roots`): the root's own log, on the
host that runs it, is read as evidence too, and the ``root`` property carries it.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest

from afterboot.checks.findings import Finding, item_findings
from afterboot.checks.hosts import host_of, pool_key
from afterboot.checks.identity import check_key
from afterboot.domains.servicemap import SERVICES
from afterboot.domains.services import process_table
from afterboot.errors import CouldNotRun
from afterboot.inventory.load import loaded_inventory
from afterboot.procedures.book import procedures
from afterboot.procedures.runbook import data_file, fill
from afterboot.procedures.signatures import (
    CAUSE_ID_PROPERTY,
    CAUSE_PROPERTY,
    Cause,
    Signature,
    find_cause,
)
from afterboot.procedures.signatures import load as load_signatures
from afterboot.redact import redact
from afterboot.verdict.outcomes import could_not_run
from afterboot.verdict.roots import ROOT_PROPERTY, Located, locate, roots


@dataclass(frozen=True)
class Limits:
    lines: int
    bytes: int
    logs: int
    noise: tuple[re.Pattern[str], ...]
    signatures: tuple[Signature, ...] = ()
    # the request IDs the failure names (swift's transaction, an API's request): the
    # lines logged for that request name the cause first (afterboot.procedures.signatures)
    requests: tuple[str, ...] = ()


# swift's transaction IDs (txn: tx...-...), OpenStack's request IDs (req-<uuid>)
_REQUEST_ID = re.compile(
    r"\b(tx[0-9a-f]{21}-[0-9a-f]{10}|req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b"
)


def request_ids(text: str) -> tuple[str, ...]:
    """The request IDs a failure's text names, in order, each once."""
    return tuple(dict.fromkeys(_REQUEST_ID.findall(text)))


limits_key = pytest.StashKey[Limits]()


def load_limits() -> Limits:
    """How much log to attach and the noise to drop (``_evidence.yaml``), the signatures."""
    data = data_file("_evidence.yaml")
    raw = data.get("limits") or {}
    return Limits(
        int(raw.get("lines", 60)),
        int(raw.get("bytes", 65536)),
        int(raw.get("logs", 3)),
        tuple(re.compile(p) for p in data.get("noise") or ()),
        load_signatures(),
    )


def denoised(text: str, limits: Limits) -> list[str]:
    return [line for line in text.splitlines() if not any(p.search(line) for p in limits.noise)]


def filtered(text: str, limits: Limits) -> str:
    """Noise dropped, the last ``limits.lines`` lines kept."""
    return "\n".join(denoised(text, limits)[-limits.lines :])


# oslo.log's line: "2026-11-29 05:22:25.285 585 ERROR nova ..." (date, local time, pid, level)
_OSLO_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.\d+)? (\d+) [A-Z]+ ")
# a line stamped with its UTC offset (RabbitMQ's: "2026-12-06 07:11:15.422288+00:00 [error] ...")
_ZONED_LINE = re.compile(r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)(?:\.\d+)?([+-]\d\d:?\d\d|Z) ")
# A writer's start as read is its age in whole seconds against the host's clock: lines of
# its own first second may sit this much before it.
START_SLACK = 2.0
# When a log's writer started (UNIX time), given the pid its lines carry (None: they carry
# none); None where that is not known.
Starts = Callable[[str | None], float | None]


def _east(offset: str) -> int:
    """A UTC offset as written (``+0100``, ``-05:30``, ``Z``) in seconds east of UTC."""
    digits = offset.replace(":", "")
    east = 0 if digits == "Z" else int(digits[1:3]) * 3600 + int(digits[3:5]) * 60
    return -east if digits.startswith("-") else east


def _seconds(stamp: str, offset: str | int) -> float:
    """A log's time as a UNIX time: ``offset`` east of UTC, in seconds or as written."""
    east = _east(offset) if isinstance(offset, str) else offset
    return calendar.timegm(time.strptime(stamp.replace("T", " "), "%Y-%m-%d %H:%M:%S")) - east


def _since(stamp: str, offset: str | int, since: float) -> bool:
    """Whether a line's time is ``since`` or later; a time no calendar has (a garbled
    line) is kept: it cannot be shown to be older."""
    try:
        return _seconds(stamp, offset) >= since
    except (ValueError, OverflowError):
        return True


def present_life(
    lines: list[str], starts: Starts | None = None, offset: int | None = None
) -> list[str]:
    """The lines of the log's writer's present life: a restarted service's log still holds
    its previous life's errors, which name no cause of what happens now.

    In a log whose lines carry their pid (oslo.log), the lines of the process that wrote
    last; where ``starts`` knows when that pid started and ``offset`` (the host's, east of
    UTC) gives oslo.log's local times, only those since (a service whose pid is the same in
    each life: its own pid namespace, a container). In a log whose lines carry their UTC
    offset (RabbitMQ's), the lines since its writer started, where ``starts`` knows. Other
    logs are kept whole."""
    # each line's writer is the last writer, its time and offset; None: a continuation line
    stamped: list[tuple[bool, str, str | int] | None]
    oslo = [m.groups() if (m := _OSLO_LINE.match(line)) else None for line in lines]
    last = next((p[1] for p in reversed(oslo) if p is not None), None)
    if last is not None:
        since = starts(last) if starts is not None and offset is not None else None
        stamped = [(p[1] == last, p[0], offset or 0) if p else None for p in oslo]
    else:
        zoned = [m.groups() if (m := _ZONED_LINE.match(line)) else None for line in lines]
        since = starts(None) if starts is not None and any(zoned) else None
        if since is None:
            return lines
        stamped = [(True, z[0], z[1]) if z else None for z in zoned]
    kept: list[str] = []
    current = False
    for line, st in zip(lines, stamped, strict=True):
        if st is not None:  # continuation lines: their writer's, and their time's
            mine, stamp, off = st
            current = mine and (since is None or _since(stamp, off, since))
        if current:
            kept.append(line)
    return kept


def host_offset(remote: Any) -> int | None:
    """The host's UTC offset in seconds east, as its clock read says (None: a snapshot
    older than that part of the read)."""
    clock = (getattr(remote, "reads", None) or {}).get("clock")
    fields = str(getattr(clock, "stdout", "")).split()
    if len(fields) < 3 or not re.fullmatch(r"[+-]\d{4}", fields[2]):
        return None
    return _east(fields[2])


def writer_starts(remote: Any, log: str) -> Starts:
    """When the writer of ``log`` on the host started, from the pass's process table and
    clock: the process of the pid its lines carry, or where they carry none the oldest
    process of the service that writes it (the roots' logs: RabbitMQ's node log; else the
    service the file is named after). None where the process is not the service's (a
    container's pids are not the host's) or the reads are not there."""
    reads: dict[str, Any] = getattr(remote, "reads", None) or {}
    service = _log_service(log, getattr(remote, "name", ""))
    try:
        now = float(str(getattr(reads.get("clock"), "stdout", "")).split()[0])
        table = process_table(str(getattr(reads.get("processes"), "stdout", "")))
    except (ValueError, IndexError, CouldNotRun):
        table, now = [], 0.0

    def started(pid: str | None) -> float | None:
        if service is None:
            return None
        ages = [p.age for p in table if pid in (None, str(p.pid)) and service.matches(p.args)]
        return now - max(ages) - START_SLACK if ages else None

    return started


def _log_service(log: str, host: str) -> Any:
    for root in roots().values():
        if any(fill(path, {"host": host}) == log for path in root.logs):
            return SERVICES.get(root.service)
    return SERVICES.get(log.rsplit("/", 1)[-1].removesuffix(".log"))


def section(
    title: str,
    text: str,
    limits: Limits,
    starts: Starts | None = None,
    offset: int | None = None,
) -> tuple[str, Cause | None]:
    """One log's evidence: the cause its signature names (over the whole tail read, noise
    removed, the lines of its writer's present life: :func:`present_life`) as one line
    above the last ``limits.lines`` lines."""
    keep = denoised(text, limits)
    if not keep:
        return "", None
    life = present_life(keep, starts, offset)
    cause = find_cause("\n".join(life), limits.signatures, limits.requests)
    head = f"{cause.headline()}\n" if cause else ""
    tail = "\n".join(keep[-limits.lines :])
    return f"{head}{title} (last {limits.lines} lines, noise removed)\n{tail}", cause


def _remote(item: pytest.Item, host: str) -> Any:
    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    remote = funcargs.get("host")
    if remote is not None and hasattr(remote, "run") and getattr(remote, "name", host) == host:
        return remote
    pool = funcargs.get("connections") or item.config.stash.get(pool_key, None)
    if pool is not None and host:
        try:
            return pool[host]
        except Exception:  # noqa: BLE001 - not in the inventory: no evidence
            return None
    return None


def collect(item: pytest.Item, logs: tuple[str, ...], host: str, limits: Limits) -> list[str]:
    """The evidence sections; never raises."""
    return [text for text, _ in collect_causes(item, logs, host, limits)]


def _sections(
    remote: Any, reads: Sequence[tuple[str, str, tuple[str, ...]]], limits: Limits
) -> list[tuple[str, Cause | None]]:
    """Each read (title, command format, its arguments) as a section with the cause it
    names; a read that fails is left out, one that raises is said; never raises."""
    out: list[tuple[str, Cause | None]] = []
    for title, fmt, args in reads[: limits.logs]:
        try:
            result = remote.run(fmt, *args)
            if getattr(result, "rc", 1) != 0:
                continue
            starts = writer_starts(remote, args[-1]) if args else None
            text, cause = section(title, str(result.stdout), limits, starts, host_offset(remote))
        except Exception as exc:  # noqa: BLE001 - evidence is best effort
            out.append((f"{title}: not fetched ({type(exc).__name__})", None))
            continue
        if text:
            out.append((text, replace(cause, source=title) if cause else None))
    return out


def collect_causes(
    item: pytest.Item, logs: tuple[str, ...], host: str, limits: Limits
) -> list[tuple[str, Cause | None]]:
    """Each log's section and the cause it names; never raises."""
    remote = _remote(item, host)
    if remote is None or not logs:
        return []
    reads = []
    for log in logs:
        path = fill(log, {"host": host or getattr(remote, "name", "")})
        mapped = remote.path(path) if hasattr(remote, "path") else path
        reads.append(
            (
                f"{path} on {remote.name}",
                "test -r %s && tail -c %s %s",
                (mapped, str(limits.bytes), mapped),
            )
        )
    return _sections(remote, reads, limits)


def most_specific(causes: list[Cause], signatures: tuple[Signature, ...]) -> Cause | None:
    """The cause of the most specific signature any log named (the signatures' order; the
    logs' order breaks ties): an ACCESS_REFUSED in nova-compute's log names the cause
    better than an old I/O error line in libvirtd's."""
    rank = {sig.id: n for n, sig in enumerate(signatures)}
    return min(causes, key=lambda c: rank.get(c.id, len(rank)), default=None)


def _units(found: list[Finding], host: str) -> list[str]:
    """The systemd units the findings name on ``host`` (a service check on a systemd host)."""
    return list(
        dict.fromkeys(
            f.extra["unit"] for f in found if f.extra.get("unit") and f.host in ("", host)
        )
    )


def collect_journals(
    item: pytest.Item, units: list[str], host: str, limits: Limits
) -> list[tuple[str, Cause | None]]:
    """The journal of each unit a finding names: where a systemd host's service logs (its
    procedure's log files may not exist there); never raises."""
    remote = _remote(item, host)
    if remote is None or not units:
        return []
    fmt = "journalctl -u %s -n %s --no-pager -o short-iso"
    reads = [
        (f"journalctl -u {u} on {remote.name}", fmt, (u, str(limits.lines * 4))) for u in units
    ]
    return _sections(remote, reads, limits)


def collect_root_logs(
    item: pytest.Item, located: Located, limits: Limits
) -> list[tuple[str, Cause | None]]:
    """The root's own log, on the first host that runs it (its log files, and on a
    systemd host its unit's journal); never raises."""
    if not located.hosts:
        return []
    name = located.hosts[0]
    remote = _remote(item, name)
    if remote is None:
        return []
    root = located.root
    reads: list[tuple[str, str, tuple[str, ...]]] = []
    for log in root.logs:
        path = fill(log, {"host": name})  # a log named after its node (rabbit@{host}.log)
        mapped = remote.path(path) if hasattr(remote, "path") else path
        reads.append(
            (
                f"{path} on {name} ({root.service}, the root)",
                "test -r %s && tail -c %s %s",
                (mapped, str(limits.bytes), mapped),
            )
        )
    units = SERVICES[root.service].units if root.service in SERVICES else ()
    spec = getattr(remote, "spec", None)
    if units and getattr(spec, "service_manager", "") == "systemd":
        fmt = "journalctl -u %s -n %s --no-pager -o short-iso"
        reads.insert(
            0,
            (f"journalctl -u {units[0]} on {name} ({root.service}, the root)", fmt,
             (units[0], str(limits.lines * 4))),
        )  # fmt: skip
    return _sections(remote, reads, limits)


def _containers(found: list[Finding], host: str) -> list[tuple[str, str]]:
    """The (engine, container) pairs of the containers the findings say are not running
    well on ``host`` (a service check on a kolla host: ``container_state``)."""
    return list(
        dict.fromkeys(
            (str(f.extra.get("engine") or "docker"), str(f.extra["container"]))
            for f in found
            if f.extra.get("container") and f.extra.get("container_state")
            if f.host in ("", host)
        )
    )


def collect_container_logs(
    item: pytest.Item, containers: list[tuple[str, str]], host: str, limits: Limits
) -> list[tuple[str, Cause | None]]:
    """The output of each container a finding names (``docker/podman logs``): what a
    kolla service printed before it died, when its log file does not say; never raises."""
    remote = _remote(item, host)
    if remote is None or not containers:
        return []
    fmt = "%s logs --tail %s %s 2>&1"
    reads = [
        (f"{engine} logs {name} on {remote.name}", fmt, (engine, str(limits.lines), name))
        for engine, name in containers
        if engine in ("docker", "podman")
    ]
    return _sections(remote, reads, limits)


def _attach(text: str) -> None:
    try:
        import allure

        allure.attach(text, name="Evidence", attachment_type=allure.attachment_type.TEXT)
    except Exception:  # noqa: BLE001 - no allure: the section is enough
        return


def gather_evidence(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> pytest.TestReport:
    """A failed check's evidence: the logs its procedure names, from its host, and the
    cause they show."""
    check = item.stash.get(check_key, None)
    if check is None or not report.failed or report.when != "call" or could_not_run(report):
        return report
    proc = procedures(item.config).get(check.id)
    if proc is None:
        return report
    limits = replace(item.config.stash[limits_key], requests=request_ids(report.longreprtext))
    found: list[Cause] = []
    mine = item_findings(item)
    # a cloud-wide check's logs are read on the first host its findings name
    host = host_of(item) or next((f.host for f in mine if f.host), "")
    sources = [
        *collect_journals(item, _units(mine, host), host, limits),
        *collect_causes(item, proc.logs, host, limits),
    ]
    if not any(cause for _, cause in sources):  # the logs name no cause: the container's output
        sources += collect_container_logs(item, _containers(mine, host), host, limits)
    for text, cause in sources:
        clean = redact(text)
        report.sections.append(("Evidence", clean))
        _attach(clean)
        if cause is not None:
            found.append(cause)
    first = most_specific(found, limits.signatures)
    if first is not None:
        for props in (report.user_properties, item.user_properties):  # JUnit reads teardown's
            props.append((CAUSE_PROPERTY, redact(first.label())))
            props.append((CAUSE_ID_PROPERTY, first.id))
    located = locate(first, loaded_inventory(item.config))
    if located is not None:
        for text, _ in collect_root_logs(item, located, limits):
            clean = redact(text)
            report.sections.append(("Evidence", clean))
            _attach(clean)
        for props in (report.user_properties, item.user_properties):
            props.append((ROOT_PROPERTY, redact(located.to_json())))
    return report

"""Log signatures: a regex over the evidence that names the cause of a failure.

Plain module (no hooks). The signatures are data (``procedures/_signatures.yaml``), most
specific first: the first signature that matches a log names its cause, shown as one
``cause:`` line above the tail, carried as a JUnit property and into ``summary.json``, and
a procedure step with the same ``cause:`` is put first
(:func:`afterboot.procedures.runbook.render`). A cause that lies in another service (the
signature's ``root``) names that service as the failure's root
(:mod:`afterboot.verdict.roots`); the services a root may name are data too (``roots``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from afterboot.errors import shown
from afterboot.procedures.runbook import ProcedureError, data_file, fill

FILE = "_signatures.yaml"
CAUSE_PROPERTY, CAUSE_ID_PROPERTY = "cause", "cause_id"  # report properties (JUnit)
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_LINE_MAX = 240
_SIGNATURE_KEYS = {"id", "match", "cause", "cleared_by", "root", "root_at"}
_ROOT_KEYS = {"service", "api", "ports", "logs"}


@dataclass(frozen=True)
class Root:
    """A service a cause may lie in: what the inventory runs it as, the API check
    findings name it by, the ports an address of it listens on, and its logs."""

    name: str
    service: str
    api: str = ""
    ports: tuple[int, ...] = ()
    logs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Signature:
    id: str
    pattern: re.Pattern[str]
    cause: str  # short text; {group} placeholders take the regex's named groups
    # a later line matching this ends the episode (the service reconnected, its server
    # answered again): an earlier match names no cause of what happens now
    cleared_by: re.Pattern[str] | None = None
    root: str = ""  # the service the cause lies in: a name of ``roots`` ({group} filled)
    root_at: str = ""  # the address the line names ({group} filled): the root's host, port


@dataclass(frozen=True)
class Cause:
    id: str
    text: str
    line: str  # the log line that matched (cut to a readable length)
    root: str = ""  # the signature's root, filled from the line ("" none)
    root_at: str = ""  # the address the line names ("" none)
    source: str = ""  # the log the line was read from ("<path> on <host>")

    def label(self) -> str:
        """``"id: text"``, as carried in properties and entries."""
        return f"{self.id}: {self.text}"

    def headline(self) -> str:
        """The one line shown above the log tail."""
        return f"cause: {self.text} [{self.id}] <- {self.line}"


def parse(data: Mapping[str, Any], source: str = FILE) -> tuple[Signature, ...]:
    raw = data.get("signatures")
    if not isinstance(raw, list) or not raw:
        raise ProcedureError(f"{source}: 'signatures' must be a list")
    out: list[Signature] = []
    for n, entry in enumerate(raw, 1):
        where = f"{source}: signature {n}"
        if not isinstance(entry, Mapping) or not {"id", "match", "cause"} <= set(entry):
            raise ProcedureError(f"{where}: needs id, match and cause")
        unknown = set(entry) - _SIGNATURE_KEYS
        if unknown:
            named = ", ".join(shown(k) for k in sorted(map(str, unknown))[:3])
            raise ProcedureError(f"{where}: unknown key(s) {named}")
        sid = str(entry["id"])
        if not _ID.match(sid) or any(s.id == sid for s in out):
            raise ProcedureError(f"{where}: id {shown(sid)} must be unique, lower-case-with-dashes")
        try:
            pattern = re.compile(str(entry["match"]))
            cleared = re.compile(str(entry["cleared_by"])) if entry.get("cleared_by") else None
        except re.error as exc:
            raise ProcedureError(f"{where}: bad regex: {exc}") from None
        cause = " ".join(str(entry["cause"]).split())
        root, root_at = str(entry.get("root") or ""), str(entry.get("root_at") or "")
        if root_at and not root:
            raise ProcedureError(f"{where}: root_at needs the root it locates")
        out.append(Signature(sid, pattern, cause, cleared, root, root_at))
    return tuple(out)


def _root(name: str, raw: Any, source: str) -> Root:
    where = f"{source}: root {shown(name)}"
    if not isinstance(raw, Mapping) or not raw.get("service"):
        raise ProcedureError(f"{where}: needs a service")
    unknown = set(raw) - _ROOT_KEYS
    if unknown:
        raise ProcedureError(f"{where}: unknown key(s) {shown(sorted(map(str, unknown))[0])}")
    ports, logs = raw.get("ports") or [], raw.get("logs") or []
    if not isinstance(ports, list) or not all(isinstance(p, int) for p in ports):
        raise ProcedureError(f"{where}: ports is a list of port numbers")
    if not isinstance(logs, list) or not all(isinstance(p, str) and p for p in logs):
        raise ProcedureError(f"{where}: logs is a list of paths")
    return Root(name, str(raw["service"]), str(raw.get("api") or ""), tuple(ports), tuple(logs))


def parse_roots(data: Mapping[str, Any], source: str = FILE) -> dict[str, Root]:
    """The services a signature's ``root`` may name (``roots``: name -> service)."""
    raw = data.get("roots") or {}
    if not isinstance(raw, Mapping):
        raise ProcedureError(f"{source}: 'roots' maps names to services")
    return {str(name): _root(str(name), entry, source) for name, entry in raw.items()}


def load() -> tuple[Signature, ...]:
    """Our signatures, most specific first."""
    return parse(data_file(FILE))


def load_roots() -> dict[str, Root]:
    """The services our signatures' roots name."""
    return parse_roots(data_file(FILE))


def find_cause(
    text: str, signatures: Sequence[Signature], requests: Sequence[str] = ()
) -> Cause | None:
    """The cause the first matching signature names, with the last line it matched; a
    signature whose episode a later line ended (``cleared_by``) names none. Where the
    failure names its requests (``requests``: swift's transaction, an API's request ID),
    the lines logged for them are read first: they are what failed now, where an older
    line of the same log (a device full an hour ago, healed since) is another episode."""
    lines = text.splitlines()
    own = [line for line in lines if any(r in line for r in requests)]
    return (_cause(own, signatures) if own else None) or _cause(lines, signatures)


def _cause(lines: list[str], signatures: Sequence[Signature]) -> Cause | None:
    for sig in signatures:
        for line in reversed(lines):
            if sig.cleared_by is not None and sig.cleared_by.search(line):
                break  # the last word on it is that it recovered: a stale cause
            m = sig.pattern.search(line)
            if m is None:
                continue
            groups = {k: v for k, v in m.groupdict().items() if v}
            shown = " ".join(line.split())
            if len(shown) > _LINE_MAX:  # keep the part that matched in view
                at = sig.pattern.search(shown)
                start = max(0, min(at.start() if at else 0, len(shown) - _LINE_MAX))
                shown = ("..." if start else "") + shown[start : start + _LINE_MAX] + "..."
            root, root_at = _filled(sig.root, groups), _filled(sig.root_at, groups)
            return Cause(sig.id, fill(sig.cause, groups), shown, root, root_at)
    return None


def _filled(template: str, groups: Mapping[str, str]) -> str:
    """A root template filled from the line; ``""`` where no group of it matched."""
    if not template:
        return ""
    text = fill(template, groups).strip()
    return "" if "<" in text else text

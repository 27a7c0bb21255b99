"""Log signatures: a regex over the evidence that names the cause of a failure.

Plain module (no hooks). The signatures are data (``procedures/_signatures.yaml``), most
specific first: the first signature that matches a log names its cause, shown as one
``cause:`` line above the tail, carried as a JUnit property and into ``summary.json``, and
a procedure step with the same ``cause:`` is put first
(:func:`afterboot.procedures.runbook.render`).
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


@dataclass(frozen=True)
class Signature:
    id: str
    pattern: re.Pattern[str]
    cause: str  # short text; {group} placeholders take the regex's named groups
    # a later line matching this ends the episode (the service reconnected, its server
    # answered again): an earlier match names no cause of what happens now
    cleared_by: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Cause:
    id: str
    text: str
    line: str  # the log line that matched (cut to a readable length)

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
        unknown = set(entry) - {"id", "match", "cause", "cleared_by"}
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
        out.append(Signature(sid, pattern, " ".join(str(entry["cause"]).split()), cleared))
    return tuple(out)


def load() -> tuple[Signature, ...]:
    """Our signatures, most specific first."""
    return parse(data_file(FILE))


def find_cause(text: str, signatures: Sequence[Signature]) -> Cause | None:
    """The cause the first matching signature names, with the last line it matched; a
    signature whose episode a later line ended (``cleared_by``) names none."""
    lines = text.splitlines()
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
            return Cause(sig.id, fill(sig.cause, groups), shown)
    return None

"""Waivers as data: a site's accepted failures, each with a justification, an owner and an
expiry date (the InSpec idea). Plain module: reading the file and judging one failure.

The file maps a check ID to one waiver or a list of them::

    NOVA-005:
      - host: cmp-03                 # optional: only this host
        offender: 6f0c1d2e-...       # optional: only this finding's subject (uuid, file, ...)
        justification: instance kept stopped for the tenant's forensic review
        owner: ops@example.org
        expires: 2027-01-31          # through that day; from the next one it fails again

A failure is waived when every finding it names is covered by a waiver in force; a waiver
past its date covers nothing and is named on the failure instead ("waiver expired").
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from afterboot.checks.catalog import ID_PATTERN
from afterboot.checks.findings import Finding
from afterboot.errors import InputError, one_line, shown
from afterboot.inputfile import read_bytes
from afterboot.redact import redact
from afterboot.yamlines import LineDict, load_yaml

APPLIED, EXPIRED, UNUSED = "applied", "expired", "unused"
WAIVER_PROPERTY = "waiver"  # the user property carrying a WaiverUse as JSON
_FIELDS = {"host", "offender", "justification", "owner", "expires"}
_TEXTS = ("justification", "owner", "host", "offender")
_SHOWN_KEY = re.compile(r"[A-Za-z0-9_.-]{1,40}")  # a mistyped check ID, not a file's line
# A waiver's field is a few paragraphs at most; a file is written by hand: 4 MiB is some
# 20,000 waivers, parsed in about two seconds (libyaml).
MAX_FIELD = 4096  # characters, once its runs of blanks are one space
MAX_BYTES = 4 * 1024 * 1024
_LEADING_KEY = re.compile(r"[ \t]*(?:-[ \t]+)?([a-z]+)[ \t]*:")


class WaiverError(ValueError):
    """A waiver file that cannot be accepted; the message is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


@dataclass(frozen=True)
class Waiver:
    check: str
    justification: str
    owner: str
    expires: dt.date
    host: str = ""
    offender: str = ""

    @property
    def key(self) -> str:
        """A stable name for the waiver: ``CHECK[@host][/offender]``."""
        return (
            self.check
            + (f"@{self.host}" if self.host else "")
            + (f"/{self.offender}" if self.offender else "")
        )

    def covers(self, check: str, finding: Finding) -> bool:
        return (
            self.check == check
            and (not self.host or self.host == finding.host)
            and (not self.offender or self.offender == finding.subject)
        )

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def describe(self) -> str:
        where = f" on {self.host}" if self.host else ""
        what = f" for {self.offender}" if self.offender else ""
        return (
            f"{self.check}{where}{what} until {self.expires.isoformat()} "
            f"(owner {self.owner}): {self.justification}"
        )


@dataclass(frozen=True)
class Judgement:
    """What the waivers say about one failure."""

    applied: tuple[Waiver, ...] = ()
    expired: tuple[Waiver, ...] = ()
    waived: bool = False


@dataclass(frozen=True)
class WaiverUse:
    """One waiver's part in one result, as carried to the controller."""

    key: str
    state: str  # applied | expired
    nodeid: str
    description: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {"key": self.key, "state": self.state, "nodeid": self.nodeid,
             "description": self.description},
            sort_keys=True,
        )  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> WaiverUse:
        data = json.loads(text)
        return cls(data["key"], data["state"], data["nodeid"], data.get("description", ""))


@dataclass
class WaiverBook:
    """This run's waivers (empty without a file) and, on the controller, their uses."""

    source: str = ""
    waivers: tuple[Waiver, ...] = ()
    uses: list[WaiverUse] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        return ledger(self.waivers, self.uses, self.source)


book_key = pytest.StashKey[WaiverBook]()


def book(config: pytest.Config) -> WaiverBook:
    """The waivers of this run (an empty book when none are configured)."""
    return config.stash.get(book_key, None) or WaiverBook()


def judge(
    waivers: Iterable[Waiver], check: str, findings: Sequence[Finding], today: dt.date
) -> Judgement:
    """A failure is waived when each of its findings is covered by a waiver in force."""
    relevant = [w for w in waivers if any(w.covers(check, f) for f in findings)]
    live = [w for w in relevant if not w.expired(today)]
    stale = tuple(w for w in relevant if w.expired(today))
    covered = bool(findings) and all(any(w.covers(check, f) for w in live) for f in findings)
    return Judgement(tuple(live) if covered else (), stale, covered)


def _line(data: Any, key: str | None = None) -> int:
    """The line of a mapping of the file (of its ``key``); 0 for data not read from one."""
    if not isinstance(data, LineDict):
        return 0
    return data.line_of(key) if key is not None else data.line


def _at(where: str, line: int) -> str:
    """``FILE: CHECK`` as ``FILE:LINE: CHECK`` where the line is known."""
    source, sep, rest = where.partition(": ")
    return f"{source}:{line}: {rest}" if line and sep else where


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value) if isinstance(value, str | int | float) else ""  # not a collection's
    try:
        return dt.date.fromisoformat(text[:32])  # a date has 10: a longer text is none
    except ValueError:
        raise WaiverError(f"{where}: expires {shown(value)} is not a date (YYYY-MM-DD)") from None


def _text(raw: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
    """A text field, its runs of blanks one space; at most :data:`MAX_FIELD` characters."""
    value = raw.get(key)
    if isinstance(value, Mapping | list):
        kind = "a mapping" if isinstance(value, Mapping) else "a list"
        raise WaiverError(f"{_at(where, _line(raw, key))}: {key} is {kind}; text expected")
    text = "" if value is None else str(value)
    if len(text) > 8 * MAX_FIELD or len(text := " ".join(text.split())) > MAX_FIELD:
        raise WaiverError(
            f"{_at(where, _line(raw, key))}: {key} has {len(text)} characters; "
            f"a waiver's field has at most {MAX_FIELD}"
        )
    if required and not text:
        raise WaiverError(f"{_at(where, _line(raw))}: needs {key!r}")
    return text


def _waiver(check: str, raw: Any, where: str) -> Waiver:
    if not isinstance(raw, Mapping):
        raise WaiverError(f"{where}: a waiver is a mapping (justification, owner, expires)")
    unknown = sorted(str(k) for k in set(raw) - _FIELDS)
    if unknown:
        line = _line(raw, unknown[0])
        raise WaiverError(f"{_at(where, line)}: unknown field {shown(unknown[0])}")
    texts = {key: _text(raw, key, where, key in ("justification", "owner")) for key in _TEXTS}
    if "expires" not in raw:
        raise WaiverError(
            f"{_at(where, _line(raw))}: needs 'expires' (a waiver without an end is not accepted)"
        )
    return Waiver(
        check,
        texts["justification"],
        texts["owner"],
        _date(raw["expires"], _at(where, _line(raw, "expires"))),
        texts["host"],
        texts["offender"],
    )


def parse(data: Any, source: str) -> tuple[Waiver, ...]:
    if data is None:
        return ()
    if not isinstance(data, Mapping):
        raise WaiverError(f"{source}: expected a mapping of check IDs to waivers")
    out: list[Waiver] = []
    for check, raws in data.items():
        if not isinstance(check, str) or not ID_PATTERN.match(check):
            # name the key only when it looks like a mistyped ID: a waivers path that is
            # a link to another file (/etc/shadow) must not print that file's lines
            named = check if isinstance(check, str) and _SHOWN_KEY.fullmatch(check) else None
            what = named or f"a key of {len(str(check))} characters (not shown)"
            line = _line(data, check)
            at = f"{source}:{line}" if line else source
            raise WaiverError(f"{at}: {what}: not a check ID (AREA-NNN)")
        where = f"{source}: {check}"
        for n, raw in enumerate(raws if isinstance(raws, list) else [raws], 1):
            out.append(_waiver(check, raw, f"{where} #{n}" if isinstance(raws, list) else where))
    return tuple(out)


def _long_line(text: str) -> tuple[int, int, str] | None:
    """The first line of ``text`` too long to hold a waiver's field: its number, the field
    it starts with (if any) and that field's length (else the line's), found without
    parsing: a file past :data:`MAX_BYTES` still says which field is too long. Linear at C
    speed: each window of the text is searched once, backwards, for its last line end."""
    longest, start = 8 * MAX_FIELD, 0
    while start + longest < len(text):
        last_end = text.rfind("\n", start, start + longest + 1)
        if last_end < 0:  # no line ends in the window: the line at start is too long
            end = text.find("\n", start)
            end = len(text) if end < 0 else end
            number = text.count("\n", 0, start) + 1
            key = _LEADING_KEY.match(text, start, start + 200)
            if key is None or key[1] not in _FIELDS:
                return number, end - start, ""
            return number, len(text[key.end() : end].strip()), key[1]
        start = last_end + 1
    return None


def load(path: Path) -> tuple[Waiver, ...]:
    try:
        raw = read_bytes(path)
        text = raw.decode()
    except OSError as exc:
        raise WaiverError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise WaiverError(f"{path}: not UTF-8 text") from None
    if len(raw) > MAX_BYTES:
        long_line = _long_line(text)
        if long_line is not None:
            number, length, key = long_line
            raise WaiverError(
                f"{path}:{number}: {key or 'a line'} has {length} characters; "
                f"a waiver's field has at most {MAX_FIELD}"
            )
        limit = f"{MAX_BYTES >> 20} MiB"
        raise WaiverError(f"{path}: is larger than {limit} (the limit of a waivers file); refused")
    try:
        data = load_yaml(text, str(path), fast=True)
    except InputError as exc:
        raise WaiverError(str(exc)) from None
    return parse(data, str(path))


def ledger(
    waivers: Sequence[Waiver], uses: Sequence[WaiverUse], source: str
) -> list[dict[str, Any]]:
    """Every waiver with what it did in this run (for the summary and the reports)."""
    rows = []
    for w in waivers:
        mine = [u for u in uses if u.key == w.key]
        states = {u.state for u in mine}
        rows.append(
            {
                "check": w.check,
                "host": w.host,
                "offender": w.offender,
                "justification": w.justification,
                "owner": w.owner,
                "expires": w.expires.isoformat(),
                "state": EXPIRED if EXPIRED in states else APPLIED if mine else UNUSED,
                "results": sorted({u.nodeid for u in mine}),
                "source": source,
            }
        )
    return rows


def ledger_lines(rows: Sequence[Mapping[str, Any]], today: dt.date) -> list[str]:
    """One line per waiver with what it did, redacted (terminal, JUnit properties)."""
    lines = []
    for r in rows:
        where = (f" on {r['host']}" if r["host"] else "") + (
            f" for {r['offender']}" if r["offender"] else ""
        )
        head = f"{r['check']}{where}"
        n = len(r["results"])
        if r["state"] == EXPIRED:
            what = f"EXPIRED {r['expires']}: failing again ({n} result{'s' * (n != 1)})"
        elif r["state"] == APPLIED:
            what = f"waived {n} result{'s' * (n != 1)} until {r['expires']}"
        elif dt.date.fromisoformat(r["expires"]) < today:
            what = f"expired {r['expires']}, not used (remove it)"
        else:
            what = f"not used (until {r['expires']})"
        lines.append(redact(f"{head}: {what}; owner {r['owner']}: {r['justification']}"))
    return lines

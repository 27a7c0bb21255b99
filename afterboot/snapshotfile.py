"""A saved snapshot file (``reports/snapshot.json``) read back: bounded, parsed, its shape
checked. Every run that reads one reads it here: ``--compare``'s snapshot, the one
``--snapshot-file`` judges as now, and each ``--from-snapshot`` file.

Read through the bounded input loader (a regular file, at most
:data:`~afterboot.inputfile.MAX_BYTES`), parsed as JSON (a number of more digits than
Python converts, or nesting past Python's recursion, is one line too), and checked field
by field against the tables below: every field a judge reads has the type it reads, and
every number the range it can have (a time between 1970 and 9999, an exit status, a
duration). Any violation is one :class:`SnapshotFileError` line naming the file and the
field (``hosts.compute1.reads.processes.rc``), quoting at most the offending value,
shortened (:func:`~afterboot.errors.shown`): never a traceback later, never a verdict
judged from a value of the wrong kind.

A read's ``data`` and a cloud read's value are not checked here: their form is the read's
own, and a form a judge does not understand is could-not-run where it is judged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from afterboot.errors import one_line, shown
from afterboot.inputfile import InputFileError, read_text
from afterboot.settings import parse_shard
from afterboot.snapshot import SCHEMA, TUPLE_FIELDS

MAX_TIME = 253_402_300_799  # 9999-12-31 23:59:59 UTC: the last second a date can say
MAX_SECONDS = 366 * 86_400  # a duration: a run, a host's reads, one cloud read
MAX_COUNT = 2**31 - 1


class SnapshotFileError(ValueError):
    """A snapshot file that cannot be used; the message is one bounded line."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


# -- what each field may be: a rule says why a value is not that ("" when it is) --------

Rule = Callable[[Any], str]


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any) -> str:
    return "" if isinstance(value, str) else f"is {_kind(value)}, not text"


def _object(value: Any) -> str:
    return "" if isinstance(value, dict) else f"is {_kind(value)}, not an object"


def _optional(rule: Rule) -> Rule:
    return lambda value: "" if value is None else rule(value)


def _number(low: float, high: float, what: str, *, integer: bool = False) -> Rule:
    def rule(value: Any) -> str:
        if integer and type(value) is not int:
            return f"is {_kind(value)}, not {what}"
        if not _is_number(value):
            return f"is {_kind(value)}, not a number"
        if not low <= value <= high:  # NaN too: no comparison holds
            return f"{shown(value)} is not {what}"
        return ""

    return rule


def _names(value: Any) -> str:
    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    return "" if ok else "is not a list of names"


def _paths(value: Any) -> str:
    ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    return "" if ok else "is not an object of paths"


def _pairs(value: Any) -> str:
    ok = isinstance(value, list) and all(
        isinstance(p, list) and len(p) == 2 and all(v is None or isinstance(v, str) for v in p)
        for p in value
    )
    return "" if ok else "is not a list of pairs of names"


def _url(value: Any) -> str:
    if not isinstance(value, str):
        return f"is {_kind(value)}, not text"
    try:
        urlsplit(value).port  # noqa: B018 - raises for a port that is none
    except ValueError:
        return f"{shown(value)} is not a URL"
    return ""


def _shard(value: Any) -> str:
    if not isinstance(value, str):
        return f"is {_kind(value)}, not text"
    try:
        parse_shard(value)
    except ValueError as exc:
        return str(exc)
    return ""


TIME = _number(0, MAX_TIME, "a time from 1970 to 9999")
DURATION = _number(0, MAX_SECONDS, "a duration (0 to 366 days)")
COUNT = _number(0, MAX_COUNT, "a count", integer=True)
STATUS = _number(-(2**31), MAX_COUNT, "an exit status", integer=True)

# field -> rule; a field absent is not checked (an older writer's), except ``required``
DOCUMENT: dict[str, Rule] = {
    "read_at": TIME,
    "seconds": DURATION,
    "ssh_masters": COUNT,
    "phase": _optional(_text),
    "identity": _optional(_object),
    "results": lambda v: "" if isinstance(v, list) else f"is {_kind(v)}, not a list",
    "judged": _pairs,
    "shard": _optional(_shard),
}
HOST: dict[str, Rule] = {
    "read_at": TIME,
    "seconds": DURATION,
    "commands": COUNT,
    "late_reads": _names,
    "paths": _optional(_paths),
    "unreachable": _optional(_text),
    "reads": _object,
    "ran": _object,
}
READ: dict[str, Rule] = {"rc": STATUS, "stderr": _text, "text": _text}
RAN: dict[str, Rule] = {"rc": STATUS, "stdout": _text, "stderr": _text}
CLOUD: dict[str, Rule] = {
    "read_at": TIME,
    "seconds": DURATION,
    "error": _text,
    "could_not_run": _text,
}
SPEC: dict[str, Rule] = {
    **dict.fromkeys(TUPLE_FIELDS, _names),
    **dict.fromkeys(
        ("address", "connection", "container", "service_manager", "container_engine"),
        _optional(_text),
    ),
    "paths": _paths,
}
IDENTITY: dict[str, Rule] = {
    "os_cloud": _optional(_text),
    "auth_url": _optional(_url),
    "region": _optional(_text),
    "hosts": _names,
}
RESULT: dict[str, Rule] = {
    "check": _text,
    "host": _optional(_text),
    "outcome": _text,
    "offenders": _pairs,
}


def _bad(path: str, where: str, problem: str) -> SnapshotFileError:
    return SnapshotFileError(f"{path}: {where}: {problem}")


def _key(name: str) -> str:
    """A document's key (a host's name, a read's) as a field's name says it: shortened,
    its control characters escaped."""
    return shown(name, quoted=False)


def _fields(
    path: str, where: str, value: Any, table: Mapping[str, Rule], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``value`` an object whose fields follow ``table`` (``required`` ones present)."""
    if not isinstance(value, dict):
        raise _bad(path, where, f"is {_kind(value)}, not an object")
    for key in required:
        if key not in value:
            raise _bad(path, f"{where}.{key}", "is missing")
    for key, rule in table.items():
        if key in value:
            why = rule(value[key])
            if why:
                raise _bad(path, f"{where}.{key}" if where else key, why)
    return value


def check(path: str, doc: dict[str, Any]) -> None:
    """Every field a judge reads has the type and range it reads; else one line naming
    the file and the field."""
    if "hosts" not in doc or "cloud" not in doc:
        raise SnapshotFileError(f"{path}: not an afterboot snapshot (no 'hosts' and 'cloud')")
    for key in ("hosts", "cloud"):
        if not isinstance(doc[key], dict):
            raise _bad(path, key, f"is {_kind(doc[key])}, not an object")
    _fields(path, "", doc, DOCUMENT)
    inventory = doc.get("inventory")
    if inventory is not None:
        for name, spec in _fields(path, "inventory", inventory, {}).items():
            _fields(path, f"inventory.{_key(name)}", spec, SPEC)
    for name, host in doc["hosts"].items():
        where = f"hosts.{_key(name)}"
        reads = _fields(path, where, host, HOST, required=("reads",))["reads"]
        for read, got in reads.items():
            _fields(path, f"{where}.reads.{_key(read)}", got, READ, required=("rc",))
        for command, got in host.get("ran", {}).items():
            _fields(path, f"{where}.ran.{_key(command)}", got, RAN, required=("rc", "stdout"))
    for name, got in doc["cloud"].items():
        where = f"cloud.{_key(name)}"
        _fields(path, where, got, CLOUD)
        if "error" not in got and "data" not in got:
            raise _bad(path, where, "has neither data nor error")
    if doc.get("identity") is not None:
        _fields(path, "identity", doc["identity"], IDENTITY)
    for index, row in enumerate(doc.get("results") or ()):
        _fields(path, f"results[{index}]", row, RESULT, required=("check",))


# -- the file --------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    """A snapshot document, its shape checked; else SnapshotFileError saying in one line
    why it cannot be used."""
    try:
        text = read_text(path)
    except InputFileError as exc:
        raise SnapshotFileError(f"{path}: {exc}") from None
    except FileNotFoundError:
        raise SnapshotFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SnapshotFileError(f"{path}: is a directory, not a reports/snapshot.json") from None
    except UnicodeDecodeError:
        raise SnapshotFileError(
            f"{path}: not UTF-8 text; a damaged reports/snapshot.json?"
        ) from None
    except OSError as exc:
        raise SnapshotFileError(f"{path}: cannot be read ({type(exc).__name__})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SnapshotFileError(
            f"{path}:{exc.lineno}: not JSON ({exc.msg}); a damaged reports/snapshot.json?"
        ) from None
    except ValueError:  # int() refuses a number of more than 4300 digits
        raise SnapshotFileError(f"{path}: not JSON (a number of thousands of digits)") from None
    except RecursionError:
        raise SnapshotFileError(f"{path}: not JSON (nested too deeply)") from None
    if not isinstance(doc, dict) or "schema" not in doc:
        raise SnapshotFileError(f"{path}: not an afterboot snapshot (no 'schema')")
    if type(doc["schema"]) is not int or doc["schema"] != SCHEMA:  # true == 1 in Python
        raise SnapshotFileError(
            f"{path}: snapshot schema {shown(doc['schema'])}, this afterboot reads schema {SCHEMA}"
        )
    check(str(path), doc)
    return doc


def read_when(doc: Mapping[str, Any]) -> str:
    """When a snapshot was read, as a header line says it: local time to the second, "?"
    when the document does not say."""
    taken: Any = doc.get("read_at")
    if not _is_number(taken) or not 0 < taken <= MAX_TIME:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(taken))

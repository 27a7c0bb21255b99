"""The snapshot: everything one run read from the cloud, per host and per source.

Filled by the collection pass (:mod:`afterboot.collection`), judged by the checks, and
saved redacted as ``reports/snapshot.json`` (``schema`` versioned): the evidence an
auditor reads and the input of a later before/after comparison.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.redact import redact_obj

SCHEMA = 1
TIMED_OUT = (124, 137)  # coreutils timeout: expired, killed
NOT_FOUND = 127


@dataclass
class ReadResult:
    """One read's output on one host."""

    name: str
    rc: int
    stdout: str
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def require(self, host: str) -> ReadResult:
        """The result, or CouldNotRun naming host, read and error when the read failed:
        it timed out, its tool is missing, or it exited non-zero (a read whose non-zero
        status means an answer says so in its script, and exits 0 then). A failed read is
        never an empty answer: every check that declared it could not run."""
        if self.rc in TIMED_OUT:
            raise CouldNotRun(f"host {host}: read {self.name!r} did not finish in time", "")
        if self.rc == NOT_FOUND:
            raise CouldNotRun(
                f"host {host}: read {self.name!r}: command not found",
                self.stderr.strip()[:200],
            )
        if self.rc != 0:
            raise CouldNotRun(f"host {host}: read {self.name!r} failed", self.error())
        return self

    def error(self) -> str:
        """What the failed read said: its error output's last lines, else its exit status."""
        said = " / ".join(line.strip() for line in self.stderr.strip().splitlines()[-3:])
        return f"exit {self.rc}" + (f": {said[:200]}" if said else "")


@dataclass
class HostSnapshot:
    """What was read on one host, when, and how long it took."""

    name: str
    started: float = 0.0  # UNIX time the host's script was sent
    ended: float = 0.0
    commands: int = 0  # round trips to the host
    unreachable: str | None = None  # why the host could not be read
    late: list[str] = field(default_factory=list)  # reads made after the pass (undeclared)
    paths: dict[str, str] = field(default_factory=dict)  # default path -> where configs put it
    reads: dict[str, ReadResult] = field(default_factory=dict)
    # commands run after the pass (a failure's evidence), by their command and arguments
    ran: dict[str, ReadResult] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return max(0.0, self.ended - self.started)


@dataclass
class CloudSnapshot:
    """One cloud-wide source (an API listing, database rows): value or why not."""

    name: str
    started: float = 0.0
    seconds: float = 0.0
    value: Any = None
    error: BaseException | None = None


@dataclass
class Snapshot:
    hosts: dict[str, HostSnapshot] = field(default_factory=dict)
    cloud: dict[str, CloudSnapshot] = field(default_factory=dict)
    started: float = 0.0
    seconds: float = 0.0
    masters: int = 0  # ssh master connections open at the end of the run

    def read_time(self, name: str) -> float:
        """When a cloud read was made (UNIX time): the "now" of the checks judging its
        ages, the same whenever the snapshot is judged."""
        got = self.cloud.get(name)
        return got.started if got is not None and got.started else self.started or time.time()

    def cloud_value(self, name: str) -> Any:
        """A cloud-wide read's value; its error is raised again for each check reading it
        (CouldNotRun where the snapshot has no such read)."""
        got = self.cloud.get(name)
        if got is None:  # a saved snapshot that lacks it (another phase, a shard)
            raise CouldNotRun(f"cloud read {name!r} is not in the snapshot judged", "")
        if got.error is not None:
            raise got.error.with_traceback(None)
        return got.value


class SavedError(Exception):
    """An error a saved snapshot recorded (its type's name and message), raised again when
    the snapshot is judged: it is the error the check met, not a new one."""


_ERROR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,80}")
_UNRUN = ("CouldNotRun", "HostUnreachable", "CommandTimeout")


def saved_error(text: str) -> BaseException:
    """``"Type: message"`` as saved back into an exception: afterboot's could-not-run as
    itself, any other as a :class:`SavedError` of that type's name."""
    name, _, message = text.partition(": ")
    if not _ERROR_NAME.fullmatch(name):
        return SavedError(text)
    if name in _UNRUN:
        return CouldNotRun(message, "")
    kind: type[SavedError] = type(name, (SavedError,), {})
    return kind(message)


class Record(dict[str, Any]):
    """A saved API resource or dataclass: its fields by key and as attributes, as the
    SDK's resources and afterboot's dataclasses give them to the checks."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def records(value: Any) -> Any:
    """A saved value with every object in it a :class:`Record`."""
    if isinstance(value, dict):
        return Record({k: records(v) for k, v in value.items()})
    if isinstance(value, list):
        return [records(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """A JSON-able copy: dataclasses, SDK resources (``to_dict``), containers."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    if hasattr(value, "to_dict"):
        try:
            return _plain(value.to_dict(computed=False))
        except TypeError:
            return _plain(value.to_dict())
    if isinstance(value, Mapping):  # a dict, or swiftclient's case-insensitive headers
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


# The HostSpec fields a snapshot keeps of each host: what the checks and the reads'
# rendering use (roles, services, where paths are, how services are managed), never how
# to log in.
SPEC_FIELDS = (
    "address",
    "roles",
    "connection",
    "container",
    "service_manager",
    "container_engine",
    "paths",
    "services",
    "exclude_services",
    "become",
)
TUPLE_FIELDS = ("roles", "services", "exclude_services")


def spec_doc(spec: HostSpec) -> dict[str, Any]:
    """What a snapshot keeps of one inventory host."""
    doc = {name: getattr(spec, name) for name in SPEC_FIELDS}
    return {
        k: list(v) if k in TUPLE_FIELDS else dict(v) if k == "paths" else v for k, v in doc.items()
    }


def inventory_doc(inventory: Inventory | None) -> dict[str, Any]:
    return {n: spec_doc(h) for n, h in sorted(inventory.hosts.items())} if inventory else {}


def to_json(
    snapshot: Snapshot,
    stored: dict[str, Any],
    keep_text: Collection[str] = (),
    unrun: Callable[[BaseException], str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The snapshot as a document (``stored`` maps a host read to what is kept of it; the
    reads of ``keep_text`` keep their text beside it, ``text``, for a later judge; ``unrun``
    says why a cloud read's error is could-not-run, "" when it is not; ``extra``: more
    fields of the document, the inventory for one)."""
    hosts: dict[str, Any] = {}
    for name, h in sorted(snapshot.hosts.items()):
        reads = {}
        for rname, r in sorted(h.reads.items()):
            keep = stored.get(rname)
            body = keep(r.stdout) if keep is not None else r.stdout
            reads[rname] = {"rc": r.rc, "data": body, **({"stderr": r.stderr} if r.stderr else {})}
            if keep is not None and rname in keep_text:
                reads[rname]["text"] = r.stdout
        hosts[name] = {
            "read_at": h.started,
            "seconds": round(h.seconds, 3),
            "commands": h.commands,
            "late_reads": h.late,
            "paths": h.paths,
            "unreachable": h.unreachable,
            "reads": reads,
            **({"ran": {k: _ran(r) for k, r in sorted(h.ran.items())}} if h.ran else {}),
        }
    cloud = {
        name: {
            "read_at": c.started,
            "seconds": round(c.seconds, 3),
            **(_error(c.error, unrun) if c.error is not None else {"data": _plain(c.value)}),
        }
        for name, c in sorted(snapshot.cloud.items())
    }
    doc = {
        "schema": SCHEMA,
        "read_at": snapshot.started,
        "seconds": round(snapshot.seconds, 3),
        "ssh_masters": snapshot.masters,
        "hosts": hosts,
        "cloud": cloud,
        **(extra or {}),
    }
    redacted: dict[str, Any] = redact_obj(doc)
    return redacted


def _ran(r: ReadResult) -> dict[str, Any]:
    return {"rc": r.rc, "stdout": r.stdout, **({"stderr": r.stderr} if r.stderr else {})}


def _error(error: BaseException, unrun: Callable[[BaseException], str] | None) -> dict[str, Any]:
    """A cloud read's error as saved: its type and message, and, where the run judged it
    could-not-run, why (a later judge raises it again as such)."""
    why = str(error) if isinstance(error, CouldNotRun) else unrun(error) if unrun else ""
    return {"error": f"{type(error).__name__}: {error}", **({"could_not_run": why} if why else {})}


def save(doc: dict[str, Any], path: Path) -> None:
    """A snapshot document, written whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)

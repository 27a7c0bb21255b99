"""The snapshot: everything one run read from the cloud, per host and per source.

Filled by the collection pass (:mod:`afterboot.collection`), judged by the checks, and
saved redacted as ``reports/snapshot.json`` (``schema`` versioned): the evidence an
auditor reads and the input of a later before/after comparison.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from afterboot.errors import CouldNotRun
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

    def cloud_value(self, name: str) -> Any:
        """A cloud-wide read's value; its error is raised again for each check reading it."""
        got = self.cloud.get(name)
        if got is None:
            raise KeyError(name)
        if got.error is not None:
            raise got.error.with_traceback(None)
        return got.value


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
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def to_json(snapshot: Snapshot, stored: dict[str, Any]) -> dict[str, Any]:
    """The snapshot as a document (``stored`` maps a host read to what is kept of it)."""
    hosts: dict[str, Any] = {}
    for name, h in sorted(snapshot.hosts.items()):
        reads = {}
        for rname, r in sorted(h.reads.items()):
            keep = stored.get(rname)
            body = keep(r.stdout) if keep is not None else r.stdout
            reads[rname] = {"rc": r.rc, "data": body, **({"stderr": r.stderr} if r.stderr else {})}
        hosts[name] = {
            "read_at": h.started,
            "seconds": round(h.seconds, 3),
            "commands": h.commands,
            "late_reads": h.late,
            "paths": h.paths,
            "unreachable": h.unreachable,
            "reads": reads,
        }
    cloud = {
        name: {
            "read_at": c.started,
            "seconds": round(c.seconds, 3),
            **(
                {"error": f"{type(c.error).__name__}: {c.error}"}
                if c.error is not None
                else {"data": _plain(c.value)}
            ),
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
    }
    redacted: dict[str, Any] = redact_obj(doc)
    return redacted


def save(snapshot: Snapshot, stored: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(to_json(snapshot, stored), indent=1, sort_keys=True) + "\n")
    tmp.replace(path)

"""Judging saved snapshots (``--from-snapshot=FILE[,FILE...]``): no host, no API.

A run's ``reports/snapshot.json`` keeps, redacted, everything its checks judged: each
host's reads (the text a check parses; a service configuration's text beside its
effective options, whose digests stand in again for the masked secrets), each cloud
read's value or error (and whether that error was could-not-run), the inventory and the
cloud's identity. This module loads one or more such documents (read and their shape
checked by :mod:`afterboot.snapshotfile`: any violation one line naming file and field),
merges shard snapshots (the same cloud and inventory, hosts disjoint; a cloud read
several took: the newest), and gives back the
:class:`~afterboot.snapshot.Snapshot` and :class:`~afterboot.inventory.model.Inventory`
a live pass would have given: the checks judge it as they judge a live one.

Every read the snapshots lack is could-not-run for the checks that need it, never an
empty answer: a host no shard read, a read its phase did not make, a cloud read no shard
took.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from afterboot.domains.all import CLOUD_READS
from afterboot.domains.config import is_secret
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.reads.hostreads import PART, parts
from afterboot.redact_forms import MASK
from afterboot.snapshot import (
    SPEC_FIELDS,
    TUPLE_FIELDS,
    CloudSnapshot,
    HostSnapshot,
    ReadResult,
    Snapshot,
    saved_error,
)
from afterboot.snapshotfile import SnapshotFileError, load
from afterboot.verdict.compared import other_cloud

# -- several snapshots, one cloud -------------------------------------------------------


@dataclass
class Saved:
    """The snapshots a run judges, merged: the document, the snapshot and the inventory."""

    paths: list[str]
    doc: dict[str, Any]
    snapshot: Snapshot
    inventory: Inventory
    missing: list[str] = field(default_factory=list)  # inventory hosts no snapshot read

    def cloud(self) -> tuple[str | None, str | None, str | None]:
        """The cloud the snapshots were read from: clouds.yaml name, auth URL, region."""
        ident = self.doc.get("identity")
        ident = ident if isinstance(ident, dict) else {}
        got = (ident.get("os_cloud"), ident.get("auth_url"), ident.get("region"))
        return tuple(str(v) if v else None for v in got)  # type: ignore[return-value]

    @property
    def why(self) -> str:
        """Why a read the snapshots lack is not made now."""
        return f"judging the saved snapshot {', '.join(self.paths)}: not in it"


def _merge(loaded: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    (first, doc), rest = loaded[0], loaded[1:]
    merged = {
        **{k: v for k, v in doc.items() if k not in ("results", "judged")},
        "hosts": dict(doc["hosts"]),
        "cloud": dict(doc["cloud"]),
    }
    owner = dict.fromkeys(doc["hosts"], first)
    taken_by = dict.fromkeys(doc["cloud"], first)  # which file each cloud read came from
    for path, other in rest:
        if other["inventory"] != doc["inventory"]:
            differs = sorted(set(other["inventory"]) ^ set(doc["inventory"])) or sorted(
                n for n in doc["inventory"] if other["inventory"].get(n) != doc["inventory"][n]
            )
            raise SnapshotFileError(
                f"{first} and {path} hold different inventories (host "
                f"{differs[0] if differs else '?'}): shards of one run share one inventory"
            )
        why = other_cloud(doc.get("identity"), other.get("identity"))
        if why:
            said = why.replace("its ", f"{first}'s ", 1).replace("it has", f"{first} has")
            said = said.replace("this run's", f"{path}'s")
            raise SnapshotFileError(f"{first} and {path} are snapshots of different clouds: {said}")
        for name, h in other["hosts"].items():
            if name in owner:
                raise SnapshotFileError(
                    f"{owner[name]} and {path} both read host {name}: shards read disjoint hosts"
                )
            owner[name] = path
            merged["hosts"][name] = h
        for name, c in other["cloud"].items():
            if name not in merged["cloud"] or c.get("read_at", 0) > merged["cloud"][name].get(
                "read_at", 0
            ):
                merged["cloud"][name] = c
                taken_by[name] = path
    merged["read_at"] = min((d["read_at"] for _, d in loaded if d.get("read_at")), default=0)
    merged["merged_from"] = [p for p, _ in loaded]
    merged["cloud_from"] = taken_by
    merged["shards"] = sorted(str(d["shard"]) for _, d in loaded if d.get("shard"))
    merged.pop("shard", None)
    return merged


saved_key = pytest.StashKey[Saved]()


def load_saved(files: Sequence[str]) -> Saved:
    """The saved snapshots ``files``, checked and merged; SnapshotFileError (one line)."""
    loaded: list[tuple[str, dict[str, Any]]] = []
    seen: set[Path] = set()
    for name in files:
        path = Path(name)
        key = path.resolve()
        if key in seen:
            raise SnapshotFileError(f"{name}: given twice")
        seen.add(key)
        doc = load(path)  # its shape checked: one line naming the field
        if doc.get("inventory") is None:
            raise SnapshotFileError(
                f"{name}: holds no inventory (written by an afterboot older than "
                "--from-snapshot): take the snapshot again with this afterboot"
            )
        loaded.append((name, doc))
    if not loaded:
        raise SnapshotFileError("no snapshot file given")
    doc = _merge(loaded)
    inventory = Inventory(
        {n: _spec(n, s) for n, s in doc["inventory"].items()},
        f"snapshot {', '.join(files)}",
    )
    snapshot = Snapshot(started=float(doc.get("read_at") or 0), seconds=0.0)
    for name, h in doc["hosts"].items():
        snapshot.hosts[name] = thaw_host(name, h)
    for name, c in doc["cloud"].items():
        snapshot.cloud[name] = thaw_cloud(name, c)
    missing = sorted(set(inventory.hosts) - set(snapshot.hosts))
    for name in missing:
        snapshot.hosts[name] = HostSnapshot(
            name, unreachable=f"not read in {' or '.join(files)} (no shard read it)"
        )
    return Saved(list(files), doc, snapshot, inventory, missing)


def _spec(name: str, d: Mapping[str, Any]) -> HostSpec:
    kept = {k: d[k] for k in SPEC_FIELDS if k in d and d[k] is not None}
    for key in TUPLE_FIELDS:
        if key in kept:
            kept[key] = tuple(kept[key])
    if "become" in kept:
        kept["become"] = bool(kept["become"])
    return HostSpec(name, **kept)


# -- a saved host read back into what the checks parse ----------------------------------


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def thaw_host(name: str, h: Mapping[str, Any]) -> HostSnapshot:
    started = float(h.get("read_at") or 0)
    snap = HostSnapshot(
        name,
        started=started,
        ended=started + float(h.get("seconds") or 0),
        unreachable=h.get("unreachable"),
        paths=dict(h.get("paths") or {}),
    )
    for rname, r in h["reads"].items():
        text = _text(rname, r)
        if text is None:  # a form this afterboot cannot judge (an older writer, damage)
            why = f"the snapshot keeps no text of this read to judge ({_kind(r.get('data'))})"
            snap.reads[rname] = ReadResult(rname, 1, "", why)
        else:
            snap.reads[rname] = ReadResult(rname, r["rc"], text, r.get("stderr", ""))
    for command, r in (h.get("ran") or {}).items():  # commands run after the pass
        snap.ran[command] = ReadResult(command, r["rc"], r["stdout"], r.get("stderr", ""))
    return snap


def _text(name: str, r: Mapping[str, Any]) -> str | None:
    data = r.get("data")
    if isinstance(data, str):
        return data
    if name == "configs" and isinstance(data, dict) and isinstance(r.get("text"), str):
        return restore_secrets(r["text"], data)
    if name == "swift_rings" and isinstance(data, dict):
        return rings_text(data)
    return None


_OPTION = re.compile(r"^([^\s=:#;\[][^=:]*?)(\s*[=:]\s*)(.*)$")


def restore_secrets(text: str, effective: Mapping[str, Any]) -> str:
    """A saved configuration's text with each masked secret (``***``) replaced by the
    digest of its value the snapshot kept (``[section] option -> sha256:...``): the
    secrets stay unknown, and two hosts whose secrets differ still differ."""
    out: list[str] = []
    for path, content in parts(text).items():
        kept = effective.get(path)
        kept = kept if isinstance(kept, dict) else {}
        section = ""
        lines = []
        for line in content.split("\n"):
            stripped = line.strip()
            if stripped.startswith("[") and stripped.endswith("]"):
                name = stripped[1:-1]
                section = name if name == "DEFAULT" else name.lower()
            elif MASK in line and not line[:1].isspace():
                m = _OPTION.match(line)
                if m and is_secret(m.group(1).strip()):
                    said = kept.get(f"[{section}] {m.group(1).strip()}")
                    if isinstance(said, str) and said.startswith("sha256:"):
                        line = m.group(1) + m.group(2) + m.group(3).replace(MASK, said)
            lines.append(line)
        out.append(f"{PART} {path}\n" + "\n".join(lines))
    return "\n".join(out) + ("\n" if out else "")


def rings_text(summary: Mapping[str, Any]) -> str:
    """The ``swift_rings`` read made again from the devices a snapshot kept of each ring:
    a format-1 ring holding them (a ring that could not be read stays unreadable)."""
    out = []
    for path, devices in summary.items():
        if isinstance(devices, list):
            meta = json.dumps({"devs": devices}).encode()
            raw = gzip.compress(
                b"R1NG" + struct.pack("!H", 1) + struct.pack("!I", len(meta)) + meta
            )
        else:
            raw = f"unreadable when saved: {devices}".encode()
        out.append(f"{PART} {path}\n{base64.b64encode(raw).decode()}")
    return "\n".join(out) + ("\n" if out else "")


# -- a saved cloud read back into what the checks judge ---------------------------------


def thaw_cloud(name: str, c: Mapping[str, Any]) -> CloudSnapshot:
    started = float(c.get("read_at") or 0)
    seconds = float(c.get("seconds") or 0)
    if "error" in c:
        error: BaseException = (
            CouldNotRun(c["could_not_run"], "")
            if c.get("could_not_run")
            else saved_error(str(c["error"]))
        )
        return CloudSnapshot(name, started, seconds, None, error)
    read = CLOUD_READS.get(name)
    try:
        value = read.thaw(c["data"]) if read is not None else c["data"]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        error = CouldNotRun(f"cloud read {name!r}: the saved value is not understood", repr(exc))
        return CloudSnapshot(name, started, seconds, None, error)
    return CloudSnapshot(name, started, seconds, value, None)

"""Ring metadata parsing (format v1, as swift-ring-builder writes it by default)."""

from __future__ import annotations

import json
import struct

import pytest

from fixtures.discovery import parse_ring_head, short_name
from fixtures.errors import CouldNotRun


def ring_bytes(devs: list[object], version: int = 1) -> bytes:
    meta = json.dumps({"devs": devs, "part_shift": 24, "replica_count": 2}).encode()
    return b"R1NG" + struct.pack("!H", version) + struct.pack("!I", len(meta)) + meta + b"\0" * 64


def test_devices_are_read_and_removed_devices_skipped() -> None:
    devs = [
        {"id": 0, "ip": "10.0.0.31", "port": 6200, "device": "d1", "zone": 1, "weight": 100},
        None,
        {"id": 2, "ip": "10.0.0.32", "port": 6200, "device": "d1", "zone": 2, "weight": 100},
    ]
    found = parse_ring_head(ring_bytes(devs), "object", "s1:/etc/swift/object.ring.gz")
    assert [(d.id, d.ip, d.device) for d in found] == [
        (0, "10.0.0.31", "d1"),
        (2, "10.0.0.32", "d1"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"NOPE" + b"\0" * 20, "not a swift ring file"),
        (ring_bytes([], version=2), "format version 2 is not supported"),
        (ring_bytes([])[:12], "ring metadata larger than"),
    ],
)
def test_bad_rings_could_not_run(data: bytes, message: str) -> None:
    with pytest.raises(CouldNotRun, match=message):
        parse_ring_head(data, "object", "src")


def test_short_names() -> None:
    assert short_name("compute1.example.org") == "compute1"
    assert short_name("storage1@rbd#ceph") == "storage1"

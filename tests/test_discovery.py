"""Ring parsing: formats v1 and v2, as swift 2.38's swift-ring-builder writes them."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import pytest

from afterboot.domains.discovery import RingDevice, parse_ring, short_name
from afterboot.errors import CouldNotRun

RINGS = Path(__file__).resolve().parent / "samples" / "rings"


def ring_bytes(devs: list[object], version: int = 1) -> bytes:
    meta = json.dumps({"devs": devs, "part_shift": 24, "replica_count": 2}).encode()
    return b"R1NG" + struct.pack("!H", version) + struct.pack("!I", len(meta)) + meta + b"\0" * 64


def test_devices_are_read_and_removed_devices_skipped() -> None:
    devs = [
        {"id": 0, "ip": "10.0.0.31", "port": 6200, "device": "d1", "zone": 1, "weight": 100},
        None,
        {"id": 2, "ip": "10.0.0.32", "port": 6200, "device": "d1", "zone": 2, "weight": 100},
    ]
    found = parse_ring(ring_bytes(devs), "object", "s1:/etc/swift/object.ring.gz")
    assert [(d.id, d.ip, d.device) for d in found] == [
        (0, "10.0.0.31", "d1"),
        (2, "10.0.0.32", "d1"),
    ]


def test_short_names() -> None:
    assert short_name("compute1.example.org") == "compute1"
    assert short_name("storage1@rbd#ceph") == "storage1"


# What tests/samples/rings/README.md's command put in both sample rings (d3 was removed).
SAMPLE_DEVICES = [
    RingDevice("object", 0, "192.0.2.41", 6200, "sdb", 1, 100.0, 1, "192.0.2.41", 6200),
    RingDevice("object", 1, "192.0.2.42", 6200, "sdc", 2, 100.0, 1, "192.0.2.42", 6200),
    RingDevice("object", 2, "2001:db8::43", 6200, "sdd", 3, 50.0, 1, "2001:db8::43", 6200),
]


@pytest.mark.parametrize("version", [1, 2])
def test_rings_written_by_swift_ring_builder(version: int) -> None:
    data = gzip.decompress((RINGS / f"object-v{version}.ring.gz").read_bytes())
    assert struct.unpack("!H", data[4:6]) == (version,)
    assert parse_ring(data, "object", f"v{version}") == SAMPLE_DEVICES


def test_v1_ring_is_read_whole_not_only_its_head() -> None:
    devs = [
        {"id": i, "ip": f"10.0.{i // 250}.{i % 250}", "port": 6200, "device": "d1", "zone": 1}
        for i in range(60_000)
    ]
    data = ring_bytes(devs)
    assert len(data) > 4 * 1024 * 1024
    assert len(parse_ring(data, "object", "big")) == 60_000


def test_v2_checksum_and_truncation_are_caught() -> None:
    data = gzip.decompress((RINGS / "object-v2.ring.gz").read_bytes())
    tampered = data.replace(b"192.0.2.42", b"192.0.2.99")
    with pytest.raises(CouldNotRun, match="fails its sha256 checksum"):
        parse_ring(tampered, "object", "src")
    with pytest.raises(CouldNotRun, match="src: ring"):
        parse_ring(data[:-40], "object", "src")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"NOPE" + b"\0" * 20, "not a swift ring file"),
        (b"R1NG" + struct.pack("!H", 0) + b"\0" * 20, "format version 0 is not supported"),
        (ring_bytes([])[:12], "ring metadata runs past the end"),
        (b"R1NG" + struct.pack("!H", 2) + b"\0" * 4, "too short for its index"),
    ],
)
def test_bad_whole_rings_could_not_run(data: bytes, message: str) -> None:
    with pytest.raises(CouldNotRun, match=message):
        parse_ring(data, "object", "src")

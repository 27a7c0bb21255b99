"""What the cloud itself says exists: service hosts, hypervisors, swift ring devices.

Checks compare this with the deployer's inventory (``tests_cloud/test_inventory.py``).
Everything here is read-only.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from afterboot.errors import CouldNotRun, shown
from afterboot.reads.hostreads import RINGS, parts, unexpected
from afterboot.transport.connections import Remote

# Ring metadata (the device list) sits at the start of the decompressed file; read at most
# this much so a huge ring never floods the connection.
RING_MAX_BYTES = 512 * 1024 * 1024  # decompressed: a part power 24 ring is ~100 MiB


def short_name(host: str) -> str:
    """``compute1.example.org`` and ``storage1@rbd#pool`` both become their short host."""
    return host.split("@", 1)[0].split("#", 1)[0].split(".", 1)[0]


def inventory_name(names: list[str], host: str) -> str:
    """The inventory's name (of ``names``) for a host the cloud names its own way
    (``compute1.example.org``, cinder's ``storage1@ceph``), else its short name: the name a
    finding gives, so that its procedure's ``ssh`` reaches that host."""
    if host in names:
        return host
    short = short_name(host)
    return next((n for n in names if short_name(n) == short), short)


def service_hosts(services: list[Any], binary: str) -> set[str]:
    """Short host names of a service binary (``nova-compute``, ``cinder-volume`` ...) in
    nova's or cinder's service records."""
    return {short_name(s.host) for s in services if s.binary == binary}


def hypervisor_hosts(hypervisors: list[Any]) -> set[str]:
    """Short host names of nova's hypervisors (the summary list)."""
    return {short_name(h.name) for h in hypervisors}


@dataclass(frozen=True)
class RingDevice:
    ring: str
    id: int
    ip: str
    port: int
    device: str
    zone: int
    weight: float
    region: int = 1
    replication_ip: str | None = None
    replication_port: int | None = None


def _device(ring: str, d: Mapping[str, Any]) -> RingDevice:
    return RingDevice(
        ring,
        int(d["id"]),
        str(d["ip"]),
        int(d["port"]),
        str(d["device"]),
        int(d.get("zone", 0)),
        float(d.get("weight", 0)),
        int(d.get("region", 1)),
        str(d["replication_ip"]) if d.get("replication_ip") else None,
        int(d["replication_port"]) if d.get("replication_port") is not None else None,
    )


def _devices(devs: Any, ring: str, source: str) -> list[RingDevice]:
    if not isinstance(devs, list):
        raise CouldNotRun(f"{source}: ring has no device list", f"devs is {type(devs).__name__}")
    try:
        # removed devices stay in the list as null
        return [_device(ring, d) for d in devs if d]
    except (KeyError, TypeError, ValueError) as exc:
        raise CouldNotRun(f"{source}: malformed ring device entry", repr(exc)) from None


def _blob(data: bytes, start: int, source: str, what: str) -> bytes:
    """A v2 length-value BLOB (``!Q`` length, then the bytes) at ``start``."""
    if start < 0 or start + 8 > len(data):
        raise CouldNotRun(f"{source}: ring {what} offset {start} is outside the file", "")
    (length,) = struct.unpack("!Q", data[start : start + 8])
    if start + 8 + length > len(data):
        raise CouldNotRun(f"{source}: ring {what} runs past the end of the file", "truncated")
    return data[start + 8 : start + 8 + length]


def _json(raw: bytes, source: str, what: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise CouldNotRun(f"{source}: ring {what} is not JSON", str(exc)) from None


def _v2_devices(data: bytes, ring: str, source: str) -> list[RingDevice]:
    # A v2 ring ends with an index of its sections (a JSON BLOB) and two !Q sizes: where
    # the index starts in the decompressed stream, then in the compressed file.
    if len(data) < 6 + 16:
        raise CouldNotRun(f"{source}: ring v2 file too short for its index", f"{len(data)} bytes")
    (index_start,) = struct.unpack("!Q", data[-16:-8])
    index = _json(_blob(data, index_start, source, "index"), source, "index")
    entry = index.get("swift/ring/devices") if isinstance(index, dict) else None
    if not isinstance(entry, list) or len(entry) != 6:
        raise CouldNotRun(f"{source}: ring v2 index has no swift/ring/devices section", "")
    _, start, _, end, method, expected = entry
    raw = _blob(data, int(start), source, "devices section")
    if 8 + len(raw) != int(end) - int(start):
        raise CouldNotRun(f"{source}: ring v2 devices section size disagrees with the index", "")
    if method not in ("md5", "sha1", "sha256", "sha512"):
        raise CouldNotRun(f"{source}: ring v2 checksum method {shown(method)} is not supported", "")
    # The checksum covers the section's length prefix and its bytes.
    if hashlib.new(method, data[int(start) : int(end)]).hexdigest() != expected:
        raise CouldNotRun(f"{source}: ring v2 devices section fails its {method} checksum", "")
    return _devices(_json(raw, source, "devices section"), ring, source)


def parse_ring(data: bytes, ring: str, source: str) -> list[RingDevice]:
    """Devices of a whole decompressed ``*.ring.gz``, format version 1 or 2.

    v1: ``R1NG``, ``!H`` version, ``!I`` length, the metadata JSON (``devs`` in it), tables.
    v2: ``R1NG``, ``!H`` version, named sections (metadata, devices, assignments), each a
    ``!Q`` length-value BLOB, found through the index at the end of the file.
    """
    if data[:4] != b"R1NG":
        raise CouldNotRun(f"{source}: not a swift ring file", "bad magic")
    if len(data) < 6:
        raise CouldNotRun(f"{source}: ring file too short", f"{len(data)} bytes")
    (version,) = struct.unpack("!H", data[4:6])
    if version == 2:
        return _v2_devices(data, ring, source)
    if version != 1:
        raise CouldNotRun(
            f"{source}: ring format version {version} is not supported", "v1 and v2 only"
        )
    if len(data) < 10:
        raise CouldNotRun(f"{source}: ring file too short", f"{len(data)} bytes")
    (length,) = struct.unpack("!I", data[6:10])
    if 10 + length > len(data):
        raise CouldNotRun(f"{source}: ring metadata runs past the end of the file", "truncated")
    meta = _json(data[10 : 10 + length], source, "metadata")
    if not isinstance(meta, dict):
        raise CouldNotRun(f"{source}: ring metadata is not a JSON object", "")
    return _devices(meta.get("devs"), ring, source)


def ring_devices(remote: Remote, ring: str) -> list[RingDevice]:
    """One ring's device list as the host holds it (``/etc/swift/<ring>.ring.gz``)."""
    path = remote.path(f"/etc/swift/{ring}.ring.gz")
    files = parts(remote.read("swift_rings").stdout)
    if path not in files:
        raise CouldNotRun(f"{remote.name}:{path}: cannot read ring", "missing")
    return decode_ring(files[path], ring, f"{remote.name}:{path}")


def decode_ring(b64: str, ring: str, source: str) -> list[RingDevice]:
    """Devices of a base64'd ``*.ring.gz`` file."""
    try:
        raw = base64.b64decode(b64)
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        data = inflate.decompress(raw, RING_MAX_BYTES)
    except (ValueError, zlib.error) as exc:
        raise CouldNotRun(f"{source}: not gzip", str(exc)) from None
    if inflate.unconsumed_tail:
        raise CouldNotRun(f"{source}: ring larger than {RING_MAX_BYTES >> 20} MiB", "")
    return parse_ring(data, ring, source)


def ring_summary(text: str) -> dict[str, object]:
    """What ``reports/snapshot.json`` keeps of the ring files: their devices."""
    summary: dict[str, object] = {}
    for path, b64 in parts(text).items():
        try:
            summary[path] = [vars(d) for d in decode_ring(b64, path, path)]
        except CouldNotRun as exc:
            summary[path] = str(exc)
    return summary


def parse_addresses(text: str, host: str = "") -> set[str]:
    """``hostname -I``: IP addresses separated by blanks (none: the host has no address
    but loopback). A word that is no IP address is could-not-run naming its line."""
    found = set()
    for line in text.splitlines():
        for word in line.split():
            try:
                ipaddress.ip_address(word.split("%", 1)[0])
            except ValueError:
                raise unexpected(host, "addresses", line) from None
            found.add(word)
    return found


def host_addresses(remote: Remote) -> set[str]:
    """Every IP address configured on a host (``hostname -I``) plus its inventory address."""
    found = parse_addresses(remote.read("addresses").stdout, remote.name)
    if remote.spec.address:
        found.add(remote.spec.address)
    return found


__all__ = [
    "RINGS",
    "RingDevice",
    "host_addresses",
    "hypervisor_hosts",
    "parse_ring",
    "ring_devices",
    "service_hosts",
    "short_name",
]

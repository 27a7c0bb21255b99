"""The files a hypervisor's domains use as disks, and whether they are there (NOVA-013).

A domain's disk is a file (nova's ``/var/lib/nova/instances/<uuid>/disk``, a config
drive, a file-backed volume). One deleted under a running domain (a cleanup of "old"
files, a restore of the instances directory that left it out) is not noticed while the
domain runs: its qemu process holds the file open, and the data lives on in that open
file only, until the domain stops. One missing under a stopped domain makes it fail to
start, and a hard reboot does not make it again.

The files are taken from the host's ``domain_xmls`` read (each domain's XML, the
sources of its ``device='disk'`` file disks), then tested from the host in one more
command, in kolla's ``nova_libvirt`` container where qemu sees them.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from xml.etree import ElementTree

from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import LIBVIRT_CONTAINER, HostRead, register, unexpected, whole_parts
from afterboot.snapshot import ReadResult
from afterboot.transport.connections import Remote


@dataclass(frozen=True)
class DiskFile:
    """One file disk of one domain."""

    domain: str
    uuid: str
    running: bool  # the domain runs (its XML has an id): qemu holds the file open
    target: str  # vda, vdb ...
    path: str


def disk_files(xmls: dict[str, str], host: str = "") -> list[DiskFile]:
    """Every file disk (``<disk type='file' device='disk'>``) of every domain, from the
    ``domain_xmls`` read's parts. XML that does not parse is could-not-run."""
    found = []
    for name, xml in xmls.items():
        if not xml.strip():
            continue
        try:
            root = ElementTree.fromstring(xml)
        except ElementTree.ParseError as exc:
            raise CouldNotRun(
                f"host {host}: domain {name}'s XML does not parse", str(exc)
            ) from None
        running = root.get("id") not in (None, "-1")
        uuid = (root.findtext("uuid") or "").strip()
        for disk in root.iter("disk"):
            source = disk.find("source")
            path = source.get("file") if source is not None else None
            if disk.get("type") != "file" or disk.get("device") != "disk" or not path:
                continue
            target = disk.find("target")
            dev = (target.get("dev") if target is not None else None) or "?"
            found.append(DiskFile(name, uuid, running, dev, path))
    return found


def probe_from(spec: HostSpec, xmls: ReadResult | None) -> str | ReadResult:
    """The ``disk_files`` read's command on this host, made from its ``domain_xmls`` read:
    one line per file, ``present <path>`` or ``missing <path>``. Domains that could not be
    read fail it too (no file tested is not every file there)."""
    if xmls is None or xmls.rc != 0:
        return ReadResult("disk_files", 1, "", "libvirt's domains could not be read")
    try:
        paths = sorted(
            {d.path for d in disk_files(whole_parts(xmls.stdout, spec.name, "domain_xmls"))}
        )
    except CouldNotRun as exc:
        return ReadResult("disk_files", 1, "", str(exc))
    if not paths:
        return ReadResult("disk_files", 0, "")
    return " ".join(
        f"{{ [ -e {q} ] && echo present {q} || echo missing {q}; }};"
        for q in (shlex.quote(p) for p in paths)
    )


def missing(remote: Remote) -> list[DiskFile]:
    """The file disks of the host's domains whose file is not there."""
    files = disk_files(
        whole_parts(remote.read("domain_xmls").stdout, remote.name, "domain_xmls"), remote.name
    )
    state: dict[str, str] = {}
    for line in remote.read("disk_files").stdout.splitlines():
        word, _, path = line.partition(" ")
        if word not in ("present", "missing") or not path:
            raise unexpected(remote.name, "disk_files", line)
        state[path] = word
    untested = sorted({f.path for f in files} - state.keys())
    if untested:
        raise unexpected(remote.name, "disk_files", f"no answer for {untested[0]}")
    return [f for f in files if state[f.path] == "missing"]


register(
    HostRead(
        "disk_files",
        "whether each file a libvirt domain uses as a disk is there (test -e, as qemu sees it)",
        lambda s: "true",
        follows="domain_xmls",
        container=LIBVIRT_CONTAINER,
    ),
)

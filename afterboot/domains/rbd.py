"""Cinder's volumes on Ceph's RBD, as the backend holds them (CINDER-005).

A volume cinder lists available or in-use is an RBD image in its backend's pool, named by
``volume_name_template`` (``volume-<id>``; a migrated volume keeps its ``name_id``'s).
A restore of cinder's database from another moment than Ceph's leaves the two
disagreeing, and nothing else says so until an owner attaches: a volume whose image is
gone (its data is elsewhere or lost), and an image cinder no longer knows (a volume made
after the database's backup: its data is there, cinder lost it).

The backends are taken from the host's ``cinder.conf`` (its ``configs`` read): each of
``enabled_backends`` whose driver is the RBD driver, with its pool, Ceph user and
ceph.conf. Their pools are then listed from that host in one more command, as cinder-volume
lists them (``rbd ls`` as its user; in its container on kolla hosts), each bounded.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from afterboot.domains import listings
from afterboot.domains.config import ConfigSyntaxError, parse_ini
from afterboot.domains.listings import config_files, unframed, unparsable
from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import HostRead, register
from afterboot.snapshot import ReadResult
from afterboot.transport.connections import Remote

CINDER_CONF = "/etc/cinder/cinder.conf"
RBD_DRIVER = "cinder.volume.drivers.rbd.RBDDriver"
NAME_TEMPLATE = "volume-%s"  # cinder's volume_name_template default
# kolla's container of cinder-volume, where its ceph.conf and keyring are
CONTAINER = "cinder_volume"


@dataclass(frozen=True)
class Backend:
    """One RBD backend of one cinder-volume host's configuration."""

    name: str  # its enabled_backends entry: cinder's host@<name>
    host: str  # backend_host, else host, as configured ("": the machine's name)
    pool: str
    user: str  # rbd_user ("": Ceph's default, client.admin)
    conf: str  # rbd_ceph_conf
    template: str  # volume_name_template
    label: str = ""  # volume_backend_name: the pool cinder's scheduler names (host@name#label)

    def image(self, volume_id: str) -> str:
        return self.template.replace("%s", volume_id) if "%s" in self.template else volume_id


@dataclass(frozen=True)
class Pool:
    """What listing one backend's pool gave: its images, or why there are none."""

    backend: Backend
    images: frozenset[str]
    error: str = ""  # the listing failed: this, not an empty pool


def backends(text: str, source: str = CINDER_CONF) -> list[Backend]:
    """The RBD backends a cinder.conf enables, in its order. Raises
    :class:`ConfigSyntaxError` where it does not parse: its backends are not known."""
    sections = parse_ini(text, source)
    default = sections.get("DEFAULT", {})

    def last(section: str, option: str, fallback: str = "") -> str:
        values = sections.get(section, {}).get(option) or default.get(option) or [fallback]
        return values[-1].strip()

    found = []
    for name in last("DEFAULT", "enabled_backends").split(","):
        name = name.strip()
        section = name.lower() if name.lower() in sections else name
        if not name or RBD_DRIVER not in last(section, "volume_driver"):
            continue
        found.append(
            Backend(
                name=name,
                host=last(section, "backend_host") or last("DEFAULT", "host"),
                pool=last(section, "rbd_pool", "rbd"),
                user=last(section, "rbd_user"),
                conf=last(section, "rbd_ceph_conf", "/etc/ceph/ceph.conf"),
                template=last("DEFAULT", "volume_name_template", NAME_TEMPLATE),
                label=last(section, "volume_backend_name"),
            )
        )
    return found


def host_backends(spec: HostSpec, configs: Mapping[str, str]) -> list[Backend]:
    """The RBD backends of this host's cinder.conf (the ``configs`` read's parts)."""
    path = spec.path(CINDER_CONF)
    return backends(configs[path], path) if path in configs else []


def list_command(found: list[Backend]) -> list[tuple[str, str]]:
    """Each backend's pool listing, as ``(backend, command)``."""
    return [
        (
            b.name,
            f"rbd --conf {shlex.quote(b.conf)}"
            + (f" --id {shlex.quote(b.user)}" if b.user else "")
            + f" --pool {shlex.quote(b.pool)} ls",
        )
        for b in found
    ]


def list_from(spec: HostSpec, configs: ReadResult | None) -> str | ReadResult:
    """The ``rbd_volumes`` read's command on this host, made from its ``configs`` read
    (:func:`afterboot.domains.listings.list_from`)."""
    return listings.list_from(
        "rbd_volumes",
        "cinder.conf",
        configs,
        lambda files: list_command(host_backends(spec, files)),
    )


def pools(found: list[Backend], text: str, host: str = "") -> dict[str, Pool]:
    """Each backend's listing from the read's output, by backend name. A backend the output
    has no part for, or a part without its status line, is could-not-run."""
    listed = unframed(
        text, [b.name for b in found], host, "rbd_volumes", " (Ceph's health, CEPH-001, says why)"
    )
    got = {}
    for b in found:
        one = listed[b.name]
        error = f"rbd ls --pool {b.pool} failed: {one.error}" if one.error else ""
        got[b.name] = Pool(b, frozenset(one.entries), error)
    return got


def backend_pools(remote: Remote) -> dict[str, Pool] | None:
    """This block-storage host's RBD pools by backend (None: its cinder.conf enables none).
    A configs read that is not the files it frames, or a cinder.conf that does not parse,
    is could-not-run, never "no backend"."""
    try:
        found = host_backends(remote.spec, config_files(remote))
    except ConfigSyntaxError as exc:
        raise unparsable(remote.name, "cinder.conf", exc) from None
    if not found:
        return None
    return pools(found, remote.read("rbd_volumes").stdout, remote.name)


register(
    HostRead(
        "rbd_volumes",
        "the images in each RBD pool the host's cinder.conf enables (rbd ls, as cinder-volume's"
        " Ceph user)",
        lambda s: "true",
        follows="configs",
        container=CONTAINER,
    ),
)

"""Glance's images and the data its stores hold (GLANCE-002).

An image glance lists ``active`` has its data in its store: the file store's
``<filesystem_store_datadir>/<id>``, of the image's size; the RBD store's image ``<id>``
in its pool. A restore of glance's database from another moment than the store's (or a
store that did not come back: a share not mounted after a reboot) leaves images whose
data is not there: every boot from them fails. Data whose image glance no longer lists is
an image lost to its owners.

The stores are taken from each glance-api host's ``glance-api.conf`` (its ``configs``
read): ``enabled_backends`` (``id:type``) and each backend's section, or the older
``[glance_store]`` of one store. Each file and RBD store is then listed from that host in
one more command (in kolla's ``glance_api`` container on kolla hosts), each bounded.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from afterboot.domains import listings
from afterboot.domains.config import ConfigSyntaxError, parse_ini
from afterboot.domains.listings import config_files, unframed, unparsable
from afterboot.inventory.model import HostSpec
from afterboot.reads.cloudreads import CloudRead
from afterboot.reads.cloudreads import register as register_cloud
from afterboot.reads.hostreads import HostRead, register, unexpected
from afterboot.snapshot import ReadResult
from afterboot.transport.connections import Remote

GLANCE_CONF = "/etc/glance/glance-api.conf"
CONTAINER = "glance_api"
FILE_DIR = "/var/lib/glance/images/"  # filesystem_store_datadir's default


@dataclass(frozen=True)
class Store:
    """One file or RBD store of one glance-api host's configuration."""

    id: str  # its enabled_backends id (the image's ``stores``), or its type for one store
    kind: str  # file or rbd
    where: str  # the directory, or the pool
    user: str = ""  # RBD: rbd_store_user ("": Ceph's default)
    conf: str = ""  # RBD: rbd_store_ceph_conf
    default: bool = False  # images without ``stores`` are in it

    def command(self) -> str:
        if self.kind == "file":
            return f"find {shlex.quote(self.where)} -maxdepth 1 -type f -printf '%f %s\\n'"
        user = f" --id {shlex.quote(self.user)}" if self.user else ""
        return f"rbd --conf {shlex.quote(self.conf)}{user} --pool {shlex.quote(self.where)} ls"


@dataclass(frozen=True)
class Held:
    """What one store of one host holds: image id -> size (None: not known, RBD)."""

    store: Store
    data: Mapping[str, int | None]
    error: str = ""  # the listing failed: this, not an empty store


@dataclass(frozen=True)
class Stores:
    """A glance-api host's stores, and whether a deleted image's data waits for the
    scrubber there (``delayed_delete``: data glance no longer lists is expected)."""

    stores: tuple[Store, ...]
    delayed_delete: bool = False


def stores(text: str, source: str = GLANCE_CONF) -> Stores:
    """The file and RBD stores a glance-api.conf enables. Raises
    :class:`ConfigSyntaxError` where it does not parse: its stores are not known."""
    sections = parse_ini(text, source)

    def last(section: str, option: str, fallback: str = "") -> str:
        values = sections.get(section, {}).get(option) or [fallback]
        return values[-1].strip()

    delayed = last("DEFAULT", "delayed_delete", "false").lower() in ("true", "1", "yes", "on")
    enabled = [e.strip() for e in last("DEFAULT", "enabled_backends").split(",") if e.strip()]
    if enabled:  # several stores, each its section
        default_id = last("glance_store", "default_backend")
        named = [(e.partition(":")[0].strip(), e.partition(":")[2].strip()) for e in enabled]
    else:  # one store: [glance_store]
        kind = last("glance_store", "default_store", "file")
        default_id, named = kind, [(kind, kind)]
    found = []
    for sid, kind in named:
        section = sid if enabled else "glance_store"
        section = section.lower() if section.lower() in sections else section
        if kind == "file" and sections.get(section, {}).get("filesystem_store_datadirs"):
            continue  # spread over several directories by priority: not listed here
        if kind == "file":
            where = last(section, "filesystem_store_datadir", FILE_DIR)
            found.append(Store(sid, kind, where, default=sid == default_id))
        elif kind == "rbd":
            found.append(
                Store(
                    sid,
                    kind,
                    last(section, "rbd_store_pool", "images"),
                    user=last(section, "rbd_store_user"),
                    conf=last(section, "rbd_store_ceph_conf", "/etc/ceph/ceph.conf"),
                    default=sid == default_id,
                )
            )
    return Stores(tuple(found), delayed)


def host_stores(spec: HostSpec, configs: Mapping[str, str]) -> Stores:
    """The stores of this host's glance-api.conf (none where it has none)."""
    path = spec.path(GLANCE_CONF)
    return stores(configs[path], path) if path in configs else Stores(())


def list_from(spec: HostSpec, configs: ReadResult | None) -> str | ReadResult:
    """The ``glance_store`` read's command on this host, made from its ``configs`` read
    (:func:`afterboot.domains.listings.list_from`)."""
    return listings.list_from(
        "glance_store",
        "glance-api.conf",
        configs,
        lambda files: [(s.id, s.command()) for s in host_stores(spec, files).stores],
    )


def held(found: Stores, text: str, host: str = "") -> dict[str, Held]:
    """Each store's data by store id, from the read's output."""
    listed = unframed(text, [s.id for s in found.stores], host, "glance_store")
    got = {}
    for store in found.stores:
        one = listed[store.id]
        data: dict[str, int | None] = {}
        for entry in one.entries:
            if store.kind == "rbd":
                data[entry] = None
                continue
            name, _, size = entry.rpartition(" ")
            if not name or not size.isdigit():
                raise unexpected(host, "glance_store", entry)
            data[name] = int(size)
        error = f"{store.kind} store {store.id} ({store.where}) not listed: {one.error}"
        got[store.id] = Held(store, data, error if one.error else "")
    return got


def host_data(remote: Remote) -> tuple[Stores, dict[str, Held]] | None:
    """This glance-api host's stores and what they hold (None: it enables no file or RBD
    store). A configs read that is not its files, or a glance-api.conf that does not
    parse, is could-not-run."""
    configs = config_files(remote)
    if remote.path(GLANCE_CONF) not in configs:
        return None
    try:
        found = host_stores(remote.spec, configs)
    except ConfigSyntaxError as exc:
        raise unparsable(remote.name, "glance-api.conf", exc) from None
    if not found.stores:
        return None
    return found, held(found, remote.read("glance_store").stdout, remote.name)


@dataclass(frozen=True)
class ImageData:
    """What glance says of one image's data."""

    id: str
    name: str
    status: str
    size: int | None
    stores: tuple[str, ...]  # the stores it names ("": the default store)
    checksum: str = ""


def image_data(cloud: Any) -> list[ImageData]:
    """Every image glance lists, of every visibility, with its size and its stores."""
    found = []
    for image in cloud.image.images(visibility="all"):
        props = getattr(image, "properties", None) or {}
        named = str(props.get("stores") or getattr(image, "stores", None) or "")
        found.append(
            ImageData(
                image.id,
                image.name or "",
                image.status or "",
                image.size,
                tuple(s.strip() for s in named.split(",") if s.strip()),
                image.checksum or "",
            )
        )
    return found


def _fetch(ctx: Any) -> list[ImageData]:
    return image_data(ctx.cloud)


register(
    HostRead(
        "glance_store",
        "the data in each file and RBD store the host's glance-api.conf enables (find in the"
        " file store's directory: names and sizes; rbd ls as glance's Ceph user)",
        lambda s: "true",
        follows="configs",
        container=CONTAINER,
    ),
)
register_cloud(
    CloudRead(
        "image_data",
        "every image glance lists, of every visibility: its status, size and stores",
        _fetch,
    )
)

"""Images and their data (Ops Guide: backup and recovery, "what to back up": glance's
database and its image store, restored together): every image glance lists active has its
data in its store, and every image's data there is an image glance lists."""

from __future__ import annotations

import re
from typing import Any

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.glancestore import Held, Stores, host_data
from afterboot.errors import CouldNotRun
from afterboot.reads.answers import every_answer
from afterboot.transport.connections import Connections

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _missing(image: Any, held: Held, host: str, findings: Findings) -> None:
    """The finding of an active image whose data this store of this host lacks, or holds
    at another size (a file cut short by a full disk, or another image's)."""
    store = held.store
    size = held.data.get(image.id, -1)
    if image.id in held.data and (size is None or image.size is None or size == image.size):
        return
    path = f"{store.where.rstrip('/')}/{image.id}" if store.kind == "file" else image.id
    absent = "no file" if store.kind == "file" else "no RBD image"
    actual = absent if image.id not in held.data else f"{size} bytes"
    findings.add(
        image.id,
        host=host,
        expected=f"{image.size} bytes" if store.kind == "file" else "present",
        actual=actual,
        kind="missing" if image.id not in held.data else "size",
        image=image.id,
        store=store.id,
        store_kind=store.kind,
        path=path,
        where=store.where,
        size=str(image.size),
        checksum=image.checksum or "",
        said=f"image {image.id} ({image.name}) active: {store.kind} store {store.id} on {host} "
        + (f"has no {path}" if actual == absent else f"holds {path} at {actual}")
        + ("" if actual == absent else f", not {image.size}"),
    )


@pytest.mark.check("GLANCE-002", tier=21, roles=("controller",), settles=False)
@pytest.mark.reads("image_data", "configs@controller", "glance_store@controller")
def test_images_have_their_data(
    image_data: list[Any], connections: Connections, findings: Findings
) -> None:
    """Every image glance lists active has its data in the store it names (a file of its
    size, an RBD image), and the stores hold no image's data glance does not list: glance's
    database and its store restored from different moments, or a store not back."""
    got = every_answer(connections.with_role("controller"), host_data)
    if not got.values and not got.failed:
        pytest.skip("no controller's glance-api.conf enables a file or RBD store")
    listed: dict[str, tuple[Stores, dict[str, Held]]] = got.values
    known = {image.id for image in image_data}
    unlisted: list[str] = []
    for host, (found, stores) in sorted(listed.items()):
        default = next((s.id for s in found.stores if s.default), "")
        for image in image_data:
            if image.status != "active":
                continue
            for sid in tuple(image.stores) or (default,):
                held = stores.get(sid)
                if held is None:
                    continue  # a store this host does not list (http, swift, cinder ...)
                if held.error:
                    unlisted.append(f"{host}: {held.error}")
                    continue
                _missing(image, held, host, findings)
        if found.delayed_delete:
            continue  # deleted images' data waits for glance-scrubber: not unknown
        for held in stores.values():
            for name in sorted(held.data):
                if UUID.fullmatch(name) and name not in known:
                    store = held.store
                    path = f"{store.where.rstrip('/')}/{name}" if store.kind == "file" else name
                    findings.add(
                        name,
                        host=host,
                        expected="an image in glance",
                        actual="none",
                        kind="unknown",
                        image=name,
                        store=store.id,
                        store_kind=store.kind,
                        path=path,
                        where=store.where,
                        said=f"{store.kind} store {store.id} on {host} holds {path}: glance lists "
                        f"no image {name}",
                    )
    findings.assert_none("images and their stores disagree: ", sep="; ")
    if unlisted:
        raise CouldNotRun("glance's stores not listed", "; ".join(sorted(set(unlisted))))
    got.raise_unanswered("glance's stores")

"""Volumes really attached, three ways (Ops Guide: compute node failures, "volumes"):
cinder's attachment, nova's block device mapping and the domain's XML on the hypervisor
agree for every in-use volume; and every volume is where its backend keeps it (RBD)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.discovery import short_name
from afterboot.domains.hypervisor import domain_xml, has_volume_disk
from afterboot.domains.liveness import report_time
from afterboot.domains.rbd import Pool, backend_pools
from afterboot.errors import CouldNotRun
from afterboot.reads.answers import every_answer
from afterboot.snapshot import Snapshot
from afterboot.transport.connections import Connections

STUCK_STATES = ("attaching", "detaching", "reserved")
STUCK_AFTER_S = 600
# cinder's states of a volume whose data its backend holds (creating, deleting and the
# error states may have none: PERIODIC-008's)
HOLDS_DATA = (
    "available",
    "in-use",
    "attaching",
    "detaching",
    "reserved",
    "backing-up",
    "uploading",
    "extending",
    "retyping",
    "awaiting-transfer",
)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _remote_for(connections: Connections, compute_host: str | None) -> Any:
    inv = connections.inventory
    if inv is None or not compute_host:
        return None
    for name in inv.hosts:
        if short_name(name) == short_name(compute_host):
            return connections[name]
    return None


@pytest.mark.check("CINDER-004", tier=5, roles=("compute", "block-storage"))
@pytest.mark.reads("volumes", "servers", "domain_xmls@compute")
def test_volumes_attached_three_ways(
    volumes: list[Any],
    servers: list[Any],
    connections: Connections,
    snapshot: Snapshot,
    findings: Findings,
) -> None:
    """Every in-use volume is attached in cinder, in nova, and on the hypervisor."""
    now = snapshot.read_time("volumes")
    unverified: list[str] = []
    by_id = {s.id: s for s in servers}
    for vol in volumes:
        if vol.status in STUCK_STATES:
            changed = report_time(vol.updated_at) or 0
            if now - changed > STUCK_AFTER_S:
                findings.add(
                    vol.id,
                    expected="settled",
                    actual=vol.status,
                    volume=vol.id,
                    said=f"volume {vol.id} stuck {vol.status} since {vol.updated_at}",
                )
            continue
        for att in vol.attachments or []:
            server_id = att.get("server_id")
            device = att.get("device")
            server = by_id.get(server_id) if server_id else None
            if server is None or server.status in ("DELETED", "SOFT_DELETED"):
                findings.add(
                    vol.id,
                    said=f"volume {vol.id} attached in cinder to deleted instance "
                    f"{server_id} ({device})",
                    expected="attached to a live instance",
                    actual="deleted",
                    volume=vol.id,
                    uuid=server_id or "",
                    device=device or "",
                    attachment=att.get("attachment_id") or att.get("id") or "",
                )
                continue
            bdms = {v.get("id") for v in server.attached_volumes or []}  # nova's BDMs
            if vol.id not in bdms:
                findings.add(
                    vol.id,
                    said=f"volume {vol.id} attached in cinder to {server.id} ({device}) "
                    "but nova has no block device mapping for it",
                    host=server.compute_host or "",
                    expected="nova BDM",
                    actual="none",
                    volume=vol.id,
                    uuid=server.id,
                    device=device or "",
                    mapping="missing",
                    domain=server.instance_name or "",
                    attachment=att.get("attachment_id") or att.get("id") or "",
                )
                continue
            remote = _remote_for(connections, server.compute_host)
            if remote is None:
                unverified.append(f"{vol.id} (host {server.compute_host} not in inventory)")
                continue
            try:
                xml = domain_xml(remote, server.instance_name)
                where = f"domain {server.instance_name} on {remote.name}"
                attached = bool(xml) and has_volume_disk(xml, vol.id, where)
            except CouldNotRun as exc:
                unverified.append(f"{vol.id} ({exc})")
                continue
            if not xml:
                findings.add(
                    vol.id,
                    said=f"volume {vol.id}: domain {server.instance_name} of {server.id} "
                    f"is not defined on {remote.name}",
                    host=remote.name,
                    expected="domain defined",
                    actual="no domain",
                    volume=vol.id,
                    uuid=server.id,
                    device=device or "",
                )
            elif not attached:
                findings.add(
                    vol.id,
                    said=f"volume {vol.id} attached to {server.id} as {device} in cinder "
                    f"and nova, but the domain on {remote.name} has no such disk",
                    host=remote.name,
                    expected="disk in domain XML",
                    actual="absent",
                    volume=vol.id,
                    uuid=server.id,
                    device=device or "",
                )
    findings.assert_none()
    if unverified:
        raise CouldNotRun("hypervisor side of attachments not verified", "; ".join(unverified))


@pytest.mark.check("CINDER-005", tier=98, roles=("block-storage",), settles=False)
@pytest.mark.reads("volumes", "configs@block-storage", "rbd_volumes@block-storage")
def test_volumes_on_their_backend(
    volumes: list[Any], connections: Connections, findings: Findings
) -> None:
    """Every volume cinder lists with data is an image in its RBD backend's pool, and every
    volume image there is a volume cinder lists: a restore of cinder's database from
    another moment than Ceph's leaves volumes without data, and data without a volume."""
    got = every_answer(connections.with_role("block-storage"), backend_pools)
    # cinder's host@backend -> the inventory host listing its pool, and the pool
    listed: dict[str, tuple[str, Pool]] = {
        f"{short_name(pool.backend.host or host)}@{name}": (host, pool)
        for host, found in got.values.items()
        for name, pool in found.items()
    }
    if not listed and not got.failed:
        pytest.skip("no block-storage host's cinder.conf enables an RBD backend")
    known: set[str] = set()
    unlisted: Counter[str] = Counter()  # a pool's listing that failed -> its volumes
    seen_pool: dict[str, str] = {}  # host@backend -> the #pool its volumes name
    for vol in volumes:
        name_id = getattr(vol, "migration_id", None)
        known |= {str(i) for i in (vol.id, name_id) if i}
        cinder_host, _, cinder_pool = str(vol.host or "").partition("#")
        seen_pool.setdefault(cinder_host, cinder_pool)
        name, at, backend = cinder_host.partition("@")
        where = listed.get(f"{short_name(name)}@{backend}") if at else None
        if where is None or vol.status not in HOLDS_DATA:
            continue
        host, pool = where
        if pool.error:
            unlisted[f"{host}: {pool.error}"] += 1
            continue
        image = pool.backend.image(name_id or vol.id)
        if image not in pool.images:
            findings.add(
                vol.id,
                host=host,
                expected=f"RBD image {image}",
                actual=vol.status,
                kind="missing",
                volume=vol.id,
                image=image,
                pool=pool.backend.pool,
                backend=cinder_host,
                said=f"volume {vol.id} {vol.status} on {cinder_host}: no image {image} in "
                f"pool {pool.backend.pool}",
            )
    for backend, (host, pool) in sorted(listed.items(), key=lambda kv: (kv[1][0], kv[0])):
        template = re.escape(pool.backend.template).replace("%s", "(" + UUID.pattern + ")", 1)
        label = seen_pool.get(backend) or pool.backend.label or pool.backend.name
        for image in sorted(pool.images):
            match = re.fullmatch(template, image)
            if match and match.group(1) not in known:
                findings.add(
                    image,
                    host=host,
                    expected="a volume in cinder",
                    actual="none",
                    kind="orphan",
                    volume=match.group(1),
                    image=image,
                    pool=pool.backend.pool,
                    backend=backend,
                    target=f"{backend}#{label}",
                    said=f"image {image} in pool {pool.backend.pool} ({host}): cinder has no "
                    f"volume {match.group(1)}",
                )
    findings.assert_none("volumes and their backend disagree: ", sep="; ")
    if unlisted:
        raise CouldNotRun(
            "RBD pools not listed", "; ".join(f"{k} ({n} volumes)" for k, n in unlisted.items())
        )
    got.raise_unanswered("RBD pools of cinder's backends")

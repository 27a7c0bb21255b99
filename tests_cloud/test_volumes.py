"""Volumes really attached, three ways (Ops Guide: compute node failures, "volumes"):
cinder's attachment, nova's block device mapping and the domain's XML on the hypervisor
agree for every in-use volume."""

from __future__ import annotations

from typing import Any

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.discovery import short_name
from afterboot.domains.hypervisor import domain_xml, has_volume_disk
from afterboot.domains.liveness import report_time
from afterboot.errors import CouldNotRun
from afterboot.snapshot import Snapshot
from afterboot.transport.connections import Connections

STUCK_STATES = ("attaching", "detaching", "reserved")
STUCK_AFTER_S = 600


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

"""The deployer's inventory and the cloud agree on which hosts exist.

The guide's cases: a new compute node that must attach itself to the cloud, and a node
removed (from the service list or the rings) and never added back.
"""

from __future__ import annotations

from typing import Any

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.discovery import (
    RINGS,
    host_addresses,
    hypervisor_hosts,
    inventory_name,
    ring_devices,
    service_hosts,
    short_name,
)
from afterboot.domains.storage import device_dirs
from afterboot.inventory.model import Inventory
from afterboot.transport.connections import Connections, first_answer


def compare(kind: str, declared: set[str], known: set[str]) -> str | None:
    missing, unknown = sorted(declared - known), sorted(known - declared)
    if not missing and not unknown:
        return None
    return (
        f"{kind}: in the inventory but unknown to the cloud: {', '.join(missing) or 'none'}; "
        f"known to the cloud but not in the inventory: {', '.join(unknown) or 'none'}"
    )


@pytest.mark.check("INV-001", tier=4, roles=("compute", "block-storage"), settles=False)
@pytest.mark.reads("compute_services", "hypervisors", "volume_services")
def test_inventory_matches_cloud(
    inventory: Inventory,
    compute_services: list[Any],
    hypervisors: list[Any],
    volume_services: list[Any],
    findings: Findings,
) -> None:
    """Compute and volume hosts of the inventory are those the cloud knows, both ways.

    Each host on one side only is a finding: ``side: inventory`` (the cloud does not know
    it), or ``side: cloud``, once per record of the cloud that names it (``record``: a
    service's or hypervisor's id, cinder's ``host@backend``); ``controller`` is where
    nova-manage and cinder-manage run."""
    names = list(inventory.hosts)
    controller = next(iter(inventory.names("controller")), "")
    compared = [
        ("nova-compute", "compute", "nova-compute services", compute_services),
        ("hypervisor", "compute", "hypervisors", hypervisors),
        ("cinder-volume", "block-storage", "cinder-volume services", volume_services),
    ]
    problems = []
    for kind, role, label, records in compared:
        declared = {short_name(h) for h in inventory.names(role)}
        known = hypervisor_hosts(records) if kind == "hypervisor" else service_hosts(records, kind)
        problem = compare(label, declared, known)
        if problem is None:
            continue
        problems.append(problem)
        for short in sorted(declared - known):
            findings.add(
                f"{kind}:{short}",
                host=inventory_name(names, short),
                expected=f"known to the cloud ({label})",
                actual="unknown to the cloud",
                kind=kind,
                side="inventory",
                controller=controller,
            )
        for short, record in sorted(
            (short_name(_where(kind, r)), _id(kind, r))
            for r in records
            if (kind == "hypervisor" or r.binary == kind)
            and short_name(_where(kind, r)) not in declared
        ):
            findings.add(
                f"{kind}:{record}",
                host=short,
                expected=f"a host of the inventory (role {role})",
                actual=f"known to the cloud ({label})",
                kind=kind,
                side="cloud",
                record=record,
                controller=controller,
            )
    assert not problems, " | ".join(problems)


def _where(kind: str, record: Any) -> str:
    """The host a service record or hypervisor names."""
    return str(record.name if kind == "hypervisor" else record.host)


def _id(kind: str, record: Any) -> str:
    """What deletes or shows the record: cinder's ``host@backend``, nova's id."""
    return str(record.host if kind == "cinder-volume" else record.id)


@pytest.mark.check("INV-002", tier=2, roles=("object-storage",), settles=False)
@pytest.mark.reads("addresses", "swift_rings@object-storage-proxy", "swift_rings", "swift_devices")
def test_storage_hosts_match_rings(
    inventory: Inventory, connections: Connections, findings: Findings
) -> None:
    """Every object-storage host is in every ring, and every ring device is on one of them."""
    storage = connections.with_role("object-storage")
    if not storage:
        pytest.skip("the inventory declares no object-storage host")
    readers = connections.with_role("object-storage-proxy") + storage
    addresses = {remote.name: host_addresses(remote) for remote in storage}
    owners: dict[str, set[str]] = {}  # an address two inventory names share is both's
    for name, ips in addresses.items():
        for ip in ips:
            owners.setdefault(ip, set()).add(name)
    dirs: dict[str, str] = {}  # a host's devices, listed once even if absent from every ring
    problems = []
    for ring in RINGS:
        devices = first_answer(
            readers, lambda remote, ring=ring: ring_devices(remote, ring), f"the {ring} ring"
        )
        in_ring = {name for d in devices for name in owners.get(d.ip, ())}
        strangers = sorted({f"{d.ip}/{d.device}" for d in devices if d.ip not in owners})
        absent = sorted(set(addresses) - in_ring)
        port = devices[0].port if devices else "<port>"
        for name in absent:
            remote = connections[name]
            if name not in dirs:
                dirs[name] = ",".join(sorted(device_dirs(remote))) or "<device>"
            findings.add(
                f"{ring}:{name}",
                host=name,
                expected=f"devices in the {ring} ring",
                actual="none",
                ring=ring,
                ip=remote.spec.address or sorted(addresses[name])[0],
                port=port,
                device=dirs[name],
            )
        if absent or strangers:
            problems.append(
                f"{ring} ring: storage hosts with no device: {', '.join(absent) or 'none'}; "
                f"devices on hosts not in the inventory: {', '.join(strangers) or 'none'}"
            )
    assert not problems, " | ".join(problems)

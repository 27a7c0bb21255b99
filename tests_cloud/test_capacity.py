"""Placement and capacity (Ops Guide: "check cloud usage: large instances"; total compute
node failure: the instances of a lost host are rebuilt on the others): placement's
allocations belong to instances, and every compute host's instances would fit elsewhere."""

from __future__ import annotations

from typing import Any

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.discovery import short_name
from afterboot.domains.placement import CLASSES, Provider
from afterboot.transport.connections import Remote


@pytest.mark.check("NOVA-010", tier=4, roles=("compute",))
@pytest.mark.reads("providers", "servers", "migrations")
def test_allocations_belong_to_instances(
    host: Remote,
    providers: dict[str, Provider],
    servers: list[Any],
    migrations: list[Any],
    findings: Findings,
) -> None:
    """Every allocation against the host's resource provider is held by an instance nova
    places on it, or a migration through it (a leaked allocation takes room no instance
    uses: ``nova-manage placement audit``)."""
    rp = providers.get(short_name(host.name))
    assert rp is not None, f"placement has no compute resource provider for {host.name}"
    me = short_name(host.name)
    known = {s.id for s in servers if short_name(s.compute_host or "") == me}
    known |= {
        m.uuid
        for m in migrations
        if m.uuid and me in {short_name(m.source_compute or ""), short_name(m.dest_compute or "")}
    }
    for consumer, resources in rp.allocations.items():
        if consumer in known:
            continue
        held = ", ".join(f"{k}={v:g}" for k, v in sorted(resources.items()))
        findings.add(
            consumer,
            host=host.name,
            expected="an instance",
            actual="unknown",
            consumer=consumer,
            provider=rp.id,
            said=f"{consumer} ({held})",
        )
    findings.assert_none(
        f"allocations on {host.name}'s resource provider {rp.id} held by no instance: "
    )


@pytest.mark.check(
    "PERIODIC-007",
    tier=5,
    roles=("compute",),
    phases=("periodic", "pre-maintenance"),
    settles=False,
)
@pytest.mark.reads("providers", "compute_services", "servers")
def test_room_to_evacuate(
    host: Remote,
    providers: dict[str, Provider],
    compute_services: list[Any],
    servers: list[Any],
    findings: Findings,
) -> None:
    """The host's instances would fit on the other enabled compute hosts, the largest one
    on a single host: what evacuating it after a failure, or draining it, needs."""
    me = short_name(host.name)
    if me not in providers:
        pytest.skip(f"placement has no compute resource provider for {host.name} (NOVA-010)")
    usable = {
        short_name(s.host)
        for s in compute_services
        if s.binary == "nova-compute" and s.status == "enabled" and s.state == "up"
    }
    if len(providers) < 2:
        pytest.skip(f"{host.name} is the only compute host: its instances have nowhere to go")
    others = {n: p for n, p in providers.items() if n != me and n in usable}
    unusable = sorted(n for n in providers if n != me and n not in usable)
    need = dict.fromkeys(CLASSES, 0.0)
    largest: tuple[str, dict[str, float]] | None = None
    for server in (s for s in servers if short_name(s.compute_host or "") == me):
        flavor = server.flavor or {}
        size = {"VCPU": float(flavor.get("vcpus", 0)), "MEMORY_MB": float(flavor.get("ram", 0))}
        for rc in CLASSES:
            need[rc] += size[rc]
        if largest is None or size["MEMORY_MB"] > largest[1]["MEMORY_MB"]:
            largest = (server.id, size)
    problems = []
    for rc in CLASSES:
        room = sum(max(p.free(rc), 0.0) for p in others.values())
        if need[rc] > room:
            where = ", ".join(sorted(others)) or "no other usable host"
            problems.append(f"{rc} {need[rc]:g} needed, {room:g} free on {where}")
    if largest is not None and not any(
        all(p.free(rc) >= largest[1][rc] for rc in CLASSES) for p in others.values()
    ):
        problems.append(f"its largest instance {largest[0]} fits on no single other host")
    if problems and unusable:
        problems.append(f"not usable (disabled or down): {', '.join(unusable)}")
        for name in unusable:
            findings.add(name, host=host.name, expected="enabled", actual="not", unusable=name)
    for problem in problems:
        findings.add(host.name, host=host.name, expected="room elsewhere", actual=problem)
    assert not problems, (
        f"{host.name}'s instances would not fit on the other compute hosts: " + "; ".join(problems)
    )

"""Placement and capacity (Ops Guide: "check cloud usage: large instances"; total compute
node failure: the instances of a lost host are rebuilt on the others): placement's
allocations belong to instances, every instance holds its allocations, nova's own audit
of placement finds nothing, and every compute host's instances would fit elsewhere."""

from __future__ import annotations

from typing import Any

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.discovery import short_name
from afterboot.domains.placement import CLASSES, Provider
from afterboot.domains.placementaudit import AUDIT_READ, HEAL_READ, TOOL, Audit, Heal, audit, heal
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import Inventory
from afterboot.reads.answers import Answers, every_answer
from afterboot.transport.connections import Connections, Remote

PHASES = ("post-upgrade", "post-restore", "periodic")
# an instance holds its allocations on its host in these states whatever its task: all but
# the shelved-offloaded (none, no host) and ERROR (a failed resize or migration may leave
# them held by the migration); an instance in a task (building, migrating, resizing,
# evacuating, deleting) is between two owners and not judged
NOT_HELD = ("SHELVED_OFFLOADED", "ERROR")


@pytest.mark.check("NOVA-010", tier=5, roles=("compute",))
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


@pytest.mark.check("NOVA-011", tier=5, roles=("compute",))
@pytest.mark.reads("providers", "servers")
def test_instances_hold_their_allocations(
    host: Remote,
    inventory: Inventory,
    providers: dict[str, Provider],
    servers: list[Any],
    findings: Findings,
) -> None:
    """Every instance nova places on the host, in no task, is a consumer on the host's
    compute resource provider (one without allocations, lost in a restore of placement's
    database or deleted by hand, leaves its room free to the scheduler: it over-commits).

    A resized instance waiting for its confirmation (VERIFY_RESIZE) holds its new flavor
    on its new host, its migration the old one on the source: it is judged like the
    others. ``controller`` is where nova-manage runs."""
    me = short_name(host.name)
    rp = providers.get(me)
    assert rp is not None, f"placement has no compute resource provider for {host.name}"
    controller = next(iter(inventory.names("controller")), "")
    judged = [
        s
        for s in servers
        if short_name(s.compute_host or "") == me and not s.task_state and s.status not in NOT_HELD
    ]
    for server in judged:
        if server.id in rp.allocations:
            continue
        findings.add(
            server.id,
            host=host.name,
            expected=f"a consumer on {rp.id}",
            actual="no allocation",
            kind="heal",
            uuid=server.id,
            status=server.status,
            provider=rp.id,
            controller=controller,
            said=f"{server.id} ({server.status})",
        )
    findings.assert_none(
        f"instances on {host.name} without allocations on its resource provider {rp.id}: "
    )


def _installed(got: Answers[Heal] | Answers[Audit], hosts: list[str]) -> None:
    """Could-not-run when no controller has nova-manage (and none failed to say)."""
    if not got.failed and not any(a.installed for a in got.values.values()):
        raise CouldNotRun(
            f"{TOOL} is installed on no controller ({', '.join(hosts)})",
            "nova's API hosts have it",
        )


@pytest.mark.check("NOVA-012", tier=4, roles=("controller",), phases=PHASES, settles=False)
@pytest.mark.reads(HEAL_READ, AUDIT_READ)
def test_placement_audit_finds_nothing(connections: Connections, findings: Findings) -> None:
    """nova's own placement oracle finds nothing on any controller that has nova-manage:
    ``nova-manage placement heal_allocations --dry-run`` would heal no instance, and
    ``nova-manage placement audit`` finds no allocation without its instance or migration
    (both read-only: a dry run, no ``--delete``). One finding per instance or consumer,
    naming it and the resource provider, where the first controller said it."""
    controllers = connections.with_role("controller")
    if not controllers:
        pytest.skip("the inventory declares no controller host")
    names = [r.name for r in controllers]
    heals = every_answer(controllers, heal)
    audits = every_answer(controllers, audit)
    _installed(heals, names)
    _installed(audits, names)
    seen: set[str] = set()
    for host, healed in sorted(heals.values.items()):
        for item in healed.instances:
            if item.instance in seen:
                continue
            seen.add(item.instance)
            findings.add(
                item.instance,
                host=host,
                expected="allocations as nova records the instance",
                actual=f"would {item.action} them",
                kind="heal",
                action=item.action,
                uuid=item.instance,
                provider=" ".join(item.providers),
                controller=host,
                said=f"instance {item.instance}: {TOOL} would {item.action} its allocations "
                f"on {', '.join(item.providers)} ({item.resources})",
            )
    for host, audited in sorted(audits.values.items()):
        for orphan in audited.orphans:
            key = f"{orphan.consumer} {orphan.provider}"
            if key in seen:
                continue
            seen.add(key)
            # a provider nova finds no compute node for: a removed host's, left in placement
            gone = orphan.provider in audited.unknown_nodes
            findings.add(
                orphan.consumer,
                host=host,
                expected="an instance or an active migration",
                actual="none",
                kind="orphan",
                consumer=orphan.consumer,
                provider=orphan.provider,
                controller=host,
                node="gone" if gone else "known",
                said=f"consumer {orphan.consumer} on {orphan.provider}: no instance or "
                f"migration ({orphan.resources})"
                + (", and nova finds no compute node for that provider" if gone else ""),
            )
    failed = {**heals.failed, **audits.failed}
    note = f" (no answer from {', '.join(sorted(failed))}: not judged)" if failed else ""
    findings.assert_none(f"nova's placement audit finds allocations to heal or orphaned{note}: ")
    heals.raise_unanswered(f"{TOOL} placement heal_allocations --dry-run")
    audits.raise_unanswered(f"{TOOL} placement audit")


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

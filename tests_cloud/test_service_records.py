"""The services the cloud records are alive: ``up`` *and* reporting since their host booted
(Ops Guide: after a controller reboot nova-compute often does not reconnect to RabbitMQ;
after a compute reboot its old ``up`` row lingers for a minute)."""

from __future__ import annotations

from typing import Any

import pytest

from afterboot.checks.catalog import WITH_CONFIG_GATE
from afterboot.checks.findings import Findings
from afterboot.domains.discovery import inventory_name, short_name
from afterboot.domains.liveness import dead_services
from afterboot.domains.rabbitmq import broker
from afterboot.reads.answers import Answers
from afterboot.transport.connections import Connections, Remote


def assert_alive(
    services: list[Any],
    binaries: tuple[str, ...],
    connections: Connections,
    findings: Findings,
    host: str = "",
    roles: tuple[str, ...] = (),
) -> None:
    """Each binary is registered (on ``host`` if given), up, and reporting since boot.

    Each dead or stale record is a finding on its host (the inventory's name for it); a
    binary registered nowhere, one on ``host`` or on each host of ``roles`` (where it
    should run)."""
    where = f" for {host}" if host else ""
    names = list(connections.inventory.hosts) if connections.inventory else []
    missing = [
        b
        for b in binaries
        if not any(
            s.binary == b and (not host or short_name(s.host) == short_name(host)) for s in services
        )
    ]
    for binary in missing:
        for name in [host] if host else inventory_hosts(connections, roles):
            findings.add(
                binary, host=name, expected="registered", actual="no record", binary=binary
            )
    assert not missing, f"no {' and no '.join(missing)} service is registered{where}"
    judged = [dead_services(services, b, connections, host or None) for b in binaries]
    for binary, liveness in zip(binaries, judged, strict=True):
        for record in liveness.records:
            name = inventory_name(names, str(record.host))
            findings.add(
                binary,
                host=name,
                # a record of no host of the inventory: a host removed, its record left
                in_inventory="yes" if name in names or not names else "no",
                expected="up, reporting since its host booted",
                actual=(
                    "up, no report since its host booted"
                    if record.state == "up"
                    else str(record.state)
                ),
                binary=binary,
                service_host=record.host,
                last_report=record.updated_at,
            )
    dead = [d for j in judged for d in j.dead]
    # a record claiming "up" on a host whose boot time could not be read is not alive
    unjudged = Answers(failed={h: e for j in judged for h, e in j.unjudged.items()})
    note = f" ({unjudged.unanswered('not judged').what})" if unjudged.failed else ""
    assert not dead, "; ".join(dead) + note
    unjudged.raise_unanswered(f"{' and '.join(binaries)} records claiming up")


def inventory_hosts(connections: Connections, roles: tuple[str, ...]) -> list[str]:
    """The inventory's hosts of ``roles`` (none without roles)."""
    if not roles or connections.inventory is None:
        return []
    return connections.inventory.names(*roles)


@pytest.mark.check("NOVA-002", tier=4, roles=("compute",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("compute_services")
def test_nova_compute_reports_since_boot(
    host: Remote, compute_services: list[Any], connections: Connections, findings: Findings
) -> None:
    """nova-compute of the host is up and has reported since the host booted."""
    assert_alive(compute_services, ("nova-compute",), connections, findings, host.name)


@pytest.mark.check("NOVA-003", tier=4, roles=("compute",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("rabbitmq@messaging")
def test_nova_compute_consumes_rpc(host: Remote, connections: Connections) -> None:
    """RabbitMQ has a consumer on the host's compute queue (nova-compute is connected)."""
    if not connections.with_role("messaging"):
        pytest.skip("the inventory declares no messaging host")
    queues = broker(connections).consumers
    short = short_name(host.name)
    mine = {q: n for q, n in queues.items() if q[1] in (f"compute.{host.name}", f"compute.{short}")}
    assert mine, (
        f"RabbitMQ has no compute.{short} queue: nova-compute on {host.name} never connected"
    )
    assert any(n > 0 for n in mine.values()), (
        f"nova-compute on {host.name} is not consuming its queue "
        + ", ".join(f"{q[1]} on vhost {q[0]} ({n} consumers)" for q, n in mine.items())
    )


@pytest.mark.check("NOVA-004", tier=22, roles=("controller",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("compute_services")
def test_nova_control_services_alive(
    compute_services: list[Any], connections: Connections, findings: Findings
) -> None:
    """Every nova-conductor and nova-scheduler is up and has reported since its host booted."""
    assert_alive(
        compute_services,
        ("nova-conductor", "nova-scheduler"),
        connections,
        findings,
        roles=("controller",),
    )


@pytest.mark.check("CINDER-002", tier=4, roles=("block-storage",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("volume_services")
def test_cinder_volume_alive(
    volume_services: list[Any], connections: Connections, findings: Findings
) -> None:
    """Every cinder-volume service is up and has reported since its host booted."""
    assert_alive(
        volume_services, ("cinder-volume",), connections, findings, roles=("block-storage",)
    )


@pytest.mark.check("CINDER-003", tier=20, roles=("controller",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("volume_services")
def test_cinder_scheduler_alive(
    volume_services: list[Any], connections: Connections, findings: Findings
) -> None:
    """Every cinder-scheduler is up and has reported since its host booted."""
    assert_alive(
        volume_services, ("cinder-scheduler",), connections, findings, roles=("controller",)
    )

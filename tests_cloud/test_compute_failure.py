"""Total compute node failure (Ops Guide): instances still recorded on a compute host whose
nova-compute is down must be moved and hard-rebooted, their volumes re-attached."""

from __future__ import annotations

from typing import Any

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.discovery import short_name
from afterboot.domains.hypervisor import PAUSED, RUNNING, domains
from afterboot.domains.nova import Instance
from afterboot.errors import CouldNotRun, HostUnreachable
from afterboot.transport.connections import Connections


@pytest.mark.check("NOVA-009", tier=4, roles=("compute",))
@pytest.mark.reads("compute_services", "instances", "domains")
def test_no_instances_on_dead_compute_hosts(
    compute_services: list[Any],
    instances: list[Instance],
    connections: Connections,
    findings: Findings,
) -> None:
    """No instance is recorded on a compute host whose nova-compute is down.

    Each one says whether its host is fenced: evacuating is for an instance whose host does
    not answer. An instance that still runs where nova lost its nova-compute (hung, stopped,
    cut off) is not evacuated: a second copy would start on the same shared disk. Nor is one
    whose host answers without running it (nova-compute died at its start): the host is
    there, its nova-compute is restarted and the instance started on it again."""
    dead = {
        short_name(s.host)
        for s in compute_services
        if s.binary == "nova-compute" and s.state != "up"
    }
    stranded: dict[str, list[str]] = {}
    for inst in instances:
        if not inst.host or short_name(inst.host) not in dead:
            continue
        fenced, state, running = _fencing(connections, inst)
        stranded.setdefault(inst.host, []).append(inst.uuid)
        findings.add(
            inst.uuid,
            host=inst.host,
            expected="host up",
            actual="host down",
            uuid=inst.uuid,
            fenced=fenced,
            state=state,
            running=running,
        )
    assert not stranded, "; ".join(
        f"{len(uuids)} instance(s) on down compute host {host}: {', '.join(sorted(uuids))}"
        for host, uuids in sorted(stranded.items())
    )


def _fencing(connections: Connections, inst: Instance) -> tuple[str, str, str]:
    """("yes"|"no" fenced, what the hypervisor says, "yes"|"no"|"unknown" its domain runs
    there) for an instance of a host nova lost: fenced only where the host does not answer."""
    remote = next(
        (
            connections[h]
            for h in (connections.inventory.hosts if connections.inventory else {})
            if short_name(h) == short_name(inst.host or "")
        ),
        None,
    )
    if remote is None:
        return "no", f"{inst.host} is not in the inventory: its hypervisor was not asked", "unknown"
    try:
        running = {d.uuid: d for d in domains(remote)}
    except HostUnreachable as exc:
        return "yes", f"{remote.name} does not answer ({exc.reason})", "unknown"
    except CouldNotRun as exc:
        said = f"{remote.name} answers but its hypervisor could not be asked ({exc})"
        return "no", said, "unknown"
    dom = running.get(inst.uuid)
    if dom is not None and dom.power_state in (RUNNING, PAUSED):
        return "no", f"its domain {dom.name} is {dom.state} on {remote.name}", "yes"
    return "no", f"{remote.name} answers and runs no domain of it", "no"

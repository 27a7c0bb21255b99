"""Total compute node failure (Ops Guide): instances still recorded on a compute host whose
nova-compute is down must be moved and hard-rebooted, their volumes re-attached."""

from __future__ import annotations

from typing import Any

import pytest

from fixtures.discovery import short_name
from fixtures.nova import Instance
from plugins.findings import Findings


@pytest.mark.check("NOVA-009", tier=4, roles=("compute",))
@pytest.mark.reads("compute_services", "instances")
def test_no_instances_on_dead_compute_hosts(
    compute_services: list[Any], instances: list[Instance], findings: Findings
) -> None:
    """No instance is recorded on a compute host whose nova-compute is down."""
    dead = {
        short_name(s.host)
        for s in compute_services
        if s.binary == "nova-compute" and s.state != "up"
    }
    stranded: dict[str, list[str]] = {}
    for inst in instances:
        if inst.host and short_name(inst.host) in dead:
            stranded.setdefault(inst.host, []).append(inst.uuid)
            findings.add(
                inst.uuid, host=inst.host, expected="host up", actual="host down", uuid=inst.uuid
            )
    assert not stranded, "; ".join(
        f"{len(uuids)} instance(s) on down compute host {host}: {', '.join(sorted(uuids))}"
        for host, uuids in sorted(stranded.items())
    )

"""Before planned maintenance (Ops Guide: compute node maintenance): the host is drained,
and live migration can move instances between compute hosts with alike CPUs."""

from __future__ import annotations

from collections import Counter

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.hypervisor import cpu_signature
from afterboot.domains.nova import Instance, on_host
from afterboot.reads.answers import every_answer
from afterboot.transport.connections import Connections, Remote


@pytest.mark.check(
    "MAINT-001", tier=5, roles=("compute",), phases=("pre-maintenance",), settles=False
)
@pytest.mark.reads("instances")
def test_host_drained(host: Remote, instances: list[Instance], findings: Findings) -> None:
    """The compute host about to be rebooted runs no instance (limit with --host)."""
    left = sorted(i.uuid for i in on_host(instances, host.name))
    for uuid in left:
        findings.add(uuid, host=host.name, expected="drained", actual="instance", uuid=uuid)
    assert not left, f"{len(left)} instance(s) still on {host.name}: {', '.join(left)}"


@pytest.mark.check(
    "MAINT-002",
    tier=4,
    roles=("compute",),
    phases=("pre-maintenance", "post-upgrade"),
    settles=False,
)
@pytest.mark.reads("cpu")
def test_compute_cpus_alike(connections: Connections, findings: Findings) -> None:
    """Every compute host has the CPU model and flags most compute hosts have."""
    got = every_answer(connections.with_role("compute"), cpu_signature)
    signatures = got.values
    if len(signatures) < 2:
        # a host whose CPU could not be read is not a host that is alike
        got.raise_unanswered("compute CPUs")
        pytest.skip("fewer than two compute hosts")
    common, _ = Counter(signatures.values()).most_common(1)[0]
    for name, (model, flags) in sorted(signatures.items()):
        if (model, flags) == common:
            continue
        extra, lacking = sorted(flags - common[1]), sorted(common[1] - flags)
        findings.add(
            name,
            host=name,
            expected=common[0],
            actual=model,
            model=model,
            common=common[0],
            lacks=_few(lacking),
            adds=_few(extra),
            said=f"{name}: {model}"
            + (f", lacks {' '.join(lacking[:8])}" if lacking else "")
            + (f", adds {' '.join(extra[:8])}" if extra else ""),
        )
    note = f" ({got.unanswered('not compared').what})" if got.failed else ""
    findings.assert_none(f"compute CPUs differ from the common {common[0]!r}{note}: ")
    got.raise_unanswered("compute CPUs")


def _few(flags: list[str], most: int = 8) -> str:
    """CPU flags as one line: the first ``most`` of them, and how many more."""
    more = f" (+{len(flags) - most} more)" if len(flags) > most else ""
    return " ".join(flags[:most]) + more

"""Every host of the inventory answers, with a sane clock (Table 11-1, tier 1)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.hypervisor import clock, skew
from afterboot.transport.connections import Remote

MAX_SKEW_S = 5.0


@pytest.mark.check("HOST-001", tier=1)
@pytest.mark.reads("clock")
def test_clock_in_sync(
    host: Remote, findings: Findings, record_property: Callable[[str, object], None]
) -> None:
    """The host answers and its clock is within 5 s of the operator host.

    Service liveness (``updated_at`` of nova and cinder services), tokens and swift
    replication all compare timestamps across hosts; a skewed clock after a reboot makes
    healthy services look down.
    """
    first = skew(host, clock(host)[0])
    if abs(first) <= MAX_SKEW_S:
        return
    # A skew is confirmed by a second sample before it is reported: a clock stepped
    # while the host was read (chronyd's makestep on an operator host that has just
    # booted too) shows only once.
    second = skew(host, clock(host, again=True)[0])
    record_property("clock_skew_samples", f"{first:+.1f}s, then {second:+.1f}s")
    if abs(second) > MAX_SKEW_S:
        findings.add(
            host.name,
            host=host.name,
            expected=f"within {MAX_SKEW_S:g}s",
            actual=f"{second:+.1f}s",
            skew=f"{second:+.1f}s",
            said=f"clock of {host.name} is {second:+.1f}s off the operator host "
            f"(read twice: {first:+.1f}s, then {second:+.1f}s)",
        )
    findings.assert_none()

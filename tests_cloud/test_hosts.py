"""Every host of the inventory answers, with a sane clock (Table 11-1, tier 1)."""

from __future__ import annotations

import pytest

from fixtures.connections import Remote
from fixtures.hypervisor import clock

MAX_SKEW_S = 5.0


@pytest.mark.check("HOST-001", tier=1)
@pytest.mark.reads("clock")
def test_clock_in_sync(host: Remote) -> None:
    """The host answers and its clock is within 5 s of the operator host.

    Service liveness (``updated_at`` of nova and cinder services), tokens and swift
    replication all compare timestamps across hosts; a skewed clock after a reboot makes
    healthy services look down.
    """
    remote, _ = clock(host)
    before, after = host.read_window  # the host's clock was read between these
    skew = remote - after if remote > after else remote - before if remote < before else 0.0
    assert abs(skew) <= MAX_SKEW_S, f"clock of {host.name} is {skew:+.1f}s off the operator host"

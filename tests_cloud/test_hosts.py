"""Every host of the inventory answers, with a sane clock (Table 11-1, tier 1)."""

from __future__ import annotations

import time

import pytest

from fixtures.connections import Remote

MAX_SKEW_S = 5.0


@pytest.mark.check("HOST-001", tier=1)
def test_clock_in_sync(host: Remote) -> None:
    """The host answers and its clock is within 5 s of the operator host.

    Service liveness (``updated_at`` of nova and cinder services), tokens and swift
    replication all compare timestamps across hosts; a skewed clock after a reboot makes
    healthy services look down.
    """
    before = time.time()
    remote = float(host.run("date +%s.%N").stdout.strip())
    after = time.time()
    skew = remote - (before + after) / 2
    assert abs(skew) <= MAX_SKEW_S + (after - before) / 2, (
        f"clock of {host.name} is {skew:+.1f}s off the operator host"
    )

"""The registries of reads: each domain module registers its own reads, once; importing
afterboot.domains.all makes both registries whole."""

from __future__ import annotations

import pytest

from afterboot.domains.all import CLOUD_READS, MODULES, READS
from afterboot.reads import cloudreads, hostreads


def test_every_domains_reads_are_in_the_registries_once_imported() -> None:
    # one read of each kind of module: basic, a domain's, a container's, a follower, the cloud's
    assert {"clock", "fstab", "units", "containers", "dependencies", "configs"} <= READS.keys()
    assert {"instances", "providers", "tables", "quotas", "object_read", "apis"} <= (
        CLOUD_READS.keys()
    )
    assert len(MODULES) == len(set(MODULES))


def test_a_read_registered_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="host read 'clock' registered twice"):
        hostreads.register(READS["clock"])
    with pytest.raises(ValueError, match="cloud read 'apis' registered twice"):
        cloudreads.register(CLOUD_READS["apis"])

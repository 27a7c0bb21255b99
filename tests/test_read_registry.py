"""The registries of reads: each domain module registers its own reads, once; importing
afterboot.domains.all makes both registries whole."""

from __future__ import annotations

import ast
import re
from pathlib import Path

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


def test_every_cloud_read_a_check_takes_as_an_argument_is_a_fixture() -> None:
    """A check that names a cloud read as an argument gets it from its fixture
    (``fixtures/``, ``cloud_fixture``): one without is a bug in the check on every run."""
    root = Path(__file__).resolve().parent.parent
    fixtures = set()
    for path in (root / "fixtures").glob("*.py"):
        fixtures |= set(re.findall(r'cloud_fixture\("(\w+)"\)', path.read_text()))
    wanted = set()
    for path in (root / "tests_cloud").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                wanted |= {a.arg for a in node.args.args} & CLOUD_READS.keys()
    assert "image_data" in wanted
    assert sorted(wanted - fixtures) == []

"""The deployer's inventory and the cloud agree on which hosts exist.

The guide's cases: a new compute node that must attach itself to the cloud, and a node
removed (from the service list or the rings) and never added back.
"""

from __future__ import annotations

from typing import Any

import pytest

from fixtures.inventory import Inventory


def _short(name: str) -> str:
    return name.split("@", 1)[0].split("#", 1)[0].split(".", 1)[0]


def _compare(kind: str, declared: set[str], known: set[str]) -> str | None:
    missing = sorted(declared - known)
    unknown = sorted(known - declared)
    if not missing and not unknown:
        return None
    return (
        f"{kind}: in the inventory but unknown to the cloud: {', '.join(missing) or 'none'}; "
        f"known to the cloud but not in the inventory: {', '.join(unknown) or 'none'}"
    )


@pytest.mark.check("INV-001", tier=4, roles=("compute", "block-storage"))
def test_inventory_matches_cloud(inventory: Inventory, cloud: Any) -> None:
    """Compute and volume hosts of the inventory are those the cloud knows, both ways."""
    problems = []
    if inventory.with_role("compute"):
        known = {_short(s.host) for s in cloud.compute.services(binary="nova-compute")}
        declared = {_short(h) for h in inventory.names("compute")}
        problems.append(_compare("nova-compute hosts", declared, known))
    if inventory.with_role("block-storage"):
        known = {
            _short(s.host) for s in cloud.block_storage.services() if s.binary == "cinder-volume"
        }
        declared = {_short(h) for h in inventory.names("block-storage")}
        problems.append(_compare("cinder-volume hosts", declared, known))
    found = [p for p in problems if p]
    assert not found, " | ".join(found)

"""The inventory: which hosts exist, what they are for, and how to reach them.

The pytest hooks of it; the work is in :mod:`afterboot.inventory.model`.
"""

from __future__ import annotations

import pytest

from afterboot.errors import InputError
from afterboot.inventory.load import inventory_key, load_inventories
from afterboot.inventory.model import Inventory
from afterboot.settings import settings


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    s = settings(config)
    inv: Inventory | None = None
    if s.inventory.value is not None:
        try:
            inv = load_inventories(s.inventory_paths(), s.kolla_globals.value)
        except InputError as exc:
            raise pytest.UsageError(f"inventory: {exc}") from None
        unknown = [h for h in s.hosts.value if h not in inv.hosts]
        if unknown:
            raise pytest.UsageError(
                f"--host {unknown[0]} (from {s.hosts.source}): not in inventory {inv.source} "
                f"(hosts: {', '.join(inv.hosts)})"
            )
    config.stash[inventory_key] = inv

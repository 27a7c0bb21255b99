"""The inventory: which hosts exist, what they are for, and how to reach them.

The pytest hooks of it; the work is in :mod:`afterboot.inventory.model`.
"""

from __future__ import annotations

import pytest

from afterboot.errors import InputError, shown
from afterboot.inventory.load import inventory_key, load_inventory
from afterboot.inventory.model import Inventory
from afterboot.settings import settings


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    s = settings(config)
    inv: Inventory | None = None
    if s.inventory.value is not None:
        try:
            inv = load_inventory(s.inventory.value)
        except InputError as exc:
            raise pytest.UsageError(f"inventory: {exc}") from None
        unknown = [h for h in s.hosts.value if h not in inv.hosts]
        if unknown:
            names = list(inv.hosts)
            more = f", and {len(names) - 10} more" if len(names) > 10 else ""
            raise pytest.UsageError(
                f"--host {shown(unknown[0], quoted=False)} (from {s.hosts.source}): not in "
                f"inventory {inv.source} (hosts: {', '.join(names[:10])}{more})"
            )
    config.stash[inventory_key] = inv

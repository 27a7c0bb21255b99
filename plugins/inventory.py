"""The inventory: which hosts exist, what they are for, and how to reach them.

The pytest hooks of it; the work is in :mod:`afterboot.inventory.model`.
"""

from __future__ import annotations

import pytest

from afterboot.errors import InputError
from afterboot.inventory import limits
from afterboot.inventory.deployers import KollaGlobals, read_kolla_globals
from afterboot.inventory.kollatags import kolla_tags
from afterboot.inventory.load import inventory_key, kolla_tags_key, load_inventories
from afterboot.inventory.model import Inventory
from afterboot.offline import saved_key
from afterboot.settings import settings


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    s = settings(config)
    inv: Inventory | None = None
    kolla: KollaGlobals | None = None
    try:
        if s.kolla_globals.value is not None:  # its image tags: KOLLA-002's, saved or live
            kolla = read_kolla_globals(s.kolla_globals.value)
            config.stash[kolla_tags_key] = kolla_tags(kolla)
    except InputError as exc:
        raise pytest.UsageError(f"inventory: {exc}") from None
    saved = config.stash.get(saved_key, None)
    if saved is not None:  # --from-snapshot: the saved snapshots hold their inventory
        inv = saved.inventory
    elif s.inventory.value is not None:
        try:
            inv = load_inventories(s.inventory_paths(), kolla)
        except InputError as exc:
            raise pytest.UsageError(f"inventory: {exc}") from None
    if inv is not None:
        try:
            refused = limits.problem(inv, s.roles, s.hosts, listing=s.list_hosts)
        except InputError as exc:
            raise pytest.UsageError(f"--role/--host: {exc}") from None
        if refused:
            raise pytest.UsageError(refused)
    else:
        try:
            refused = limits.role_problem(s.roles)
        except InputError as exc:
            raise pytest.UsageError(f"--role: {exc}") from None
        if refused:
            raise pytest.UsageError(f"role (from {s.roles.source}): {refused}")
    config.stash[inventory_key] = inv

"""Loading an inventory of any supported format, and this run's inventory (whole, and
limited by ``--role`` and ``--host``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from afterboot.errors import InputError
from afterboot.inputfile import InputFileError, is_regular, read_text
from afterboot.inventory import ansible
from afterboot.inventory.model import Inventory, from_afterboot_yaml
from afterboot.settings import settings
from afterboot.yamlines import LineDict, load_yaml


def load_inventory(path: str | Path) -> Inventory:
    """Load an inventory file of any supported format, or raise one-line InputError."""

    p = Path(path)
    src = str(p)
    if p.is_dir() or (is_regular(p) and os.access(p, os.X_OK)):  # a dynamic inventory
        return ansible.load(p)
    try:
        text = read_text(p)
    except InputFileError as exc:
        raise InputError(str(exc), src) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read inventory: {exc}", src) from None
    if ansible.looks_like_ini(text) or text.lstrip().startswith("{"):
        return ansible.load(p, text)
    data = load_yaml(text, src)
    if not isinstance(data, LineDict):
        raise InputError("inventory must be a YAML mapping or an Ansible INI inventory", src, 1)
    if (
        "hosts" in data
        and isinstance(data["hosts"], Mapping)
        and set(data) <= {"defaults", "hosts", "database"}
    ):
        return from_afterboot_yaml(data, src, p.parent)
    if "defaults" in data or "database" in data:
        return from_afterboot_yaml(data, src, p.parent)
    return ansible.load(p, text)


inventory_key = pytest.StashKey[Inventory | None]()


def loaded_inventory(config: pytest.Config) -> Inventory | None:
    """The whole inventory of this run (``None`` when no inventory was given)."""
    return config.stash.get(inventory_key, None)


def scoped_inventory(config: pytest.Config) -> Inventory | None:
    """The inventory limited by ``--role`` and ``--host``."""
    inv = loaded_inventory(config)
    if inv is None:
        return None
    s = settings(config)
    scoped = inv.limited(s.roles.value, s.hosts.value)
    if s.shard.value:
        mine = set(shard_hosts(inv.hosts, *s.shard.value))
        scoped = Inventory(
            {n: h for n, h in scoped.hosts.items() if n in mine}, scoped.source, scoped.database_dsn
        )
    return scoped


def shard_hosts(hosts: Iterable[str], index: int, total: int) -> list[str]:
    """Shard ``index`` of ``total`` (1-based) of the hosts: every total-th of them in name
    order, so that N shards of one inventory read each host once."""
    return [n for k, n in enumerate(sorted(hosts)) if k % total == index - 1]

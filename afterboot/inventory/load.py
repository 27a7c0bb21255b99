"""Loading an inventory of any supported format, or several as one, and this run's
inventory (whole, and limited by ``--role`` and ``--host``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pytest

from afterboot.errors import InputError
from afterboot.inputfile import InputFileError, is_regular, read_text
from afterboot.inventory import ansible
from afterboot.inventory.deployers import KollaGlobals, read_kolla_globals
from afterboot.inventory.kollatags import KollaTags
from afterboot.inventory.limits import limited
from afterboot.inventory.model import Inventory, from_afterboot_yaml, merge_inventories
from afterboot.settings import settings
from afterboot.yamlines import LineDict, load_yaml


def _afterboot(p: Path, text: str) -> Inventory | None:
    """afterboot's own YAML inventory, or None when the text is an Ansible inventory."""
    if ansible.looks_like_ini(text) or text.lstrip().startswith("{"):
        return None
    data = load_yaml(text, str(p), ansible=True, fast=True)
    if not isinstance(data, LineDict):
        raise InputError("inventory must be a YAML mapping or an Ansible INI inventory", str(p), 1)
    if (
        "hosts" in data
        and isinstance(data["hosts"], Mapping)
        and set(data) <= {"defaults", "hosts", "database"}
    ) or ("defaults" in data or "database" in data):
        return from_afterboot_yaml(data, str(p), p.parent)
    return None


def _source(p: Path) -> tuple[Inventory | None, str | None]:
    """(afterboot's inventory, None), or (None, the text of an Ansible file; None for a
    directory or a dynamic inventory)."""
    if p.is_dir() or (is_regular(p) and os.access(p, os.X_OK)):  # a dynamic inventory
        return None, None
    src = str(p)
    try:
        text = read_text(p)
    except InputFileError as exc:
        raise InputError(str(exc), src) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read inventory: {exc}", src) from None
    return _afterboot(p, text), text


def load_inventories(
    paths: Sequence[str | Path], kolla_globals: str | Path | KollaGlobals | None = None
) -> Inventory:
    """Inventory sources of any supported format as one inventory, or one-line InputError.

    Consecutive Ansible sources are read together and merged as Ansible merges them; a
    host an afterboot YAML source declares again is taken whole from the later source.
    ``kolla_globals``: kolla-ansible's ``globals.yml`` (``--kolla-globals``), or what it
    held, read already.
    """
    kolla = (
        kolla_globals
        if isinstance(kolla_globals, KollaGlobals) or kolla_globals is None
        else read_kolla_globals(kolla_globals)
    )
    parts: list[Inventory] = []
    run: list[tuple[Path, str | None]] = []
    for path in paths:
        p = Path(path)
        own, text = _source(p)
        if own is None:
            run.append((p, text))
            continue
        if run:
            parts.append(ansible.load_all(run, kolla))
            run = []
        parts.append(own)
    if run:
        parts.append(ansible.load_all(run, kolla))
    if not parts:
        raise InputError("no inventory source given")
    return parts[0] if len(parts) == 1 else merge_inventories(parts)


def load_inventory(path: str | Path, kolla_globals: str | Path | None = None) -> Inventory:
    """Load an inventory file of any supported format, or raise one-line InputError."""
    return load_inventories([path], kolla_globals)


inventory_key = pytest.StashKey[Inventory | None]()
kolla_tags_key = pytest.StashKey[KollaTags | None]()


def loaded_inventory(config: pytest.Config) -> Inventory | None:
    """The whole inventory of this run (``None`` when no inventory was given)."""
    return config.stash.get(inventory_key, None)


def loaded_kolla_tags(config: pytest.Config) -> KollaTags | None:
    """What ``--kolla-globals`` says of the deployment's image tags (None: not given)."""
    return config.stash.get(kolla_tags_key, None)


def scoped_inventory(config: pytest.Config) -> Inventory | None:
    """The inventory limited by ``--role`` and ``--host`` (Ansible's --limit patterns,
    :mod:`afterboot.inventory.limits`)."""
    inv = loaded_inventory(config)
    if inv is None:
        return None
    s = settings(config)
    scoped = limited(inv, s.roles.value, s.hosts.value)
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

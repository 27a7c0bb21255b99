"""``--write-baseline=DIR``: the configuration baseline from a known-good cloud.

Runs the collection pass for the ``configs`` read alone, on every host in scope
(``--role``/``--host``) that has a role with configuration files, writes
:mod:`afterboot.domains.baseline`'s YAML under DIR and judges nothing: an unhealthy cloud still
gets its baseline (exit status 0). A host that does not answer, or a file its service
would refuse, writes nothing: one line each, exit status 3.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from afterboot.domains.baseline import (
    BaselineError,
    HostFiles,
    RoleBaseline,
    Salt,
    build,
    existing_salt,
    live_files,
    write,
)
from afterboot.reads.cloudreads import CloudContext
from afterboot.reads.collection import collect
from afterboot.domains.config import ROLE_CONFIGS, ConfigSyntaxError
from afterboot.transport.connections import Connections
from afterboot.reads.hostreads import parts
from afterboot.inventory.load import scoped_inventory
from afterboot.reads.snapshot import Snapshot
from afterboot.settings import settings

failed_key = pytest.StashKey[bool]()


def target(config: pytest.Config) -> Path | None:
    """Where ``--write-baseline`` writes (None: it was not given)."""
    value = settings(config).write_baseline.value
    return None if value is None else Path(value)


def gather(
    snap: Snapshot, paths: dict[str, dict[str, dict[str, str]]], salt: Salt
) -> tuple[dict[str, tuple[list[str], RoleBaseline]], list[str]]:
    """Each role's hosts and baseline from the hosts' ``configs`` reads (``paths``: host
    -> role -> canonical path -> where the host keeps it); and the problems (a host
    unreachable, a file that does not parse) that must stop the writing."""
    problems: list[str] = []
    per_role: dict[str, dict[str, HostFiles]] = {}
    for name, roles in sorted(paths.items()):
        host_snap = snap.hosts.get(name)
        read = host_snap.reads.get("configs") if host_snap else None
        if host_snap is None or host_snap.unreachable is not None or read is None or read.rc:
            why = (host_snap.unreachable if host_snap else None) or (
                read.stderr.strip()[:200] if read else "no output"
            )
            problems.append(f"host {name}: configuration not read ({why})")
            continue
        texts = parts(read.stdout)
        for role, files in sorted(roles.items()):
            mapped = {p: texts[where] for p, where in files.items() if where in texts}
            try:
                per_role.setdefault(role, {})[name] = live_files(mapped, files, salt)
            except ConfigSyntaxError as exc:
                problems.append(f"host {name}: {exc} (the service would refuse it too)")
    roles_out = {role: (sorted(hosts), build(hosts)) for role, hosts in per_role.items()}
    return roles_out, problems


def no_cloud() -> CloudContext:
    raise AssertionError("the baseline reads no cloud")



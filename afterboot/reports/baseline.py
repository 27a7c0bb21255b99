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

from afterboot.collection import collect
from afterboot.domains.baseline import (
    HostFiles,
    RoleBaseline,
    Salt,
    build,
    existing_salt,
    live_files,
    write,
)
from afterboot.domains.config import ROLE_CONFIGS, ConfigSyntaxError
from afterboot.inventory.load import scoped_inventory
from afterboot.reads.cloudreads import CloudContext
from afterboot.reads.hostreads import parts
from afterboot.settings import settings
from afterboot.snapshot import Snapshot
from afterboot.transport.connections import Connections

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


def write_baseline(config: pytest.Config) -> bool | None:
    """With --write-baseline: every in-scope host's configuration read, and the reviewed
    baseline written (True: the run is done; None: it was not asked for)."""
    where = target(config)
    if where is None:
        return None
    inv = scoped_inventory(config)
    assert inv is not None  # pytest_configure refused the run without one
    paths = {
        h.name: {r: {p: h.path(p) for p in ROLE_CONFIGS[r]} for r in h.roles if r in ROLE_CONFIGS}
        for h in inv.hosts.values()
        if any(r in ROLE_CONFIGS for r in h.roles)
    }
    salt = existing_salt(where) or Salt.new()
    timeout = settings(config).timeout.value
    connections = Connections(inv, timeout)
    try:
        snap = collect(connections, {n: {"configs"} for n in paths}, set(), no_cloud, timeout)
    finally:
        connections.close()
    roles, problems = gather(snap, paths, salt)
    tr = config.pluginmanager.get_plugin("terminalreporter")
    say = tr.write_line if tr is not None else print
    if problems or not paths:
        config.stash[failed_key] = True
        for line in problems or ["no host in scope has a role with configuration files"]:
            say(f"afterboot: baseline not written: {line}")
        return True
    written = write(where, roles, salt)
    for role, (hosts, files) in sorted(roles.items()):
        say(f"afterboot: baseline {role}: {len(files)} file(s) from {', '.join(hosts)}")
    say(f"afterboot: baseline written to {where} ({len(written)} files); review it in git")
    return True

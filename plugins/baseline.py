"""``--write-baseline=DIR``: the configuration baseline from a known-good cloud.

The pytest hooks of it; the work is in :mod:`afterboot.reports.baseline`.
"""

from __future__ import annotations

import pytest

from afterboot.domains.baseline import (
    BaselineError,
    Salt,
    existing_salt,
    write,
)
from afterboot.domains.config import ROLE_CONFIGS
from afterboot.inventory.load import scoped_inventory
from afterboot.reads.collection import collect
from afterboot.reports.baseline import failed_key, gather, no_cloud
from afterboot.reports.baseline import target as write_target
from afterboot.settings import settings
from afterboot.transport.connections import Connections


def pytest_configure(config: pytest.Config) -> None:
    target = write_target(config)
    if target is None:
        return
    if target.exists() and not target.is_dir():
        raise pytest.UsageError(f"--write-baseline {target}: not a directory")
    try:
        existing_salt(target)
    except BaselineError as exc:
        raise pytest.UsageError(f"--write-baseline: {exc}") from None


def pytest_sessionstart(session: pytest.Session) -> None:
    # after every pytest_configure: the inventory is loaded by then
    if write_target(session.config) is not None and scoped_inventory(session.config) is None:
        raise pytest.UsageError("--write-baseline needs --inventory (the hosts to read)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    config = session.config
    target = write_target(config)
    if target is None:
        return None
    inv = scoped_inventory(config)
    assert inv is not None  # pytest_configure refused the run without one
    paths = {
        h.name: {r: {p: h.path(p) for p in ROLE_CONFIGS[r]} for r in h.roles if r in ROLE_CONFIGS}
        for h in inv.hosts.values()
        if any(r in ROLE_CONFIGS for r in h.roles)
    }
    salt = existing_salt(target) or Salt.new()
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
    written = write(target, roles, salt)
    for role, (hosts, files) in sorted(roles.items()):
        say(f"afterboot: baseline {role}: {len(files)} file(s) from {', '.join(hosts)}")
    say(f"afterboot: baseline written to {target} ({len(written)} files); review it in git")
    return True


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> object:
    result = yield
    if write_target(session.config) is not None and session.exitstatus in (
        pytest.ExitCode.OK,
        pytest.ExitCode.NO_TESTS_COLLECTED,
    ):
        # 0: written (whatever the checks would say); 3: a host or file could not be read
        failed = session.config.stash.get(failed_key, False)
        session.exitstatus = 3 if failed else pytest.ExitCode.OK
    return result

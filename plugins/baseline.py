"""``--write-baseline=DIR``: the configuration baseline from a known-good cloud.

Runs the collection pass for the ``configs`` read alone, on every host in scope
(``--role``/``--host``) that has a role with configuration files, writes
:mod:`fixtures.baseline`'s YAML under DIR and judges nothing: an unhealthy cloud still
gets its baseline (exit status 0). A host that does not answer, or a file its service
would refuse, writes nothing: one line each, exit status 3.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.baseline import (
    BaselineError,
    HostFiles,
    RoleBaseline,
    Salt,
    build,
    existing_salt,
    live_files,
    write,
)
from fixtures.cloudreads import CloudContext
from fixtures.collection import collect
from fixtures.config import ROLE_CONFIGS, ConfigSyntaxError
from fixtures.connections import Connections
from fixtures.hostreads import parts
from fixtures.inventory import scoped_inventory
from fixtures.snapshot import Snapshot
from plugins.options import settings

_failed_key = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("afterboot").addoption(
        "--write-baseline",
        dest="afterboot_write_baseline",
        metavar="DIR",
        default=None,
        help="read every host's service configuration (in scope of --role/--host) and write "
        "the reviewed-baseline files of --phase=config-gate to DIR; judges nothing",
    )


def _target(config: pytest.Config) -> Path | None:
    value = config.getoption("afterboot_write_baseline")
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else Path.cwd() / path


def pytest_configure(config: pytest.Config) -> None:
    target = _target(config)
    if target is None:
        return
    if target.exists() and not target.is_dir():
        raise pytest.UsageError(f"--write-baseline {target}: not a directory")
    try:
        existing_salt(target)
    except BaselineError as exc:
        raise pytest.UsageError(f"--write-baseline: {exc}") from None


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


def pytest_sessionstart(session: pytest.Session) -> None:
    # after every pytest_configure: the inventory is loaded by then
    if _target(session.config) is not None and scoped_inventory(session.config) is None:
        raise pytest.UsageError("--write-baseline needs --inventory (the hosts to read)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    config = session.config
    target = _target(config)
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
        snap = collect(connections, {n: {"configs"} for n in paths}, set(), _no_cloud, timeout)
    finally:
        connections.close()
    roles, problems = gather(snap, paths, salt)
    tr = config.pluginmanager.get_plugin("terminalreporter")
    say = tr.write_line if tr is not None else print
    if problems or not paths:
        config.stash[_failed_key] = True
        for line in problems or ["no host in scope has a role with configuration files"]:
            say(f"afterboot: baseline not written: {line}")
        return True
    written = write(target, roles, salt)
    for role, (hosts, files) in sorted(roles.items()):
        say(f"afterboot: baseline {role}: {len(files)} file(s) from {', '.join(hosts)}")
    say(f"afterboot: baseline written to {target} ({len(written)} files); review it in git")
    return True


def _no_cloud() -> CloudContext:
    raise AssertionError("the baseline reads no cloud")


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> object:
    result = yield
    if _target(session.config) is not None and session.exitstatus in (
        pytest.ExitCode.OK,
        pytest.ExitCode.NO_TESTS_COLLECTED,
    ):
        # 0: written (whatever the checks would say); 3: a host or file could not be read
        failed = session.config.stash.get(_failed_key, False)
        session.exitstatus = 3 if failed else pytest.ExitCode.OK
    return result

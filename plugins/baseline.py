"""``--write-baseline=DIR``: the configuration baseline from a known-good cloud.

The pytest hooks of it; the work is in :mod:`afterboot.reports.baseline`.
"""

from __future__ import annotations

import pytest

from afterboot.domains.baseline import (
    BaselineError,
    existing_salt,
)
from afterboot.inventory.load import scoped_inventory
from afterboot.reports.baseline import failed_key, write_baseline
from afterboot.reports.baseline import target as write_target


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
    return write_baseline(session.config)


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

"""The cloud's APIs: one openstacksdk connection per session, and swift on the same token.

The pytest hooks of it; the work is in :mod:`afterboot.reads.cloud`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from afterboot.reads.cloud import NO_CLOUD, connected, early_key, guard_loggers
from afterboot.settings import settings


def pytest_configure(config: pytest.Config) -> None:
    if any(config.getoption(name, None) for name in NO_CLOUD):
        return
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return  # the xdist controller runs no check
    s = settings(config)
    if not (s.os_cloud.value or os.environ.get("OS_AUTH_URL")):
        return  # no cloud named: the SDK's own search decides, when a check asks
    guard_loggers()  # the thread's imports add loggers while pytest's log capture walks them
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ab-token")
    config.stash[early_key] = pool.submit(connected, s.os_cloud.value, s.timeout.value)
    pool.shutdown(wait=False)


def pytest_unconfigure(config: pytest.Config) -> None:
    """A token asked for early that no check took: close its connection."""
    future = config.stash.get(early_key, None)
    if future is not None and not future.cancelled():
        del config.stash[early_key]
        try:
            conn = future.result(timeout=settings(config).timeout.value * 2)
        except Exception:  # noqa: BLE001 - nothing to close
            return
        conn.close()

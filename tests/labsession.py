"""The lab, brought up once per test session whichever directory asks first (the lab
tests, the fault matrix): a failed ``up()`` is remembered, and every later test that
needs the lab fails at once with that one cause instead of trying again."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from lab import Lab
from lab.shell import LabError

_STATE: dict[str, object] = {}


def lab_once(factory: Callable[[], Lab] = Lab, green_timeout: float = 300) -> Lab:
    """The running lab (reused once green) or a new one; a failure is final for the
    session: ``pytest.fail`` with its first line, the same for every caller."""
    __tracebackhide__ = True
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (namespaces, mounts)")
    if "failed" in _STATE:
        pytest.fail(f"the lab did not come up (once this session): {_STATE['failed']}", False)
    if "lab" not in _STATE:
        cloud = factory()
        try:
            if cloud.any_up():
                cloud.wait_green(timeout=green_timeout)
            else:
                cloud.up()
        except (LabError, OSError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            _STATE["failed"] = first
            pytest.fail(f"the lab did not come up: {first}", False)
        _STATE["lab"] = cloud
    lab = _STATE["lab"]
    assert isinstance(lab, Lab)
    return lab


def forget() -> None:
    """For the tests of this module: the next call starts afresh."""
    _STATE.clear()

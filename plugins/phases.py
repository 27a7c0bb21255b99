"""What each phase needs before it can run: one usage line (exit status 4) when it is missing.

The pytest hooks of it; the work is in :mod:`afterboot.checks.phases`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from afterboot.checks.phases import NEEDS, baseline_key
from afterboot.domains.baseline import BaselineError, load
from afterboot.settings import settings


def pytest_configure(config: pytest.Config) -> None:
    s = settings(config)
    writing = bool(getattr(config.option, "afterboot_write_baseline", None))
    if s.list_checks or s.list_hosts or writing:
        return
    phase = s.phase.value
    if phase == "pre-maintenance" and not s.hosts.value:
        raise pytest.UsageError(NEEDS[phase])
    if phase == "config-gate":
        if s.baseline.value is None:
            raise pytest.UsageError(NEEDS[phase])
        root = Path(s.baseline.value)
        try:
            if not root.is_dir():
                raise BaselineError(
                    f"{root}: no such directory (write one: pytest --write-baseline={root})"
                )
            config.stash[baseline_key] = load(root)
        except BaselineError as exc:
            raise pytest.UsageError(f"baseline (from {s.baseline.source}): {exc}") from None

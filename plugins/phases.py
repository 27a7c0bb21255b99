"""What each phase needs before it can run: one usage line (exit status 4) when it is missing.

- ``config-gate`` compares the cloud with a reviewed baseline (``--baseline``,
  ``$AFTERBOOT_BASELINE`` or ini ``afterboot_baseline``); the baseline is read here, once,
  so a malformed one stops the run before any host is read.
- ``pre-maintenance`` judges the host about to go down: ``--host`` names it.

``--list-checks``, ``--list-hosts`` and ``--write-baseline`` touch no check and need neither.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.baseline import Baseline, BaselineError, load
from plugins.options import settings

_baseline_key = pytest.StashKey[Baseline]()

NEEDS = {
    "config-gate": "--phase=config-gate needs a reviewed baseline: write one with "
    "`pytest --write-baseline=DIR` on the known-good cloud, review it in git, then pass "
    "--baseline=DIR (or $AFTERBOOT_BASELINE, ini afterboot_baseline)",
    "pre-maintenance": "--phase=pre-maintenance needs --host: the host about to go down "
    "(e.g. --host=cmp-01; its instances must be moved first)",
}


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
            config.stash[_baseline_key] = load(root)
        except BaselineError as exc:
            raise pytest.UsageError(f"baseline (from {s.baseline.source}): {exc}") from None


def gate_baseline(config: pytest.Config) -> Baseline | None:
    """The baseline of this config-gate run (None in other phases)."""
    return config.stash.get(_baseline_key, None)

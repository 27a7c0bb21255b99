"""What each phase needs before it can run: one usage line (exit status 4) when it is missing.

- ``config-gate`` compares the cloud with a reviewed baseline (``--baseline``,
  ``$AFTERBOOT_BASELINE`` or ini ``afterboot_baseline``); the baseline is read here, once,
  so a malformed one stops the run before any host is read.
- ``pre-maintenance`` judges the host about to go down: ``--host`` names it.

``--list-checks``, ``--list-hosts`` and ``--write-baseline`` touch no check and need neither.
"""

from __future__ import annotations

import pytest

from afterboot.domains.baseline import Baseline

baseline_key = pytest.StashKey[Baseline]()

NEEDS = {
    "config-gate": "--phase=config-gate needs a reviewed baseline: write one with "
    "`pytest --write-baseline=DIR` on the known-good cloud, review it in git, then pass "
    "--baseline=DIR (or $AFTERBOOT_BASELINE, ini afterboot_baseline)",
    "pre-maintenance": "--phase=pre-maintenance needs --host: the host about to go down "
    "(e.g. --host=cmp-01; its instances must be moved first)",
}


def gate_baseline(config: pytest.Config) -> Baseline | None:
    """The baseline of this config-gate run (None in other phases)."""
    return config.stash.get(baseline_key, None)

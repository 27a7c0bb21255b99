"""Evidence: on failure, the tail of the logs the procedure names, from the host involved.

The pytest hooks of it; the work is in :mod:`afterboot.verdict.evidence`.
"""

from __future__ import annotations

import pytest

from afterboot.verdict.evidence import (
    limits_key,
    load_limits,
)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[limits_key] = load_limits()

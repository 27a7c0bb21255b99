"""Evidence: on failure, the tail of the logs the procedure names, from the host involved: the pytest hooks over :mod:`afterboot.verdict.evidence`."""

from __future__ import annotations

import pytest

from afterboot.verdict.evidence import (
    limits_key,
    load_limits,
)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[limits_key] = load_limits()



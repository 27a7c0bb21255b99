"""The fault matrix needs the lab: brought up once per session (or reused if running)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def lab() -> Any:
    from lab.lab import Lab

    cloud = Lab()
    cloud.up()
    return cloud

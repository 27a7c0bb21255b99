"""The procedure book of a run: ours merged with the site's, loaded once, shared by all.

The pytest hooks of it; the work is in :mod:`afterboot.procedures.book`.
"""

from __future__ import annotations

import pytest

from afterboot.procedures.book import procedures


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    procedures(config)

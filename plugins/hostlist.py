"""``--list-hosts``: the inventory as afterboot resolved it, one line per host; runs nothing.

The pytest hooks of it; the work is in :mod:`afterboot.inventory.hostlist`.
"""

from __future__ import annotations

import pytest
from _pytest.config import create_terminal_writer

from afterboot.inventory.hostlist import format_hosts, header
from afterboot.inventory.load import loaded_inventory, scoped_inventory


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    # Like pytest's own --markers: configure, print, unconfigure. No session starts, so
    # nothing is collected, no xdist worker is started and no check can run.
    if not config.getoption("afterboot_list_hosts"):
        return None
    config._do_configure()
    try:
        if loaded_inventory(config) is None:
            raise pytest.UsageError("--list-hosts needs an inventory (--inventory=FILE)")
        inventory = scoped_inventory(config)  # --role and --host limit it, as for a run
        assert inventory is not None
        tw = create_terminal_writer(config)
        for line in [header(inventory), *format_hosts(inventory)]:
            tw.line(line)
    finally:
        config._ensure_unconfigure()
    return 0

"""Per-host checks: a check asking for ``host`` runs once per inventory host of its roles.

The pytest hooks of it; the work is in :mod:`afterboot.checks.hosts`.
"""

from __future__ import annotations

import pytest

from afterboot.checks.catalog import CheckError, parse_marker
from afterboot.checks.hosts import MANAGED_BY_HELP
from afterboot.inventory.load import scoped_inventory


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MANAGED_BY_HELP)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "host" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("check")
    roles: tuple[str, ...] = ()
    if marker is not None:
        try:
            roles = parse_marker(
                marker, metafunc.definition.nodeid, metafunc.function.__doc__
            ).roles
        except CheckError:
            roles = ()  # identity plugin reports the bad marker at collection end
    inv = scoped_inventory(metafunc.config)
    names = inv.names(*roles) if inv is not None else []
    managed = metafunc.definition.get_closest_marker("managed_by")
    managers = tuple(str(m) for m in managed.args) if managed is not None else ()
    if managers and inv is not None:  # a check of one kind of host (kolla's containers)
        names = [n for n in names if inv.hosts[n].service_manager in managers]
    if names:
        metafunc.parametrize("host", names, ids=names, indirect=True, scope="function")
        return
    if inv is None:
        reason = "no inventory given (--inventory, $AFTERBOOT_INVENTORY)"
    elif managers:
        reason = f"the inventory declares no host whose service_manager is {' or '.join(managers)}"
    else:
        reason = f"the inventory declares no host with role {' or '.join(roles) or 'any'}"
    metafunc.parametrize(
        "host",
        [pytest.param(None, id="no-host", marks=pytest.mark.skip(reason=reason))],
        indirect=True,
    )

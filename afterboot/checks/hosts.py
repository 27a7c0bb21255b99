"""Per-host checks: a check asking for ``host`` runs once per inventory host of its roles.

Parameter ids are the plain hostnames (``test_x[compute-03]``), so report history
(Allure's historyId, JUnit names) survives a change of transport or address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from afterboot.transport.connections import Connections

# the session's connection pool (fixtures/connections.py), for what reads a host outside a
# check's own fixtures: the evidence of a cloud-wide check, a root's log on another host
pool_key: pytest.StashKey[Connections] = pytest.StashKey()

MANAGED_BY_HELP = (
    "managed_by(*managers): run only on hosts whose inventory service_manager is one of "
    "these (systemd, container, process)"
)


def host_of(item: pytest.Item) -> str:
    """The plain hostname a per-host check was parametrized with ("" if cloud-wide)."""
    callspec = getattr(item, "callspec", None)
    value = callspec.params.get("host") if callspec is not None else None
    return str(value) if value else ""

"""``--list-hosts``: the inventory as afterboot resolved it, one line per host; runs nothing.

For a site's first run (is every host there, with the right address and roles?) and for
reviewing what an Ansible inventory turned into. Touches no host: it only prints what
:mod:`fixtures.inventory` loaded at configure time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.inventory import HostSpec, Inventory, loaded_inventory
from plugins.options import settings

_DEFAULT_PORTS = {"ssh": "22", "paramiko": "22"}


def _port(host: HostSpec) -> str:
    if host.port is not None:
        return str(host.port)
    return _DEFAULT_PORTS.get(host.connection, "-")


def _origins(host: HostSpec, source: str) -> str:
    """Where each setting came from; the inventory's own path is shortened to its name."""
    shown = []
    for field in ("host", "address", "port", "user", "connection", "roles", "become", "ssh_args"):
        where = host.origins.get(field)
        if where and where != "default":
            shown.append(f"{field}: {where.replace(source, Path(source).name)}")
    return "; ".join(shown) or "-"


def format_hosts(inventory: Inventory) -> list[str]:
    """Aligned lines: name, address, port, user, connection, roles, then where each came from."""
    table = [("HOST", "ADDRESS", "PORT", "USER", "CONNECTION", "ROLES", "FROM")]
    for name in sorted(inventory.hosts):
        h = inventory.hosts[name]
        connection = h.connection + (" become" if h.become else "")
        table.append(
            (
                name,
                h.address or name,
                _port(h),
                h.user or "-",
                connection,
                ",".join(h.roles) or "-",
                _origins(h, inventory.source),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(6)]
    return [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:6])) + "  " + row[6]
        for row in table
    ]


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if settings(config).list_hosts and loaded_inventory(config) is None:
        raise pytest.UsageError("--list-hosts needs an inventory (--inventory=FILE)")


def pytest_runtestloop(session: pytest.Session) -> bool | None:
    config = session.config
    inventory = loaded_inventory(config)
    if not settings(config).list_hosts or inventory is None:
        return None
    tr = config.pluginmanager.get_plugin("terminalreporter")
    for line in [f"inventory: {inventory.source}", *format_hosts(inventory)]:
        if tr is not None:
            tr.write_line(line)
        else:
            print(line)
    return True


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # Listing is the whole run: no collected checks is not an error here.
    if settings(session.config).list_hosts and session.exitstatus in (
        pytest.ExitCode.NO_TESTS_COLLECTED,
    ):
        session.exitstatus = pytest.ExitCode.OK

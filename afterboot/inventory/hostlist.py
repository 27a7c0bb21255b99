"""``--list-hosts``: the inventory as afterboot resolved it, one line per host; runs nothing.

For a site's first run (is every host there, with the right address and roles?) and for
reviewing what an Ansible inventory turned into. Touches no host: it only prints what
:mod:`afterboot.inventory.model` loaded at configure time.
"""

from __future__ import annotations

from pathlib import Path

from afterboot.inventory.model import HostSpec, Inventory

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

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


def _manager(host: HostSpec) -> str:
    """How the host's services are found: systemd, process, or container (and its engine)."""
    if host.service_manager == "container":
        return f"container/{host.container_engine or 'auto'}"
    return host.service_manager


def _details(host: HostSpec) -> str:
    """What else reaches the host or reads it: key, jump host, ssh_config, moved paths."""
    shown = [
        f"{name}={value}"
        for name, value in (("key", host.key), ("jump", host.jump), ("ssh_config", host.ssh_config))
        if value
    ]
    if host.paths:
        shown.append("paths=" + ",".join(f"{k}->{v}" for k, v in sorted(host.paths.items())))
    return " ".join(shown) or "-"


def format_hosts(inventory: Inventory) -> list[str]:
    """Aligned lines: name, address, port, user, connection, manager, roles, details (key,
    jump, ssh_config, paths), then where each setting came from."""
    table = [
        ("HOST", "ADDRESS", "PORT", "USER", "CONNECTION", "MANAGER", "ROLES", "DETAILS", "FROM")
    ]
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
                _manager(h),
                ",".join(h.roles) or "-",
                _details(h),
                _origins(h, inventory.source),
            )
        )
    last = len(table[0]) - 1
    widths = [max(len(row[i]) for row in table) for i in range(last)]
    return [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:last])) + "  " + row[last]
        for row in table
    ]

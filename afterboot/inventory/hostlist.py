"""``--list-hosts``: the inventory as afterboot resolved it, one line per host; runs nothing.

For a site's first run (is every host there, with the right address and roles?) and for
reviewing what an Ansible inventory turned into. Touches no host: it only prints what
:mod:`afterboot.inventory.model` loaded at configure time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from afterboot.inventory.model import HostSpec, Inventory

_DEFAULT_PORTS = {"ssh": "22", "paramiko": "22"}


def _port(host: HostSpec) -> str:
    if host.port is not None:
        return str(host.port)
    return _DEFAULT_PORTS.get(host.connection, "-")


_SHOWN_ORIGINS = (
    "host", "address", "port", "user", "connection", "roles", "manager", "engine", "become",
    "ssh_args", "jump",
)  # fmt: skip


def _origins(host: HostSpec, source: str) -> str:
    """Where each setting came from; the inventory's own paths are shortened to their names."""
    shown = []
    for field in _SHOWN_ORIGINS:
        where = host.origins.get(field)
        if where and where != "default":
            for path in sorted(source.split(","), key=len, reverse=True):
                where = where.replace(path, Path(path).name)
            shown.append(f"{field}: {where}")
    return "; ".join(shown) or "-"


def _manager(host: HostSpec) -> str:
    """How the host's services are found: systemd, process, or container (and its engine);
    "-" for a host that is not checked."""
    if not host.roles:
        return "-"
    if host.service_manager == "container":
        return f"container/{host.container_engine or 'auto'}"
    return host.service_manager


def _paths(paths: Mapping[str, str]) -> str:
    """The moved paths, the logs of every project in one directory shown once
    (``/var/log/*->/var/log/kolla/*``)."""
    logs = {k: v for k, v in paths.items() if re.fullmatch(r"/var/log/[^/]+", k)}
    roots = {v.rsplit("/", 1)[0] for k, v in logs.items() if v.endswith("/" + k.rsplit("/")[-1])}
    shown = {k: v for k, v in paths.items() if len(logs) < 3 or len(roots) != 1 or k not in logs}
    items = [f"{k}->{v}" for k, v in sorted(shown.items())]
    if len(shown) < len(paths):
        items.append(f"/var/log/*->{roots.pop()}/*")
    return ",".join(items)


def _details(host: HostSpec) -> str:
    """What else reaches the host or reads it: key, jump host, ssh_config, moved paths; a
    host without a role: that it is not checked, and why."""
    shown = [] if host.roles else [f"not-checked({host.note or 'no role'})"]
    shown += [
        f"{name}={value}"
        for name, value in (("key", host.key), ("jump", host.jump), ("ssh_config", host.ssh_config))
        if value
    ]
    if host.paths:
        shown.append("paths=" + _paths(host.paths))
    return " ".join(shown) or "-"


def header(inventory: Inventory) -> str:
    """The inventory's sources, and whose layout afterboot read it as."""
    layout = {"": "", "ansible": " (Ansible groups: no deployment tool's layout)"}.get(
        inventory.layout, f" ({inventory.layout}'s layout)"
    )
    return f"inventory: {inventory.source}{layout}"


def format_hosts(inventory: Inventory) -> list[str]:
    """Aligned lines: name, address, port, user, connection, manager, roles, details (a host
    without a role: not checked, and why; key, jump, ssh_config, paths), then where each
    setting came from."""
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

"""systemd's answer about units, parsed: ``systemctl show`` blocks by unit, and its
timestamps; the ``units`` read of the services' units."""

from __future__ import annotations

import re
import shlex

from afterboot.domains.servicemap import host_services, service
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import HostRead, register, unexpected
from afterboot.transport.connections import Remote

_PROPERTY = re.compile(r"^[A-Z][A-Za-z0-9]*=")


def unit_blocks(text: str, host: str = "", read: str = "units") -> dict[str, dict[str, str]]:
    """The ``units`` read (``systemctl show``) as each unit's properties, by its ``Id``;
    a line that is no ``Property=value`` is could-not-run naming it."""
    blocks = {}
    for block in text.split("\n\n"):
        props = {}
        for line in block.splitlines():
            if not line.strip():
                continue
            if not _PROPERTY.match(line):
                raise unexpected(host, read, line)
            key, _, value = line.partition("=")
            props[key] = value
        if props.get("Id"):
            blocks[props["Id"]] = props
    return blocks


def units(remote: Remote) -> dict[str, dict[str, str]]:
    """The host's ``units`` read by unit: ``systemctl show`` answers a block for every
    unit it is asked about (one it does not know too), so no block is no answer."""
    blocks = unit_blocks(remote.read("units").stdout, remote.name)
    if not blocks:
        raise CouldNotRun(f"host {remote.name}: read 'units'", "no unit in its answer")
    return blocks


def unix_time(stamp: str) -> float | None:
    """``@1795929869`` (``systemctl show --timestamp=unix``) as a number; else None."""
    try:
        return float(stamp[1:]) if stamp.startswith("@") else None
    except ValueError:
        return None


# -- the reads this module judges (afterboot.reads.hostreads' registry) --------------


def _unit_names(spec: HostSpec) -> list[str]:

    return [unit for name in host_services(spec) for unit in service(name).units]


def _units(spec: HostSpec) -> str:
    units = " ".join(shlex.quote(u) for u in _unit_names(spec)) or "ssh"
    props = (
        "--property=Id,ActiveState,SubState,NRestarts,ExecMainStartTimestamp,UnitFileState "
        "--no-pager"
    )
    # unix timestamps where systemd has them (248+), its local format otherwise
    return (
        f"systemctl show --timestamp=unix {props} {units} 2>/dev/null || "
        f"systemctl show {props} {units}"
    )


register(
    HostRead("units", "systemd units of the host's services", _units),
)

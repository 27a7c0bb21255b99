"""Whether each service that runs now starts again at the next boot.

A service started by hand, or whose unit an operator disabled or masked while debugging,
runs today and passes every running check; it is gone after the next reboot, which is the
event this suite exists for. The host's own service manager says it: systemd's
``UnitFileState`` of the service's units (kolla's ``kolla-<name>-container`` unit on
podman), docker's restart policy of a kolla container where no unit starts it. A host
whose services are plain processes (``service_manager: process``) has nothing to read.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from afterboot.domains.containers import ContainerRead
from afterboot.domains.containers import parse as parse_containers
from afterboot.domains.servicemap import Service, service
from afterboot.domains.units import units
from afterboot.errors import CouldNotRun
from afterboot.transport.connections import Remote

# UnitFileState values that start (or are pulled in) at boot: enabled, or started by
# another unit (static, indirect, generated, alias). Others do not: disabled, masked,
# and the *-runtime ones, which are gone at the reboot ("enabled-runtime", "linked-runtime").
BOOTS = frozenset({"enabled", "static", "indirect", "generated", "alias", "linked"})
# docker starts these again with the engine (kolla: unless-stopped)
RESTARTS = frozenset({"always", "unless-stopped"})


@dataclass(frozen=True)
class NotAtBoot:
    """A service that runs now but would not start at the next boot, and why."""

    service: str
    what: str  # the unit or container
    state: str  # its UnitFileState, or "restart policy <name>"
    kind: str  # "unit" or "container"
    engine: str = ""  # a container's: docker or podman


def _units_of(blocks: dict[str, dict[str, str]], svc: Service) -> list[dict[str, str]]:
    return [
        props
        for pattern in svc.units
        for uid, props in blocks.items()
        if fnmatch.fnmatch(uid, pattern if "." in pattern else pattern + ".service")
    ]


def _judge_units(blocks: dict[str, dict[str, str]], svc: Service, host: str) -> list[NotAtBoot]:
    found = []
    for props in _units_of(blocks, svc):
        if props.get("ActiveState") not in ("active", "activating", "reloading"):
            continue  # not running: the running checks say so
        state = props.get("UnitFileState")
        if state is None:
            raise CouldNotRun(f"host {host}: systemctl show gave no UnitFileState", props["Id"])
        if state not in BOOTS:
            found.append(NotAtBoot(svc.name, props["Id"], state or "no unit file", "unit"))
    return found


def _judge_containers(read: ContainerRead, svc: Service, host: str) -> list[NotAtBoot]:
    if not svc.containers:  # the host's own (d-bus): its unit
        return _judge_units(read.units, svc, host)
    found = []
    for name, c in read.containers.items():
        if c.status != "running" or not any(
            fnmatch.fnmatch(name, w.lstrip("/")) for w in svc.containers
        ):
            continue
        unit = read.units.get(c.unit)
        if unit is not None:  # podman: kolla's unit starts it at boot
            state = unit.get("UnitFileState")
            if state is None:
                raise CouldNotRun(f"host {host}: systemctl show gave no UnitFileState", c.unit)
            if state not in BOOTS:
                found.append(NotAtBoot(svc.name, c.unit, state or "no unit file", "unit"))
        elif not c.restart_policy:
            raise CouldNotRun(f"host {host}: no restart policy read for {name}", "")
        elif c.restart_policy not in RESTARTS:
            state = f"restart policy {c.restart_policy}"
            found.append(NotAtBoot(svc.name, name, state, "container", read.engine or "docker"))
    return found


def not_at_boot(remote: Remote, names: list[str]) -> list[NotAtBoot]:
    """The running services of ``names`` that would not start at the next boot (a host
    whose services are plain processes has no boot configuration to read: could not run)."""
    manager = remote.spec.service_manager
    if manager == "systemd":
        blocks = units(remote)
        return [b for n in names for b in _judge_units(blocks, service(n), remote.name)]
    if manager == "container":
        read = parse_containers(remote.read("containers").stdout, remote.name)
        return [b for n in names for b in _judge_containers(read, service(n), remote.name)]
    raise CouldNotRun(
        f"host {remote.name}: service_manager {manager} has no boot configuration", ""
    )

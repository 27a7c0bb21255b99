"""Service records that claim ``up``: are they, and have they reported since boot?

nova and cinder mark a service ``up`` while its last report is younger than
``service_down_time`` (60 s by default), so a service whose host just rebooted still
shows ``up`` from before the reboot. A record counts as alive only when its state is
``up`` and its last report is newer than its host's boot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from afterboot.domains.discovery import short_name
from afterboot.domains.hypervisor import boot_time
from afterboot.errors import CouldNotRun
from afterboot.reads.answers import Answers, every_answer
from afterboot.transport.connections import Connections


def report_time(value: Any) -> float | None:
    """A service's ``updated_at`` as UNIX time (the APIs give naive UTC)."""
    if not value:
        return None
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def host_boot_times(connections: Connections, hosts: set[str]) -> Answers[float]:
    """Boot time of each named host the inventory knows, and why each that did not answer
    could not tell (by short name)."""
    inv = connections.inventory
    if inv is None:
        return Answers()
    mine = [connections[h] for h in inv.hosts if short_name(h) in hosts]
    got = every_answer(mine, boot_time)
    return Answers(
        {short_name(n): t for n, t in got.values.items()},
        {short_name(n): e for n, e in got.failed.items()},
    )


@dataclass
class Liveness:
    dead: list[str] = field(default_factory=list)  # a sentence per dead or stale record
    records: list[Any] = field(default_factory=list)  # the record of each sentence of dead
    # host -> why its boot time could not be read, for records that claim "up" there: a
    # stale "up" cannot be told from a live one (could-not-run, never alive)
    unjudged: dict[str, CouldNotRun] = field(default_factory=dict)


def dead_services(
    records: list[Any], binary: str, connections: Connections, host: str | None = None
) -> Liveness:
    """Every ``binary`` record (of ``host``, if given) that is down or stale, and the
    hosts of ``up`` records whose boot time could not be read."""
    mine = [
        r
        for r in records
        if r.binary == binary and (host is None or short_name(r.host) == short_name(host))
    ]
    boots = host_boot_times(connections, {short_name(r.host) for r in mine})
    found = Liveness()
    for r in mine:
        last = report_time(r.updated_at)
        booted = boots.values.get(short_name(r.host))
        if r.state != "up":
            found.dead.append(f"{binary} on {r.host} is {r.state} (last report {r.updated_at})")
            found.records.append(r)
        elif booted is not None and (last is None or last < booted):
            since = datetime.fromtimestamp(booted, UTC).strftime("%H:%M:%SZ")
            found.dead.append(
                f"{binary} on {r.host} shows up but has not reported since the host "
                f"booted at {since} (last report {r.updated_at})"
            )
            found.records.append(r)
        elif booted is None and short_name(r.host) in boots.failed:
            found.unjudged[r.host] = boots.failed[short_name(r.host)]
    return found

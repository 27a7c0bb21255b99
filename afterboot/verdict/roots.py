"""A failure's root in another service: the cause its evidence names lies elsewhere.

Plain module. When a log signature's cause lies in another service (its ``root``:
nova-compute logging neutron's 500, the proxy logging an object server's 507), the
failure names that service and the hosts that run it as its root: the ``root`` property,
the entry's ``root`` and ``root_hosts``, a ``Root:`` line in its procedure and the
summary's first line. The root's own log on its host is read as evidence
(:func:`afterboot.verdict.evidence.gather_evidence`), and on the controller a failure whose
root's own check failed too is blocked by that check (:func:`blocked_by_root`), so the
verdict starts where the failure starts.

The root's host is the inventory host at the address the line names; where the line names
none the inventory does (a load balancer's VIP), the hosts that run the root's service.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from afterboot.domains.dependencies import hostport
from afterboot.domains.servicemap import SERVICES, host_services
from afterboot.inventory.model import Inventory
from afterboot.procedures.dependencies import describe
from afterboot.procedures.signatures import Cause, Root, load_roots
from afterboot.verdict.entries import FAILED, Entry

ROOT_PROPERTY = "root"  # report property: {"service", "hosts", "line"} as JSON


@dataclass(frozen=True)
class Located:
    """A cause's root: the service and the hosts of the inventory that run it."""

    root: Root
    hosts: tuple[str, ...]
    line: str  # the line of the failing service's log that named it

    def label(self) -> str:
        return describe(self.root.service, list(self.hosts)) if self.hosts else self.root.service

    def to_json(self) -> str:
        return json.dumps({"service": self.root.service, "hosts": self.hosts, "line": self.line})


@cache
def roots() -> dict[str, Root]:
    """Our roots (``_signatures.yaml``), read once."""
    return load_roots()


def address(root_at: str) -> tuple[str, int | None]:
    """The host and port of an address a log line names: a URL
    (``http://10.0.0.11:9696/v2.0/ports``) or swift's ``10.77.0.32:6200/d2``."""
    if not root_at:
        return "", None
    if "://" in root_at:
        try:
            parts = urlsplit(root_at)
            return parts.hostname or "", parts.port
        except ValueError:
            return "", None
    found = hostport(root_at.split("/", 1)[0], 0)  # swift's node: host:port/device
    return (found[0], found[1] or None) if found else ("", None)


def resolve(cause: Cause, known: Mapping[str, Root]) -> Root | None:
    """The root a cause names: by name, else by the port of the address it names."""
    named = known.get(cause.root) or known.get(cause.root.lower())  # swift's "Account"
    if named is not None:
        return named
    _, port = address(cause.root_at)
    if port is None:
        return None
    return next((r for r in known.values() if port in r.ports), None)


def _shared() -> frozenset[str]:
    """Logs several services write (syslog, swift's storage.log): no one's own."""
    seen = [log for r in roots().values() for log in r.logs]
    return frozenset(log for log in seen if seen.count(log) > 1)


def _own(cause: Cause, root: Root) -> bool:
    """Whether the log that named the cause is the root's own (a service's own 5xx); a log
    several services write says nothing of whose line it is."""
    source = cause.source.split(" on ", 1)[0]
    names = (root.service, *SERVICES[root.service].containers) if root.service in SERVICES else ()
    own_log = source in root.logs and source not in _shared()
    return own_log or any(n and n in source for n in names)


def root_hosts(root: Root, root_at: str, inventory: Inventory | None) -> tuple[str, ...]:
    """The inventory hosts the root is on: the one at the address the line names, else
    every host whose roles run the root's service."""
    if inventory is None:
        return ()
    at, _ = address(root_at)
    if at:
        named = [h.name for h in inventory.hosts.values() if at in (h.address, h.name)]
        if named:
            return tuple(named)
    return tuple(h.name for h in inventory.hosts.values() if root.service in host_services(h))


def locate(cause: Cause | None, inventory: Inventory | None) -> Located | None:
    """The root of a cause that lies in another service, with its hosts (``None``: the
    cause is the failing service's own)."""
    if cause is None:
        return None
    root = resolve(cause, roots())
    if root is None or _own(cause, root):
        return None
    return Located(root, root_hosts(root, cause.root_at, inventory), cause.line)


def from_property(value: str) -> tuple[str, tuple[str, ...]]:
    """``(service, hosts)`` of a ``root`` property; ``("", ())`` for one that is not."""
    try:
        data = json.loads(value)
        return str(data["service"]), tuple(str(h) for h in data.get("hosts") or ())
    except (ValueError, TypeError, KeyError):
        return "", ()


def root_label(entry: Entry) -> str:
    """``"neutron-server on controller"`` for an entry with a root, ``""`` without."""
    return describe(entry.root, list(entry.root_hosts)) if entry.root else ""


def _names_root(entry: Entry, root: str) -> bool:
    """Whether a failed check's findings say the root's service is not running, or its
    API does not answer (a service that runs but would not start at the next boot, SVC-011,
    is no cause of what happens now)."""
    api = next((r.api for r in roots().values() if r.service == root), "")
    return any(
        (f.extra.get("service") == root and f.expected == "running")
        or (api and f.extra.get("api") == api)
        for f in entry.findings
    )


def blocked_by_root(entry: Entry, entries: Sequence[Entry]) -> str:
    """The failed check of the root's own service that blocks ``entry`` (``"SVC-004 on
    controller"``), ``""`` when the root's checks passed or ``entry`` names no root."""
    if entry.outcome != FAILED or not entry.root:
        return ""
    mine = {str(f.extra.get("service", "")) for f in entry.findings} - {""}
    for other in entries:
        if other is entry or other.outcome != FAILED or not _names_root(other, entry.root):
            continue
        if other.root and other.root in mine:
            continue  # each names the other: no order to tell, both stay failed
        hosts = [h for h in (other.host,) if h and (not entry.root_hosts or h in entry.root_hosts)]
        if entry.root_hosts and other.host and not hosts:
            continue  # the root's service on another host failed, not this root
        return describe(other.check, hosts)
    return ""

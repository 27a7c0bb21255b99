"""Before and after: what changed between two snapshot documents (``reports/snapshot.json``).

Pure functions, no pytest: each takes the document of the run before the maintenance and
the one of now, and returns a :class:`Comparison`: the differences (offender, what it was,
what it is), the reads a side lacks, and what could not be compared now (a host that did
not answer). Only stable facts are compared: never a pid, an age, a time of reading, a
message count or the order of a listing, so two snapshots of the same healthy cloud give
no difference.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from afterboot.domains.ceph import status_text
from afterboot.domains.containers import parse as parse_containers
from afterboot.domains.discovery import short_name
from afterboot.domains.hypervisor import POWER_NAMES, RUNNING, parse_domains
from afterboot.domains.servicemap import SERVICES
from afterboot.domains.services import process_state, process_table
from afterboot.domains.storage import parse_checksums, parse_mounts
from afterboot.domains.units import unit_blocks
from afterboot.reads.hostreads import PART

Doc = Mapping[str, Any]
BEFORE, NOW = "before", "now"


@dataclass(frozen=True)
class Difference:
    """One offender: what it was before the maintenance and what it is now."""

    subject: str  # uuid, service, file, device, node ...
    host: str
    before: str
    now: str
    said: str  # its sentence in the failure message
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Comparison:
    differences: list[Difference] = field(default_factory=list)
    lacking: list[tuple[str, str]] = field(default_factory=list)  # (side, read) not held
    unknown: list[str] = field(default_factory=list)  # what could not be compared now

    def add(self, subject: str, host: str, before: str, now: str, said: str, **extra: str) -> None:
        self.differences.append(Difference(subject, host, before, now, said, extra))

    def lack(self, side: str, read: str) -> None:
        if (side, read) not in self.lacking:
            self.lacking.append((side, read))


# -- reading a document ----------------------------------------------------------------


def hosts(doc: Doc) -> Mapping[str, Any]:
    got = doc.get("hosts")
    return got if isinstance(got, Mapping) else {}


def host_data(doc: Doc, host: str, read: str) -> Any:
    """A host read's kept data, or None (not read, failed, host unreachable)."""
    entry = hosts(doc).get(host)
    if not isinstance(entry, Mapping) or entry.get("unreachable"):
        return None
    got = (entry.get("reads") or {}).get(read)
    if not isinstance(got, Mapping) or got.get("rc") != 0:
        return None
    return got.get("data")


def cloud_data(doc: Doc, name: str) -> Any:
    """A cloud read's data, or None (not read, or it failed)."""
    got = (doc.get("cloud") or {}).get(name)
    if not isinstance(got, Mapping) or "error" in got or "data" not in got:
        return None
    return got["data"]


def _holds(doc: Doc, host: str, read: str) -> bool:
    """The document has an entry for the read on the host, whatever its outcome."""
    entry = hosts(doc).get(host)
    return isinstance(entry, Mapping) and read in (entry.get("reads") or {})


def _why_not(doc: Doc, host: str, read: str) -> str:
    entry = hosts(doc).get(host) or {}
    if entry.get("unreachable"):
        return f"{host} could not be read now ({entry['unreachable']})"
    got = (entry.get("reads") or {}).get(read)
    if not isinstance(got, Mapping):
        return f"{host}: {read} was not read now"
    detail = str(got.get("stderr") or "").strip().splitlines()
    return f"{host}: {read} failed now (exit {got.get('rc')}{': ' + detail[-1] if detail else ''})"


def pairs(
    before: Doc, after: Doc, read: str, result: Comparison, parse: Callable[[Any], Any]
) -> Iterable[tuple[str, Any, Any]]:
    """``(host, before, now)`` for each host both documents hold ``read`` of, parsed.

    Only hosts both documents hold are compared: the snapshot before holds the hosts its
    run named (``--host``), this run those in its scope. One that did not answer now is
    recorded as unknown; a read that no common host has on one side while some has it on
    the other is recorded as lacking."""
    common = [h for h in sorted(hosts(before)) if h in hosts(after)]
    in_scope = [h for h in common if host_data(before, h, read) is not None]
    if not in_scope:
        if any(
            host_data(after, h, read) is not None and not hosts(before)[h].get("unreachable")
            for h in common
        ):
            result.lack(BEFORE, read)
        return
    if not any(_holds(after, h, read) for h in in_scope) and not all(
        (hosts(after).get(h) or {}).get("unreachable") for h in in_scope
    ):
        result.lack(NOW, read)
        return
    for host in in_scope:
        now = host_data(after, host, read)
        if now is None:
            result.unknown.append(_why_not(after, host, read))
            continue
        yield host, parse(host_data(before, host, read)), parse(now)


def shared_pair(
    before: Doc, after: Doc, read: str, result: Comparison, parse: Callable[[Any], Any]
) -> Iterable[tuple[str, Any, Any]]:
    """A cluster's own state (a shared read: one host of its role reads it for them all):
    ``(host, before, now)`` once, from the first host each document holds it of, the
    hosts not necessarily the same; recorded as lacking or unknown as in :func:`pairs`."""
    was, now = _first_data(before, read), _first_data(after, read)
    if was is None:
        if now is not None:
            result.lack(BEFORE, read)
        return
    if now is None:
        asked = [
            h for h in sorted(hosts(after)) if _holds(after, h, read) or _holds(before, h, read)
        ]
        if asked:
            result.unknown.append("; ".join(_why_not(after, h, read) for h in asked))
        else:
            result.lack(NOW, read)
        return
    yield now[0], parse(was[1]), parse(now[1])


def _first_data(doc: Doc, read: str) -> tuple[str, Any] | None:
    for host in sorted(hosts(doc)):
        data = host_data(doc, host, read)
        if data is not None:
            return host, data
    return None


def cloud_pair(before: Doc, after: Doc, name: str, result: Comparison) -> tuple[Any, Any] | None:
    """Both documents' data of a cloud read, or None (recorded as lacking or unknown)."""
    was, now = cloud_data(before, name), cloud_data(after, name)
    if was is None:
        if now is not None:
            result.lack(BEFORE, name)
        return None
    if now is None:
        got = (after.get("cloud") or {}).get(name)
        if isinstance(got, Mapping) and "error" in got:
            result.unknown.append(f"{name} could not be read now ({got['error']})")
        else:
            result.lack(NOW, name)
        return None
    return was, now


# -- DIFF-001: instances ---------------------------------------------------------------


def _power(value: Any) -> str:
    try:
        return POWER_NAMES.get(int(value), str(value))
    except (TypeError, ValueError):
        return str(value)


def _count(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _domains(data: Any) -> dict[str, str]:
    """uuid -> "state (reason)" of a ``domains`` read."""
    return {
        d.uuid: d.state + (f" ({d.reason})" if d.reason else "")
        for d in parse_domains(str(data or ""))
    }


def instances(before: Doc, after: Doc) -> Comparison:
    """Every instance that was active and running before (nova's records, and its libvirt
    domain where the host was read) is still active and running, on the same host."""
    result = Comparison()
    got = cloud_pair(before, after, "instances", result)
    domains_now: dict[str, dict[str, str]] = {}
    running_before: dict[str, str] = {}  # uuid -> host whose domain ran
    for host, was, now in pairs(before, after, "domains", result, _domains):
        domains_now[host] = now
        running_before.update({u: host for u, s in was.items() if s.startswith("running")})
    if got is None:
        return result
    was_rows = {str(i.get("uuid")): i for i in got[0] if isinstance(i, Mapping)}
    now_rows = {str(i.get("uuid")): i for i in got[1] if isinstance(i, Mapping)}
    for uuid, old in sorted(was_rows.items()):
        ran = (
            old.get("vm_state") == "active"
            and old.get("power_state") == RUNNING
            and not old.get("task_state")
        )
        if not ran:
            continue
        host = str(old.get("host") or "")
        before_text = f"active, running on {host}"
        new = now_rows.get(uuid)
        if new is None:
            result.add(
                uuid, host, before_text, "gone (deleted)",
                f"{uuid} ran on {host} before, now it is gone (deleted)",
                uuid=uuid, was_host=host,
            )  # fmt: skip
            continue
        now_host = str(new.get("host") or "")
        changes = []
        if now_host != host:
            changes.append(f"on {now_host or 'no host'}")
        if new.get("vm_state") != "active":
            changes.append(str(new.get("vm_state")))
        if new.get("power_state") != RUNNING:
            changes.append(f"power state {_power(new.get('power_state'))}")
        dom = domains_now.get(now_host, {}).get(uuid) if now_host in domains_now else None
        if now_host in domains_now and not (dom or "").startswith("running"):
            changes.append(f"libvirt: {dom or 'no domain'}")
        if changes:
            now_text = ", ".join(changes)
            result.add(
                uuid, host, before_text, now_text,
                f"{uuid} ran on {host} before, now {now_text}",
                uuid=uuid, was_host=host, now_host=now_host,
                action="start" if new.get("vm_state") == "stopped" else "reboot --hard",
            )  # fmt: skip
    # domains that ran before although nova did not say so (nova's power sync is late)
    for uuid, host in sorted(running_before.items()):
        if uuid in was_rows or host not in domains_now:
            continue
        dom = domains_now[host].get(uuid)
        if not (dom or "").startswith("running"):
            result.add(
                uuid, host, "libvirt: running", f"libvirt: {dom or 'no domain'}",
                f"domain {uuid} ran on {host} before, now {dom or 'no domain'}",
                uuid=uuid, was_host=host, action="reboot --hard",
            )  # fmt: skip
    return result


# -- DIFF-002: volume attachments -----------------------------------------------------


def _attachments(volumes: Any) -> dict[tuple[str, str], dict[str, str]]:
    """(volume, server) -> device, host and the volume's status, of every attachment."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    for vol in volumes if isinstance(volumes, list) else []:
        if not isinstance(vol, Mapping):
            continue
        for att in vol.get("attachments") or []:
            if not isinstance(att, Mapping) or not att.get("server_id"):
                continue
            found[(str(vol.get("id")), str(att["server_id"]))] = {
                "device": str(att.get("device") or ""),
                "host": short_name(str(att.get("host_name") or "")),
                "status": str(vol.get("status") or ""),
                "name": str(vol.get("name") or ""),
            }
    return found


def attachments(before: Doc, after: Doc) -> Comparison:
    """Every volume attached before is still attached to the same server as the same
    device, and still in use."""
    result = Comparison()
    got = cloud_pair(before, after, "volumes", result)
    if got is None:
        return result
    was, now = _attachments(got[0]), _attachments(got[1])
    volumes_now = {str(v.get("id")): v for v in got[1] if isinstance(v, Mapping)}
    for (volume, server), old in sorted(was.items()):
        new = now.get((volume, server))
        before_text = f"attached to {server} as {old['device']}"
        if new is None:
            vol = volumes_now.get(volume)
            now_text = (
                "gone (deleted)"
                if vol is None
                else f"not attached to {server} (status {vol.get('status')})"
            )
        elif new["device"] != old["device"] or new["status"] != "in-use":
            now_text = f"attached as {new['device']}, status {new['status']}"
        else:
            continue
        result.add(
            volume, old["host"], before_text, now_text,
            f"volume {old['name'] or volume} was {before_text}, now {now_text}",
            volume=volume, server=server, device=old["device"],
        )  # fmt: skip
    return result


# -- DIFF-003: service records -----------------------------------------------------------


def _records(rows: Any, alive: Callable[[Mapping[str, Any]], str]) -> dict[tuple[str, str], str]:
    """(binary, short host) -> "" when up and enabled, else what it is."""
    found: dict[tuple[str, str], str] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, Mapping) and row.get("binary"):
            found[(str(row["binary"]), short_name(str(row.get("host") or "")))] = alive(row)
    return found


def _nova_cinder(row: Mapping[str, Any]) -> str:
    said = []
    if row.get("state") != "up":
        said.append(str(row.get("state") or "no state"))
    if row.get("status") != "enabled":
        reason = row.get("disabled_reason")
        said.append(str(row.get("status")) + (f" ({reason})" if reason else ""))
    return ", ".join(said)


def _agent(row: Mapping[str, Any]) -> str:
    said = []
    if not row.get("is_alive"):
        said.append("not alive")
    if not row.get("is_admin_state_up"):
        said.append("administratively down")
    return ", ".join(said)


def service_records(before: Doc, after: Doc) -> Comparison:
    """Every nova, cinder and neutron service that was up and enabled is so now."""
    result = Comparison()
    for read, alive in (
        ("compute_services", _nova_cinder),
        ("volume_services", _nova_cinder),
        ("network_agents", _agent),
    ):
        got = cloud_pair(before, after, read, result)
        if got is None:
            continue
        was, now = _records(got[0], alive), _records(got[1], alive)
        for (binary, host), problem in sorted(was.items()):
            if problem:
                continue
            now_problem = now.get((binary, host), "no record")
            if now_problem:
                result.add(
                    binary, host, "up, enabled", now_problem,
                    f"{binary} on {host} was up and enabled, now {now_problem}",
                    service=binary,
                )  # fmt: skip
    return result


# -- DIFF-004: what each host ran ------------------------------------------------------


def _containers(data: Any) -> dict[str, str]:
    """container -> "running", "running unhealthy", "exited" ..."""
    return {
        name: c.status + (" unhealthy" if c.health == "unhealthy" else "")
        for name, c in parse_containers(str(data or "")).containers.items()
    }


def _units(data: Any) -> dict[str, str]:
    states = {}
    for uid, props in unit_blocks(str(data or "")).items():
        restarting = props.get("SubState") == "auto-restart"
        states[uid] = str(props.get("ActiveState")) + (" (auto-restart)" if restarting else "")
    return states


def _process_services(data: Any) -> dict[str, str]:
    """Every known service's state in a process table: "running" or why not."""
    table = process_table(str(data or ""))
    states = {name: process_state(table, name) for name in SERVICES}
    return {n: "running" if s.running else s.detail for n, s in states.items()}


def host_services(before: Doc, after: Doc) -> Comparison:
    """Every service (process, systemd unit or container) a host ran before runs now."""
    result = Comparison()
    readers: tuple[tuple[str, Callable[[Any], dict[str, str]], str, str], ...] = (
        ("units", _units, "active", "unit"),
        ("containers", _containers, "running", "container"),
        ("processes", _process_services, "running", "service"),
    )
    for read, parse, ok, what in readers:
        for host, was, now in pairs(before, after, read, result, parse):
            for name, state in sorted(was.items()):
                if state != ok:
                    continue
                now_state = now.get(name, "absent")
                if now_state != ok:
                    result.add(
                        name, host, state, now_state,
                        f"{what} {name} ran on {host} before, now {now_state}",
                        service=name,
                    )  # fmt: skip
    # a host read through units or containers also has its processes read by other
    # checks: the service manager answers for it
    return result


# -- DIFF-005: storage ----------------------------------------------------------------

# Filesystems that hold data (a device, a network share); the rest (proc, tmpfs, overlay
# of containers, nsfs ...) come and go with processes.
DATA_FS = frozenset(
    {
        "xfs", "ext2", "ext3", "ext4", "btrfs", "zfs", "nfs", "nfs4", "cifs", "ceph",
        "glusterfs", "fuse.glusterfs", "fuse.ceph-fuse", "ocfs2", "gfs2",
    }
)  # fmt: skip
# Where containers, pods and namespaces mount things of their own.
TRANSIENT_MOUNTS = ("/var/lib/docker/", "/var/lib/containers/", "/var/lib/kubelet/", "/run/")


def _data_mounts(data: Any) -> dict[str, str]:
    """Mount point -> filesystem type, of the mounts that hold data (the device's name,
    ``/dev/loop3`` or ``/dev/sdb``, may change with a reboot: not compared)."""
    return {
        target: m.fstype
        for target, m in parse_mounts(str(data or "")).items()
        if m.fstype in DATA_FS and not target.startswith(TRANSIENT_MOUNTS) and target != "/"
    }


def _device_reads(data: Any) -> dict[str, str]:
    """Swift device -> "readable" or the error reading its root (``swift_device_health``;
    the kernel's log lines after the listing are not compared)."""
    listing = str(data or "").partition(f"{PART} kernel")[0]
    found: dict[str, str] = {}
    for line in listing.splitlines():
        fields = line.split("\t")
        if fields[0] == "ok" and len(fields) >= 2:
            found[fields[1]] = "readable"
        elif fields[0] == "unreadable" and len(fields) >= 4:
            found[fields[1]] = fields[3].rsplit(": ", 1)[-1] or "unreadable"
    return found


HEALTH = {"HEALTH_OK": 0, "HEALTH_WARN": 1, "HEALTH_ERR": 2}


def ceph_status(data: Any) -> dict[str, Any]:
    """Health and OSD counts of ``ceph -s -f json`` (either osdmap layout; a detail part
    the read holds after it is not this)."""
    try:
        status = json.loads(status_text(str(data or "{}")))
    except json.JSONDecodeError:
        return {}
    if not isinstance(status, Mapping):
        return {}
    osdmap = status.get("osdmap") or {}
    osdmap = osdmap.get("osdmap", osdmap) if isinstance(osdmap, Mapping) else {}
    return {
        "health": str((status.get("health") or {}).get("status", "")),
        **{k: _count(osdmap.get(k)) for k in ("num_osds", "num_up_osds", "num_in_osds")},
    }


def storage(before: Doc, after: Doc) -> Comparison:
    """Swift's rings and swift.conf have the checksums they had, every data mount is still
    mounted, every swift device readable before still is, and Ceph is as healthy with as
    many OSDs up and in as before."""
    result = Comparison()
    for host, was, now in pairs(before, after, "swift_checksums", result, parse_checksums):
        for name, digest in sorted(was.items()):
            got = now.get(name, "missing")
            if got != digest:
                result.add(
                    name, host, f"md5 {digest}", f"md5 {got}",
                    f"{name} on {host} changed (md5 {digest[:8]} before, now {got[:8]})",
                    file=name,
                )  # fmt: skip
    for host, was, now in pairs(before, after, "mounts", result, _data_mounts):
        for target, fstype in sorted(was.items()):
            if now.get(target) != fstype:
                got = f"mounted as {now[target]}" if target in now else "not mounted"
                result.add(
                    target, host, f"mounted ({fstype})", got,
                    f"{target} on {host} was mounted ({fstype}), now {got}",
                    mount=target, device=target.rstrip("/").rsplit("/", 1)[-1],
                )  # fmt: skip
    for host, was, now in pairs(before, after, "swift_device_health", result, _device_reads):
        for device, state in sorted(was.items()):
            got = now.get(device, "absent")
            if state == "readable" and got != "readable":
                result.add(
                    device, host, "readable", got,
                    f"swift device {device} on {host} was readable, now {got}",
                    device=device,
                )  # fmt: skip
    for host, was, now in shared_pair(before, after, "ceph_status", result, ceph_status):
        if not was:
            continue
        if HEALTH.get(now.get("health", ""), 3) > HEALTH.get(was["health"], 3):
            result.add(
                "ceph health", host, was["health"], now.get("health") or "unreadable",
                f"Ceph was {was['health']} before, now {now.get('health') or 'unreadable'}",
            )  # fmt: skip
        for key, label in (("num_up_osds", "OSDs up"), ("num_in_osds", "OSDs in")):
            if now.get(key, 0) < was[key]:
                result.add(
                    label, host, str(was[key]), str(now.get(key, 0)),
                    f"Ceph had {was[key]} {label} before, now {now.get(key, 0)}",
                )  # fmt: skip
    return result


# -- DIFF-006: cluster membership -------------------------------------------------------

# oslo.messaging's per-process queues (reply_<uuid>, <topic>_fanout_<uuid>) get a new name
# at every restart of their service: only named queues are compared.
_PER_PROCESS = re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-", re.IGNORECASE)


def _queue_consumers(data: Any) -> dict[str, bool]:
    """queue -> has consumers, of a ``rabbitmq_root_queues`` read (vhost /)."""
    found: dict[str, bool] = {}
    for line in str(data or "").splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1].isdigit() and not _PER_PROCESS.search(fields[0]):
            found[fields[0]] = int(fields[1]) > 0
    return found


def _running_nodes(data: Any) -> set[str]:
    try:
        status = json.loads(str(data or "{}"))
    except json.JSONDecodeError:
        return set()
    nodes = status.get("running_nodes", []) if isinstance(status, Mapping) else []
    return {str(n) for n in nodes}


def membership(before: Doc, after: Doc) -> Comparison:
    """Every RabbitMQ node that ran still runs in the cluster, every named queue that had
    consumers has some, and a Galera cluster is as large and Primary as before."""
    result = Comparison()
    nodes_was: set[str] = set()
    nodes_now: set[str] = set()
    seen: dict[str, str] = {}
    for host, was, now in pairs(before, after, "rabbitmq_status", result, _running_nodes):
        nodes_was |= was
        nodes_now |= now
        for node in was:
            seen.setdefault(node, host)
    for node in sorted(nodes_was - nodes_now):
        where = node.partition("@")[2] or seen[node]
        result.add(
            node, short_name(where), "running in the cluster", "not running",
            f"RabbitMQ node {node} ran in the cluster before, now it does not",
            node=node,
        )  # fmt: skip
    consumed_now: dict[str, bool] = {}
    consumed_was: dict[str, tuple[str, bool]] = {}
    for host, was, now in pairs(before, after, "rabbitmq_root_queues", result, _queue_consumers):
        for queue, has in was.items():
            if has or queue not in consumed_was:
                consumed_was[queue] = (host, has)
        for queue, has in now.items():
            consumed_now[queue] = consumed_now.get(queue, False) or has
    for queue, (host, had) in sorted(consumed_was.items()):
        if had and not consumed_now.get(queue, False):
            got = "no consumer" if queue in consumed_now else "no such queue"
            result.add(
                queue, host, "consumed", got,
                f"queue {queue} had consumers before, now {got}",
                queue=queue,
            )  # fmt: skip
    galera = cloud_pair(before, after, "galera", result)
    if galera is not None and galera[0]:
        old: Mapping[str, Any] = galera[0]
        new: Mapping[str, Any] = galera[1] or {}
        size_was, size_now = (
            _count(old.get("wsrep_cluster_size")),
            _count(new.get("wsrep_cluster_size")),
        )
        if size_now < size_was:
            result.add(
                "galera", "", f"{size_was} nodes", f"{size_now} nodes",
                f"Galera had {size_was} nodes before, now {size_now}",
            )  # fmt: skip
        if old.get("wsrep_cluster_status") == "Primary" != new.get("wsrep_cluster_status"):
            status = new.get("wsrep_cluster_status") or "not Galera"
            result.add(
                "galera status", "", "Primary", status,
                f"Galera was Primary before, now {status}",
            )  # fmt: skip
    return result


# -- DIFF-007: configuration ------------------------------------------------------------


def config_checksum(options: Mapping[str, str]) -> str:
    """A file's checksum over its effective options (secrets as their digests)."""
    text = json.dumps(dict(sorted(options.items())), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _names(options: Iterable[str], limit: int = 8) -> str:
    names = sorted(options)
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def configs(before: Doc, after: Doc) -> Comparison:
    """Every configuration file of every host has the options it had (the names of those
    that changed are named, never their values)."""
    result = Comparison()

    def files(data: Any) -> dict[str, dict[str, str]]:
        return {str(k): dict(v) for k, v in (data or {}).items() if isinstance(v, Mapping)}

    for host, was, now in pairs(before, after, "configs", result, files):
        for path, options in sorted(was.items()):
            new = now.get(path)
            if new is None:
                result.add(
                    path, host, f"checksum {config_checksum(options)}", "absent",
                    f"{path} on {host} is gone", file=path,
                )  # fmt: skip
                continue
            if new == options:
                continue
            changed = [k for k in options.keys() & new.keys() if options[k] != new[k]]
            said = []
            for label, names in (
                ("changed", changed),
                ("added", new.keys() - options.keys()),
                ("removed", options.keys() - new.keys()),
            ):
                if names:
                    said.append(f"{label} {_names(names)}")
            result.add(
                path, host, f"checksum {config_checksum(options)}",
                f"checksum {config_checksum(new)}",
                f"{path} on {host}: {'; '.join(said)}",
                file=path, options=_names([*changed, *(new.keys() ^ options.keys())], 50),
            )  # fmt: skip
        for path in sorted(now.keys() - was.keys()):
            result.add(
                path, host, "absent", f"checksum {config_checksum(now[path])}",
                f"{path} on {host} is new", file=path,
            )  # fmt: skip
    return result


COMPARISONS: dict[str, Callable[[Doc, Doc], Comparison]] = {
    "DIFF-001": instances,
    "DIFF-002": attachments,
    "DIFF-003": service_records,
    "DIFF-004": host_services,
    "DIFF-005": storage,
    "DIFF-006": membership,
    "DIFF-007": configs,
}


def compare(before: Doc, after: Doc) -> dict[str, Comparison]:
    """Every before/after comparison of two documents, by check ID."""
    return {check: diff(before, after) for check, diff in COMPARISONS.items()}

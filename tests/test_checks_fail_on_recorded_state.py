"""No false green: every check fails on the state its fault leaves, and names its offender.

The base is the lab's snapshot, recorded healthy (``tests/data/snapshots``). Each case
changes what the cloud and the hosts answered exactly as the real fault changes it, in the
format the real tool or API prints (a Galera node's ``SHOW STATUS``, ``rabbitmqctl``'s
queue table, a recon cache file, ``podman inspect``'s line, a service record's
``updated_at`` against the host's boot), judges the copy with the real checks
(``--from-snapshot``, ``--no-blocking``: a dependent is judged on its own) and asserts, in
``summary.json``: the check failed (not broken, not could-not-run), its message says what
is wrong, its remediation gives the procedure's steps and commands, its findings name the
offender (host, uuid, queue, container ...) and nothing the fault left alone.

A check that fails but keeps no finding naming its offender is marked ``unnamed`` (its
remediation cannot say where to act: ``ssh <host>``); one that passes on its fault's
state is marked ``passes``. Both are strict: fixing the check makes the case pass.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from afterboot.reads.cloudreads import version_document
from afterboot.reads.hostreads import PART, parts

from .conftest import PLACEMENT_DATA
from .test_from_snapshot import Doc, judge, write

NOVA_TIME = "%Y-%m-%dT%H:%M:%S.000000"  # nova's and cinder's updated_at (naive UTC)
# the lab's instances on compute1
FIRST = "1be42712-e6d2-48a0-8028-1de5638b5793"  # instance-00000001
ATTACHED = "b020b895-6abb-47b8-91f9-2e722c289c03"  # instance-00000003, ab-vol-compute1 attached
ATTACHED_VOLUME = "3d48640c-7ad3-47c6-aa58-9ed0fb116295"  # ab-vol-compute1, as /dev/vdb
UNKNOWN_VOLUME = "bad0c0de-aaaa-4bbb-8ccc-000000000004"  # an image no volume of cinder's names


# -- the recorded state, read and changed -------------------------------------------------


def _read(doc: Doc, host: str, name: str) -> dict[str, Any]:
    read: dict[str, Any] = doc["hosts"][host]["reads"][name]
    return read


def _clock(doc: Doc, host: str) -> tuple[float, float]:
    """The host's clock when it was read, and when it booted (the ``clock`` read)."""
    now, uptime = (float(x) for x in _read(doc, host, "clock")["data"].split())
    return now, now - uptime


def _stamp(t: float) -> str:
    return time.strftime(NOVA_TIME, time.gmtime(t))


def _record(doc: Doc, read: str, binary: str, host: str) -> dict[str, Any]:
    """One service record of the ``compute_services`` or ``volume_services`` read."""
    rows = doc["cloud"][read]["data"]
    found: dict[str, Any] = next(r for r in rows if r["binary"] == binary and r["host"] == host)
    return found


def _role(doc: Doc, host: str, role: str) -> None:
    doc["inventory"][host]["roles"].append(role)


def _rewrite_parts(read: dict[str, Any], change: Callable[[str, str], str]) -> None:
    """A read of ``@@afterboot-part <name>`` sections, each section's text changed."""
    got = parts(read["data"])
    read["data"] = "".join(f"{PART} {name}\n{change(name, text)}\n" for name, text in got.items())


def _queues(doc: Doc, change: Callable[[list[str]], list[str]]) -> None:
    """``rabbitmqctl list_queues name consumers messages_ready`` of vhost ``/`` changed,
    in both reads that print it (``/`` alone, and every vhost's)."""
    root = _read(doc, "controller", "rabbitmq_root_queues")
    root["data"] = "\n".join(change(root["data"].splitlines())) + "\n"
    _rewrite_parts(
        _read(doc, "controller", "rabbitmq_queues"),
        lambda _, text: "\n".join(change(text.splitlines())),
    )


PS_LINE = "{pid:>7} {ppid:>7} {etimes:>7} {stat:<4} {args}"
LAB_VENV = "/work/main/lab/.state/venv/bin"


def _processes(doc: Doc, host: str, *args: str) -> None:
    """Processes started with the host's services (the ``processes`` read's columns: pid,
    ppid, elapsed seconds, state, command line), before the reading shell's own."""
    read = _read(doc, host, "processes")
    lines = read["data"].splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[-1:] == ["root@notty"])
    etimes = int(lines[at - 1].split()[2])
    new = [
        PS_LINE.format(pid=700 + n, ppid=1, etimes=etimes, stat="Ss", args=a)
        for n, a in enumerate(args)
    ]
    read["data"] = "\n".join(lines[:at] + new + lines[at:]) + "\n"


def _agent(name: str) -> str:
    """A neutron agent's command line, as the lab starts its services."""
    kind = name.removeprefix("neutron-")
    return (
        f"{LAB_VENV}/python3.11 {LAB_VENV}/{name} --config-file /etc/neutron/neutron.conf "
        f"--config-file /etc/neutron/{kind.replace('-', '_')}.ini "
        f"--log-file /var/log/neutron/{kind}.log"
    )


def _unit(unit: str, active: str, sub: str, file_state: str, started: float | None) -> str:
    """A unit as ``systemctl show --timestamp=unix`` prints the properties read."""
    return (
        f"NRestarts=0\nExecMainStartTimestamp={f'@{int(started)}' if started else ''}\n"
        f"Id={unit}\nActiveState={active}\nSubState={sub}\nUnitFileState={file_state}\n"
    )


def _units(doc: Doc, host: str, *blocks: str) -> None:
    read = _read(doc, host, "units")
    read["data"] = read["data"].rstrip("\n") + "\n\n" + "\n".join(blocks)


# Galera as the database nova uses reports it: SHOW GLOBAL STATUS LIKE 'wsrep_%' (the
# keys the ``galera`` read keeps), SHOW GLOBAL VARIABLES LIKE 'wsrep_on'.
GALERA_WHOLE = {
    "wsrep_cluster_size": "3",
    "wsrep_cluster_status": "Primary",
    "wsrep_local_state_comment": "Synced",
    "wsrep_ready": "ON",
}


def _galera_lab(doc: Doc) -> None:
    """The lab as a three-node Galera cluster (the controller and both storage hosts),
    whole: the base DB-003's fault is made in."""
    for host in ("storage1", "storage2"):
        _role(doc, host, "database")
    doc["cloud"]["galera"]["data"] = dict(GALERA_WHOLE)
    doc["cloud"]["database_server"]["data"].update(wsrep_on="ON", wsrep_ready="ON")


def _network_lab(doc: Doc) -> None:
    """The controller also the network host, its three agents running (a process host)."""
    _role(doc, "controller", "network")
    _processes(doc, "controller", *(_agent(a) for a in AGENTS))


AGENTS = ("neutron-dhcp-agent", "neutron-l3-agent", "neutron-metadata-agent")


def _dashboard_lab(doc: Doc, apache: str = "active") -> None:
    """storage2 (a systemd host) also the dashboard host: apache2 its unit, httpd none."""
    _role(doc, "storage2", "dashboard")
    _, boot = _clock(doc, "storage2")
    sub = {"active": "running", "failed": "failed"}[apache]
    _units(
        doc,
        "storage2",
        _unit("apache2.service", apache, sub, "enabled", boot + 2),
        _unit("httpd.service", "inactive", "dead", "", None),
    )


# -- the faults -----------------------------------------------------------------------------


def api_root_without_version_document(doc: Doc) -> None:
    """glance's port answers a web server's default page instead of its version document
    (a package upgrade enabled the distribution's default site on it)."""
    said = doc["cloud"]["apis"]["data"]["endpoints"]["value"]
    said["image http://10.77.0.10:9292"] = version_document(
        200, "<html><body><h1>It works!</h1></body></html>"
    )


def proxy_answers_503(doc: Doc) -> None:
    """swift stat: the proxy reaches no account server (HEAD answered 503), as
    swiftclient's ClientException says it."""
    answer = doc["cloud"]["apis"]["data"]["object-store"]
    answer.update(
        value=None,
        error="ClientException: Account HEAD failed: "
        "http://10.77.0.10:8080/v1/AUTH_138e48c3f61d403da3c7637a40425158 503 Service Unavailable",
    )


def object_read_damaged(doc: Doc) -> None:
    """A replica serves damaged bytes: what the proxy streamed hashes to another MD5 than
    the etag it sent (and the listing's hash)."""
    read = doc["cloud"]["object_read"]["data"]
    read["md5"] = hashlib.md5(b"damaged replica", usedforsecurity=False).hexdigest()


def compute_up_row_lingers(doc: Doc) -> None:
    """compute1 rebooted 40 s before it was read; nova-compute did not reconnect: its
    record still shows ``up`` from its last report before the reboot (service_down_time
    is 60 s)."""
    now, _ = _clock(doc, "compute1")
    boot = now - 40
    _read(doc, "compute1", "clock")["data"] = f"{now:.9f} 40.00\n"
    row = _record(doc, "compute_services", "nova-compute", "compute1")
    row.update(state="up", updated_at=_stamp(boot - 15))


def conductor_silent_since_boot(doc: Doc) -> None:
    """nova-conductor has not reported since the controller booted: ``down``."""
    _, boot = _clock(doc, "controller")
    row = _record(doc, "compute_services", "nova-conductor", "controller")
    row.update(state="down", updated_at=_stamp(boot - 10))


def cinder_volume_silent_since_boot(doc: Doc) -> None:
    """cinder-volume of storage1's ceph backend has not reported since storage1 booted."""
    _, boot = _clock(doc, "storage1")
    row = _record(doc, "volume_services", "cinder-volume", "storage1@ceph")
    row.update(state="down", updated_at=_stamp(boot - 5))


def decommissioned_backend_record_left(doc: Doc) -> None:
    """storage3, removed from the cloud for good two days ago, left its cinder-volume
    record behind (a copy of storage1's, its last report then)."""
    read_at = doc["cloud"]["volume_services"]["read_at"]
    row = copy.deepcopy(_record(doc, "volume_services", "cinder-volume", "storage1@ceph"))
    row.update(host="storage3@ceph", state="down", updated_at=_stamp(read_at - 2 * 86400))
    doc["cloud"]["volume_services"]["data"].append(row)


def cinder_scheduler_stopped_reporting(doc: Doc) -> None:
    """cinder-scheduler reported after the boot, then stopped (150 s before the read)."""
    read_at = doc["cloud"]["volume_services"]["read_at"]
    row = _record(doc, "volume_services", "cinder-scheduler", "controller")
    row.update(state="down", updated_at=_stamp(read_at - 150))


def removed_compute_still_registered(doc: Doc) -> None:
    """compute3 was taken out of the inventory, its service and hypervisor never deleted."""
    services = doc["cloud"]["compute_services"]["data"]
    old = _stamp(doc["cloud"]["compute_services"]["read_at"] - 9 * 86400)
    row = copy.deepcopy(_record(doc, "compute_services", "nova-compute", "compute2"))
    row.update(
        host="compute3", id="5a0c6b1e-3f7d-4c52-9a1e-0b7f2d8e4c31", state="down", updated_at=old
    )
    services.append(row)
    hypervisors = doc["cloud"]["hypervisors"]["data"]
    hyp = copy.deepcopy(hypervisors[-1])
    hyp.update(name="compute3", id="c3d2e1f0-8a7b-4c6d-9e5f-4a3b2c1d0e9f", state="down")
    hypervisors.append(hyp)


RABBIT_DOWN = (
    "Error: unable to perform an operation on node 'rabbit@storage1'. Please see diagnostics "
    "information and suggestions below.\n\nDIAGNOSTICS\n===========\n\nattempted to contact: "
    "[rabbit@storage1]\n\nrabbit@storage1:\n  * connected to epmd (port 4369) on storage1\n"
    "  * epmd reports: node 'rabbit' not running at all\n                  no other nodes on "
    "storage1\n  * suggestion: start the node\n"
)


def rabbit_node_out_of_cluster(doc: Doc) -> None:
    """A two-node RabbitMQ cluster (controller, storage1) whose node on storage1 stopped:
    the cluster status the controller's node gives (through the management API, in
    ``rabbitmqctl cluster_status --formatter json``'s format), and rabbitmqctl's answer
    on storage1 (exit 69)."""
    _role(doc, "storage1", "messaging")
    read = _read(doc, "controller", "rabbitmq_status")
    status = json.loads(read["data"])
    status["disk_nodes"] = ["rabbit@controller", "rabbit@storage1"]
    read["data"] = json.dumps(status)
    for name in ("rabbitmq_status", "rabbitmq_vhosts", "rabbitmq_root_queues"):
        doc["hosts"]["storage1"]["reads"][name] = {"rc": 69, "data": "", "stderr": RABBIT_DOWN}


def conductor_queue_without_consumer(doc: Doc) -> None:
    """nova-conductor lost its connection: its queues stay, without consumers (its fanout
    queue, auto-delete, is gone), and requests wait in them."""

    def change(lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            name = line.split("\t")[0]
            if name.startswith("conductor_fanout_"):
                continue
            if name == "conductor":
                line = "conductor\t0\t3"
            elif name == "conductor.controller":
                line = "conductor.controller\t0\t0"
            out.append(line)
        return out

    _queues(doc, change)


def notifications_pile_up(doc: Doc) -> None:
    """Notifications are emitted and nothing consumes them (no telemetry): notifications.info
    holds 48213 ready messages."""
    _queues(doc, lambda lines: sorted([*lines, "notifications.info\t0\t48213"]))


# The lab's broker as ``rabbitmqctl -q list_users`` and ``list_permissions -p /`` (with
# --no-table-headers) print it: the services' user openstack (the lab's administrator)
# and RabbitMQ's guest, each with every permission on /. Made here, in the format
# rabbitmqctl's table formatter prints: the recording predates the read (MQ-005).
LAB_USERS = "guest\t[administrator]\nopenstack\t[administrator]\n"
LAB_ROOT_PERMISSIONS = "guest\t.*\t.*\t.*\nopenstack\t.*\t.*\t.*\n"


def _permissions_lab(doc: Doc, root: str = LAB_ROOT_PERMISSIONS) -> None:
    text = f"{PART} users\n{LAB_USERS}{PART} vhost /\n{root}"
    doc["hosts"]["controller"]["reads"]["rabbitmq_permissions"] = {"rc": 0, "data": text}


def openstack_permissions_cleared(doc: Doc) -> None:
    """The services' user lost its permissions on / (``clear_permissions``, or a broker
    restored without the deployment's definitions): it still exists, guest keeps its."""
    _permissions_lab(doc, "guest\t.*\t.*\t.*\n")


# The lab's broker's own health checks as the management API answered them (RabbitMQ 3.10.8,
# in the read's format: tests/test_rabbitmq_api.py records both sources); the recording
# predates the read (MQ-006).
LAB_LISTENERS = [
    {"interface": "10.77.0.10", "port": 5672, "protocol": "amqp", "tls": False},
    {"interface": "10.77.0.10", "port": 25672, "protocol": "clustering", "tls": False},
    {"interface": "::", "port": 15672, "protocol": "http", "tls": False},
]


def _health_lab(doc: Doc, down: tuple[str, ...] = (), amqp: int = 5672) -> None:
    listeners = [
        dict(lis, port=amqp) if lis["protocol"] == "amqp" else lis for lis in LAB_LISTENERS
    ]
    state = {"down_vhosts": list(down), "listeners": listeners, "node": "rabbit@controller"}
    verdict = {"5672": "ok" if amqp == 5672 else "failed"}
    text = (
        f"{PART} state\n{json.dumps(state)}\n{PART} ports\n{json.dumps(verdict)}\n"
        f"{PART} certificates\nexit 0\n{json.dumps({'result': 'ok'})}\n"
    )
    reads = doc["hosts"]["controller"]["reads"]
    via = "via the management API at http://10.77.0.10:15672"
    reads["rabbitmq_health"] = {"rc": 0, "data": text, "stderr": via}
    reads["addresses"] = {"rc": 0, "data": "10.77.0.10 192.168.122.10 \n"}


def rabbit_vhost_down(doc: Doc) -> None:
    """RabbitMQ's vhost / down on the controller's node (its message store failed): the
    virtual-hosts check answers 503 naming it; the broker and its listeners run."""
    _health_lab(doc, down=("/",))


def rabbit_listener_moved(doc: Doc) -> None:
    """The controller's broker listens for AMQP on 5673, the services' transport_url name
    5672: the port-listener check of 5672 answers 503."""
    _health_lab(doc, amqp=5673)


def backing_file_gone(doc: Doc) -> None:
    """The _base image of an instance's disk on compute1 was removed (qemu-img names a
    backing file that no longer exists: the read prints the disk and it)."""
    server = next(s for s in doc["cloud"]["servers"]["data"] if s["id"] == FIRST)
    cached = hashlib.sha1(server["image"]["id"].encode(), usedforsecurity=False).hexdigest()
    _read(doc, "compute1", "backing_files")["data"] = (
        f"/var/lib/nova/instances/{FIRST}/disk\t/var/lib/nova/instances/_base/{cached}\n"
    )


COMPUTE1_RP = "0af81acf-6cff-446b-80ae-fa5c26ec4623"
COMPUTE2_RP = "9f94f23c-2b7d-4de3-954c-b2b679e54771"
LEAKED = "0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a"


def _nova_manage(doc: Doc, read: str, stdout: str, rc: int) -> None:
    """The controller's nova-manage answering ``read`` with a file of
    tests/data/placementaudit (its lines for the lab) and status ``rc``."""
    text = (PLACEMENT_DATA / stdout).read_text() + f"{PART} exit {rc}\n"
    _read(doc, "controller", read)["data"] = text


def allocations_lost(doc: Doc) -> None:
    """instance-00000001's allocations deleted through placement's API (``openstack
    resource provider allocation delete``): no longer a consumer on compute1's provider,
    whose usage drops by its flavor; nova's heal_allocations dry run would create them."""
    rp = doc["cloud"]["providers"]["data"]["compute1"]
    for rc, n in rp["allocations"].pop(FIRST).items():
        rp["used"][rc] -= n
    _nova_manage(doc, "placement_heal_dry_run", "heal-lost.stdout", 4)


def allocation_leaked(doc: Doc) -> None:
    """An instance deleted while compute2's nova-compute was away left its allocation on
    compute2's provider: nova's audit finds no instance or migration for it (exit 3)."""
    rp = doc["cloud"]["providers"]["data"]["compute2"]
    rp["allocations"][LEAKED] = {"DISK_GB": 1.0, "MEMORY_MB": 64.0, "VCPU": 1.0}
    for rc, n in rp["allocations"][LEAKED].items():
        rp["used"][rc] += n
    _nova_manage(doc, "placement_audit", "audit-orphan.stdout", 3)


def _device_counts(doc: Doc, host: str, rows: str) -> None:
    """Rows of the ``swift_device_counts`` read after the host's one device (the read the
    recording predates is added by tests/conftest.py as the healthy lab answers it)."""
    _read(doc, host, "swift_device_counts")["data"] += rows


def object_replica_quarantined(doc: Doc) -> None:
    """storage1's object auditor found its replica of afterboot/object-0 damaged 8 minutes
    before the read and moved it to quarantined/objects (the object's hash directory)."""
    now, _ = _clock(doc, "storage1")
    _device_counts(doc, "storage1", f"quarantined\td1\tobjects\t1\t{int(now) - 480}\n")


def async_pendings_stale(doc: Doc) -> None:
    """storage2's object server queued three container updates 40 minutes ago (a container
    server did not answer) and no updater sent them since."""
    now, _ = _clock(doc, "storage2")
    _device_counts(doc, "storage2", f"async\td2\tasync_pending\t3\t{int(now) - 2400}\n")


def drive_audit_found_errors(doc: Doc) -> None:
    """swift-drive-audit (unmount_failed_device = false) counted three kernel errors naming
    storage1's swift disk and wrote them to drive.recon."""
    body = json.dumps({"/srv/node/d1": 3, "drive_audit_errors": 3}, sort_keys=True)
    _read(doc, "storage1", "swift_recon")["data"] += (
        f"{PART} /var/cache/swift/drive.recon\n{body}\n\n"
    )


POWERED_OFF = "ssh: connect to host 10.77.0.21 port 22: No route to host"


def compute_host_dead(doc: Doc) -> None:
    """compute1 lost power 3 minutes before the read: no ssh answer, its nova-compute
    record ``down`` since, its instances still recorded on it."""
    host = doc["hosts"]["compute1"]
    host.update(reads={}, unreachable=POWERED_OFF, commands=0, seconds=10.0)
    row = _record(doc, "compute_services", "nova-compute", "compute1")
    row.update(state="down", updated_at=_stamp(doc["cloud"]["compute_services"]["read_at"] - 180))


def compute_died_at_start(doc: Doc) -> None:
    """compute1 answers after its reboot, but its nova-compute died at its start (neutron
    answered it 500): its record ``down`` for 3 minutes, no domain running there."""
    row = _record(doc, "compute_services", "nova-compute", "compute1")
    row.update(state="down", updated_at=_stamp(doc["cloud"]["compute_services"]["read_at"] - 180))
    _read(doc, "compute1", "domains")["data"] = ""


def galera_node_lost_quorum(doc: Doc) -> None:
    """The node nova uses lost the two others: a non-Primary component of one, not ready
    (SHOW GLOBAL STATUS LIKE 'wsrep_%' there)."""
    _galera_lab(doc)
    doc["cloud"]["galera"]["data"].update(
        wsrep_cluster_size="1",
        wsrep_cluster_status="non-Primary",
        wsrep_local_state_comment="Initialized",
        wsrep_ready="OFF",
    )
    doc["cloud"]["database_server"]["data"]["wsrep_ready"] = "OFF"


def drained_but_one(doc: Doc) -> None:
    """Before compute1's maintenance one of its two instances was live-migrated to
    compute2, the other was not."""
    for inst in doc["cloud"]["instances"]["data"]:
        if inst["uuid"] == FIRST:
            inst["host"] = "compute2"
    for server in doc["cloud"]["servers"]["data"]:
        if server["id"] == FIRST:
            server.update(compute_host="compute2", hypervisor_hostname="compute2")
    domains = {h: _read(doc, h, "domains") for h in ("compute1", "compute2")}
    line = next(x for x in domains["compute1"]["data"].splitlines() if FIRST in x)
    for host, moved in (("compute1", []), ("compute2", [line])):
        kept = [x for x in domains[host]["data"].splitlines() if FIRST not in x]
        domains[host]["data"] = "\n".join([*kept, *moved]) + "\n"
    for host, moved in (("compute1", []), ("compute2", [FIRST])):
        dirs = _read(doc, host, "instance_dirs")
        names = [x for x in dirs["data"].split() if x != FIRST]
        dirs["data"] = "\n".join(sorted([*names, *moved])) + "\n"


def paused_under_a_hard_reboot(doc: Doc) -> None:
    """A hard reboot of the first instance that nova-compute never finished: nova's task
    stays rebooting_hard, the domain is paused on compute1 (no nbd device anywhere)."""
    for inst in doc["cloud"]["instances"]["data"]:
        if inst["uuid"] == FIRST:
            inst["task_state"] = "rebooting_hard"
    for server in doc["cloud"]["servers"]["data"]:
        if server["id"] == FIRST:
            server["task_state"] = "rebooting_hard"
    read = _read(doc, "compute1", "domains")
    read["data"] = read["data"].replace(f"{FIRST}\trunning (booted)", f"{FIRST}\tpaused (user)")


def _server(**values: str) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        doc["cloud"]["database_server"]["data"].update(values)

    return change


def compute2_older_cpu(doc: Doc) -> None:
    """compute2 is a CPU generation older: another model name, no AVX-512
    (/proc/cpuinfo's ``model name`` and ``flags`` lines)."""
    read = _read(doc, "compute2", "cpu")
    lines = []
    for line in read["data"].splitlines():
        if line.startswith("model name"):
            line = "model name\t: AMD EPYC-Rome Processor"
        elif line.startswith("flags"):
            key, _, flags = line.partition(": ")
            kept = [f for f in flags.split() if not f.startswith("avx512")]
            line = f"{key}: {' '.join(kept)}"
        lines.append(line)
    read["data"] = "\n".join(lines) + "\n"


DAY_OLD = 26 * 3600


def _day_older(text: str) -> str:
    """A recon cache file (``/var/cache/swift/*.recon``, as swift-recon reads it) with
    every stamp of its replication passes 26 hours older."""
    return re.sub(
        r'("(?:object_)?replication_last": |"start": )([0-9.]+)',
        lambda m: f"{m.group(1)}{float(m.group(2)) - DAY_OLD!r}",
        text,
    )


def replication_stopped_a_day_ago(doc: Doc) -> None:
    """storage1's replicators stopped a day ago: their last passes 26 hours old."""
    _rewrite_parts(_read(doc, "storage1", "swift_recon"), lambda _, text: _day_older(text))


def account_container_replication_stopped(doc: Doc) -> None:
    """storage1's account and container replicators last completed a pass a day ago; its
    object replicator has completed one since the host booted."""
    _rewrite_parts(
        _read(doc, "storage1", "swift_recon"),
        lambda name, text: (
            _day_older(text) if name.endswith(("/account.recon", "/container.recon")) else text
        ),
    )


def l3_agent_not_started(doc: Doc) -> None:
    """The controller is the network host: the DHCP and metadata agents run, the L3 agent
    did not start after the reboot."""
    _role(doc, "controller", "network")
    _processes(doc, "controller", _agent("neutron-dhcp-agent"), _agent("neutron-metadata-agent"))


def apache_failed(doc: Doc) -> None:
    """storage2 is the dashboard host; apache2 failed to start at boot."""
    _dashboard_lab(doc, apache="failed")


NEW_TAG = "2025.1-debian-bookworm"
NEW_LIBVIRT = "3b5f9c0e7d2a41f8b6c4e1a09d8f7e6c5b4a3928171605f4e3d2c1b0a9f8e7d6"


def libvirt_on_the_next_release(doc: Doc) -> None:
    """An upgrade of compute2 pulled and recreated nova_libvirt on the next release's tag,
    then stopped: nova_compute still runs the old one (``podman inspect``'s line for the
    container, ``podman images``' for the image pulled)."""
    read = _read(doc, "compute2", "containers")
    out = []
    for line in read["data"].split("\n"):
        f = line.split("\t")
        if f[0] == "nova_libvirt" and len(f) > 6:
            f[5] = NEW_LIBVIRT
            f[6] = f[6].replace(":lab-debian-bookworm", f":{NEW_TAG}")
            line = "\t".join(f)
        out.append(line)
        if line == f"{PART} images":
            out.append(f"localhost/openstack.kolla/nova-libvirt:{NEW_TAG}\tsha256:{NEW_LIBVIRT}")
    read["data"] = "\n".join(out)


def volume_not_attached_again(doc: Doc) -> None:
    """After the maintenance ab-vol-compute1 is ``available``: nova and cinder record no
    attachment of it to its server any more."""
    for vol in doc["cloud"]["volumes"]["data"]:
        if vol["id"] == ATTACHED_VOLUME:
            vol.update(status="available", attachments=[])
    for server in doc["cloud"]["servers"]["data"]:
        if server["id"] == ATTACHED:
            server["attached_volumes"] = []


BLANK_IMAGE = "cd636935-eb48-4459-9156-5f40b8de7f40"  # afterboot-blank, the fw servers' image


def image_file_cut_short(doc: Doc) -> None:
    """afterboot-blank's file in glance's file store on the controller holds 65536 of its
    1048576 bytes (a copy back from a backup cut short by a full disk): ``find``'s line
    of it as the pass frames it."""
    read = _read(doc, "controller", "glance_store")
    read["data"] = read["data"].replace(f"{BLANK_IMAGE} 1048576\n", f"{BLANK_IMAGE} 65536\n")


def disk_deleted_under_its_domain(doc: Doc) -> None:
    """instance-00000001's disk file deleted on compute1 while its domain runs: the probe
    of the domains' disk files finds it missing (the domain's XML still names it)."""
    read = _read(doc, "compute1", "disk_files")
    disk = f"/var/lib/nova/instances/{FIRST}/disk"
    read["data"] = read["data"].replace(f"present {disk}\n", f"missing {disk}\n")


def volume_image_gone_and_one_unknown(doc: Doc) -> None:
    """Cinder's database and Ceph from different moments: pool volumes lists no image of
    ab-vol-compute1 any more, and lists one of a volume cinder has no record of (``rbd
    ls`` on storage1, as the pass frames it)."""
    read = _read(doc, "storage1", "rbd_volumes")
    read["data"] = read["data"].replace(f"volume-{ATTACHED_VOLUME}\n", "") + (
        f"volume-{UNKNOWN_VOLUME}\n"
    )


# -- the cases --------------------------------------------------------------------------------


class NotFailed(AssertionError):
    """The check did not fail on its fault's state."""


class OffenderUnnamed(AssertionError):
    """The check failed, but no finding of summary.json names its offender."""


def unnamed(reason: str) -> pytest.MarkDecorator:
    """A check that fails but keeps no finding naming its offender (only its message
    does, or nothing): its remediation cannot say where to act."""
    return pytest.mark.xfail(raises=OffenderUnnamed, strict=True, reason=reason)


def passes(reason: str) -> pytest.MarkDecorator:
    """A check that does not fail on its fault's state: a false green."""
    return pytest.mark.xfail(raises=NotFailed, strict=True, reason=reason)


@dataclass(frozen=True)
class Fault:
    check: str
    test: str  # the check's node id, as the run judges it
    change: Callable[[Doc], None]
    offender: str  # a finding's host, subject or field names it
    said: str  # the result's message says it
    remedy: tuple[str, ...]  # each in the remediation's text or commands
    innocent: tuple[str, ...] = ()  # named by no finding
    phase: str = "post-reboot"
    args: tuple[str, ...] = ()
    compare: bool = False  # judged against the recorded lab, as the snapshot before
    marks: tuple[pytest.MarkDecorator, ...] = ()
    case: str = ""  # the case's id, when the check has more than one
    never: tuple[str, ...] = ()  # in no line of the remediation (a wrong remedy)


FAULTS = [
    Fault(
        "API-001",
        "tests_cloud/test_apis.py::test_catalog_endpoints_answer",
        api_root_without_version_document,
        offender="http://10.77.0.10:9292",
        said="image http://10.77.0.10:9292 (HTTP 200 without its version document)",
        remedy=(
            "curl -sS -o /dev/null -I http://10.77.0.10:9292",
            "openstack endpoint list --service image",
        ),
        innocent=("http://10.77.0.10:8774/v2.1", "http://10.77.0.10:5000/v3"),
    ),
    Fault(
        "SWIFT-001",
        "tests_cloud/test_apis.py::test_object_api_answers",
        proxy_answers_503,
        offender="controller",
        said="Account HEAD failed: http://10.77.0.10:8080/v1/AUTH_",
        remedy=(
            "openstack object store account show",
            "ssh controller -- 'sudo swift-init proxy-server status'",
        ),
    ),
    Fault(
        "SWIFT-005",
        "tests_cloud/test_swift.py::test_proxy_serves_a_read",
        object_read_damaged,
        offender="afterboot/object-0",
        said="GET afterboot/object-0: its 2300 bytes have MD5",
        remedy=(
            "openstack object list --limit 1 afterboot",
            "openstack object save --file - afterboot object-0 | md5sum",
        ),
    ),
    Fault(
        "NOVA-002",
        "tests_cloud/test_service_records.py::test_nova_compute_reports_since_boot[compute1]",
        compute_up_row_lingers,
        offender="compute1",
        said="nova-compute on compute1 shows up but has not reported since the host booted",
        remedy=(
            "ssh compute1 -- 'sudo systemctl restart nova-compute'",
            "grep AMQP /var/log/nova/nova-compute.log",
            "openstack compute service list --service nova-compute --host compute1",
        ),
    ),
    Fault(
        "NOVA-004",
        "tests_cloud/test_service_records.py::test_nova_control_services_alive",
        conductor_silent_since_boot,
        offender="controller",
        said="nova-conductor on controller is down",
        remedy=(
            "ssh controller -- 'sudo systemctl restart nova-conductor'",
            "openstack compute service list --service nova-conductor",
        ),
    ),
    Fault(
        "CINDER-002",
        "tests_cloud/test_service_records.py::test_cinder_volume_alive",
        cinder_volume_silent_since_boot,
        offender="storage1",
        said="cinder-volume on storage1@ceph is down",
        remedy=(
            "ssh storage1 -- 'sudo systemctl restart cinder-volume'",
            "openstack volume service list --service cinder-volume",
        ),
    ),
    Fault(
        "CINDER-002",
        "tests_cloud/test_service_records.py::test_cinder_volume_alive",
        decommissioned_backend_record_left,
        offender="storage3",
        said="cinder-volume on storage3@ceph is down",
        # nothing to restart on a host the run does not know: INV-001's removal, guarded
        remedy=("storage3@ceph (cinder-volume) is no host of the inventory", "INV-001"),
        never=("systemctl restart cinder-volume",),
        innocent=("storage1",),
        case="CINDER-002-left-by-a-removed-host",
    ),
    Fault(
        "CINDER-003",
        "tests_cloud/test_service_records.py::test_cinder_scheduler_alive",
        cinder_scheduler_stopped_reporting,
        offender="controller",
        said="cinder-scheduler on controller is down",
        remedy=(
            "ssh controller -- 'sudo systemctl restart cinder-scheduler'",
            "openstack volume service list --service cinder-scheduler",
        ),
    ),
    Fault(
        "INV-001",
        "tests_cloud/test_inventory.py::test_inventory_matches_cloud",
        removed_compute_still_registered,
        offender="compute3",
        said="known to the cloud but not in the inventory: compute3",
        remedy=(
            "openstack compute service list && openstack hypervisor list",
            "ssh controller -- 'sudo nova-manage cell_v2 discover_hosts --by-service --verbose'",
            "openstack compute service delete 5a0c6b1e-3f7d-4c52-9a1e-0b7f2d8e4c31",
        ),
    ),
    Fault(
        "MQ-001",
        "tests_cloud/test_rabbitmq.py::test_cluster_members",
        rabbit_node_out_of_cluster,
        offender="storage1",
        said="RabbitMQ cluster runs 1 node(s) (rabbit@controller), the inventory has 2",
        remedy=(
            "ssh storage1 -- 'sudo rabbitmqctl cluster_status'",
            "ssh storage1 -- 'sudo rabbitmqctl stop_app && sudo rabbitmqctl start_app",
        ),
    ),
    Fault(
        "MQ-002",
        "tests_cloud/test_rabbitmq.py::test_rpc_topics_consumed",
        conductor_queue_without_consumer,
        offender="conductor",
        said="RPC topics: conductor has no consumer",
        remedy=("ssh controller -- 'sudo systemctl restart nova-conductor'",),
        innocent=("scheduler", "cinder-scheduler", "cinder-volume"),
    ),
    Fault(
        "MQ-003",
        "tests_cloud/test_rabbitmq.py::test_no_runaway_queue",
        notifications_pile_up,
        offender="notifications.info",
        said="queues running away: notifications.info on vhost / (48213)",
        remedy=(
            "ssh controller -- 'sudo rabbitmqctl list_queues -p / name messages "
            "consumers | sort -k2 -n | tail'",
        ),
    ),
    Fault(
        "MQ-005",
        "tests_cloud/test_rabbitmq.py::test_transport_users_permitted",
        openstack_permissions_cleared,
        offender="openstack",
        said="refuses what transport_url names: openstack on vhost /: no permissions",
        remedy=(
            "ssh controller -- 'sudo rabbitmqctl list_users && sudo rabbitmqctl "
            "list_permissions -p /'",
            "ssh controller -- 'sudo rabbitmqctl set_permissions -p / openstack ",
            "compute1:/etc/nova/nova.conf",
        ),
        never=("add_user", "add_vhost"),
        innocent=("guest",),
    ),
    Fault(
        "MQ-006",
        "tests_cloud/test_rabbitmq.py::test_broker_health_checks[controller]",
        rabbit_vhost_down,
        offender="/",
        said="RabbitMQ's own health checks on controller (management API): vhost / is down on "
        "rabbit@controller",
        remedy=(
            "rabbit@controller.log | tail -n 40; df -h /var/lib/rabbitmq",
            "ssh controller -- 'sudo rabbitmqctl restart_vhost -p /'",
        ),
        never=("systemctl restart rabbitmq-server",),
        case="MQ-006-vhost-down",
    ),
    Fault(
        "MQ-006",
        "tests_cloud/test_rabbitmq.py::test_broker_health_checks[controller]",
        rabbit_listener_moved,
        offender="5672",
        said="rabbit@controller on controller does not listen on port 5672 (named in ",
        remedy=(
            "it listens on 5673 (amqp), 25672 (clustering), 15672 (http)",
            "compute1:/etc/nova/nova.conf",
            "controller:/etc/nova/nova.conf",
            "ssh controller -- 'sudo rabbitmq-diagnostics -q listeners",
            "ssh controller -- 'sudo systemctl restart rabbitmq-server'",
        ),
        never=("restart_vhost",),
        case="MQ-006-listener-moved",
    ),
    Fault(
        "NOVA-007",
        "tests_cloud/test_hypervisor.py::test_instance_directories_match[compute1]",
        backing_file_gone,
        offender=FIRST,
        said=f"backing file of {FIRST} gone on compute1: /var/lib/nova/instances/_base/",
        remedy=(
            f"sudo ls -l /var/lib/nova/instances/{FIRST}",
            f"openstack server reboot --hard {FIRST}",
        ),
        innocent=(ATTACHED,),
    ),
    Fault(
        "NOVA-009",
        "tests_cloud/test_compute_failure.py::test_no_instances_on_dead_compute_hosts",
        compute_host_dead,
        offender=ATTACHED,
        said=f"2 instance(s) on down compute host compute1: {FIRST}, {ATTACHED}",
        remedy=(
            "evacuate them to a working host",
            f"openstack server evacuate {FIRST}",
            f"openstack server evacuate {ATTACHED}",
            "Re-attach their volumes",
            f"openstack server volume list {ATTACHED}",
        ),
        innocent=("73fabdcf-a484-48fe-bddd-8b37266193c4", "3aef378e-836f-4bf8-9352-02fad2ef798b"),
    ),
    Fault(
        "NOVA-009",
        "tests_cloud/test_compute_failure.py::test_no_instances_on_dead_compute_hosts",
        compute_died_at_start,
        offender=ATTACHED,
        said=f"2 instance(s) on down compute host compute1: {FIRST}, {ATTACHED}",
        remedy=(
            "compute1 answers and does not run",
            "ssh compute1 -- 'sudo systemctl restart nova-compute'",
            f"openstack server reboot --hard {FIRST}",
        ),
        never=("openstack server evacuate",),
        innocent=("73fabdcf-a484-48fe-bddd-8b37266193c4",),
        case="NOVA-009-answers",
    ),
    Fault(
        "NOVA-011",
        "tests_cloud/test_capacity.py::test_instances_hold_their_allocations[compute1]",
        allocations_lost,
        offender=FIRST,
        said=f"{FIRST} (ACTIVE)",
        remedy=(
            f"openstack resource provider allocation show {FIRST}",
            f"ssh controller -- 'sudo nova-manage placement heal_allocations --instance {FIRST} "
            "--dry-run --verbose'",
            f"ssh controller -- 'sudo nova-manage placement heal_allocations --instance {FIRST} "
            "--verbose'",
        ),
        never=("--delete",),
        innocent=(ATTACHED,),
    ),
    Fault(
        "NOVA-012",
        "tests_cloud/test_capacity.py::test_placement_audit_finds_nothing",
        allocations_lost,
        offender=FIRST,
        said=f"instance {FIRST}: nova-manage would create its allocations on {COMPUTE1_RP}",
        remedy=(
            f"ssh controller -- 'sudo nova-manage placement heal_allocations --instance {FIRST} "
            "--dry-run --verbose'",
            f"ssh controller -- 'sudo nova-manage placement heal_allocations --instance {FIRST} "
            "--verbose'",
        ),
        never=("--delete",),
        innocent=(ATTACHED, "73fabdcf-a484-48fe-bddd-8b37266193c4"),
        phase="post-restore",
    ),
    Fault(
        "NOVA-012",
        "tests_cloud/test_capacity.py::test_placement_audit_finds_nothing",
        allocation_leaked,
        offender=LEAKED,
        said=f"consumer {LEAKED} on {COMPUTE2_RP}: no instance or migration",
        remedy=(
            f"ssh controller -- 'sudo nova-manage placement audit --resource_provider "
            f"{COMPUTE2_RP} --verbose'",
            f"ssh controller -- 'sudo nova-manage placement audit --resource_provider "
            f"{COMPUTE2_RP} --delete --verbose'",
        ),
        never=("heal_allocations",),
        phase="periodic",
        case="NOVA-012-orphaned",
    ),
    Fault(
        "DB-003",
        "tests_cloud/test_databases.py::test_galera_cluster_whole",
        galera_node_lost_quorum,
        offender="controller",
        said=(
            "Galera: cluster status non-Primary; node state Initialized; "
            "cluster size 1, inventory has 3"
        ),
        remedy=(
            "show status like",
            "wsrep_%",
            "for h in controller storage1 storage2; do",
            "ssh controller -- 'sudo galera_new_cluster'",
        ),
    ),
    Fault(
        "MAINT-001",
        "tests_cloud/test_maintenance.py::test_host_drained[compute1]",
        drained_but_one,
        offender=ATTACHED,
        said=f"1 instance(s) still on compute1: {ATTACHED}",
        remedy=(
            "openstack server list --host compute1 --all-projects",
            f"openstack server migrate --live-migration {ATTACHED}",
            "openstack compute service set --disable compute1 nova-compute",
        ),
        innocent=(FIRST,),
        phase="pre-maintenance",
        args=("--host=compute1",),
    ),
    Fault(
        "NOVA-008",
        "tests_cloud/test_hypervisor.py::test_no_inspection_leftovers[compute1]",
        paused_under_a_hard_reboot,
        offender=FIRST,
        said=f"paused on compute1 while nova's task rebooting_hard is in progress: {FIRST}",
        remedy=(
            f"openstack server show {FIRST} -c status -c OS-EXT-STS:task_state",
            f"openstack server set --state active {FIRST} && openstack server reboot --hard "
            f"{FIRST}",
        ),
        # no inspection happened: no nbd device to unmount, no resume behind nova
        never=("umount", "qemu-nbd", "virsh resume", "<device>"),
        innocent=(ATTACHED,),
    ),
    Fault(
        "DB-004",
        "tests_cloud/test_databases.py::test_database_server_accepts_writes",
        _server(super_read_only="ON", read_only="ON"),  # MySQL: read_only follows it
        offender="super_read_only",
        said="controller:3306 refuses writes: super_read_only is ON",
        remedy=('mysql -e "SET GLOBAL super_read_only = OFF; SET GLOBAL read_only = OFF"',),
        case="DB-004-super_read_only",
    ),
    Fault(
        "DB-004",
        "tests_cloud/test_databases.py::test_database_server_accepts_writes",
        _server(innodb_read_only="ON"),
        offender="innodb_read_only",
        said="controller:3306 refuses writes: innodb_read_only is ON",
        remedy=("a startup option", "grep -rn 'innodb.read.only' /etc/mysql"),
        never=("SET GLOBAL",),
        case="DB-004-innodb_read_only",
    ),
    Fault(
        "DB-004",
        "tests_cloud/test_databases.py::test_database_server_accepts_writes",
        _server(threads_connected="392"),
        offender="connections",
        said="controller:3306: 392 of max_connections 400 in use",
        remedy=("information_schema.processlist",),
        never=("SET GLOBAL",),
        case="DB-004-connections",
    ),
    Fault(
        "MAINT-002",
        "tests_cloud/test_maintenance.py::test_compute_cpus_alike",
        compute2_older_cpu,
        offender="compute2",
        said="compute2: AMD EPYC-Rome Processor, lacks avx512_bf16",
        remedy=(
            "compute2 has AMD EPYC-Rome Processor",
            "[libvirt] cpu_mode = custom",
            "openstack aggregate list",
        ),
        phase="post-upgrade",
    ),
    Fault(
        "SWIFT-004",
        "tests_cloud/test_swift.py::test_replication_recent[storage1]",
        replication_stopped_a_day_ago,
        offender="storage1",
        said="replication last completed on storage1: account (26.0 h ago), container (26.",
        remedy=(
            "swift-init account-replicator container-replicator object-replicator restart",
            "swift-recon --replication",
        ),
    ),
    Fault(
        "SWIFT-004",
        "tests_cloud/test_swift.py::test_replication_recent[storage1]",
        account_container_replication_stopped,
        offender="storage1",
        said="replication last completed on storage1: account (26.0 h ago), container (26.0 h",
        remedy=("swift-recon --replication",),
        case="SWIFT-004-account-container",
    ),
    Fault(
        "SWIFT-007",
        "tests_cloud/test_swift.py::test_nothing_quarantined[storage1]",
        object_replica_quarantined,
        offender="/srv/node/d1/quarantined/objects",
        said="1 objects quarantined on storage1:d1 (newest 8 min ago)",
        remedy=(
            "ssh storage1 -- 'sudo ls -lt /srv/node/d1/quarantined/objects | head -20'",
            "swift-object-info",
            "swift-recon --quarantined",
        ),
        innocent=("storage2",),
        phase="post-restore",
    ),
    Fault(
        "SWIFT-008",
        "tests_cloud/test_swift.py::test_async_pendings_drain[storage2]",
        async_pendings_stale,
        offender="/srv/node/d2/async_pending",
        said="3 async pendings on storage2:d2 (async_pending), the oldest waiting 40 min",
        remedy=(
            "ssh storage2 -- 'sudo swift-init object-updater once'",
            "ssh storage2 -- 'sudo find /srv/node/d2/async_pending -type f | wc -l'",
        ),
        innocent=("storage1",),
    ),
    Fault(
        "SWIFT-009",
        "tests_cloud/test_swift.py::test_no_drive_audit_errors[storage1]",
        drive_audit_found_errors,
        offender="/srv/node/d1",
        said="swift-drive-audit counted 3 kernel errors for /srv/node/d1 on storage1",
        remedy=("grep -e /srv/node/d1 /proc/mounts /etc/fstab", "swift-recon --driveaudit"),
        innocent=("storage2",),
    ),
    Fault(
        "SVC-009",
        "tests_cloud/test_services.py::test_network_agents_running[controller]",
        l3_agent_not_started,
        offender="neutron-l3-agent",
        said="network services not running on controller: neutron-l3-agent (no process)",
        remedy=(
            "ssh controller -- 'sudo systemctl restart neutron-l3-agent'",
            "openstack network agent list --host controller",
        ),
        innocent=("neutron-dhcp-agent", "neutron-metadata-agent"),
    ),
    Fault(
        "SVC-010",
        "tests_cloud/test_services.py::test_dashboard_running[storage2]",
        apache_failed,
        offender="horizon",
        said="dashboard services not running on storage2: horizon (apache2.service=failed)",
        remedy=(
            "journalctl -u apache2.service",
            "ssh storage2 -- 'sudo systemctl restart apache2 || sudo systemctl restart httpd'",
        ),
    ),
    Fault(
        "KOLLA-002",
        "tests_cloud/test_containers.py::test_kolla_containers_of_a_host_run_one_release[compute2]",
        libvirt_on_the_next_release,
        # two containers, one tag each, no globals.yml: neither is called odd
        offender="no majority",
        said=f"no majority: nova_compute on lab-debian-bookworm, nova_libvirt on {NEW_TAG}",
        remedy=(
            "sudo podman ps -a",
            "--kolla-globals",
            "kolla-ansible -i <inventory> upgrade --limit compute2",
        ),
        never=("--tags nova", "most of them run"),
    ),
    Fault(
        "DIFF-002",
        "tests_cloud/test_before_after.py::test_volumes_attached_as_before",
        volume_not_attached_again,
        offender=ATTACHED_VOLUME,
        said=f"volume ab-vol-compute1 was attached to {ATTACHED} as /dev/vdb, now not attached",
        remedy=(
            f"openstack volume show {ATTACHED_VOLUME}",
            f"openstack server add volume --device /dev/vdb {ATTACHED} {ATTACHED_VOLUME}",
        ),
        innocent=("520fc2d8-975b-4457-935b-2112c359767c",),
        compare=True,
    ),
    Fault(
        "GLANCE-002",
        "tests_cloud/test_images.py::test_images_have_their_data",
        image_file_cut_short,
        offender=BLANK_IMAGE,
        said=f"image {BLANK_IMAGE} (afterboot-blank) active: file store file on controller holds "
        f"/var/lib/glance/images/{BLANK_IMAGE} at 65536 bytes, not 1048576",
        remedy=(
            "findmnt -T /var/lib/glance/images/",
            f"openstack image set --deactivate {BLANK_IMAGE}",
        ),
        never=("image delete",),
        innocent=("8f0b8869-eebd-4531-b47c-4103aa4deeaa",),
    ),
    Fault(
        "NOVA-013",
        "tests_cloud/test_hypervisor.py::test_domain_disk_files_exist[compute1]",
        disk_deleted_under_its_domain,
        offender=FIRST,
        said=f"/var/lib/nova/instances/{FIRST}/disk gone on compute1: disk vda of "
        f"instance-00000001 ({FIRST}, running)",
        remedy=("pgrep -f guest=instance-00000001,", "cp --sparse=always /proc/$pid/fd/$fd"),
        never=("openstack server rebuild",),
        innocent=(ATTACHED,),
    ),
    Fault(
        "CINDER-005",
        "tests_cloud/test_volumes.py::test_volumes_on_their_backend",
        volume_image_gone_and_one_unknown,
        offender=ATTACHED_VOLUME,
        said=f"volume {ATTACHED_VOLUME} in-use on storage1@ceph: no image volume-{ATTACHED_VOLUME}"
        " in pool volumes",
        remedy=(
            "ssh storage1 -- 'rbd --pool volumes ls -l; rbd --pool volumes trash ls --long'",
            f"source-name=volume-{UNKNOWN_VOLUME}",
            "--host 'storage1@ceph#ceph'",
        ),
        never=("rbd rm",),
        innocent=("520fc2d8-975b-4457-935b-2112c359767c",),
    ),
]


def _named(finding: dict[str, Any]) -> set[str]:
    """What a finding of summary.json names: its host, subject and fields."""
    extra = finding.get("extra") or {}
    return {str(finding.get("host")), str(finding.get("subject"))} | {
        str(v) for v in extra.values()
    }


@pytest.mark.parametrize(
    "fault", [pytest.param(f, id=f.case or f.check, marks=f.marks) for f in FAULTS]
)
def test_the_check_fails_on_the_state_its_fault_leaves(
    checks: pytest.Pytester, recorded: Doc, fault: Fault
) -> None:
    doc = copy.deepcopy(recorded)
    fault.change(doc)
    args = fault.args
    if fault.compare:  # the lab as it was before the maintenance
        before = {**copy.deepcopy(recorded), "phase": "pre-maintenance"}
        args += (f"--compare={write(checks, 'before.json', before)}",)
    judged = write(checks, "faulted.json", doc)
    result, outcomes = judge(checks, judged, phase=fault.phase, args=args)
    summary = json.loads((checks.path / "reports" / "summary.json").read_text())
    if outcomes.get(fault.test) != "failed":
        raise NotFailed(f"{fault.test}: {outcomes.get(fault.test)}\n{result.stdout.str()[-3000:]}")

    entry = next(c for c in summary["checks"] if c["check"] == fault.check)
    mine = next(r for r in entry["results"] if r["nodeid"] == fault.test)
    assert mine["outcome"] == "failed"
    assert fault.said in mine["message"], mine["message"]
    steps = [line for s in entry["steps"] for line in (*s["text"], *s["commands"])]
    for words in fault.remedy:
        assert any(words in line for line in steps), (words, steps)
    for words in fault.never:
        assert not any(words in line for line in steps), (words, steps)
    named = set().union(*(_named(f) for f in mine["findings"]))
    for other in fault.innocent:
        assert other not in named, (other, mine["findings"])
    if fault.offender not in named:
        raise OffenderUnnamed(f"{fault.offender} not in {mine['findings']}")
    # a command to type on a host the findings do not name cannot be followed as written
    nowhere = [c for s in entry["steps"] for c in s["commands"] if re.match(r"ssh <\w+>", c)]
    assert not nowhere, nowhere


def test_the_bases_faults_are_made_in_pass(checks: pytest.Pytester, recorded: Doc) -> None:
    """The lab as a Galera cluster, with a network host and a dashboard host running what
    they should, and its broker's users and permissions and own health checks read: DB-003,
    SVC-009, SVC-010, MQ-005 and MQ-006 pass there (their faults change only what the fault
    changes)."""
    doc = copy.deepcopy(recorded)
    _galera_lab(doc)
    _network_lab(doc)
    _dashboard_lab(doc)
    _permissions_lab(doc)
    _health_lab(doc)
    result, outcomes = judge(checks, write(checks, "bases.json", doc))
    for test in (
        "tests_cloud/test_databases.py::test_galera_cluster_whole",
        "tests_cloud/test_services.py::test_network_agents_running[controller]",
        "tests_cloud/test_services.py::test_dashboard_running[storage2]",
        "tests_cloud/test_rabbitmq.py::test_transport_users_permitted",
        "tests_cloud/test_rabbitmq.py::test_broker_health_checks[controller]",
    ):
        assert outcomes.get(test) == "passed", (test, result.stdout.str()[-3000:])

"""RabbitMQ as the messaging hosts see it: the host read ``rabbitmq`` (``rabbitmqctl``
cluster status and every vhost's queues, read once per run), parsed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import (
    PART,
    HostRead,
    engine_command,
    name_lines,
    outside_parts,
    parts,
    register,
    unexpected,
)
from afterboot.transport.connections import Connections, Remote, first_answer


@dataclass(frozen=True)
class Broker:
    """What one messaging host's ``rabbitmqctl`` said."""

    host: str
    cluster_status: dict[str, Any]
    consumers: dict[tuple[str, str], int]  # (vhost, queue) -> consumers
    ready: dict[tuple[str, str], int]  # (vhost, queue) -> messages ready


QUEUE_HEADER = ["name", "consumers", "messages_ready"]


def queue_rows(
    text: str, host: str = "", read: str = "rabbitmq_root_queues"
) -> dict[str, tuple[int, int]]:
    """``list_queues name consumers messages_ready``: queue -> (consumers, ready). Its
    header may lead; any other line that is not a name and two counts is could-not-run
    naming it (no queue is an answer, garbage is not)."""
    rows = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.rsplit(None, 2)
        if fields == QUEUE_HEADER:
            continue
        if len(fields) != 3 or not (fields[1].isdigit() and fields[2].isdigit()):
            raise unexpected(host, read, line)
        rows[fields[0]] = (int(fields[1]), int(fields[2]))
    return rows


def vhost_names(text: str, host: str = "") -> list[str]:
    """``list_vhosts name``: a vhost a line (its header ``name`` may lead); a line that is
    no single name is could-not-run naming it."""
    return sorted(name_lines(text, host, "rabbitmq_vhosts") - {"name"})


def _checked(remote: Remote, name: str) -> str:
    result = remote.read(name)
    if result.rc != 0:
        raise CouldNotRun(
            f"{remote.name}: rabbitmqctl failed",
            (result.stderr.strip() or result.stdout.strip() or f"exit {result.rc}")[-200:],
        )
    return result.stdout


def broker_of(remote: Remote) -> Broker:
    """Parse one host's RabbitMQ reads, or CouldNotRun naming why rabbitmqctl failed.

    The queues of vhost ``/`` are read beside the vhost list; other vhosts (one per
    service in openstack-ansible) are read after it, in one more command."""
    try:
        status = json.loads(_checked(remote, "rabbitmq_status") or "{}")
    except json.JSONDecodeError:
        raise CouldNotRun(f"{remote.name}: rabbitmqctl cluster_status unreadable", "") from None
    vhosts = vhost_names(_checked(remote, "rabbitmq_vhosts"), remote.name)
    by_vhost: dict[str, dict[str, tuple[int, int]]] = {}
    if "/" in vhosts:
        by_vhost["/"] = queue_rows(_checked(remote, "rabbitmq_root_queues"), remote.name)
    if any(v != "/" for v in vhosts):
        every = _checked(remote, "rabbitmq_queues")
        if outside_parts(every):
            raise unexpected(remote.name, "rabbitmq_queues", outside_parts(every))
        for vhost, text in parts(every).items():
            by_vhost[vhost] = queue_rows(text, remote.name, "rabbitmq_queues")
    consumers = {(v, q): row[0] for v, rows in by_vhost.items() for q, row in rows.items()}
    ready = {(v, q): row[1] for v, rows in by_vhost.items() for q, row in rows.items()}
    return Broker(remote.name, status, consumers, ready)


def broker(connections: Connections) -> Broker:
    """The first messaging host whose rabbitmqctl answered (they share one cluster)."""
    try:
        return first_answer(connections.with_role("messaging"), broker_of, "RabbitMQ")
    except CouldNotRun as exc:
        raise CouldNotRun("RabbitMQ answers on no messaging host", exc.reason) from None


# -- the reads this module judges (afterboot.reads.hostreads' registry) --------------


def _rabbitmqctl(spec: HostSpec) -> str:
    if spec.service_manager == "container":
        return f"{engine_command(spec)} exec rabbitmq rabbitmqctl -q"
    return "rabbitmqctl -q"


def _rabbitmq_status(spec: HostSpec) -> str:
    return f"{_rabbitmqctl(spec)} cluster_status --formatter json"


def _rabbitmq_vhosts(spec: HostSpec) -> str:
    return f"{_rabbitmqctl(spec)} list_vhosts name"


def _rabbitmq_root_queues(spec: HostSpec) -> str:
    return f"{_rabbitmqctl(spec)} list_queues -p / name consumers messages_ready"


def _rabbitmq_queues(spec: HostSpec) -> str:
    ctl = _rabbitmqctl(spec)
    return (
        f'vs=$({ctl} list_vhosts name) || exit; for v in $vs; do [ "$v" = name ] && continue; '
        f'echo "{PART} $v"; {ctl} list_queues -p "$v" name consumers messages_ready '
        "|| exit $?; done"
    )


register(
    HostRead("rabbitmq_status", "RabbitMQ cluster status", _rabbitmq_status, slow=True),
    HostRead("rabbitmq_vhosts", "RabbitMQ vhosts", _rabbitmq_vhosts, slow=True),
    HostRead(
        "rabbitmq_root_queues", "RabbitMQ queues of vhost /", _rabbitmq_root_queues, slow=True
    ),
    # Only where vhosts other than "/" exist (openstack-ansible): read after the others.
    HostRead("rabbitmq_queues", "RabbitMQ queues of every vhost", _rabbitmq_queues, slow=True),
)

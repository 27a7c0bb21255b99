"""RabbitMQ (Ops Guide: message queue, tier 10): the cluster is whole, every RPC topic the
services need has consumers, and no queue runs away."""

from __future__ import annotations

import pytest

from afterboot.checks.catalog import WITH_CONFIG_GATE
from afterboot.checks.findings import Findings
from afterboot.domains.discovery import inventory_name, short_name
from afterboot.domains.rabbitmq import Broker
from afterboot.domains.rabbitmq import broker as first_broker
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import Inventory
from afterboot.transport.connections import Connections

RUNAWAY_MESSAGES = 10000


def broker(connections: Connections) -> Broker:
    if not connections.with_role("messaging"):
        pytest.skip("the inventory declares no messaging host")
    try:
        return first_broker(connections)
    except CouldNotRun as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.mark.check("MQ-001", tier=10, roles=("messaging",))
@pytest.mark.reads("rabbitmq")
def test_cluster_members(
    connections: Connections, inventory: Inventory, findings: Findings
) -> None:
    """RabbitMQ runs, with every messaging host of the inventory a running cluster node.

    Each messaging host whose node does not run in the cluster is named (the node's host
    part is the host's name, as RabbitMQ names its nodes), and each running node of no
    messaging host."""
    answered = broker(connections)
    status = answered.cluster_status
    running = [str(n) for n in status.get("running_nodes", [])]
    messaging = inventory.names("messaging")
    if len(running) == len(messaging):
        return
    members = [str(n) for k in ("disk_nodes", "ram_nodes") for n in status.get(k) or ()]

    def host_of(node: str) -> str:
        return inventory_name(messaging, node.rpartition("@")[2])

    up = {host_of(n) for n in running}
    for host in messaging:
        if host in up:
            continue
        node = next((n for n in members if host_of(n) == host), f"rabbit@{short_name(host)}")
        findings.add(
            node,
            host=host,
            expected="a running cluster node",
            actual="not running in the cluster",
            node=node,
            state="out",
            member="yes" if node in members else "no",
            broker=answered.host,
            said=f"{node} of {host} is not running in it",
        )
    for node in running:
        if host_of(node) not in messaging:
            findings.add(
                node,
                host=host_of(node),
                expected="a node of a messaging host",
                actual="runs in the cluster, no messaging host of the inventory",
                node=node,
                state="extra",
                broker=answered.host,
                said=f"{node} runs in it, on no messaging host of the inventory",
            )
    if not len(findings):  # two nodes on one host: only their number differs
        findings.add(
            "cluster",
            host=answered.host,
            expected=f"{len(messaging)} running nodes",
            actual=", ".join(running),
            broker=answered.host,
            said="no messaging host without its node",
        )
    findings.assert_none(
        f"RabbitMQ cluster runs {len(running)} node(s) ({', '.join(running)}), "
        f"the inventory has {len(messaging)} messaging host(s): "
    )


# the hosts where each RPC topic's consumer runs, by the inventory's roles
# the service consuming each topic (what is restarted on the hosts of its role)
CONSUMERS = {
    "conductor": "nova-conductor",
    "scheduler": "nova-scheduler",
    "cinder-scheduler": "cinder-scheduler",
    "cinder-volume": "cinder-volume",
}
CONSUMER_ROLES = {
    "conductor": "controller",
    "scheduler": "controller",
    "cinder-scheduler": "controller",
    "cinder-volume": "block-storage",
}


@pytest.mark.check("MQ-002", tier=10, roles=("messaging",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("rabbitmq")
def test_rpc_topics_consumed(
    connections: Connections, inventory: Inventory, findings: Findings
) -> None:
    """The conductor, scheduler and cinder RPC queues exist and have consumers.

    A topic without them is named once per host of the inventory that should consume it
    (every controller for conductor and schedulers, every block-storage host for
    cinder-volume): none of them does."""
    queues = broker(connections).consumers
    topics = ["conductor", "scheduler"]
    if inventory.with_role("block-storage"):
        topics += ["cinder-scheduler", "cinder-volume"]
    for topic in topics:
        mine = {q: n for q, n in queues.items() if q[1] == topic}
        if mine and any(mine.values()):
            continue
        expected, actual, said = (
            ("consumers", "0", f"{topic} has no consumer")
            if mine
            else ("a queue", "none", f"no {topic} queue")
        )
        for host in inventory.names(CONSUMER_ROLES[topic]) or [""]:
            findings.add(
                topic,
                host=host,
                expected=expected,
                actual=actual,
                topic=topic,
                service=CONSUMERS[topic],
                said=said,
            )
    findings.assert_none("RPC topics: ")


@pytest.mark.check("MQ-003", tier=10, roles=("messaging",))
@pytest.mark.reads("rabbitmq")
def test_no_runaway_queue(connections: Connections, findings: Findings) -> None:
    """No queue holds more than 10000 ready messages."""
    answered = broker(connections)
    for (vhost, queue), ready in sorted(answered.ready.items()):
        if ready > RUNAWAY_MESSAGES:
            findings.add(
                queue,
                host=answered.host,
                expected=f"at most {RUNAWAY_MESSAGES} ready messages",
                actual=str(ready),
                queue=queue,
                vhost=vhost,
                messages=str(ready),
                consumers=str(answered.consumers.get((vhost, queue), 0)),
                said=f"{queue} on vhost {vhost} ({ready})",
            )
    findings.assert_none("queues running away: ", ", ")


@pytest.mark.check("MQ-004", tier=10, roles=("messaging",))
@pytest.mark.reads("rabbitmq")
def test_no_resource_alarm(connections: Connections, findings: Findings) -> None:
    """No RabbitMQ node raises a memory or disk alarm (the broker's own judgement: an alarm
    blocks every publisher, so RPC hangs cloud-wide while every queue has consumers)."""
    answered = broker(connections)
    messaging = {r.name for r in connections.with_role("messaging")}
    alarms = answered.cluster_status.get("alarms")
    if not isinstance(alarms, list):
        raise CouldNotRun("RabbitMQ's cluster status lists no alarms", "no 'alarms' in it")
    for alarm in alarms:
        if not isinstance(alarm, dict):
            raise CouldNotRun("RabbitMQ's cluster status: an alarm not understood", str(alarm))
        node = str(alarm.get("node", "?"))
        resource = str(alarm.get("resource", "?"))
        # the node's host where the inventory names it so, else the host that answered
        where = node.rpartition("@")[2]
        findings.add(
            f"{node}:{resource}",
            host=where if where in messaging else answered.host,
            expected="no alarm",
            actual=f"{resource} alarm",
            node=node,
            resource=resource,
            said=f"{node} raises a {resource} alarm (publishers blocked)",
        )
    findings.assert_none()

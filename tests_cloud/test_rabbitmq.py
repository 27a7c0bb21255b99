"""RabbitMQ (Ops Guide: message queue, tier 10): the cluster is whole, every RPC topic the
services need has consumers, and no queue runs away."""

from __future__ import annotations

import pytest

from afterboot.checks.catalog import WITH_CONFIG_GATE
from afterboot.checks.findings import Findings
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
def test_cluster_members(connections: Connections, inventory: Inventory) -> None:
    """RabbitMQ runs, with every messaging host of the inventory a running cluster node."""
    running = broker(connections).cluster_status.get("running_nodes", [])
    expected = len(inventory.with_role("messaging"))
    assert len(running) == expected, (
        f"RabbitMQ cluster runs {len(running)} node(s) ({', '.join(running)}), "
        f"the inventory has {expected} messaging host(s)"
    )


@pytest.mark.check("MQ-002", tier=10, roles=("messaging",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("rabbitmq")
def test_rpc_topics_consumed(
    connections: Connections, inventory: Inventory, findings: Findings
) -> None:
    """The conductor, scheduler and cinder RPC queues exist and have consumers."""
    queues = broker(connections).consumers
    topics = ["conductor", "scheduler"]
    if inventory.with_role("block-storage"):
        topics += ["cinder-scheduler", "cinder-volume"]
    for topic in topics:
        mine = {q: n for q, n in queues.items() if q[1] == topic}
        if not mine:
            findings.add(
                topic, expected="a queue", actual="none", service=topic, said=f"no {topic} queue"
            )
        elif not any(mine.values()):
            findings.add(
                topic,
                expected="consumers",
                actual="0",
                service=topic,
                said=f"{topic} has no consumer",
            )
    findings.assert_none("RPC topics: ")


@pytest.mark.check("MQ-003", tier=10, roles=("messaging",))
@pytest.mark.reads("rabbitmq")
def test_no_runaway_queue(connections: Connections) -> None:
    """No queue holds more than 10000 ready messages."""
    ready = broker(connections).ready
    big = [
        f"{q[1]} on vhost {q[0]} ({n})" for q, n in sorted(ready.items()) if n > RUNAWAY_MESSAGES
    ]
    assert not big, "queues running away: " + ", ".join(big)


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

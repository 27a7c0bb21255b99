"""RabbitMQ (Ops Guide: message queue, tier 10): the cluster is whole, every RPC topic the
services need has consumers, no queue runs away, every user the services log in as
may use its vhost, and the broker's own health checks pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest

from afterboot.checks.catalog import WITH_CONFIG_GATE
from afterboot.checks.findings import Findings
from afterboot.domains.discovery import host_addresses, inventory_name, short_name
from afterboot.domains.rabbitmq import (
    CERT_WITHIN,
    PERMISSIONS,
    Broker,
    Health,
    configured_brokers,
    configured_logins,
    grants,
    health_of,
    lacking,
)
from afterboot.domains.rabbitmq import broker as first_broker
from afterboot.errors import CouldNotRun, one_line, shown
from afterboot.inventory.model import Inventory
from afterboot.transport.connections import Connections, Remote

K = TypeVar("K")  # what a configuration names: a login, a broker's host and port

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


# the roles whose hosts run the services that log in to RabbitMQ (their configuration files:
# afterboot.domains.database.SERVICE_CONFIGS, as the ``configs`` read holds them)
TRANSPORT_ROLES = ("controller", "compute", "block-storage", "network")
NAMED_AT_MOST = 10  # files named in a finding's field (every compute host's nova.conf ...)


def _files(where: list[str], limit: int) -> str:
    more = f" (+{len(where) - limit} more)" if len(where) > limit else ""
    return ", ".join(where[:limit]) + more


@pytest.mark.check("MQ-005", tier=10, roles=("messaging",))
@pytest.mark.reads(
    "rabbitmq_permissions",
    "configs@controller",
    "configs@compute",
    "configs@block-storage",
    "configs@network",
)
def test_transport_users_permitted(connections: Connections, findings: Findings) -> None:
    """Every user a service's transport_url names exists on the broker, with configure,
    write and read permissions on the vhost it names.

    The users and vhosts are those of ``[DEFAULT] transport_url`` (RPC) and, where a site
    sets it apart, ``[oslo_messaging_notifications] transport_url`` (named with its
    section) in the services' configurations on the controller, compute, block-storage
    and network hosts (never their passwords); the broker's are ``rabbitmqctl
    list_users`` and each vhost's ``list_permissions``. Each permission's regex must
    match every name oslo.messaging uses there (reply and fanout queues, the control
    exchange, the default exchange): ``'.*'``. A user no transport_url names is not
    judged."""
    if not connections.with_role("messaging"):
        pytest.skip("the inventory declares no messaging host")
    granted = grants(connections)  # read first: a broken read is never "nothing to judge"
    named, unknown = _named_in_configs(connections, configured_logins)
    if not named and not unknown:
        pytest.skip("no service configuration names a RabbitMQ user in its transport_url")
    for login, where in sorted(named.items(), key=lambda kv: (kv[0].vhost, kv[0].user)):
        user, vhost = login.user, login.vhost
        rows = granted.vhosts.get(vhost)
        exists = user in granted.users
        if rows is None:
            state, actual, missing = "no-vhost", "no such vhost", list(PERMISSIONS)
        elif not exists:
            state, actual, missing = "no-user", "no such user", list(PERMISSIONS)
        elif user not in rows:
            state, actual, missing = "no-permissions", "no permissions", list(PERMISSIONS)
        else:
            missing = lacking(rows[user], user, vhost)
            if not missing:
                continue
            regexes = dict(zip(PERMISSIONS, rows[user], strict=True))
            state = "restricted"
            actual = ", ".join(f"{p} {shown(regexes[p])}" for p in missing)
        findings.add(
            f"{user} on vhost {vhost}",
            host=granted.host,
            expected="configure, write and read '.*'",
            actual=actual,
            user=user,
            vhost=vhost,
            state=state,
            user_state="present" if exists else "absent",
            vhost_state="absent" if rows is None else "present",
            permission=", ".join(missing),
            configs=_files(where, NAMED_AT_MOST),
            said=f"{user} on vhost {vhost}: {actual} (named in {_files(where, 3)})",
        )
    findings.assert_none(f"RabbitMQ ({granted.host}) refuses what transport_url names: ")
    if unknown:
        raise CouldNotRun(
            f"the RabbitMQ users of {len(unknown)} configuration(s) are not known",
            one_line("; ".join(unknown), 300),
        )


def _listening(health: Health) -> str:
    return ", ".join(f"{lis.port} ({lis.protocol})" for lis in health.listeners) or "nothing"


def _brokers_named(
    connections: Connections, host: Remote
) -> tuple[dict[int, list[str]], list[str]]:
    """The ports the services' transport URLs name for this messaging host's broker (by its
    name, short name or any of its addresses), each with the files that name it; and the
    configurations whose brokers are not known."""
    mine = host_addresses(host) | {host.name, short_name(host.name)}
    brokers, unknown = _named_in_configs(connections, configured_brokers)
    named: dict[int, list[str]] = {}
    for (broker_host, port), where in brokers.items():
        if broker_host in mine or short_name(broker_host) == short_name(host.name):
            named.setdefault(port, []).extend(where)
    return named, unknown


def _named_in_configs(
    connections: Connections, read: Callable[[Remote], tuple[dict[K, list[str]], list[str]]]
) -> tuple[dict[K, list[str]], list[str]]:
    """What ``read`` finds in the configurations of every host whose services log in to
    RabbitMQ, each with the files that name it; and the configurations it could not read."""
    named: dict[K, list[str]] = {}
    unknown: list[str] = []
    for remote in connections.with_role(*TRANSPORT_ROLES):
        try:
            found, unsure = read(remote)
        except CouldNotRun as exc:
            unknown.append(str(exc))
            continue
        unknown += unsure
        for key, where in found.items():
            named.setdefault(key, []).extend(where)
    return named, unknown


@pytest.mark.check("MQ-006", tier=10, roles=("messaging",))
@pytest.mark.reads(
    "rabbitmq_health",
    "addresses",
    "configs@controller",
    "configs@compute",
    "configs@block-storage",
    "configs@network",
)
def test_broker_health_checks(
    host: Remote,
    connections: Connections,
    findings: Findings,
    record_property: Callable[[str, object], None],
) -> None:
    """The broker's own health checks pass: every vhost runs, it listens on every port the
    services' transport_url names for it, and no TLS certificate of its listeners expires
    within 14 days.

    The node's own judgement, from its management API (``/api/health/checks/
    virtual-hosts``, ``port-listener/<port>``, ``certificate-expiration/14/days``, and its
    listeners), else from one ``rabbitmqctl eval`` of what those checks call (and
    ``rabbitmq-diagnostics check_certificate_expiration`` where a listener has TLS). A
    vhost down keeps its queues from every client though the broker runs; a port no
    listener has refuses every service that names it."""
    health = health_of(host)  # read first: a broken read is never "nothing to judge"
    within, unit = CERT_WITHIN
    for vhost in health.down_vhosts:
        findings.add(
            f"vhost {vhost}",
            host=host.name,
            expected="running",
            actual="down",
            state="vhost-down",
            service="rabbitmq",  # the broker does not run it: the root of its clients' failures
            vhost=vhost,
            node=health.node,
            said=f"vhost {vhost} is down on {health.node}",
        )
    named, unknown = _brokers_named(connections, host)
    for port, where in sorted(named.items()):
        if health.listening(port):
            continue
        findings.add(
            f"port {port}",
            host=host.name,
            expected=f"a listener on {port}",
            actual=f"listens on {_listening(health)}",
            state="no-listener",
            port=str(port),
            node=health.node,
            configs=_files(where, NAMED_AT_MOST),
            listening=_listening(health),
            said=(
                f"{health.node} on {host.name} does not listen on port {port} (named in "
                f"{_files(where, 3)}); it listens on {_listening(health)}"
            ),
        )
    for cert in health.expiring or ():
        findings.add(
            f"certificate of port {cert.port}",
            host=host.name,
            expected=f"valid for {within} {unit} more",
            actual=f"expires: {cert.expires}",
            state="certificate",
            port=str(cert.port),
            protocol=cert.protocol,
            certfile=cert.certfile,
            expires=cert.expires,
            node=health.node,
            said=f"the {cert.protocol} certificate of port {cert.port} expires: {cert.expires}",
        )
    tls = [f"{lis.port} ({lis.protocol})" for lis in health.listeners if lis.tls]
    asked = (
        f"asked ({health.source}): within {within} {unit}, {len(health.expiring)} expiring"
        if health.expiring is not None
        else f"not asked ({health.source}): no TLS listener"
    )
    record_property("certificate_expiration", f"{asked}; TLS listeners: {', '.join(tls) or 'none'}")
    record_property("ports_named", ", ".join(map(str, sorted(named))) or "none")
    findings.assert_none(f"RabbitMQ's own health checks on {host.name} ({health.source}): ")
    if unknown:
        raise CouldNotRun(
            f"the RabbitMQ brokers of {len(unknown)} configuration(s) are not known",
            one_line("; ".join(unknown), 300),
        )

"""Each check names its offender where its procedure acts: the cases the recorded lab's
faults (tests/test_checks_fail_on_recorded_state.py) do not make.

A RabbitMQ node running in the cluster on no messaging host, a Galera status whose
answering node is unknown, a compute host of the inventory the cloud does not know, an RPC
topic whose consumers run on the block-storage hosts: each finding has the host (and the
fields) its procedure's commands are filled with, judged by the real check functions."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any, cast

import pytest

# the check modules as modules: pytest collects none of their checks in this file
import tests_cloud.test_databases as databases_checks
import tests_cloud.test_inventory as inventory_checks
import tests_cloud.test_rabbitmq as rabbitmq_checks
from afterboot.checks.findings import Finding, Findings, item_findings
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.procedures.runbook import load, render
from afterboot.snapshot import CloudSnapshot, HostSnapshot, ReadResult, Snapshot
from afterboot.transport.connections import Connections

PROCS = load()


def _inventory(**roles: tuple[str, ...]) -> Inventory:
    return Inventory({n: HostSpec(n, roles=r, connection="local") for n, r in roles.items()}, "t")


def _item() -> pytest.Item:
    return cast(pytest.Item, SimpleNamespace(stash=pytest.Stash()))


def _commands(check: str, found: list[Finding]) -> list[str]:
    return [c for step in render(PROCS[check], found) for c in step.commands]


def _broker(inventory: Inventory, status: dict[str, Any], queues: str = "") -> Connections:
    """The first messaging host's rabbitmqctl answers: its cluster status, vhost / and
    its queues (``name consumers messages_ready``)."""
    connections = Connections(inventory, 5)
    first = inventory.names("messaging")[0]
    snap = HostSnapshot(first, started=1.0, ended=2.0)
    snap.reads = {
        "rabbitmq_status": ReadResult("rabbitmq_status", 0, json.dumps(status)),
        "rabbitmq_vhosts": ReadResult("rabbitmq_vhosts", 0, "name\n/\n"),
        "rabbitmq_root_queues": ReadResult("rabbitmq_root_queues", 0, queues),
    }
    connections[first].adopt(snap)
    return connections


def test_mq_001_names_a_running_node_of_no_messaging_host() -> None:
    inventory = _inventory(mq1=("messaging",), mq2=("messaging",))
    status = {
        "running_nodes": ["rabbit@mq1", "rabbit@mq2", "rabbit@old3"],
        "disk_nodes": ["rabbit@mq1", "rabbit@mq2", "rabbit@old3"],
    }
    item = _item()
    with pytest.raises(AssertionError, match=r"runs 3 node\(s\).*rabbit@old3 runs in it"):
        rabbitmq_checks.test_cluster_members(_broker(inventory, status), inventory, Findings(item))
    (found,) = item_findings(item)
    assert (found.host, found.extra["state"], found.extra["broker"]) == ("old3", "extra", "mq1")
    commands = _commands("MQ-001", [found])
    # never stop_app on a node that runs in the cluster: only its status, on the broker
    assert commands == ["ssh mq1 -- 'sudo rabbitmqctl cluster_status'"]


def test_mq_001_names_each_messaging_host_whose_node_is_not_running() -> None:
    inventory = _inventory(mq1=("messaging",), mq2=("messaging",), mq3=("messaging",))
    status = {"running_nodes": ["rabbit@mq1"], "disk_nodes": ["rabbit@mq1", "rabbit@mq2"]}
    item = _item()
    with pytest.raises(AssertionError, match="the inventory has 3 messaging host"):
        rabbitmq_checks.test_cluster_members(_broker(inventory, status), inventory, Findings(item))
    found = {f.host: f for f in item_findings(item)}
    assert sorted(found) == ["mq2", "mq3"]
    assert found["mq2"].extra["member"] == "yes"  # its disk node listed: a member stopped
    assert (found["mq3"].subject, found["mq3"].extra["member"]) == ("rabbit@mq3", "no")
    commands = _commands("MQ-001", list(found.values()))
    assert "ssh mq1 -- " not in " ".join(commands)  # the running node is left alone
    assert any(c.startswith("ssh mq3 -- 'sudo rabbitmqctl stop_app") for c in commands)


def test_mq_002_names_the_hosts_that_should_consume_a_topic() -> None:
    inventory = _inventory(
        ctl=("controller", "messaging"), st1=("block-storage",), st2=("block-storage",)
    )
    queues = "conductor\t1\t0\nscheduler\t1\t0\ncinder-scheduler\t1\t0\ncinder-volume\t0\t4\n"
    item = _item()
    with pytest.raises(AssertionError, match="RPC topics: cinder-volume has no consumer"):
        rabbitmq_checks.test_rpc_topics_consumed(
            _broker(inventory, {"running_nodes": ["rabbit@ctl"]}, queues),
            inventory,
            Findings(item),
        )
    assert sorted((f.subject, f.host) for f in item_findings(item)) == [
        ("cinder-volume", "st1"),
        ("cinder-volume", "st2"),
    ]


def test_db_003_without_the_answering_node_names_every_database_host() -> None:
    """The database_server read failed: which node answered is not known, so each
    database host is one to look at (never a command addressed to nobody)."""
    inventory = _inventory(db1=("database",), db2=("database",), db3=("database",))
    snapshot = Snapshot(
        cloud={"database_server": CloudSnapshot("database_server", error=OSError())}
    )
    galera = {
        "wsrep_cluster_size": "3",
        "wsrep_cluster_status": "non-Primary",
        "wsrep_local_state_comment": "Initialized",
    }
    item = _item()
    with pytest.raises(AssertionError, match="Galera: cluster status non-Primary"):
        databases_checks.test_galera_cluster_whole(galera, inventory, snapshot, Findings(item))
    found = item_findings(item)
    assert sorted(f.host for f in found) == ["db1", "db2", "db3"]
    assert not [c for c in _commands("DB-003", found) if "<" in c]


def test_db_003_names_the_node_that_answered() -> None:
    inventory = _inventory(db1=("database",), db2=("database",))
    server = {"server": "db2.example.org:3306"}
    snapshot = Snapshot(cloud={"database_server": CloudSnapshot("database_server", value=server)})
    galera = {
        "wsrep_cluster_size": "1",
        "wsrep_cluster_status": "Primary",
        "wsrep_local_state_comment": "Synced",
    }
    item = _item()
    with pytest.raises(AssertionError, match=r"cluster size 1, inventory has 2 \(db2.example"):
        databases_checks.test_galera_cluster_whole(galera, inventory, snapshot, Findings(item))
    (found,) = item_findings(item)
    assert (found.host, found.extra["nodes"]) == ("db2", "db1,db2")


def test_inv_001_names_a_compute_host_the_cloud_does_not_know() -> None:
    inventory = _inventory(ctl=("controller",), cmp1=("compute",), cmp2=("compute",))
    services = [SimpleNamespace(binary="nova-compute", host="cmp1.example.org", id="s1")]
    hypervisors = [SimpleNamespace(name="cmp1.example.org", id="h1")]
    item = _item()
    with pytest.raises(AssertionError, match="unknown to the cloud: cmp2"):
        inventory_checks.test_inventory_matches_cloud(
            inventory, services, hypervisors, [], Findings(item)
        )
    found = item_findings(item)
    assert {(f.host, f.extra["kind"], f.extra["side"]) for f in found} == {
        ("cmp2", "nova-compute", "inventory"),
        ("cmp2", "hypervisor", "inventory"),
    }
    commands = _commands("INV-001", found)
    assert "ssh ctl -- 'sudo nova-manage cell_v2 discover_hosts --by-service --verbose'" in commands
    assert not [c for c in commands if "delete" in c or "remove" in c]

"""The cloud reads' sources and lanes: the database's reads start before the run's token is
there, the identity check's spare connection opens only when the cloud's did not, and each
controller's configured DSNs are tried once, in the pass."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import afterboot.collection as collection
from afterboot.collection import _read_cloud
from afterboot.domains.database import Databases
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.reads import cloudreads
from afterboot.reads.cloudreads import CloudContext, CloudRead
from afterboot.reads.hostreads import PART
from afterboot.snapshot import HostSnapshot, ReadResult
from afterboot.transport.connections import Connections


def test_the_spare_identity_connection_opens_only_when_the_cloud_fails() -> None:
    opened: list[str] = []

    def source(name: str, fail: bool = False) -> Any:
        def make() -> str:
            opened.append(name)
            if fail:
                raise CouldNotRun("keystone down", "")
            return name

        return make

    ctx = CloudContext(1.0, cloud=source("cloud"), identity=source("identity"))
    ctx.resolve()
    assert opened == ["cloud"]
    with pytest.raises(CouldNotRun, match="not opened"):
        _ = ctx.identity
    opened.clear()
    ctx = CloudContext(1.0, cloud=source("cloud", fail=True), identity=source("identity"))
    ctx.resolve()
    assert opened == ["cloud", "identity"]
    assert ctx.identity == "identity"


def test_database_reads_do_not_wait_for_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token takes its time (keystone's password check); the database lane is done by
    then, and the API listings come after the probes."""
    token = threading.Event()
    order: list[str] = []

    def slow_cloud() -> str:
        assert token.wait(5)
        return "cloud"

    def read(name: str) -> Any:
        def fetch(ctx: CloudContext) -> str:
            order.append(name)
            if name == "db_read":
                token.set()  # the token comes only after the database read ran
            return name

        return fetch

    reads = {
        "db_read": CloudRead("db_read", "", read("db_read"), "db"),
        "apis": CloudRead("apis", "", read("apis")),
        "listing": CloudRead("listing", "", read("listing")),
    }
    monkeypatch.setattr(cloudreads, "CLOUD_READS", reads)

    monkeypatch.setattr(collection, "CLOUD_READS", reads)
    ctx = CloudContext(5.0, cloud=slow_cloud, db=lambda: "db")
    started = time.monotonic()
    done = _read_cloud(ctx, set(reads))
    assert time.monotonic() - started < 5
    assert order == ["db_read", "apis", "listing"]
    assert {n: s.value for n, s in done.items()} == {
        "db_read": "db_read",
        "apis": "apis",
        "listing": "listing",
    }


def test_each_controller_dsn_is_tried_once_and_named_by_host() -> None:
    conf = (
        f"{PART} /etc/nova/nova.conf\n[database]\n"
        "connection = mysql+pymysql://nova:Pw-Canary-1@127.0.0.1:1/nova\n"
        f"{PART} /etc/glance/glance-api.conf\n[database]\n"
        "connection = mysql+pymysql://glance:Pw-Canary-2@127.0.0.1:1/glance\n"
    )
    specs = {
        n: HostSpec(n, connection="local", roles=("controller",)) for n in ("ctl-01", "ctl-02")
    }
    connections = Connections(Inventory(specs, "test"), 2.0)
    for name in specs:
        snap = HostSnapshot(name)
        snap.reads["configs"] = ReadResult("configs", 0, conf)
        connections[name].adopt(snap)
    db = Databases(connections, None, 2.0)
    sessions = db.sessions()
    assert set(sessions) == {"ctl-01", "ctl-02"}
    assert set(sessions["ctl-01"]) == {"nova", "glance"}
    assert all(reason for host in sessions.values() for reason in host.values())
    assert len(db._tried) == 2  # two DSNs, four (host, service) answers
    assert "Pw-Canary" not in repr(sessions)


class GaleraDb:
    """Answers as MariaDB does: wsrep_on, then the wsrep status."""

    def __init__(self, on: str) -> None:
        self.on = on

    def query(self, service: str, sql: str) -> list[dict[str, str]]:
        if "VARIABLES" in sql:
            return [{"Variable_name": "wsrep_on", "Value": self.on}]
        return [
            {"Variable_name": "wsrep_cluster_size", "Value": "3"},
            {"Variable_name": "wsrep_cluster_status", "Value": "Primary"},
            {"Variable_name": "wsrep_provider_name", "Value": "Galera"},
        ]


def test_the_galera_read_is_empty_where_wsrep_is_off() -> None:
    read = cloudreads.CLOUD_READS["galera"]
    assert read.fetch(CloudContext(1.0, db=lambda: GaleraDb("OFF"))) == {}
    assert read.fetch(CloudContext(1.0, db=lambda: GaleraDb("ON"))) == {
        "wsrep_cluster_size": "3",
        "wsrep_cluster_status": "Primary",
    }

"""RabbitMQ's management API as the source of the RabbitMQ reads: it answers as
rabbitmqctl does (both recorded from the lab's RabbitMQ 3.10.8 at the same moment, under
tests/data/rabbitmq), and whatever keeps it from answering hands the reads back to
rabbitmqctl."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests  # noqa: F401 - loaded before pytester's inner runs drop what they import

from afterboot.collection import _read_and_hand
from afterboot.domains import rabbitmq_api
from afterboot.domains.rabbitmq import broker_of, parse_grants
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.reads.hostreads import PART
from afterboot.redact import forget_all, redact
from afterboot.snapshot import HostSnapshot, ReadResult
from afterboot.transport.connections import Connections, Remote

DATA = Path(__file__).parent / "data" / "rabbitmq"
PASSWORD = "s3cr@t/pa:ss"  # URL-encoded in transport_url, as oslo.messaging wants it
ENCODED = "s3cr%40t%2Fpa%3Ass"


class Broker(BaseHTTPRequestHandler):
    """The management API's four answers, recorded; basic auth checked like the plugin."""

    users: dict[str, str] = {"openstack": PASSWORD}
    answers: dict[str, Any] = {}
    codes: dict[str, int] = {}  # an answer's HTTP status other than 200
    asked: list[str] = []

    def do_GET(self) -> None:
        self.asked.append(self.path)
        user, _, password = (
            base64.b64decode(self.headers.get("Authorization", "Basic ")[6:])
            .decode()
            .partition(":")
        )
        if self.users.get(user) != password:
            self.send_response(401)
            self.end_headers()
            return
        name = self.path.split("?")[0].rsplit("/", 1)[-1]
        if name not in self.answers:
            self.send_response(404)
            self.end_headers()
            return
        body = json.dumps(self.answers[name]).encode()
        self.send_response(self.codes.get(name, 200))
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Broker]]:
    Broker.answers = {
        name: json.loads((DATA / f"api_{name}.json").read_text())
        for name in ("nodes", "vhosts", "queues", "consumers")
    }
    Broker.answers["alarms"] = {"status": "ok"}  # /api/health/checks/alarms, 3.10.8
    Broker.codes = {}
    Broker.asked = []
    Broker.users = {"openstack": PASSWORD}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Broker)
    monkeypatch.setattr(rabbitmq_api, "PORT", server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Broker
    server.shutdown()
    server.server_close()


def _host(transport_url: str | None, tmp_path: Path) -> tuple[Remote, Connections]:
    spec = HostSpec(
        "ctl-01", connection="local", address="127.0.0.1", roles=("controller", "messaging")
    )
    connections = Connections(Inventory({"ctl-01": spec}, "test"), 3.0)
    remote = connections["ctl-01"]
    conf = f"[DEFAULT]\ntransport_url = {transport_url}\n" if transport_url else "[DEFAULT]\n"
    snap = HostSnapshot("ctl-01")
    snap.reads["configs"] = ReadResult("configs", 0, f"{PART} /etc/nova/nova.conf\n{conf}\n")
    remote.adopt(snap)
    return remote, connections


def _ctl_reads() -> dict[str, ReadResult]:
    return {
        "rabbitmq_status": ReadResult(
            "rabbitmq_status", 0, (DATA / "ctl_cluster_status.json").read_text()
        ),
        "rabbitmq_vhosts": ReadResult(
            "rabbitmq_vhosts", 0, (DATA / "ctl_list_vhosts.txt").read_text()
        ),
        "rabbitmq_root_queues": ReadResult(
            "rabbitmq_root_queues", 0, (DATA / "ctl_list_queues.txt").read_text()
        ),
    }


def test_transport_urls_give_every_broker_and_hide_the_password() -> None:
    forget_all()
    found = rabbitmq_api.transport_endpoints(
        f"rabbit://nova:{ENCODED}@10.0.0.11:5672,nova:{ENCODED}@[fd00::12]:5671/nova?ssl=0"
    )
    assert [(e.host, e.port, e.user) for e in found] == [
        ("10.0.0.11", 5672, "nova"),
        ("fd00::12", 5671, "nova"),
    ]
    assert found[0].password == PASSWORD
    assert PASSWORD not in repr(found[0])
    assert PASSWORD not in redact(f"connecting with {PASSWORD} or {ENCODED}")
    assert ENCODED not in redact(f"connecting with {ENCODED}")
    assert rabbitmq_api.transport_endpoints("kafka://k:p@10.0.0.1:9092") == []


def test_the_api_answers_as_rabbitmqctl_does(broker: type[Broker], tmp_path: Path) -> None:
    remote, connections = _host(f"rabbit://openstack:{ENCODED}@127.0.0.1:5672/", tmp_path)
    reads = rabbitmq_api.management_reads(remote, connections, 3.0)
    assert set(reads) == set(rabbitmq_api.READS)
    assert all(r.ok and "management API" in r.stderr for r in reads.values())
    by_api = HostSnapshot("ctl-01", reads=dict(reads))
    remote.adopt(by_api)
    from_api = broker_of(remote)
    remote.adopt(HostSnapshot("ctl-01", reads=_ctl_reads()))
    from_ctl = broker_of(remote)
    assert from_api.cluster_status["running_nodes"] == from_ctl.cluster_status["running_nodes"]
    assert from_api.cluster_status["alarms"] == from_ctl.cluster_status["alarms"] == []
    assert from_api.consumers == from_ctl.consumers
    assert from_api.ready == from_ctl.ready
    assert len(from_api.consumers) > 20  # the recorded broker's queues, all of them
    listings = [p for p in broker.asked if not p.startswith("/api/health/")]
    assert all("?" in p for p in listings)  # columns only
    assert "/api/health/checks/alarms" in broker.asked


def test_a_queue_without_statistics_yet_hands_over_to_rabbitmqctl(
    broker: type[Broker], tmp_path: Path
) -> None:
    del broker.answers["queues"][0]["messages_ready"]
    remote, connections = _host(f"rabbit://openstack:{ENCODED}@127.0.0.1:5672/", tmp_path)
    with pytest.raises(CouldNotRun, match="statistics"):
        rabbitmq_api.management_reads(remote, connections, 3.0)


def test_each_user_is_tried_until_one_may_manage(broker: type[Broker], tmp_path: Path) -> None:
    broker.users = {"cinder": "other"}
    url = f"rabbit://nova:{ENCODED}@127.0.0.1:5672/"
    remote, connections = _host(url, tmp_path)
    with pytest.raises(CouldNotRun) as refused:
        rabbitmq_api.management_reads(remote, connections, 3.0)
    assert "HTTP 401" in refused.value.reason
    assert PASSWORD not in str(refused.value) + refused.value.reason
    remote, connections = _host(
        f"rabbit://nova:{ENCODED}@127.0.0.1:5672,cinder:other@127.0.0.1:5672/", tmp_path
    )
    assert rabbitmq_api.management_reads(remote, connections, 3.0)["rabbitmq_vhosts"].ok


def test_no_transport_url_no_api(tmp_path: Path) -> None:
    remote, connections = _host(None, tmp_path)
    with pytest.raises(CouldNotRun, match="transport_url"):
        rabbitmq_api.management_reads(remote, connections, 3.0)


def test_without_the_api_the_pass_reads_with_rabbitmqctl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No management listener: the host's RabbitMQ reads run in a second command on the
    host (rabbitmqctl, absent on this machine: command not found), its others in the first."""
    monkeypatch.setattr(rabbitmq_api, "PORT", 9)  # discard: nothing listens
    remote, connections = _host(f"rabbit://openstack:{ENCODED}@127.0.0.1:5672/", tmp_path)
    remote.begin_collection()
    snap = _read_and_hand(remote, {"clock", "rabbitmq_status", "rabbitmq_vhosts"}, 3.0, connections)
    assert snap.commands == 2
    assert snap.reads["clock"].ok
    assert "management API" not in snap.reads["rabbitmq_status"].stderr
    assert snap.reads["rabbitmq_status"].rc != 0  # rabbitmqctl's own answer, not the API's
    assert remote.reads["rabbitmq_vhosts"] is snap.reads["rabbitmq_vhosts"]


def _alarms(remote: Remote, connections: Connections) -> Any:
    reads = rabbitmq_api.management_reads(remote, connections, 3.0)
    return json.loads(reads["rabbitmq_status"].stdout)["alarms"]


def test_an_alarm_is_the_brokers_own_health_check_live(
    broker: type[Broker], tmp_path: Path
) -> None:
    """The alarm health check answers 503 naming the alarms (recorded from the lab's 3.10.8
    with its disk alarm raised) while the node's flag waits for its next statistics."""
    broker.answers["alarms"] = {
        "alarms": [{"node": "rabbit@controller", "resource": "disk space"}],
        "reason": "There are alarms in effect in the cluster",
        "status": "failed",
    }
    broker.codes["alarms"] = 503
    remote, connections = _host(f"rabbit://openstack:{ENCODED}@127.0.0.1:5672/", tmp_path)
    assert _alarms(remote, connections) == [
        {"node": "rabbit@controller", "resource": "disk", "type": "resource_limit"}
    ]
    broker.answers["alarms"] = {"status": "failed"}  # failed, naming nothing: not understood
    with pytest.raises(CouldNotRun):
        rabbitmq_api.management_reads(remote, connections, 3.0)


def test_a_broker_without_the_alarm_check_gives_its_nodes_flags(
    broker: type[Broker], tmp_path: Path
) -> None:
    del broker.answers["alarms"]  # before 3.8.10: 404
    broker.answers["nodes"][0]["mem_alarm"] = True
    remote, connections = _host(f"rabbit://openstack:{ENCODED}@127.0.0.1:5672/", tmp_path)
    node = broker.answers["nodes"][0]["name"]
    assert _alarms(remote, connections) == [
        {"node": node, "resource": "memory", "type": "resource_limit"}
    ]


def test_users_and_permissions_from_the_api_where_its_user_may_list_them(
    broker: type[Broker], tmp_path: Path
) -> None:
    """An administrator's credentials: MQ-005's read from the API too, in rabbitmqctl's
    format (parsed by the same strict parser); a user that may not list them: that one
    read is left to rabbitmqctl, the others still come from the API."""
    Broker.answers["users"] = [
        {"name": "openstack", "tags": ["administrator"]},
        {"name": "guest", "tags": "management,monitoring"},  # before 3.10: a string
    ]
    Broker.answers["permissions"] = [
        {"user": "openstack", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
        {"user": "guest", "vhost": "/", "configure": "", "write": "^amq", "read": ".*"},
    ]
    remote, connections = _host(f"rabbit://openstack:{ENCODED}@127.0.0.1:5672/", tmp_path)
    reads = rabbitmq_api.management_reads(remote, connections, 3.0)
    assert set(reads) == {*rabbitmq_api.READS, "rabbitmq_permissions"}
    grants = parse_grants(reads["rabbitmq_permissions"].stdout, "ctl-01")
    assert grants.users == {"openstack", "guest"}
    assert grants.vhosts["/"] == {"openstack": (".*", ".*", ".*"), "guest": ("", "^amq", ".*")}
    assert set(grants.vhosts) == {"/"} | {
        v.strip() for v in reads["rabbitmq_vhosts"].stdout.splitlines() if v.strip()
    }
    Broker.codes["permissions"] = 401  # not an administrator: listing refused
    reads = rabbitmq_api.management_reads(remote, connections, 3.0)
    assert set(reads) == set(rabbitmq_api.READS)

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
from afterboot.domains.rabbitmq import broker_of, health_of, parse_grants, parse_health
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


# -- MQ-006: the broker's own health checks ------------------------------------------------

HEALTHY = {
    "virtual-hosts": {"status": "ok"},  # /api/health/checks/virtual-hosts
    "5672": json.loads((DATA / "api_health_port_listener.json").read_text()),  # port-listener
    "days": {"status": "ok"},  # certificate-expiration/14/days: no TLS listener
}
WANTED = (*rabbitmq_api.READS, rabbitmq_api.HEALTH)


@pytest.fixture
def healthy(broker: type[Broker]) -> type[Broker]:
    broker.answers.update(HEALTHY)
    broker.answers["overview"] = json.loads((DATA / "api_overview.json").read_text())
    return broker


def _health(remote: Remote, connections: Connections) -> Any:
    reads = rabbitmq_api.management_reads(remote, connections, 3.0, WANTED)
    assert "management API" in reads[rabbitmq_api.HEALTH].stderr
    return parse_health(reads[rabbitmq_api.HEALTH].stdout, "ctl-01")


def _ctl_health(name: str) -> Any:
    return parse_health((DATA / name).read_text(), "ctl-01")


def test_the_health_checks_answer_as_rabbitmqctl_does(
    healthy: type[Broker], tmp_path: Path
) -> None:
    """The lab's RabbitMQ 3.10.8 healthy, both sources recorded: one node, no vhost down,
    the same listeners; the API asked the port the transport_url names and the certificates
    (no TLS listener: ok, and so recorded), rabbitmqctl did not ask them."""
    remote, connections = _host(f"rabbit://openstack:{ENCODED}@127.0.0.1:5672/", tmp_path)
    api, ctl = _health(remote, connections), _ctl_health("ctl_health.txt")
    assert (api.node, api.down_vhosts) == (ctl.node, ctl.down_vhosts) == ("rabbit@controller", ())
    assert sorted(api.listeners, key=str) == sorted(ctl.listeners, key=str)
    assert (api.ports, ctl.ports) == ({5672: True}, {})
    assert (api.expiring, ctl.expiring) == ((), None)
    assert api.listening(5672)
    assert ctl.listening(5672)
    assert not ctl.listening(5671)
    asked = [p.split("?")[0] for p in healthy.asked if "health/checks" in p or "overview" in p]
    assert set(asked) == {
        "/api/health/checks/alarms",
        "/api/health/checks/virtual-hosts",
        "/api/overview",
        "/api/health/checks/port-listener/5672",
        "/api/health/checks/certificate-expiration/14/days",
    }


def test_the_health_checks_are_asked_only_for_a_check_that_reads_them(
    healthy: type[Broker], tmp_path: Path
) -> None:
    remote, connections = _host(f"rabbit://openstack:{ENCODED}@127.0.0.1:5672/", tmp_path)
    reads = rabbitmq_api.management_reads(remote, connections, 3.0)
    assert rabbitmq_api.HEALTH not in reads
    assert not [p for p in healthy.asked if "virtual-hosts" in p or "overview" in p]


def test_a_vhost_down_is_named_by_both_sources(healthy: type[Broker], tmp_path: Path) -> None:
    """The lab's vhost / stopped (lab fault rabbitmq-vhost-down): 503 naming it, and
    rabbitmqctl's eval naming it."""
    healthy.answers["virtual-hosts"] = json.loads(
        (DATA / "api_health_virtual_hosts_down.json").read_text()
    )
    healthy.codes["virtual-hosts"] = 503
    remote, connections = _host(f"rabbit://openstack:{ENCODED}@127.0.0.1:5672/", tmp_path)
    assert _health(remote, connections).down_vhosts == ("/",)
    assert _ctl_health("ctl_health_vhost_down.txt").down_vhosts == ("/",)


def test_a_moved_listener_fails_the_port_in_both_sources(
    healthy: type[Broker], tmp_path: Path
) -> None:
    """The lab's AMQP listener moved to 5673 (lab fault rabbitmq-listener-moved): the
    port-listener check of 5672 answers 503 with the ports it has; rabbitmqctl lists 5673."""
    healthy.answers["5672"] = json.loads(
        (DATA / "api_health_port_listener_missing.json").read_text()
    )
    healthy.codes["5672"] = 503
    healthy.answers["overview"] = json.loads(
        (DATA / "api_overview_listener_moved.json").read_text()
    )
    remote, connections = _host(f"rabbit://openstack:{ENCODED}@127.0.0.1:5672/", tmp_path)
    api, ctl = _health(remote, connections), _ctl_health("ctl_health_listener_moved.txt")
    assert not api.listening(5672)
    assert not ctl.listening(5672)
    assert api.listening(5673)
    assert ctl.listening(5673)
    assert api.ports == {5672: False}


def test_an_expiring_certificate_is_named(healthy: type[Broker], tmp_path: Path) -> None:
    """certificate-expiration answers 503 with the listeners whose files expire (the
    plugin's shape: node, protocol, interface, port, certfile, cacertfile, and each one's
    expiry dates)."""
    healthy.answers["days"] = {
        "status": "failed",
        "reason": "Certificates expiring",
        "expired": [
            {
                "node": "rabbit@controller",
                "protocol": "amqp/ssl",
                "interface": "10.77.0.10",
                "port": 5671,
                "certfile": "/etc/rabbitmq/tls/server.pem",
                "cacertfile": "/etc/rabbitmq/tls/ca.pem",
                "certfile_expires_on": ["2026-12-12 10:00:00"],
                "cacertfile_expires_on": [],
            }
        ],
    }
    healthy.codes["days"] = 503
    remote, connections = _host(f"rabbit://openstack:{ENCODED}@127.0.0.1:5672/", tmp_path)
    (cert,) = _health(remote, connections).expiring
    assert (cert.port, cert.protocol, cert.certfile) == (
        5671,
        "amqp/ssl",
        "/etc/rabbitmq/tls/server.pem",
    )
    assert "2026-12-12 10:00:00" in cert.expires


@pytest.mark.parametrize(
    ("name", "code", "answer"),
    [
        ("virtual-hosts", 404, None),  # a broker before 3.8.10: no such check
        ("virtual-hosts", 500, {"error": "Internal Server Error"}),
        ("virtual-hosts", 200, "<html>not json</html>"),
        ("virtual-hosts", 503, {"status": "failed", "reason": "Some virtual hosts are down"}),
        ("virtual-hosts", 200, {"status": "failed"}),
        ("5672", 503, {"status": "ok"}),
        ("5672", 401, {"error": "not_authorised"}),
        ("days", 400, {"error": "bad_request", "reason": "Invalid expiration value."}),
        ("days", 503, {"status": "failed", "reason": "Certificates expiring"}),
        ("overview", 200, {"node": "rabbit@controller"}),  # no listeners
    ],
)
def test_a_health_answer_not_understood_is_left_to_rabbitmqctl(
    healthy: type[Broker], tmp_path: Path, name: str, code: int, answer: Any
) -> None:
    """No false green: the API does not answer the read (rabbitmqctl reads it, on the host),
    never with an empty healthy one; the other reads still come from the API."""
    if answer is None:
        del healthy.answers[name]
    else:
        healthy.answers[name] = answer
    healthy.codes[name] = code
    remote, connections = _host(f"rabbit://openstack:{ENCODED}@127.0.0.1:5672/", tmp_path)
    reads = rabbitmq_api.management_reads(remote, connections, 3.0, WANTED)
    assert rabbitmq_api.HEALTH not in reads
    assert set(reads) == set(rabbitmq_api.READS)


def test_each_health_check_that_did_not_answer_is_could_not_run(tmp_path: Path) -> None:
    """The read's parser: a part missing, a line of another shape, rabbitmqctl's own error,
    a certificate check that failed to run, TLS listeners without their certificates asked:
    could-not-run naming it, never a node without a vhost down or a listener less."""
    good = (DATA / "ctl_health.txt").read_text()
    state = good.split("\n")[1]
    tls = state.replace('"amqp","tls":false', '"amqp/ssl","tls":true')
    bad = {
        "empty": "",
        "no state": f"{PART} ports\n{{}}\n",
        "garbage state": f"{PART} state\nError: unable to perform an operation on node\n",
        "state not json": f'{PART} state\n{{"down_vhosts": [\n',
        "state without node": f'{PART} state\n{{"down_vhosts": [], "listeners": []}}\n',
        "eval's error": f"{PART} state\n{state}\n{{badrpc,nodedown}}\n",
        "outside a part": f"banner\n{good}",
        "another part": f"{good}{PART} queues\n[]\n",
        "ports garbage": f'{good}{PART} ports\n{{"5672": "maybe"}}\n',
        "certificates tool missing": (
            f"{good}{PART} certificates\nexit 127\nsh: rabbitmq-diagnostics: not found\n"
        ),
        "certificates failed naming none": (
            f'{good}{PART} certificates\nexit 69\n{{"result": "error"}}\n'
        ),
        "certificates ok with an error status": (
            f'{good}{PART} certificates\nexit 70\n{{"result": "ok"}}\n'
        ),
        "certificates without status": f'{good}{PART} certificates\n{{"result": "ok"}}\n',
        "TLS not asked": f"{PART} state\n{tls}\nok\n",
    }
    for why, text in bad.items():
        with pytest.raises(CouldNotRun):  # noqa: PT012 - the case named when it passes
            parse_health(text, "ctl-01")
            pytest.fail(why)
    # and through the host: a failed read (rabbitmqctl could not reach its node) is could-not-run
    remote, _ = _host(None, tmp_path)
    snap = HostSnapshot("ctl-01")
    snap.reads["rabbitmq_health"] = ReadResult(
        "rabbitmq_health", 69, "", "Error: unable to connect"
    )
    remote.adopt(snap)
    with pytest.raises(CouldNotRun, match="rabbitmq_health"):
        health_of(remote)


def test_the_health_read_keeps_no_secret(healthy: type[Broker], tmp_path: Path) -> None:
    """The listeners' socket options (a TLS key's password among them) are never kept, nor
    the transport URL's password."""
    healthy.answers["overview"]["listeners"][0]["socket_opts"] = {
        "certfile": "/etc/rabbitmq/tls/server.pem",
        "password": "key-secret",
    }
    remote, connections = _host(f"rabbit://openstack:{ENCODED}@127.0.0.1:5672/", tmp_path)
    reads = rabbitmq_api.management_reads(remote, connections, 3.0, WANTED)
    text = reads[rabbitmq_api.HEALTH].stdout + reads[rabbitmq_api.HEALTH].stderr
    for secret in ("key-secret", PASSWORD, ENCODED):
        assert secret not in text
    assert parse_health(text.split("via the")[0], "ctl-01").listeners[0].tls

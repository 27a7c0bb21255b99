"""DEP-001's mechanism: the endpoints a configuration names, probed from the host with a
bounded TCP connect (loopback listeners here: one answers, one refuses), read in the
collection pass's second command once the host's configs are read."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests_cloud.test_dependencies as dependencies_checks
from afterboot.checks.findings import Findings, item_findings
from afterboot.collection import read_host
from afterboot.domains.dependencies import answers, dependencies, probe, probe_from
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.procedures.runbook import load, render
from afterboot.reads.hostreads import PART, parts
from afterboot.snapshot import HostSnapshot, ReadResult
from afterboot.transport.connections import Connections, Remote

NOVA = """[DEFAULT]
transport_url = rabbit://nova:s3cr%40t@ctl-01:5672,nova:s3cr%40t@ctl-02:5673/
[database]
connection = mysql+pymysql://nova:pw@db-vip/nova?charset=utf8
[api_database]
connection = sqlite:////var/lib/nova/nova_api.sqlite
[keystone_authtoken]
www_authenticate_uri = https://keystone.example:5000/v3
auth_url = http://keystone.example:5000
memcached_servers = ctl-01:11211,inet6:[fd00::5]:11212
[glance]
api_servers = http://glance-a:9292,https://glance-b
[placement]
auth_url = $my_auth_url
"""


def test_every_option_kind_names_its_endpoints_without_credentials() -> None:
    found = dependencies({"/etc/nova/nova.conf": NOVA})
    assert [(d.section, d.option, d.endpoint) for d in found] == [
        ("DEFAULT", "transport_url", "ctl-01:5672"),
        ("DEFAULT", "transport_url", "ctl-02:5673"),
        ("database", "connection", "db-vip:3306"),
        ("keystone_authtoken", "www_authenticate_uri", "keystone.example:5000"),
        ("keystone_authtoken", "auth_url", "keystone.example:5000"),
        ("keystone_authtoken", "memcached_servers", "ctl-01:11211"),
        ("keystone_authtoken", "memcached_servers", "[fd00::5]:11212"),
        ("glance", "api_servers", "glance-a:9292"),
        ("glance", "api_servers", "glance-b:443"),
    ]  # sqlite and an oslo substitution name none
    assert not any("s3cr" in repr(d) or "pw" in d.endpoint for d in found)


def test_a_file_that_does_not_parse_names_nothing() -> None:
    assert dependencies({"/etc/nova/nova.conf": "no section\n"}) == []


@pytest.fixture
def ports() -> Iterator[tuple[int, int]]:
    """A port that answers and one that refuses, on loopback."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused = closed.getsockname()[1]
    closed.close()
    yield listening.getsockname()[1], refused
    listening.close()


def test_the_probe_tells_an_answering_endpoint_from_a_refusing_one(
    ports: tuple[int, int],
) -> None:
    up, down = ports
    out = subprocess.run(
        ["sh", "-c", probe([("127.0.0.1", up), ("127.0.0.1", down)], 2)],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    ).stdout
    said = answers(out)
    assert said[("127.0.0.1", up)] == 0
    assert said[("127.0.0.1", down)] not in (0, 124)


def test_a_hostile_host_name_is_an_argument_never_shell(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    evil = f"$(touch {marker})"
    subprocess.run(["sh", "-c", probe([(evil, 1)], 1)], capture_output=True, timeout=20)
    assert not marker.exists()


def test_the_pass_probes_what_the_hosts_configuration_names(
    tmp_path: Path, ports: tuple[int, int]
) -> None:
    up, down = ports
    etc = tmp_path / "nova"
    etc.mkdir()
    (etc / "nova.conf").write_text(
        f"[DEFAULT]\ntransport_url = rabbit://u:p@127.0.0.1:{up}/\n"
        f"[keystone_authtoken]\nmemcached_servers = 127.0.0.1:{down}\n"
    )
    spec = HostSpec("cmp-01", connection="local", roles=("compute",), paths={"/etc/nova": str(etc)})
    remote = Connections(Inventory({"cmp-01": spec}, "t"), 5)["cmp-01"]
    snap = read_host(remote, ["dependencies"], 5.0)
    assert snap.commands == 2  # the configs, then the probe made from them
    said = answers(snap.reads["dependencies"].stdout)
    assert said[("127.0.0.1", up)] == 0
    assert said[("127.0.0.1", down)] != 0


def test_a_configuration_that_names_no_endpoint_costs_no_second_command(tmp_path: Path) -> None:
    etc = tmp_path / "swift"
    etc.mkdir()
    (etc / "object-server.conf").write_text("[DEFAULT]\nbind_port = 6200\n")
    spec = HostSpec("obj-01", connection="local", paths={"/etc/swift": str(etc)})
    remote = Connections(Inventory({"obj-01": spec}, "t"), 5)["obj-01"]
    snap = read_host(remote, ["dependencies"], 5.0)
    assert snap.commands == 1
    assert snap.reads["configs"].stdout  # the configuration was read: it names nothing
    assert (snap.reads["dependencies"].rc, snap.reads["dependencies"].stdout) == (0, "")


def test_a_configuration_that_could_not_be_read_fails_the_probe_too() -> None:
    configs = ReadResult("configs", 2, "", "cat: permission denied")
    said = probe_from(HostSpec("cmp-01"), configs)
    assert isinstance(said, ReadResult)
    assert (said.rc, said.stderr) == (1, "its configuration could not be read")
    assert probe_from(HostSpec("cmp-01"), None) == said


# -- DEP-001 judged: what it could not see is never a skip nor a pass -----------------------


def _read_host(configs: str, probed: ReadResult) -> Remote:
    """A host whose pass read ``configs`` and the probe made from them."""
    spec = HostSpec("cmp-01", connection="local", roles=("compute",))
    remote = Connections(Inventory({"cmp-01": spec}, "t"), 5)["cmp-01"]
    snap = HostSnapshot("cmp-01", started=1.0, ended=2.0)
    snap.reads = {
        "clock": ReadResult("clock", 0, "1000.0 500.0\n"),
        "configs": ReadResult("configs", 0, configs),
        "dependencies": probed,
    }
    remote.adopt(snap)
    return remote


def _dep_001(remote: Remote, request: pytest.FixtureRequest) -> None:
    dependencies_checks.test_configured_dependencies_answer(remote, Findings(request.node))


NOVA_PART = f"{PART} /etc/nova/nova.conf\n[DEFAULT]\ntransport_url = rabbit://u:p@ctl-01:5672/\n"


def test_dep_001_a_probe_answer_of_real_lines_judges(request: pytest.FixtureRequest) -> None:
    _dep_001(_read_host(NOVA_PART, ReadResult("dependencies", 0, "ctl-01 5672 0\n")), request)
    with pytest.raises(AssertionError, match=r"ctl-01:5672 .*refused or unreachable"):
        _dep_001(_read_host(NOVA_PART, ReadResult("dependencies", 0, "ctl-01 5672 1\n")), request)


def test_dep_001_a_probe_answer_that_is_not_the_probes_is_could_not_run(
    request: pytest.FixtureRequest,
) -> None:
    garbage = ReadResult("dependencies", 0, "bash: timeout: command not found\nctl-01 5672 0\n")
    with pytest.raises(
        CouldNotRun, match="host cmp-01: read 'dependencies': unexpected line 'bash: timeout"
    ):
        _dep_001(_read_host(NOVA_PART, garbage), request)


def test_dep_001_a_configuration_that_does_not_parse_is_could_not_run_not_a_skip(
    request: pytest.FixtureRequest,
) -> None:
    broken = f"{PART} /etc/nova/nova.conf\nno section here\n"
    with pytest.raises(CouldNotRun, match=r"endpoints of /etc/nova/nova\.conf are not known"):
        _dep_001(_read_host(broken, ReadResult("dependencies", 0, "")), request)


def test_dep_001_skips_only_a_host_whose_configuration_names_nothing_and_whose_probe_answered(
    request: pytest.FixtureRequest,
) -> None:
    quiet = f"{PART} /etc/swift/object-server.conf\n[DEFAULT]\nbind_port = 6200\n"
    with pytest.raises(pytest.skip.Exception, match="names an endpoint"):
        _dep_001(_read_host(quiet, ReadResult("dependencies", 0, "")), request)
    failed = ReadResult("dependencies", 1, "", "sh: cannot fork")
    with pytest.raises(CouldNotRun, match="read 'dependencies' failed"):
        _dep_001(_read_host(quiet, failed), request)


# -- [oslo_messaging_notifications] transport_url: probed as RPC's, named with its section ---

NOTIFYING = (
    f"{PART} /etc/nova/nova.conf\n[DEFAULT]\ntransport_url = rabbit://u:p@ctl-01:5672/\n"
    "[oslo_messaging_notifications]\ndriver = messagingv2\n"
    "transport_url = rabbit://notify:N0tify%2Fs3cr3t@mq-notify:5671/notifications\n"
)


def test_the_notifications_broker_is_an_endpoint_of_its_own() -> None:
    found = dependencies(parts(NOTIFYING))
    assert [(d.section, d.option, d.endpoint) for d in found] == [
        ("DEFAULT", "transport_url", "ctl-01:5672"),
        ("oslo_messaging_notifications", "transport_url", "mq-notify:5671"),
    ]
    unset = NOTIFYING.replace("transport_url = rabbit://notify", "#transport_url = x://notify")
    assert [d.section for d in dependencies(parts(unset))] == ["DEFAULT"]
    empty = NOTIFYING.rsplit("transport_url", 1)[0] + "transport_url =\n"
    assert [d.section for d in dependencies(parts(empty))] == ["DEFAULT"]


def test_dep_001_a_refusing_notifications_broker_fails_naming_its_option(
    request: pytest.FixtureRequest,
) -> None:
    probed = ReadResult("dependencies", 0, "ctl-01 5672 0\nmq-notify 5671 1\n")
    with pytest.raises(AssertionError) as failed:
        _dep_001(_read_host(NOTIFYING, probed), request)
    said = str(failed.value)
    assert (
        "mq-notify:5671 (/etc/nova/nova.conf [oslo_messaging_notifications] transport_url): "
        "refused or unreachable"
    ) in said
    assert "ctl-01" not in said  # RPC's broker answered
    for form in ("N0tify", "s3cr3t", "%2F"):
        assert form not in said
    # the procedure names the line to fix
    (finding,) = item_findings(request.node)
    steps = render(load()["DEP-001"], [finding])
    text = " ".join(line for s in steps for line in s.text)
    assert "which /etc/nova/nova.conf names in [oslo_messaging_notifications] transport_url" in (
        text
    )
    shown = "\n".join([text, json.dumps(finding.to_dict())])
    for form in ("N0tify", "s3cr3t"):
        assert form not in shown


def test_dep_001_an_unset_notifications_url_probes_nothing_more(
    request: pytest.FixtureRequest,
) -> None:
    unset = NOTIFYING.split("transport_url = rabbit://notify")[0]
    _dep_001(_read_host(unset, ReadResult("dependencies", 0, "ctl-01 5672 0\n")), request)


# -- ceph's monitors, as ceph.conf names them (librados' syntax, not oslo.config's) ----------


@pytest.mark.parametrize(
    ("mon_host", "monitors"),
    [
        ("10.77.0.31", [("10.77.0.31", 6789)]),  # the lab's: a bare address is v1's port
        (  # cephadm's minimal conf: tab-indented, one group per monitor, v2 preferred
            "[v2:10.0.0.1:3300/0,v1:10.0.0.1:6789/0] [v2:10.0.0.2:3300/0,v1:10.0.0.2:6789/0]",
            [("10.0.0.1", 3300), ("10.0.0.2", 3300)],
        ),
        (
            "10.0.0.1:6789, 10.0.0.2:6790,mon3",
            [("10.0.0.1", 6789), ("10.0.0.2", 6790), ("mon3", 6789)],
        ),
        ("[v2:[fd00::1]:3300/0,v1:[fd00::1]:6789/0]", [("fd00::1", 3300)]),
        ("[fd00::1]:6789,[fd00::2]", [("fd00::1", 6789), ("fd00::2", 6789)]),
        ("v1:10.0.0.1:6789/0 # the old one", [("10.0.0.1", 6789)]),
    ],
)
def test_ceph_s_monitors_are_endpoints_in_every_form_of_mon_host(
    mon_host: str, monitors: list[tuple[str, int]]
) -> None:
    conf = f"[global]\n\tfsid = 9a1c\n\tmon_host = {mon_host}\n[client]\nmon_host = 10.9.9.9\n"
    found = dependencies({"/etc/ceph/ceph.conf": conf})
    assert [(d.host, d.port) for d in found] == monitors
    assert {(d.section, d.option) for d in found} == {("global", "mon_host")}
    spaced = conf.replace("mon_host =", "mon host =", 1)  # ceph accepts both spellings
    assert [(d.host, d.port) for d in dependencies({"/etc/ceph/ceph.conf": spaced})] == monitors


def test_dep_001_a_monitor_that_does_not_answer_fails_naming_ceph_conf(
    request: pytest.FixtureRequest,
) -> None:
    configs = NOVA_PART + f"{PART} /etc/ceph/ceph.conf\n[global]\n\tmon_host = 10.77.0.31\n"
    answered = ReadResult("dependencies", 0, "ctl-01 5672 0\n10.77.0.31 6789 0\n")
    _dep_001(_read_host(configs, answered), request)
    refused = ReadResult("dependencies", 0, "ctl-01 5672 0\n10.77.0.31 6789 1\n")
    with pytest.raises(AssertionError) as failed:
        _dep_001(_read_host(configs, refused), request)
    assert "10.77.0.31:6789 (/etc/ceph/ceph.conf [global] mon_host): refused or unreachable" in str(
        failed.value
    )
    assert "ctl-01" not in str(failed.value)

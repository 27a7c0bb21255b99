"""DEP-001's mechanism: the endpoints a configuration names, probed from the host with a
bounded TCP connect (loopback listeners here: one answers, one refuses), read in the
collection pass's second command once the host's configs are read."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from afterboot.collection import read_host
from afterboot.domains.dependencies import answers, dependencies, probe
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.transport.connections import Connections

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

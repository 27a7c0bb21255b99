"""Inventory loaders on realistic samples: kolla multinode INI, openstack-ansible-style
YAML, and afterboot's own format."""

from __future__ import annotations

from pathlib import Path

import pytest

from afterboot.errors import InputError
from afterboot.inventory.ansible import GROUP_ROLES
from afterboot.inventory.limits import limited
from afterboot.inventory.load import load_inventory

from .conftest import SAMPLES


def test_kolla_multinode_groups_map_to_roles() -> None:
    inv = load_inventory(SAMPLES / "kolla-multinode.ini")
    assert sorted(inv.hosts) == [
        "compute01",
        "compute02",
        "control01",
        "control02",
        "control03",
        "localhost",
        "monitor01",
        "network01",
        "storage01",
    ]
    assert set(inv.hosts["control02"].roles) == {
        "controller",
        "database",
        "messaging",
        "object-storage-proxy",
        "dashboard",
    }
    assert inv.hosts["compute01"].roles == ("compute",)
    assert set(inv.hosts["storage01"].roles) == {"block-storage", "object-storage"}
    assert inv.hosts["network01"].roles == ("network",)
    assert inv.hosts["monitor01"].roles == ()
    assert inv.names("compute") == ["compute01", "compute02"]


def test_kolla_host_variables_become_connection_settings() -> None:
    inv = load_inventory(SAMPLES / "kolla-multinode.ini")
    c2 = inv.hosts["compute02"]
    assert (c2.address, c2.port, c2.connection) == ("192.0.2.32", 2222, "ssh")
    assert c2.key is not None
    assert c2.key.endswith("/.ssh/kolla")
    assert c2.jump == "ops@bastion.example.org"
    assert inv.hosts["control01"].user == "kolla"
    assert inv.hosts["control01"].address == "control01"
    assert inv.hosts["localhost"].connection == "local"


def test_openstack_ansible_style_yaml() -> None:
    inv = load_inventory(SAMPLES / "osa.yml")
    assert set(inv.hosts["infra1"].roles) == {
        "controller",
        "database",
        "messaging",
        "object-storage-proxy",
    }
    assert inv.hosts["compute1"].roles == ("compute",)
    assert inv.hosts["cinder1"].roles == ("block-storage",)
    assert inv.names("object-storage") == ["swift1", "swift2"]
    assert inv.hosts["infra2"].address == "172.29.236.12"
    assert inv.hosts["infra2"].user == "root"
    assert inv.hosts["log1"].roles == ()


def test_afterboot_yaml() -> None:
    inv = load_inventory(SAMPLES / "afterboot.yaml")
    ctl = inv.hosts["ctl-01"]
    assert ctl.roles == ("controller", "database", "messaging", "object-storage-proxy")
    assert ctl.key == str(SAMPLES / "keys/ops")
    assert ctl.services == ("nova-novncproxy",)
    assert inv.hosts["cmp-01"].jump == "ops@bastion"
    assert (inv.hosts["cmp-02"].connection, inv.hosts["cmp-02"].port) == ("paramiko", 2222)
    kolla = inv.hosts["kolla-cmp-03"]
    assert (kolla.connection, kolla.container, kolla.service_manager) == (
        "docker",
        "nova_compute",
        "container",
    )
    assert kolla.path("/etc/nova/nova.conf") == "/etc/kolla/nova-compute/nova.conf"
    assert kolla.path("/var/log/nova/nova-compute.log") == "/var/log/kolla/nova/nova-compute.log"
    assert kolla.path("/etc/novarc") == "/etc/novarc"
    assert inv.hosts["obj-01"].exclude_services == ("swift-object-updater",)
    assert inv.database_dsn is not None


def test_limits_by_role_and_host() -> None:
    inv = load_inventory(SAMPLES / "afterboot.yaml")
    assert sorted(limited(inv, ["compute"], []).hosts) == ["cmp-01", "cmp-02", "kolla-cmp-03"]
    assert sorted(limited(inv, ["compute"], ["cmp-02", "ctl-01"]).hosts) == ["cmp-02"]


def test_mapping_covers_the_base_groups_of_both_deployers() -> None:
    for group in (
        "control",
        "network",
        "compute",
        "storage",
        "compute_hosts",
        "shared-infra_hosts",
        "swift_hosts",
        "storage_hosts",
        "network_hosts",
    ):
        assert GROUP_ROLES[group], group
    assert "monitoring" not in GROUP_ROLES


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("all:\n  children:\n    compute:\n      hostz: {}\n", ":4: group compute: unknown key"),
        ("all:\n  hosts:\n    c1: [1]\n", ":3: host c1: variables must be a mapping"),
        ("[compute]\nc1\n[compute:vars]\nnot a pair\n", ":4: [compute:vars] expects key=value"),
        ("- just\n- a list\n", ":1: inventory must be a YAML mapping"),
        ("hosts: {}\n", ":1: hosts must be a non-empty mapping"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "inv"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        load_inventory(path)
    assert str(exc.value).startswith(str(path) + where), str(exc.value)

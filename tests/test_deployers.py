"""Every deployment tool's inventory as its operators write it: each OpenStack node of
each sample resolves to its roles, service manager, engine and paths; every other node
has no role (no per-host check) and --list-hosts says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from afterboot.collection import needs
from afterboot.errors import InputError
from afterboot.inventory import commands
from afterboot.inventory.deployers import (
    GENERIC,
    KAYOBE,
    KOLLA,
    KOLLA_NOTHING,
    OSA,
    TRIPLEO,
    HostFacts,
    detect,
    read_kolla_globals,
)
from afterboot.inventory.load import load_inventory
from afterboot.inventory.model import Inventory

from .conftest import SAMPLES

DEPLOYERS = SAMPLES / "deployers"
KOLLA_DIR = DEPLOYERS / "kolla-ansible"
MULTINODE = KOLLA_DIR / "multinode"
GLOBALS = KOLLA_DIR / "globals.yml"
TRIPLEO_INV = DEPLOYERS / "tripleo" / "tripleo-ansible-inventory.yaml"
KAYOBE_INV = DEPLOYERS / "kayobe" / "inventory"
OSA_JSON = DEPLOYERS / "openstack-ansible" / "openstack_inventory.json"

CONTROLLER = ("controller", "database", "messaging", "dashboard")


def placed(inv: Inventory) -> dict[str, tuple[tuple[str, ...], str, str]]:
    """Each host's roles (sorted), service manager and engine ("" where not checked)."""
    return {
        h.name: (tuple(sorted(h.roles)), h.service_manager, h.container_engine)
        if h.roles
        else ((), "-", h.note)
        for h in inv.hosts.values()
    }


def roles(*names: str) -> tuple[str, ...]:
    return tuple(sorted(names))


@pytest.fixture(params=["ansible", "by hand"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each INI/YAML sample read through ansible-inventory and by the hand parser."""
    if request.param == "ansible":
        if commands.tool("ansible-inventory") is None:
            pytest.skip("ansible-core is not installed")
    else:
        found = commands.tool
        monkeypatch.setattr(
            commands, "tool", lambda n: None if n.startswith("ansible") else found(n)
        )
    return str(request.param)


# -- kolla-ansible -----------------------------------------------------------------------


def test_kolla_multinode_with_kollas_defaults(reader: str) -> None:
    inv = load_inventory(MULTINODE)
    assert inv.layout == KOLLA
    ctl = (roles(*CONTROLLER), "container", "docker")
    assert placed(inv) == {
        **{f"ctl0{i}.cloud.example.org": ctl for i in (1, 2, 3)},
        **{f"net0{i}.cloud.example.org": (("network",), "container", "docker") for i in (1, 2)},
        **{
            f"cmp0{i}.cloud.example.org": (("compute",), "container", "docker")
            for i in (1, 2, 3, 4)
        },
        "mon01.cloud.example.org": ((), "-", "a monitoring host: no OpenStack role"),
        # enable_cinder is off by kolla's default: its storage host runs no OpenStack service
        "stor01.cloud.example.org": ((), "-", KOLLA_NOTHING),
        "localhost": ((), "-", "kolla's deployment host"),
    }
    ctl01 = inv.hosts["ctl01.cloud.example.org"]
    assert ctl01.path("/etc/nova/nova.conf") == "/etc/kolla/nova-api/nova.conf"
    assert ctl01.path("/etc/keystone/keystone.conf") == "/etc/kolla/keystone/keystone.conf"
    assert ctl01.path("/etc/neutron/plugins/ml2/ml2_conf.ini") == (
        "/etc/kolla/neutron-server/ml2_conf.ini"
    )
    assert ctl01.path("/var/log/nova/nova-api.log") == "/var/log/kolla/nova/nova-api.log"
    assert "cinder-volume (enable_cinder false: kolla's default)" in ctl01.origins["roles"]
    cmp01 = inv.hosts["cmp01.cloud.example.org"]
    assert cmp01.path("/etc/nova/nova.conf") == "/etc/kolla/nova-compute/nova.conf"
    assert cmp01.path("/etc/libvirt/qemu.conf") == "/etc/kolla/nova-libvirt/qemu.conf"
    assert cmp01.path("/var/lib/nova/instances") == (
        "/var/lib/docker/volumes/nova_compute/_data/instances"
    )
    assert (cmp01.user, cmp01.become, cmp01.jump) == (
        "kolla",
        True,
        "ops@bastion.cloud.example.org",
    )
    assert inv.hosts["net02.cloud.example.org"].address == "10.20.0.22"


def test_kolla_multinode_with_its_globals(reader: str) -> None:
    inv = load_inventory(MULTINODE, kolla_globals=GLOBALS)
    ctl01 = inv.hosts["ctl01.cloud.example.org"]
    # enable_cinder without the LVM backend: cinder_volume on cinder-volume, the controllers
    assert ctl01.roles == ("controller", "block-storage", "database", "messaging", "dashboard")
    assert (ctl01.service_manager, ctl01.container_engine) == ("container", "podman")
    assert ctl01.origins["engine"] == str(GLOBALS)
    assert ctl01.path("/etc/cinder/cinder.conf") == "/etc/kolla/cinder-api/cinder.conf"
    assert inv.hosts["stor01.cloud.example.org"].roles == ()
    cmp01 = inv.hosts["cmp01.cloud.example.org"]
    assert cmp01.container_engine == "podman"
    assert cmp01.path("/var/lib/nova") == "/var/lib/containers/storage/volumes/nova_compute/_data"


def test_kolla_lvm_backend_puts_cinder_volume_on_the_storage_hosts(
    reader: str, tmp_path: Path
) -> None:
    globals_ = tmp_path / "globals.yml"
    globals_.write_text(
        "enable_cinder: true\nenable_cinder_backend_lvm: 'yes'\nenable_openstack_core: no\n"
    )
    inv = load_inventory(MULTINODE, kolla_globals=globals_)
    stor01 = inv.hosts["stor01.cloud.example.org"]
    assert (stor01.roles, stor01.container_engine) == (("block-storage",), "docker")
    assert stor01.path("/etc/cinder/cinder.conf") == "/etc/kolla/cinder-volume/cinder.conf"
    # enable_horizon follows enable_openstack_core: off, so no dashboard
    assert inv.hosts["ctl01.cloud.example.org"].roles == ("controller", "database", "messaging")


def test_kolla_engine_from_the_inventory_and_globals_win(reader: str, tmp_path: Path) -> None:
    inventory = tmp_path / "multinode"
    inventory.write_text(
        MULTINODE.read_text().replace("[all:vars]\n", "[all:vars]\nkolla_container_engine=podman\n")
    )
    cmp01 = load_inventory(inventory).hosts["cmp01.cloud.example.org"]
    assert cmp01.container_engine == "podman"
    assert cmp01.origins["engine"].endswith(" [all:vars] (kolla_container_engine)")
    docker = tmp_path / "globals.yml"
    docker.write_text("kolla_container_engine: docker\n")
    # kolla-ansible passes globals.yml as extra variables: it wins over the inventory
    assert (
        load_inventory(inventory, kolla_globals=docker)
        .hosts["cmp01.cloud.example.org"]
        .container_engine
        == "docker"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kolla_container_engine: rkt\n", "kolla_container_engine 'rkt' is not docker or podman"),
        ("enable_cinder: maybe\n", "enable_cinder 'maybe' is not a boolean"),
        ("enable_cinder: \"{{ lookup('env', 'X') }}\"\n", "enable_cinder is a template"),
        ("- a list\n", ":1: kolla globals must be a YAML mapping"),
        ("a: [\n", ":2: invalid YAML"),
    ],
)
def test_bad_kolla_globals_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    globals_ = tmp_path / "globals.yml"
    globals_.write_text(text)
    with pytest.raises(InputError) as exc:
        load_inventory(MULTINODE, kolla_globals=globals_)
    assert "\n" not in str(exc.value)
    assert str(exc.value).startswith(str(globals_))
    assert message in str(exc.value)


def test_kolla_globals_vaulted_password_is_never_read() -> None:
    assert read_kolla_globals(GLOBALS).values["kolla_container_engine"] == "podman"


def test_kolla_all_in_one(reader: str) -> None:
    inv = load_inventory(KOLLA_DIR / "all-in-one", kolla_globals=GLOBALS)
    host = inv.hosts["localhost"]
    assert (host.connection, host.service_manager, host.container_engine) == (
        "local",
        "container",
        "podman",
    )
    assert tuple(sorted(host.roles)) == roles(*CONTROLLER, "compute", "network", "block-storage")
    # the controller's nova.conf (it names the databases); the compute's instances volume
    assert host.path("/etc/nova/nova.conf") == "/etc/kolla/nova-api/nova.conf"
    assert host.path("/var/lib/nova") == "/var/lib/containers/storage/volumes/nova_compute/_data"


def test_the_older_kolla_layout_still_reads(reader: str) -> None:
    inv = load_inventory(SAMPLES / "kolla-multinode.ini")
    assert inv.layout == KOLLA
    assert inv.hosts["storage01"].roles == ("object-storage", "block-storage")
    assert inv.hosts["compute01"].service_manager == "container"


# -- TripleO -----------------------------------------------------------------------------


def test_tripleo_inventory(reader: str) -> None:
    inv = load_inventory(TRIPLEO_INV)
    assert inv.layout == TRIPLEO
    ctl = (
        roles(*CONTROLLER, "block-storage", "object-storage-proxy", "ceph"),
        "container",
        "podman",
    )
    assert placed(inv) == {
        **{f"overcloud-controller-{i}": ctl for i in range(3)},
        # mysql_client runs on every role: no database role for it
        **{f"overcloud-novacompute-{i}": (("compute",), "container", "podman") for i in (0, 1)},
        **{f"overcloud-cephstorage-{i}": (("ceph",), "container", "podman") for i in range(3)},
        "overcloud-objectstorage-0": (("object-storage",), "container", "podman"),
        "overcloud-blockstorage-0": (("block-storage",), "container", "podman"),
        "undercloud": ((), "-", "TripleO's undercloud: not an overcloud node"),
    }
    ctl0 = inv.hosts["overcloud-controller-0"]
    assert (ctl0.address, ctl0.user) == ("192.168.24.10", "tripleo-admin")
    assert ctl0.path("/etc/nova/nova.conf") == (
        "/var/lib/config-data/puppet-generated/nova/etc/nova/nova.conf"
    )
    assert ctl0.path("/var/log/nova/nova-api.log") == "/var/log/containers/nova/nova-api.log"
    assert ctl0.origins["engine"].endswith("overcloud vars (container_cli)")
    cmp0 = inv.hosts["overcloud-novacompute-0"]
    assert cmp0.path("/etc/nova/nova.conf") == (
        "/var/lib/config-data/puppet-generated/nova_libvirt/etc/nova/nova.conf"
    )
    # Ceph: monitors on the controllers, OSDs on the storage nodes (no false "absent")
    assert ctl0.exclude_services == ("ceph-osd",)
    assert inv.hosts["overcloud-cephstorage-0"].exclude_services == ("ceph-mon",)
    obj = inv.hosts["overcloud-objectstorage-0"]
    assert obj.path("/etc/swift/object.ring.gz") == (
        "/var/lib/config-data/puppet-generated/swift_ringbuilder/etc/swift/object.ring.gz"
    )
    assert inv.hosts["undercloud"].connection == "local"


def test_tripleo_standalone_and_docker(tmp_path: Path, reader: str) -> None:
    path = tmp_path / "tripleo-ansible-inventory.yaml"
    path.write_text(
        "Standalone:\n  hosts:\n    standalone: {ansible_host: 192.168.24.2}\n"
        "  vars: {tripleo_role_name: Standalone, ansible_ssh_user: root}\n"
        "standalone_stack:\n  children: {Standalone: {}}\n  vars: {container_cli: docker}\n"
        "allovercloud:\n  children: {standalone_stack: {}}\n"
    )
    host = load_inventory(path).hosts["standalone"]
    assert tuple(sorted(host.roles)) == roles(*CONTROLLER, "compute")
    assert (host.service_manager, host.container_engine) == ("container", "docker")


# -- kayobe ------------------------------------------------------------------------------


@pytest.fixture
def ansible_core() -> None:
    if commands.tool("ansible-inventory") is None:
        pytest.skip("ansible-core is not installed (a directory inventory needs it)")


def test_kayobe_inventory(ansible_core: None) -> None:
    inv = load_inventory(KAYOBE_INV)
    assert inv.layout == KAYOBE
    ctl = (roles("network", *CONTROLLER), "container", "docker")
    compute = (("compute",), "container", "docker")
    assert placed(inv) == {
        **{f"ctl0{i}.cloud.example.org": ctl for i in (1, 2, 3)},
        "cmp01": compute,
        "cmp02": compute,
        "gpu01": compute,  # compute-vgpu is a child of compute
        "stor01": ((), "-", KOLLA_NOTHING),  # kolla's enable_cinder off by default
        "mon01": ((), "-", "a monitoring host: no OpenStack role"),
        "seed01": ((), "-", "kayobe's seed (Bifrost): not an OpenStack node"),
        "seed-hv01": ((), "-", "kayobe's seed hypervisor: not an OpenStack node"),
        "localhost": ((), "-", "kayobe's Ansible control host: not an OpenStack node"),
        "bm-node-01": ((), "-", "an Ironic bare-metal node: not an OpenStack node"),
        "sw-mgmt01": ((), "-", "a switch: not an OpenStack node"),
        "sw-hs01": ((), "-", "a switch: not an OpenStack node"),
    }
    ctl01 = inv.hosts["ctl01.cloud.example.org"]
    assert ctl01.path("/etc/nova/nova.conf") == "/etc/kolla/nova-api/nova.conf"


def test_kayobe_with_kollas_globals(ansible_core: None, tmp_path: Path) -> None:
    globals_ = tmp_path / "globals.yml"
    globals_.write_text(
        "kolla_container_engine: podman\nenable_cinder: yes\nenable_cinder_backend_lvm: yes\n"
    )
    inv = load_inventory(KAYOBE_INV, kolla_globals=globals_)
    stor01 = inv.hosts["stor01"]
    assert (stor01.roles, stor01.container_engine) == (("block-storage",), "podman")
    assert "block-storage" not in inv.hosts["ctl01.cloud.example.org"].roles


# -- openstack-ansible -------------------------------------------------------------------


def test_openstack_ansible_dynamic_inventory() -> None:
    inv = load_inventory(OSA_JSON)
    assert inv.layout == OSA
    infra = (roles(*CONTROLLER, "block-storage"), "process", "")
    found = placed(inv)
    for i in (1, 2, 3):
        assert found.pop(f"infra{i}") == infra
        assert found.pop(f"net{i}") == (("network",), "systemd", "")
    for i in (1, 2):
        assert found.pop(f"compute{i}") == (("compute",), "systemd", "")
    assert found.pop("log1") == ((), "-", "no openstack-ansible group of an OpenStack service")
    # every other host is an LXC container, checked through its physical host
    assert len(found) == 3 * 14
    for name, (got, _, note) in found.items():
        physical = name.split("_", 1)[0]
        assert (got, note) == ((), f"an LXC container on {physical}: its services are read there")
    infra1 = inv.hosts["infra1"]
    assert "galera_container@infra1_galera_container-" in infra1.origins["roles"]


def test_layouts_are_told_apart() -> None:
    def facts(*groups: str, **variables: str) -> list[HostFacts]:
        return [HostFacts("h", frozenset(groups), lambda k: variables.get(k))]

    assert detect({"control", "baremetal"}, facts("control"), False) == KOLLA
    assert detect({"seed-hypervisor", "overcloud", "controllers"}, facts(), False) == KAYOBE
    assert detect({"shared_infra_hosts"}, facts(), False) == OSA
    assert detect({"Compute"}, facts("Compute", tripleo_role_name="Compute"), False) == TRIPLEO
    assert detect({"compute"}, facts("compute"), True) == KOLLA  # --kolla-globals says so
    assert detect({"web"}, facts("web"), False) == GENERIC


# -- --list-hosts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "lines"),
    [
        (
            [f"--inventory={MULTINODE}", f"--kolla-globals={GLOBALS}"],
            [
                "inventory: *multinode (kolla-ansible's layout)",
                "cmp01.cloud.example.org * container/podman * compute * "
                "*paths=/etc/libvirt->/etc/kolla/nova-libvirt,/etc/nova->/etc/kolla/nova-compute,"
                "*/var/log/*->/var/log/kolla/*",
                "ctl01.cloud.example.org * kolla * ssh become * container/podman * "
                "controller,block-storage,database,messaging,dashboard *",
                "localhost * local * - * - * not-checked(kolla's deployment host)*",
                "mon01.cloud.example.org * - * - * "
                "not-checked(a monitoring host: no OpenStack role)*",
            ],
        ),
        (
            [f"--inventory={TRIPLEO_INV}"],
            [
                "inventory: *tripleo-ansible-inventory.yaml (tripleo's layout)",
                "overcloud-controller-0 * 192.168.24.10 * tripleo-admin * container/podman *",
                "undercloud * local * - * - * "
                "not-checked(TripleO's undercloud: not an overcloud node)*",
            ],
        ),
        (
            [f"--inventory={OSA_JSON}"],
            [
                "inventory: *openstack_inventory.json (openstack-ansible's layout)",
                "compute1 * 172.29.236.16 * systemd * compute *",
                "infra1 * 172.29.236.11 * process * controller,block-storage,database,messaging,*",
                "infra1_galera_container-* - * - * not-checked(an LXC container on infra1: *",
            ],
        ),
    ],
)
def test_list_hosts_shows_each_tools_nodes_and_the_others_as_not_checked(
    suite: pytest.Pytester, args: list[str], lines: list[str]
) -> None:
    result = suite.runpytest(*args, "--list-hosts")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(lines)


def test_list_hosts_of_kayobe(suite: pytest.Pytester, ansible_core: None) -> None:
    result = suite.runpytest(f"--inventory={KAYOBE_INV}", "--list-hosts")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "inventory: *inventory (kayobe's layout)",
            "ctl01.cloud.example.org * container/docker * controller,network,database,*",
            "seed01 * 10.30.0.3 * - * - * "
            "not-checked(kayobe's seed (Bifrost): not an OpenStack node)*",
            "sw-mgmt01 * 10.30.9.1 * - * - * not-checked(a switch: not an OpenStack node)*",
        ]
    )


CHECK = """
import pytest

@pytest.mark.check("HOST-009", tier=1)
def test_host(host):
    '''Every host.'''
"""


def test_a_host_without_a_role_gets_no_per_host_check(suite: pytest.Pytester) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    result = suite.runpytest(f"--inventory={MULTINODE}", "--collect-only", "-q")
    collected = [line for line in result.outlines if "::test_host[" in line]
    assert len(collected) == 9  # 3 controllers, 2 network, 4 compute
    assert not any("mon01" in line or "localhost" in line or "stor01" in line for line in collected)


def test_a_host_without_a_role_is_not_read() -> None:
    """The collection pass connects to no host without a role (a switch, a seed)."""
    inv = load_inventory(MULTINODE)
    per_host, _ = needs([], inv)
    assert sorted(per_host) == sorted(h.name for h in inv.hosts.values() if h.roles)
    assert "localhost" not in per_host

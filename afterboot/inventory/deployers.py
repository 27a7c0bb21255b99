"""What each deployment tool's Ansible inventory means to afterboot.

kolla-ansible, kayobe, openstack-ansible and TripleO each write their inventory in a layout
of their own; this module recognises the layout from its groups and says, for each host,
which of afterboot's roles it has, how its services are found (``systemd``, a process
table, or kolla-style containers and their engine) and where their files are (``paths``).
A host none of its groups gives a role (kolla's deployment and monitoring hosts, kayobe's
seed, switches and Ansible control host, TripleO's undercloud, an openstack-ansible LXC
container, whose services its physical host shows) is no OpenStack node to afterboot: it
gets no per-host check, and ``--list-hosts`` says why.

- **kolla-ansible** (``control``, ``network``, ``compute``, ``storage``, ``monitoring``,
  ``deployment`` and the per-service groups): every host is a container host (engine from
  ``--kolla-globals``'s ``kolla_container_engine``, else the inventory's, else docker), its
  configuration in ``/etc/kolla/<service>/`` and logs in ``/var/log/kolla/<project>/``. A
  service group gives its role only where kolla deploys the service: ``enable_cinder``,
  ``enable_horizon``, ``enable_mariadb``, ``enable_rabbitmq`` ... as ``--kolla-globals``
  (kolla-ansible's extra variables: they win), else the inventory, else kolla's defaults
  say; ``cinder_volume`` runs on ``cinder-volume-lvm`` with ``enable_cinder_backend_lvm``,
  else on ``cinder-volume``.
- **kayobe** (``seed-hypervisor``, ``seed``, ``controllers``, ``network``, ``compute``,
  ``storage``, ``monitoring``, switches): its overcloud hosts are kolla container hosts
  (kolla's ``control`` is kayobe's ``controllers``); every other host has no role.
- **openstack-ansible** (``*_hosts`` physical groups, per-container groups such as
  ``keystone_all`` or ``nova_api_container``): an LXC container's groups give their roles
  to its ``physical_host``, whose services are then read from its process table.
- **TripleO** (``tripleo-ansible-inventory.yaml``: role groups with ``tripleo_role_name``,
  service groups such as ``nova_compute`` or ``keystone``): container hosts (engine from
  ``container_cli``, podman by default), configuration under
  ``/var/lib/config-data/puppet-generated/``, logs under ``/var/log/containers/``.

Any other inventory maps its groups through :data:`GENERIC_ROLES`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from afterboot.errors import InputError, shown
from afterboot.inputfile import InputFileError, read_text
from afterboot.settings import ROLES
from afterboot.yamlines import LineDict, load_yaml

KOLLA, KAYOBE, OSA, TRIPLEO, GENERIC = (
    "kolla-ansible",
    "kayobe",
    "openstack-ansible",
    "tripleo",
    "ansible",
)
ENGINES = ("docker", "podman")

# Any inventory whose layout is not recognised: the groups of every tool, and plain names.
GENERIC_ROLES: dict[str, tuple[str, ...]] = {
    # kolla-ansible
    "control": ("controller",),
    "network": ("network",),
    "compute": ("compute",),
    "storage": ("block-storage",),
    "mariadb": ("database",),
    "rabbitmq": ("messaging",),
    "horizon": ("dashboard",),
    "swift-proxy-server": ("object-storage-proxy",),
    "swift-object-server": ("object-storage",),
    "swift-account-server": ("object-storage",),
    "swift-container-server": ("object-storage",),
    "cinder-volume": ("block-storage",),
    "nova-compute": ("compute",),
    "ceph-mon": ("ceph",),
    "ceph-osd": ("ceph",),
    # openstack-ansible (hyphenated names: releases before 2024)
    "shared-infra_hosts": ("controller", "database", "messaging"),
    "shared_infra_hosts": ("database", "messaging"),
    "os-infra_hosts": ("controller",),
    "os_infra_hosts": ("controller",),
    "identity_hosts": ("controller",),
    "infra_hosts": ("controller", "database", "messaging"),
    "galera_all": ("database",),
    "rabbitmq_all": ("messaging",),
    "compute_hosts": ("compute",),
    "storage_hosts": ("block-storage",),
    "swift_hosts": ("object-storage",),
    "swift-proxy_hosts": ("object-storage-proxy",),
    "swift_proxy_hosts": ("object-storage-proxy",),
    "network_hosts": ("network",),
    "dashboard_hosts": ("dashboard",),
    # plain names seen in hand-written inventories
    "controller": ("controller",),
    "controllers": ("controller",),
    "computes": ("compute",),
}

# -- kolla-ansible ---------------------------------------------------------------------

# group -> (roles, the flag that deploys its service: "" always)
KOLLA_GROUPS: dict[str, tuple[tuple[str, ...], str]] = {
    "control": (("controller",), ""),
    "network": (("network",), ""),
    "compute": (("compute",), ""),
    "nova-compute": (("compute",), ""),  # kolla-ansible's layouts before 2023.1
    "mariadb": (("database",), "enable_mariadb"),
    "rabbitmq": (("messaging",), "enable_rabbitmq"),
    "horizon": (("dashboard",), "enable_horizon"),
    # swift and ceph: kolla-ansible's earlier releases
    "swift-proxy-server": (("object-storage-proxy",), "enable_swift"),
    "swift-account-server": (("object-storage",), "enable_swift"),
    "swift-container-server": (("object-storage",), "enable_swift"),
    "swift-object-server": (("object-storage",), "enable_swift"),
    "ceph-mon": (("ceph",), "enable_ceph"),
    "ceph-osd": (("ceph",), "enable_ceph"),
}
# kolla-ansible's defaults (ansible/group_vars/all/*.yml) of the flags above
KOLLA_DEFAULTS: dict[str, Any] = {
    "enable_openstack_core": True,
    "enable_mariadb": True,
    "enable_rabbitmq": True,
    "enable_horizon": "{{ enable_openstack_core | bool }}",
    "enable_cinder": False,
    "enable_cinder_backend_lvm": False,
    "enable_swift": False,
    "enable_ceph": False,
}
# Groups only a kolla-ansible inventory has (beside control).
KOLLA_MARKERS = ("baremetal", "deployment", "kolla_toolbox", "kolla-toolbox", "kolla_logs")
KOLLA_CONFIG = "/etc/kolla"
# a host of the layout none of whose groups' services kolla deploys (enable_* off)
KOLLA_NOTHING = "kolla deploys no OpenStack service here (see --kolla-globals' enable_*)"
KOLLA_LOGS = "/var/log/kolla"
# canonical path prefix -> the service directory under /etc/kolla holding it, by role; a
# prefix the first role of a host names stays (a controller's nova.conf is nova-api's,
# which names the databases; a compute host's is nova-compute's)
KOLLA_CONFIGS: dict[str, dict[str, str]] = {
    "controller": {
        "/etc/nova": "nova-api",
        "/etc/glance": "glance-api",
        "/etc/cinder": "cinder-api",
        "/etc/keystone": "keystone",
        "/etc/placement": "placement-api",
        "/etc/neutron": "neutron-server",
        "/etc/neutron/plugins/ml2": "neutron-server",  # ml2_conf.ini lies beside neutron.conf
    },
    "compute": {"/etc/nova": "nova-compute", "/etc/libvirt": "nova-libvirt"},
    "block-storage": {"/etc/cinder": "cinder-volume"},
    "network": {"/etc/neutron": "neutron-l3-agent"},
    "object-storage-proxy": {"/etc/swift": "swift-proxy-server"},
    "object-storage": {
        "/etc/swift": "swift-object-server",
        "/etc/swift/account-server.conf": "swift-account-server/account-server.conf",
        "/etc/swift/container-server.conf": "swift-container-server/container-server.conf",
        "/etc/swift/proxy-server.conf": "swift-proxy-server/proxy-server.conf",
    },
}
KOLLA_LOG_PROJECTS = (
    "nova", "neutron", "glance", "cinder", "keystone", "placement", "swift", "horizon",
    "mariadb", "rabbitmq", "libvirt",
)  # fmt: skip
VOLUMES = {"docker": "/var/lib/docker/volumes", "podman": "/var/lib/containers/storage/volumes"}

# -- kayobe ----------------------------------------------------------------------------

KAYOBE_MARKERS = ("seed-hypervisor", "overcloud")
# kayobe's top-level group -> kolla-ansible's (kolla_overcloud_inventory_top_level_group_map)
KAYOBE_TO_KOLLA = {
    "controllers": "control",
    "network": "network",
    "compute": "compute",
    "monitoring": "monitoring",
    "storage": "storage",
}
# kolla-ansible's service groups kayobe generates from them, with the flags above
KAYOBE_KOLLA_SERVICES = {
    "control": ("mariadb", "rabbitmq", "horizon", "cinder-volume"),
    "storage": ("cinder-volume-lvm",),
}
KAYOBE_NOT_CLOUD = {
    "seed": "kayobe's seed (Bifrost): not an OpenStack node",
    "seed-hypervisor": "kayobe's seed hypervisor: not an OpenStack node",
    "infra-vms": "a kayobe infrastructure VM: not an OpenStack node",
    "ansible-control": "kayobe's Ansible control host: not an OpenStack node",
    "switches": "a switch: not an OpenStack node",
    "baremetal-compute": "an Ironic bare-metal node: not an OpenStack node",
    "monitoring": "a monitoring host: no OpenStack role",
}

# -- openstack-ansible -----------------------------------------------------------------

OSA_GROUPS: dict[str, tuple[str, ...]] = {
    # physical hosts (openstack_user_config.yml), current names and those before 2024
    "shared_infra_hosts": ("database", "messaging"),
    "shared-infra_hosts": ("database", "messaging"),
    "infra_hosts": ("controller", "database", "messaging"),
    "os_infra_hosts": ("controller",),
    "os-infra_hosts": ("controller",),
    "identity_hosts": ("controller",),
    "compute_infra_hosts": ("controller",),
    "compute-infra_hosts": ("controller",),
    "database_hosts": ("database",),
    "mq_hosts": ("messaging",),
    "dashboard_hosts": ("dashboard",),
    "compute_hosts": ("compute",),
    "kvm_compute_hosts": ("compute",),
    "qemu_compute_hosts": ("compute",),
    "storage_hosts": ("block-storage",),
    "swift_hosts": ("object-storage",),
    "swift_proxy_hosts": ("object-storage-proxy",),
    "swift-proxy_hosts": ("object-storage-proxy",),
    "network_hosts": ("network",),
    "network_gateway_hosts": ("network",),
    "network_agent_hosts": ("network",),
    # what runs in a container (or on the host itself, is_metal): its components' groups
    "galera_all": ("database",),
    "galera_container": ("database",),
    "rabbitmq_all": ("messaging",),
    "rabbit_mq_container": ("messaging",),
    "keystone_all": ("controller",),
    "keystone_container": ("controller",),
    "nova_api_container": ("controller",),
    "nova_api_os_compute": ("controller",),
    "nova_conductor": ("controller",),
    "nova_scheduler": ("controller",),
    "nova_compute": ("compute",),
    "nova_compute_container": ("compute",),
    "cinder_volume": ("block-storage",),
    "cinder_volumes_container": ("block-storage",),
    "horizon_all": ("dashboard",),
    "horizon_container": ("dashboard",),
    "swift_proxy": ("object-storage-proxy",),
    "swift_proxy_container": ("object-storage-proxy",),
    "swift_acc": ("object-storage",),
    "swift_cont": ("object-storage",),
    "swift_obj": ("object-storage",),
    "neutron_l3_agent": ("network",),
    "neutron_dhcp_agent": ("network",),
    "neutron_metadata_agent": ("network",),
    "neutron_agents_container": ("network",),
    "neutron_ovn_gateway": ("network",),
}
OSA_MARKERS = ("all_containers", "lxc_hosts", *(g for g in OSA_GROUPS if g.endswith("_hosts")))

# -- TripleO ---------------------------------------------------------------------------

# tripleo_role_name (the role groups) -> the roles of its default services
TRIPLEO_ROLES: dict[str, tuple[str, ...]] = {
    "Controller": ("controller", "database", "messaging", "dashboard"),
    "ControllerOpenstack": ("controller", "dashboard"),
    "Database": ("database",),
    "Messaging": ("messaging",),
    "Compute": ("compute",),
    "ComputeHCI": ("compute", "ceph"),
    "ComputeInstanceHA": ("compute",),
    "CephStorage": ("ceph",),
    "ObjectStorage": ("object-storage",),
    "BlockStorage": ("block-storage",),
    "Networker": ("network",),
    "Standalone": ("controller", "database", "messaging", "dashboard", "compute"),
}
# service groups (each a child group of the roles that run the service)
TRIPLEO_SERVICES: dict[str, tuple[str, ...]] = {
    "keystone": ("controller",),
    "nova_api": ("controller",),
    "mysql": ("database",),
    "oslo_messaging_rpc": ("messaging",),
    "rabbitmq": ("messaging",),
    "horizon": ("dashboard",),
    "nova_compute": ("compute",),
    "cinder_volume": ("block-storage",),
    "swift_proxy": ("object-storage-proxy",),
    "swift_storage": ("object-storage",),
    "ceph_mon": ("ceph",),
    "ceph_osd": ("ceph",),
    "neutron_l3": ("network",),
}
TRIPLEO_CONFIG = "/var/lib/config-data/puppet-generated"
TRIPLEO_CONFIGS: dict[str, dict[str, str]] = {
    "controller": {
        "/etc/nova": "nova/etc/nova",
        "/etc/glance": "glance_api/etc/glance",
        "/etc/cinder": "cinder/etc/cinder",
        "/etc/keystone": "keystone/etc/keystone",
        "/etc/placement": "placement/etc/placement",
        "/etc/neutron": "neutron/etc/neutron",
    },
    "compute": {"/etc/nova": "nova_libvirt/etc/nova", "/etc/libvirt": "nova_libvirt/etc/libvirt"},
    "block-storage": {"/etc/cinder": "cinder/etc/cinder"},
    "network": {"/etc/neutron": "neutron/etc/neutron"},
    "object-storage-proxy": {"/etc/swift": "swift/etc/swift"},
    "object-storage": {"/etc/swift": "swift/etc/swift"},
}
TRIPLEO_RINGS = ("account", "container", "object")  # in swift_ringbuilder/etc/swift
TRIPLEO_LOG_PROJECTS = (
    "nova", "neutron", "glance", "cinder", "keystone", "placement", "swift", "horizon",
    "libvirt", "rabbitmq",
)  # fmt: skip

_TRUE = {"true", "yes", "on", "1", "y", "t"}
_FALSE = {"false", "no", "off", "0", "n", "f", ""}
_FLAG_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*(?:\|\s*bool\s*)?\}\}")


@dataclass(frozen=True)
class HostFacts:
    """One Ansible host as the tool's layout is judged from: its groups (every group it is
    in, through children, but ``all``) and its variables (resolved; ``None``: unset)."""

    name: str
    groups: frozenset[str]
    get: Callable[[str], Any]
    # where a variable was set, as --list-hosts shows it ("group_vars/all.yml (key)")
    origin: Callable[[str], str] = lambda key: f"inventory ({key})"


@dataclass(frozen=True)
class Placement:
    """What the deployment tool says of one host."""

    roles: tuple[str, ...] = ()
    roles_from: str = "no mapped group"
    service_manager: str = ""  # "": afterboot's default (systemd)
    container_engine: str = ""
    engine_from: str = ""
    paths: Mapping[str, str] = field(default_factory=dict)
    note: str = ""  # why a host without a role has none
    # services of its roles it does not run (a Ceph OSD host runs no monitor)
    exclude_services: tuple[str, ...] = ()


# the groups that say which Ceph daemons a host of the ceph role runs (each tool's names)
CEPH_MON_GROUPS = ("ceph-mon", "ceph_mon", "mons")
CEPH_OSD_GROUPS = ("ceph-osd", "ceph_osd", "osds")


def ceph_excluded(
    roles: Sequence[str], groups: Iterable[str], osd_host: bool = False
) -> tuple[str, ...]:
    """The Ceph daemons a host of the ceph role does not run: a monitor where no monitor
    group holds it, an OSD where no OSD group does (``osd_host``: its role runs OSDs)."""
    if "ceph" not in roles:
        return ()
    names = set(groups)
    excluded = []
    if not names & set(CEPH_MON_GROUPS):
        excluded.append("ceph-mon")
    if not osd_host and not names & set(CEPH_OSD_GROUPS):
        excluded.append("ceph-osd")
    return tuple(excluded)


@dataclass(frozen=True)
class KollaGlobals:
    """kolla-ansible's ``globals.yml`` (``--kolla-globals``): its extra variables."""

    values: Mapping[str, Any]
    source: str
    lines: Mapping[str, int] = field(default_factory=dict)  # the line of each variable


def read_kolla_globals(path: str | Path) -> KollaGlobals:
    """``globals.yml`` through the bounded YAML loader; bad input is one InputError line."""
    src = str(path)
    try:
        text = read_text(Path(path))
    except InputFileError as exc:
        raise InputError(str(exc), src) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read kolla globals: {exc}", src) from None
    data = load_yaml(text, src, ansible=True, fast=True)  # a vaulted password in it is never read
    if data is None:
        data = LineDict()
    if not isinstance(data, Mapping):
        raise InputError("kolla globals must be a YAML mapping (kolla's globals.yml)", src, 1)
    lines = dict(data.key_lines) if isinstance(data, LineDict) else {}
    return KollaGlobals(dict(data), src, lines)


def _ordered(roles: Iterable[str]) -> tuple[str, ...]:
    found = set(roles)
    return tuple(r for r in ROLES if r in found)


def _truth(value: Any, name: str, where: str) -> bool:
    text = str(value).strip().lower()
    if value is True or text in _TRUE:
        return True
    if value is False or value is None or text in _FALSE:
        return False
    raise InputError(f"{name} {shown(value)} is not a boolean (yes/no, true/false)", where)


class _Flags:
    """kolla-ansible's ``enable_*`` flags of one host: ``--kolla-globals`` (extra
    variables: they win), else the inventory (kayobe spells them ``kolla_enable_*``), else
    kolla-ansible's default."""

    def __init__(self, host: HostFacts, kolla: KollaGlobals | None) -> None:
        self.host = host
        self.kolla = kolla

    def raw(self, name: str) -> tuple[Any, str]:
        if self.kolla is not None and name in self.kolla.values:
            return self.kolla.values[name], self.kolla.source
        for key in (name, f"kolla_{name}"):
            value = self.host.get(key)
            if value is not None:
                return value, self.host.origin(key)
        return KOLLA_DEFAULTS.get(name, False), "kolla's default"

    def get(self, name: str, depth: int = 0) -> tuple[bool, str]:
        value, where = self.raw(name)
        if isinstance(value, str) and "{{" in value:
            m = _FLAG_TEMPLATE.fullmatch(value.strip())
            if m is None or depth > 5:
                raise InputError(
                    f"{name} is a template ({shown(value)}) afterboot cannot resolve; "
                    "give yes or no",
                    where,
                )
            resolved, _ = self.get(m.group(1), depth + 1)
            return resolved, where
        return _truth(value, name, where), where


def _kolla_engine(host: HostFacts, kolla: KollaGlobals | None, kayobe: bool) -> tuple[str, str]:
    """kolla's engine: ``--kolla-globals``, else the inventory's, else docker."""
    if kolla is not None and kolla.values.get("kolla_container_engine"):
        value, where = kolla.values["kolla_container_engine"], kolla.source
    else:
        keys = (
            ("kolla_container_engine", "container_engine")
            if kayobe
            else ("kolla_container_engine",)
        )
        found = next(((k, host.get(k)) for k in keys if host.get(k)), None)
        if found is None:
            return "docker", "kolla's default"
        value, where = found[1], host.origin(found[0])
    engine = str(value).strip()
    if engine not in ENGINES:
        raise InputError(
            f"host {host.name}: kolla_container_engine {shown(engine)} is not docker or podman",
            where,
        )
    return engine, where


def kolla_paths(roles: Sequence[str], engine: str, volumes: str = "") -> dict[str, str]:
    """Where kolla-ansible puts what a packaged host keeps elsewhere, for these roles."""
    paths: dict[str, str] = {}
    for role in roles:
        for canonical, where in KOLLA_CONFIGS.get(role, {}).items():
            paths.setdefault(canonical, f"{KOLLA_CONFIG}/{where}")
    for project in KOLLA_LOG_PROJECTS:
        paths[f"/var/log/{project}"] = f"{KOLLA_LOGS}/{project}"
    if "compute" in roles:
        paths["/var/lib/nova"] = f"{volumes or VOLUMES[engine]}/nova_compute/_data"
    return paths


def _docker_volumes(host: HostFacts, kolla: KollaGlobals | None) -> str:
    """docker's volumes (kolla's ``docker_runtime_directory``, else /var/lib/docker)."""
    root = (kolla.values.get("docker_runtime_directory") if kolla else None) or host.get(
        "docker_runtime_directory"
    )
    return f"{str(root).rstrip('/')}/volumes" if root else VOLUMES["docker"]


def _kolla_roles(
    host: HostFacts, flags: _Flags, groups: Mapping[str, str]
) -> tuple[list[str], list[str], list[str]]:
    """(roles, the groups that gave them, the groups a disabled service left out);
    ``groups`` names kolla's group for each group the host is in (kayobe renames them)."""
    roles: list[str] = []
    given: list[str] = []
    skipped: list[str] = []
    for group in sorted(groups):
        mapped, flag = KOLLA_GROUPS.get(groups[group], ((), ""))
        if not mapped:
            continue
        if flag:
            on, where = flags.get(flag)
            if not on:
                skipped.append(f"{group} ({flag} false: {where})")
                continue
        roles.extend(mapped)
        given.append(group)
    # cinder_volume runs on cinder-volume-lvm with an LVM backend, else on cinder-volume
    cinder, where = flags.get("enable_cinder")
    lvm, _ = flags.get("enable_cinder_backend_lvm")
    volume_group = "cinder-volume-lvm" if lvm else "cinder-volume"
    hosting = [g for g in sorted(groups) if groups[g] == volume_group]
    if hosting and cinder:
        roles.append("block-storage")
        given.extend(hosting)
    elif hosting:
        skipped.append(f"{hosting[0]} (enable_cinder false: {where})")
    return roles, given, skipped


def _roles_from(given: Sequence[str], skipped: Sequence[str]) -> str:
    said = f"groups {','.join(given)}" if given else "no mapped group"
    if skipped:
        said += "; not deployed: " + ", ".join(skipped)
    return said


def _kolla(hosts: Sequence[HostFacts], kolla: KollaGlobals | None) -> dict[str, Placement]:
    placed = {}
    for host in hosts:
        flags = _Flags(host, kolla)
        roles, given, skipped = _kolla_roles(host, flags, {g: g for g in host.groups})
        roles_t = _ordered(roles)
        engine, engine_from = _kolla_engine(host, kolla, kayobe=False)
        volumes = _docker_volumes(host, kolla) if engine == "docker" else ""
        note = ""
        if not roles_t:
            note = (
                "kolla's deployment host"
                if "deployment" in host.groups
                else "a monitoring host: no OpenStack role"
                if "monitoring" in host.groups
                else KOLLA_NOTHING
            )
        placed[host.name] = Placement(
            roles_t,
            _roles_from(given, skipped),
            "container" if roles_t else "",
            engine if roles_t else "",
            engine_from if roles_t else "",
            kolla_paths(roles_t, engine, volumes) if roles_t else {},
            note,
            ceph_excluded(roles_t, host.groups),
        )
    return placed


def _kayobe(hosts: Sequence[HostFacts], kolla: KollaGlobals | None) -> dict[str, Placement]:
    placed = {}
    for host in hosts:
        flags = _Flags(host, kolla)
        # kayobe's groups as kolla's, and the service groups kayobe generates from them
        renamed = {g: KAYOBE_TO_KOLLA[g] for g in host.groups if g in KAYOBE_TO_KOLLA}
        for group, kolla_group in list(renamed.items()):
            for service in KAYOBE_KOLLA_SERVICES.get(kolla_group, ()):
                renamed[f"{group}->{service}"] = service
        roles, given, skipped = _kolla_roles(host, flags, renamed)
        roles_t = _ordered(roles)
        given = sorted({g.split("->")[0] for g in given})
        skipped = [s.replace("->", " as kolla's ") for s in skipped]
        if not roles_t:
            reason = next((KAYOBE_NOT_CLOUD[g] for g in KAYOBE_NOT_CLOUD if g in host.groups), "")
            placed[host.name] = Placement(
                roles_from=_roles_from(given, skipped),
                note=reason
                or (
                    "kayobe's Ansible control host: not an OpenStack node"
                    if host.name == "localhost"
                    else KOLLA_NOTHING
                    if "overcloud" in host.groups
                    else "in no kayobe overcloud group"
                ),
            )
            continue
        engine, engine_from = _kolla_engine(host, kolla, kayobe=True)
        volumes = _docker_volumes(host, kolla) if engine == "docker" else ""
        placed[host.name] = Placement(
            roles_t,
            _roles_from(given, skipped),
            "container",
            engine,
            engine_from,
            kolla_paths(roles_t, engine, volumes),
        )
    return placed


def _osa(hosts: Sequence[HostFacts]) -> dict[str, Placement]:
    by_name = {h.name: h for h in hosts}
    roles: dict[str, set[str]] = {h.name: set() for h in hosts}
    given: dict[str, set[str]] = {h.name: set() for h in hosts}
    containers: dict[str, list[str]] = {}  # physical host -> its LXC containers
    notes: dict[str, str] = {}
    for host in hosts:
        physical = str(host.get("physical_host") or host.name)
        props = host.get("properties")
        metal = isinstance(props, Mapping) and str(props.get("is_metal")).lower() in _TRUE
        target = host.name
        if physical != host.name and not metal:
            containers.setdefault(physical, []).append(host.name)
            if physical in by_name:
                target = physical
                notes[host.name] = f"an LXC container on {physical}: its services are read there"
            else:
                notes[host.name] = f"an LXC container on {physical}, which is not in the inventory"
                continue
        for group in host.groups:
            mapped = OSA_GROUPS.get(group, ())
            if mapped:
                roles[target].update(mapped)
                given[target].add(group if target == host.name else f"{group}@{host.name}")
    placed = {}
    for host in hosts:
        if host.name in notes:
            placed[host.name] = Placement(roles_from="its physical host's", note=notes[host.name])
            continue
        r = _ordered(roles[host.name])
        lxc = bool(containers.get(host.name)) or "lxc_hosts" in host.groups
        placed[host.name] = Placement(
            r,
            _roles_from(sorted(given[host.name]), ()),
            # its containers' services are in its process table, their units are not
            "process" if lxc and r else "",
            note="" if r else "no openstack-ansible group of an OpenStack service",
        )
    return placed


def _tripleo_paths(roles: Sequence[str]) -> dict[str, str]:
    paths: dict[str, str] = {}
    for role in roles:
        for canonical, where in TRIPLEO_CONFIGS.get(role, {}).items():
            paths.setdefault(canonical, f"{TRIPLEO_CONFIG}/{where}")
    if "object-storage" in roles or "object-storage-proxy" in roles:
        for ring in TRIPLEO_RINGS:
            paths[f"/etc/swift/{ring}.ring.gz"] = (
                f"{TRIPLEO_CONFIG}/swift_ringbuilder/etc/swift/{ring}.ring.gz"
            )
    for project in TRIPLEO_LOG_PROJECTS:
        paths[f"/var/log/{project}"] = f"/var/log/containers/{project}"
    return paths


def _tripleo(hosts: Sequence[HostFacts]) -> dict[str, Placement]:
    placed = {}
    for host in hosts:
        role_name = str(host.get("tripleo_role_name") or "")
        roles: list[str] = []
        given: list[str] = []
        if role_name in TRIPLEO_ROLES:
            roles.extend(TRIPLEO_ROLES[role_name])
            given.append(f"role {role_name}")
        for group in sorted(host.groups):
            if group in TRIPLEO_SERVICES:
                roles.extend(TRIPLEO_SERVICES[group])
                given.append(group)
        r = _ordered(roles)
        if not r:
            undercloud = "Undercloud" in host.groups or role_name == "Undercloud"
            placed[host.name] = Placement(
                roles_from=_roles_from(given, ()),
                note="TripleO's undercloud: not an overcloud node"
                if undercloud
                else "no TripleO role or service group of an OpenStack service",
            )
            continue
        cli = str(host.get("container_cli") or "").strip()
        engine, engine_from = (
            (cli, host.origin("container_cli")) if cli else ("podman", "TripleO's default")
        )
        if engine not in ENGINES:
            raise InputError(
                f"host {host.name}: container_cli {shown(cli)} is not docker or podman"
            )
        osd_role = role_name in ("CephStorage", "ComputeHCI")
        placed[host.name] = Placement(
            r,
            _roles_from(given, ()),
            "container",
            engine,
            engine_from,
            _tripleo_paths(r),
            exclude_services=ceph_excluded(r, host.groups, osd_host=osd_role),
        )
    return placed


def _generic(hosts: Sequence[HostFacts]) -> dict[str, Placement]:
    placed = {}
    for host in hosts:
        given = [g for g in sorted(host.groups) if GENERIC_ROLES.get(g)]
        roles = _ordered(r for g in given for r in GENERIC_ROLES[g])
        placed[host.name] = Placement(
            roles,
            _roles_from(given, ()),
            note="" if roles else "no mapped group",
            exclude_services=ceph_excluded(roles, host.groups),
        )
    return placed


def detect(groups: Iterable[str], hosts: Sequence[HostFacts], kolla_given: bool) -> str:
    """Which tool wrote the inventory, from its groups (and host variables)."""
    names = set(groups)
    if "allovercloud" in names or any(h.get("tripleo_role_name") for h in hosts):
        return TRIPLEO
    if all(m in names for m in KAYOBE_MARKERS):
        return KAYOBE
    if "control" in names and any(m in names for m in KOLLA_MARKERS):
        return KOLLA
    if any(m in names for m in OSA_MARKERS):
        return OSA
    if kolla_given or any(h.get("kolla_container_engine") for h in hosts):
        return KOLLA
    return GENERIC


def place(
    groups: Iterable[str], hosts: Sequence[HostFacts], kolla: KollaGlobals | None = None
) -> tuple[str, dict[str, Placement]]:
    """The tool that wrote the inventory, and what it says of each host."""
    tool = detect(groups, hosts, kolla is not None)
    if tool == KOLLA:
        return tool, _kolla(hosts, kolla)
    if tool == KAYOBE:
        return tool, _kayobe(hosts, kolla)
    if tool == OSA:
        return tool, _osa(hosts)
    if tool == TRIPLEO:
        return tool, _tripleo(hosts)
    return tool, _generic(hosts)

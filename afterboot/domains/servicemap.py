"""Which services each role runs, and how each is found: its systemd units, its kolla
containers, its process names (:data:`SERVICES`, :data:`ROLE_SERVICES`)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from afterboot.domains.cmdline import identities
from afterboot.inventory.model import HostSpec
from afterboot.transport.connections import Remote


@dataclass(frozen=True)
class Service:
    name: str
    # regex a process's identity (:func:`identities`: executable, python script or module,
    # process title) matches whole
    process: str
    units: tuple[str, ...] = ()
    containers: tuple[str, ...] = ()
    # text every command line of the service contains: a cheap test first ("" none)
    needle: str = ""
    # regex searched in the whole command line besides ("" none): the argument that tells
    # this service from another run by the same executable (rabbit's beam, rsync --daemon)
    args: str = ""

    def matches(self, args: str) -> bool:
        """Whether a command line is one of this service's processes: its identity is the
        service's (a command that only names the service, ``journalctl -fu nova-compute``,
        is not)."""
        if self.needle not in args:
            return False
        whole = _pattern(self.process).fullmatch
        if not any(whole(name) for name in identities(args)):
            return False
        return not self.args or _pattern(self.args).search(args) is not None


@functools.lru_cache(maxsize=1024)  # the services' patterns (a few dozen), compiled once
def _pattern(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def _svc(
    name: str,
    process: str | None = None,
    units: tuple[str, ...] = (),
    containers: tuple[str, ...] | None = None,
    args: str = "",
) -> Service:
    return Service(
        name,
        # "nova-api", "/usr/bin/nova-api", "python3 /usr/bin/nova-api", gunicorn's
        # "gunicorn: master [nova-api]", apache's "(wsgi:nova-api)", "nova-api-wsgi"
        process or rf"{re.escape(name)}([-.](wsgi|py))?",
        units or (name, f"openstack-{name}"),
        # kolla's container name; () for a service of the host itself (d-bus)
        (name.replace("-", "_"),) if containers is None else containers,
        "",  # an entry point (python -m nova.cmd.compute) need not name the service
        args,
    )


def _swift_units(kind: str) -> tuple[str, ...]:
    base = kind.removesuffix("-server")
    names = (f"swift-{base}", f"openstack-swift-{base}")
    return names if base == kind else (*names, f"swift-{kind}")


SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        _svc(
            "mariadb",
            r"mariadbd|mysqld",
            ("mariadb", "mysql", "mysqld"),
            ("mariadb", "galera"),
        ),
        _svc("rabbitmq", r"beam(\.smp)?", ("rabbitmq-server",), ("rabbitmq",), r"\brabbit"),
        _svc("memcached", r"memcached", ("memcached",), ("memcached",)),
        # keystone-all, keystone-wsgi-public, (wsgi:keystone-public), a keystone-api launcher
        _svc(
            "keystone", r"keystone([-.][\w.-]+)?", ("keystone", "apache2", "httpd"), ("keystone",)
        ),
        _svc(
            "placement-api", None, ("placement-api", "openstack-placement-api"), ("placement_api",)
        ),
        _svc("glance-api"),
        _svc("neutron-server"),
        _svc("nova-api"),
        _svc("nova-conductor"),
        _svc("nova-scheduler"),
        _svc("nova-novncproxy"),
        _svc("nova-compute"),
        _svc("cinder-api"),
        _svc("cinder-scheduler"),
        _svc("cinder-volume"),
        _svc("dbus", r"dbus-daemon", ("dbus",), (), r"\s--system\b"),
        _svc(
            "libvirtd",
            r"libvirtd|virtqemud",
            ("libvirtd", "virtqemud"),
            ("nova_libvirt",),
        ),
        _svc("ceph-mon", r"ceph-mon", ("ceph-mon@*",), ("ceph-mon*",)),
        _svc("ceph-osd", r"ceph-osd", ("ceph-osd@*",), ("ceph-osd*",)),
        _svc("rsync", r"rsync", ("rsync",), ("swift_rsyncd",), r"\s--daemon\b"),
        *(
            # units as the packages name them: Debian/Ubuntu swift-object.service and
            # swift-object-replicator.service, RDO openstack-swift-object(-replicator);
            # swift-object-server.service as some deployment tools name the servers
            _svc(f"swift-{kind}", None, _swift_units(kind))
            for kind in (
                "proxy-server",
                "account-server",
                "account-replicator",
                "account-auditor",
                "account-reaper",
                "container-server",
                "container-replicator",
                "container-auditor",
                "container-updater",
                "object-server",
                "object-replicator",
                "object-auditor",
                "object-updater",
            )
        ),
        _svc("neutron-dhcp-agent"),
        _svc("neutron-l3-agent"),
        _svc("neutron-metadata-agent"),
        _svc("horizon", r"apache2|httpd", ("apache2", "httpd"), ("horizon",)),
    )
}


ROLE_SERVICES: dict[str, tuple[str, ...]] = {
    "database": ("mariadb",),
    "messaging": ("rabbitmq",),
    "controller": (
        "keystone",
        "placement-api",
        "glance-api",
        "neutron-server",
        "nova-api",
        "nova-conductor",
        "nova-scheduler",
        "cinder-api",
        "cinder-scheduler",
        "memcached",
    ),
    "compute": ("dbus", "libvirtd", "nova-compute"),
    "block-storage": ("cinder-volume",),
    "ceph": ("ceph-mon", "ceph-osd"),
    "object-storage-proxy": ("swift-proxy-server", "memcached"),
    "object-storage": (
        "swift-account-server",
        "swift-account-replicator",
        "swift-account-auditor",
        "swift-container-server",
        "swift-container-replicator",
        "swift-container-auditor",
        "swift-container-updater",
        "swift-object-server",
        "swift-object-replicator",
        "swift-object-auditor",
        "swift-object-updater",
        "rsync",
    ),
    "network": ("neutron-dhcp-agent", "neutron-l3-agent", "neutron-metadata-agent"),
    "dashboard": ("horizon",),
}


def expected_services(remote: Remote | HostSpec, role: str) -> list[str]:
    """The services ``role`` needs on this host, with the inventory's per-host changes.

    ``services:`` extras count toward the host's first role; ``exclude_services:`` apply
    to every role.
    """
    names = list(ROLE_SERVICES.get(role, ()))
    spec = remote if isinstance(remote, HostSpec) else remote.spec
    if spec.roles and spec.roles[0] == role:
        names += [s for s in spec.services if s not in names]
    return [n for n in names if n not in spec.exclude_services]


def host_services(spec: HostSpec) -> list[str]:
    """Every service any role of the host needs (what its service-manager read asks for)."""
    return list(dict.fromkeys(n for role in spec.roles for n in expected_services(spec, role)))


def service(name: str) -> Service:
    """A known service, or one named as distributions name its unit and kolla its container."""
    return SERVICES.get(name) or _svc(name)

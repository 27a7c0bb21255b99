"""The inventory: which hosts exist, what they are for, and how to reach them.

Three sources, one model: afterboot's own YAML (below), Ansible inventories (INI or YAML,
see :mod:`afterboot.inventory.ansible`), and the cloud itself
(:mod:`afterboot.domains.discovery`), which a
check compares with the first two.

afterboot YAML::

    defaults:                       # applies to every host; each key can be overridden
      connection: ssh               # ssh | paramiko | local | docker | podman
      user: root
      port: 22
      key: ~/.ssh/id_ed25519
      jump: admin@bastion           # ssh ProxyJump
      ssh_config: ~/.ssh/config
      service_manager: systemd      # systemd | container | process
      container_engine: podman      # container hosts: docker | podman (else the one that answers)
    database:
      dsn: mysql+pymysql://reader@db/nova   # optional; else read from the service's config
    hosts:
      ctl-01:
        address: 10.0.0.11
        roles: [controller, database, messaging]
        paths: {/etc/nova: /etc/kolla/nova-api}   # canonical prefix -> path on this host
        services: [nova-novncproxy]               # expected in addition to the roles'
        exclude_services: [cinder-scheduler]      # not expected on this host
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from afterboot.errors import InputError, shown
from afterboot.settings import ROLES
from afterboot.yamlines import LineDict

CONNECTIONS = ("ssh", "paramiko", "local", "docker", "podman")
SERVICE_MANAGERS = ("systemd", "container", "process")
CONTAINER_ENGINES = ("docker", "podman")


@dataclass(frozen=True)
class HostSpec:
    """One host as the inventory declares it."""

    name: str
    address: str | None = None
    roles: tuple[str, ...] = ()
    connection: str = "ssh"
    user: str | None = None
    port: int | None = None
    key: str | None = None
    jump: str | None = None
    ssh_config: str | None = None
    container: str | None = None
    service_manager: str = "systemd"
    container_engine: str = ""  # docker | podman; "": the one that answers (docker first)
    paths: Mapping[str, str] = field(default_factory=dict)
    services: tuple[str, ...] = ()
    exclude_services: tuple[str, ...] = ()
    become: bool = False  # ansible_become: commands that need root go through sudo
    become_user: str | None = None
    ssh_args: tuple[str, ...] = ()  # extra ssh arguments, one word each (never a shell line)
    # where each setting came from ("address": "group_vars/all.yml (ansible_host)", ...)
    origins: Mapping[str, str] = field(default_factory=dict, compare=False)
    # the Ansible groups the host is in (through children; ``all`` aside): --host and
    # --role patterns match them as Ansible's --limit does
    groups: tuple[str, ...] = field(default=(), compare=False)
    # why a host without a role has none (kolla's deployment host, kayobe's seed ...)
    note: str = field(default="", compare=False)
    # the kolla-ansible inventory the host came from: remedies give it to ``kolla-ansible -i``
    kolla_inventory: str = field(default="", compare=False)

    def path(self, canonical: str) -> str:
        """Where a canonical path (``/etc/nova/nova.conf``) is on this host."""
        best = ""
        for prefix in self.paths:
            if (canonical == prefix or canonical.startswith(prefix.rstrip("/") + "/")) and len(
                prefix
            ) > len(best):
                best = prefix
        if not best:
            return canonical
        return self.paths[best] + canonical[len(best.rstrip("/")) :]


@dataclass(frozen=True)
class Inventory:
    """The hosts of a cloud, by name, and where they came from."""

    hosts: Mapping[str, HostSpec]
    source: str  # its path; several sources: their paths, comma-separated
    database_dsn: str | None = None
    layout: str = ""  # the deployment tool whose inventory layout it is (kolla-ansible ...)

    def with_role(self, *roles: str) -> list[HostSpec]:
        """The hosts of any of ``roles``; none given: every host with a role (a host
        without one is no OpenStack node: it gets no per-host check)."""
        wanted = set(roles)
        return [h for h in self.hosts.values() if (wanted & set(h.roles) if wanted else h.roles)]

    def names(self, *roles: str) -> list[str]:
        return [h.name for h in self.with_role(*roles)]


def merge_inventories(inventories: Sequence[Inventory]) -> Inventory:
    """Several sources as one: a host a later source declares again is the later one's
    (Ansible sources are merged before this, variable by variable, as Ansible does)."""
    hosts: dict[str, HostSpec] = {}
    for inv in inventories:
        hosts.update(inv.hosts)
    dsn = next((i.database_dsn for i in reversed(inventories) if i.database_dsn), None)
    layouts = dict.fromkeys(i.layout for i in inventories if i.layout)
    return Inventory(
        hosts, ",".join(i.source for i in inventories), dsn, "+".join(layouts) if layouts else ""
    )


_HOST_KEYS = {
    "address",
    "roles",
    "connection",
    "user",
    "port",
    "key",
    "jump",
    "ssh_config",
    "container",
    "service_manager",
    "container_engine",
    "paths",
    "services",
    "exclude_services",
}
_DEFAULT_KEYS = _HOST_KEYS - {"address", "roles", "container", "services", "exclude_services"}


# a role or a service name: what a unit, a container or a process is called (a glob too)
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@*?+:\[\]-]{0,127}")


def _names(value: Any, what: str, src: str, line: int) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not all(isinstance(v, str) for v in names):
        raise InputError(f"{what} must be a list of names", src, line)
    for name in names:
        if not _NAME.fullmatch(name):
            raise InputError(
                f"{what}: {shown(name)} is no name (letters, digits and _ . @ * ? + : [ ] -)",
                src,
                line,
            )
    return tuple(names)


def _expand(value: str | None, base: Path) -> str | None:
    if value is None:
        return None
    path = Path(os.path.expanduser(value))
    return str(path if path.is_absolute() else base / path)


_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_CONTAINER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_JUMP_HOP = re.compile(
    r"(?:ssh://)?(?:(?P<user>[^@]+)@)?(?P<host>\[[^\]]+\]|[^:@\[\]]+)(?::(?P<port>\d+))?"
)
_PORT = re.compile(r"[0-9]{1,5}")
_SCOPE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # an interface name
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._/+,:@=-]{1,4096}")
_STRING_FIELDS = ("address", "user", "key", "jump", "ssh_config", "container", "connection")


def is_host(value: str) -> bool:
    """A host name (RFC 1123 labels, ``_`` allowed) or an IPv4/IPv6 address.

    An IPv6 scope id (``fe80::1%eth0``) is an interface name: ssh expands ``%`` sequences
    of HostName and puts it into the ProxyCommand it runs through a shell.
    """
    if len(value) > 253:
        return False
    bare = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        return _HOSTNAME.fullmatch(value) is not None
    _, percent, scope = bare.partition("%")
    return not percent or _SCOPE_ID.fullmatch(scope) is not None


def ssh_path_problem(path: str) -> str | None:
    """Why a path given to ssh (``-F``, ``-i``) is refused, or None.

    ssh puts ``-F <path>`` unquoted into the ProxyJump command it runs through a shell,
    so a path is plain (no shell or ``%`` character); an existing one is a regular file.
    A missing one is left to ssh (a site's inventory may be written before its keys and
    ssh_config; ssh then says so, and the host's checks could not run).
    """
    if not _PLAIN_PATH.fullmatch(path):
        return "is not a plain path (letters, digits and ._/+,:@=- only)"
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    return None if stat.S_ISREG(mode) else "is not a regular file"


def _is_jump(value: str) -> bool:
    for hop in value.split(","):
        m = _JUMP_HOP.fullmatch(hop)
        if not m or not is_host(m["host"]):
            return False
        if m["user"] is not None and not _USER.fullmatch(m["user"]):
            return False
        if m["port"] is not None and not (len(m["port"]) <= 5 and 0 < int(m["port"]) < 65536):
            return False
    return True


_PROXY_JUMP = re.compile(r"(?i)proxyjump(?:\s*=\s*|\s+)(\S.*)")


def merge_jumps(jump: str | None, args: Sequence[str]) -> tuple[str | None, tuple[str, ...]]:
    """One jump for ssh, and the arguments without theirs: the inventory's jump host, then
    every ``-J`` and ``ProxyJump`` of the ssh arguments, in order, as comma-joined hops (a
    hop named twice is one hop). ssh refuses a second ``-J`` and keeps only the first
    ``ProxyJump``; ``ProxyJump=none`` adds no hop."""
    hops: list[str] = [jump] if jump else []
    rest: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        following = args[i + 1] if i + 1 < len(args) else None
        if word == "-J" and following is not None:
            hops.append(following)
            i += 2
            continue
        if word.startswith("-J") and len(word) > 2:
            hops.append(word[2:])
            i += 1
            continue
        option = following if word == "-o" and following is not None else word[2:]
        m = _PROXY_JUMP.fullmatch(option.strip()) if word.startswith("-o") else None
        if m:
            hops.append(m.group(1).strip())
            i += 2 if word == "-o" else 1
            continue
        rest.append(word)
        i += 1
    joined = [
        h.strip()
        for hop in hops
        for h in hop.split(",")
        if h.strip() and h.strip().lower() != "none"
    ]
    return (",".join(dict.fromkeys(joined)) or None), tuple(rest)


def validate_host(
    name: Any, fields: Mapping[str, Any], src: str, line_of: Callable[[str], int]
) -> None:
    """Refuse a host whose name or connection fields could become ssh options or shell.

    Every place that makes a :class:`HostSpec` calls this first: names and addresses are
    host names or IP addresses, users and containers plain words, ports TCP ports, jumps
    ``[user@]host[:port]`` hops; anything else is one line naming file, host and field.
    """
    if not isinstance(name, str) or not is_host(name):
        raise InputError(
            f"host name {shown(name)} is not a host name or IP address", src, line_of("")
        )
    for key in _STRING_FIELDS:
        value = fields.get(key)
        if value is not None and not isinstance(value, str):
            raise InputError(
                f"host {name}: {key} must be a string, not {type(value).__name__}",
                src,
                line_of(key),
            )
    checks: tuple[tuple[str, Callable[[str], bool], str], ...] = (
        ("address", is_host, "is not a host name or IP address"),
        ("user", lambda v: _USER.fullmatch(v) is not None, "is not a user name"),
        ("jump", _is_jump, "is not a [user@]host[:port] jump host"),
        ("container", lambda v: _CONTAINER.fullmatch(v) is not None, "is not a container name"),
    )
    for key, ok, problem in checks:
        value = fields.get(key)
        if value and not ok(value):
            raise InputError(f"host {name}: {key} {shown(value)} {problem}", src, line_of(key))
    port = fields.get("port")
    if port is not None and (
        isinstance(port, bool)
        or not isinstance(port, int | str)
        or not _PORT.fullmatch(str(port))
        or not 0 < int(port) < 65536
    ):
        raise InputError(f"host {name}: port {shown(port)} is not a TCP port", src, line_of("port"))
    for key in ("roles", "services", "exclude_services"):
        value = fields.get(key)
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise InputError(f"host {name}: {key} must be a list of names", src, line_of(key))
    paths = fields.get("paths")
    if isinstance(paths, Mapping) and not all(
        isinstance(k, str) and isinstance(v, str) for k, v in paths.items()
    ):
        raise InputError(
            f"host {name}: paths must map canonical paths to host paths", src, line_of("paths")
        )


def host_spec(name: str, fields: Mapping[str, Any], src: str, line: int, base: Path) -> HostSpec:
    """Validate one host's merged settings (defaults + its own) into a HostSpec."""

    def line_of(key: str) -> int:
        return fields.line_of(key) if isinstance(fields, LineDict) and key else line

    validate_host(name, fields, src, line_of)

    roles = _names(fields.get("roles", []), f"host {name}: roles", src, line_of("roles"))
    for role in roles:
        if role not in ROLES:
            raise InputError(
                f"host {name}: unknown role {shown(role)} (known: {', '.join(ROLES)})",
                src,
                line_of("roles"),
            )
    connection = str(fields.get("connection", "ssh"))
    if connection not in CONNECTIONS:
        raise InputError(
            f"host {name}: unknown connection {shown(connection)} "
            f"(known: {', '.join(CONNECTIONS)})",
            src,
            line_of("connection"),
        )
    manager = str(fields.get("service_manager", "systemd"))
    if manager not in SERVICE_MANAGERS:
        raise InputError(
            f"host {name}: unknown service_manager {shown(manager)} "
            f"(known: {', '.join(SERVICE_MANAGERS)})",
            src,
            line_of("service_manager"),
        )
    engine = str(fields.get("container_engine") or "")
    if engine and engine not in CONTAINER_ENGINES:
        raise InputError(
            f"host {name}: unknown container_engine {shown(engine)} "
            f"(known: {', '.join(CONTAINER_ENGINES)})",
            src,
            line_of("container_engine"),
        )
    port = fields.get("port")
    paths = fields.get("paths") or {}
    if not isinstance(paths, Mapping):
        raise InputError(
            f"host {name}: paths must map canonical paths to host paths", src, line_of("paths")
        )
    if connection in ("docker", "podman") and not (fields.get("container") or name):
        raise InputError(f"host {name}: a {connection} host needs container:", src, line)
    key, ssh_config = _expand(fields.get("key"), base), _expand(fields.get("ssh_config"), base)
    for field_name, value in (("key", key), ("ssh_config", ssh_config)):
        problem = value and ssh_path_problem(value)
        if problem:
            raise InputError(
                f"host {name}: {field_name} {shown(value)} {problem}", src, line_of(field_name)
            )
    return HostSpec(
        name=name,
        address=str(fields["address"]) if fields.get("address") else None,
        roles=roles,
        connection=connection,
        user=str(fields["user"]) if fields.get("user") else None,
        port=int(port) if port is not None else None,
        key=key,
        jump=str(fields["jump"]) if fields.get("jump") else None,
        ssh_config=ssh_config,
        container=str(fields["container"]) if fields.get("container") else None,
        service_manager=manager,
        container_engine=engine,
        paths={str(k): str(v) for k, v in paths.items()},
        services=_names(
            fields.get("services", []), f"host {name}: services", src, line_of("services")
        ),
        exclude_services=_names(
            fields.get("exclude_services", []),
            f"host {name}: exclude_services",
            src,
            line_of("exclude_services"),
        ),
    )


def _merged(defaults: Mapping[str, Any], own: Mapping[str, Any]) -> LineDict:
    merged = LineDict({**defaults, **own})
    merged.line = own.line if isinstance(own, LineDict) else 0
    merged.key_lines = {
        **(defaults.key_lines if isinstance(defaults, LineDict) else {}),
        **(own.key_lines if isinstance(own, LineDict) else {}),
    }
    return merged


def from_afterboot_yaml(data: LineDict, src: str, base: Path) -> Inventory:
    unknown = set(data) - {"defaults", "hosts", "database"}
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(
            f"unknown top-level key {shown(key)} (expected defaults, hosts, database)",
            src,
            data.line_of(key),
        )
    defaults = data.get("defaults") or LineDict()
    if not isinstance(defaults, Mapping):
        raise InputError("defaults must be a mapping", src, data.line_of("defaults"))
    bad = set(defaults) - _DEFAULT_KEYS
    if bad:
        key = sorted(bad)[0]
        raise InputError(
            f"defaults: unknown key {shown(key)}",
            src,
            defaults.line_of(key) if isinstance(defaults, LineDict) else None,
        )
    hosts_data = data.get("hosts")
    if not isinstance(hosts_data, Mapping) or not hosts_data:
        raise InputError(
            "hosts must be a non-empty mapping of host name to settings", src, data.line_of("hosts")
        )
    hosts: dict[str, HostSpec] = {}
    for name, own in hosts_data.items():
        line = hosts_data.line_of(name) if isinstance(hosts_data, LineDict) else 0
        own = own if own is not None else LineDict()
        if not isinstance(own, Mapping):
            raise InputError(f"host {name}: settings must be a mapping", src, line)
        bad = set(own) - _HOST_KEYS
        if bad:
            key = sorted(bad)[0]
            raise InputError(
                f"host {name}: unknown key {shown(key)}",
                src,
                own.line_of(key) if isinstance(own, LineDict) else line,
            )
        hosts[str(name)] = host_spec(str(name), _merged(defaults, own), src, line, base)
    database = data.get("database") or {}
    dsn = database.get("dsn") if isinstance(database, Mapping) else None
    return Inventory(hosts, src, str(dsn) if dsn else None)


# -- pytest plugin -------------------------------------------------------------------

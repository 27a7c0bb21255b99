"""Service configuration as a comparable value: ``(file, section, option) -> value``.

Files are read as oslo.config reads them (:func:`parse_ini`): a repeated option keeps every
value in order (``MultiStrOpt`` such as ``[pci] device_spec``), ``[DEFAULT]`` is a section
like any other (its values do not appear in other sections), section names other than
``DEFAULT`` are case-insensitive, an indented line continues the value above it.
Host-specific options are left out, secrets are replaced by a digest before anything
compares or prints them, so a configuration diff can be shown in a report safely.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path

from afterboot.errors import CouldNotRun, one_line, shown
from afterboot.reads.hostreads import parts
from afterboot.redact import remember_option
from afterboot.transport.connections import Remote

ROLE_CONFIGS: dict[str, tuple[str, ...]] = {
    "compute": ("/etc/nova/nova.conf",),
    "controller": (
        "/etc/nova/nova.conf",
        "/etc/glance/glance-api.conf",
        "/etc/cinder/cinder.conf",
        "/etc/keystone/keystone.conf",
        "/etc/placement/placement.conf",
        "/etc/neutron/neutron.conf",
    ),
    "block-storage": ("/etc/cinder/cinder.conf",),
    "object-storage": (
        "/etc/swift/account-server.conf",
        "/etc/swift/container-server.conf",
        "/etc/swift/object-server.conf",
    ),
    "object-storage-proxy": ("/etc/swift/proxy-server.conf",),
}

# Read only for the endpoints they name (DEP-001: ceph's monitors), never compared across
# a role: librados' configuration, where nova, cinder and glance reach Ceph.
DEPENDENCY_CONFIGS: tuple[str, ...] = ("/etc/ceph/ceph.conf",)

# Options that are meant to differ between hosts of a role.
HOST_SPECIFIC = frozenset(
    {
        "host",
        "my_ip",
        "my_block_storage_ip",
        "server_proxyclient_address",
        "vncserver_proxyclient_address",
        "bind_ip",
        "bind_host",
        "local_ip",
        "live_migration_inbound_addr",
        "server_listen",
        "vncserver_listen",
        "api_paste_config",
    }
)

SECRET = re.compile(
    r"password|secret|token|_key$|^key$|transport_url|connection|hash_path", re.IGNORECASE
)

Option = tuple[str, str, str]  # (file name, section, option)


def is_secret(option: str) -> bool:
    return bool(SECRET.search(option))


def digest(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]


class ConfigSyntaxError(ValueError):
    """A line oslo.config would refuse; the message names file and line."""

    def __init__(self, source: str, line: int, problem: str) -> None:
        super().__init__(one_line(f"{source}:{line}: {problem}"))
        self.source = source
        self.line = line


class UnparsableConfig(CouldNotRun):
    """A configuration file on a host that does not parse: the service would refuse it
    too. A :class:`CouldNotRun` for the checks that only need its values; a finding for
    those that judge the configuration itself (CONF-001)."""

    def __init__(self, error: ConfigSyntaxError) -> None:
        super().__init__(f"cannot parse {error}", "the service would refuse it too")
        self.file = error.source
        self.line = error.line
        self.problem = str(error)


Sections = dict[str, dict[str, list[str]]]


def _section_name(name: str) -> str:
    return name if name == "DEFAULT" else name.lower()


def parse_ini(text: str, source: str = "config") -> Sections:
    """Every section's options, each with all its values in file order (oslo.config's rules).

    Comments are whole lines starting with ``#`` or ``;`` (a ``#`` later in a line is part
    of the value); a key ends at the first ``=`` or ``:``; one pair of matching quotes
    around a value is removed; an indented line continues the previous value (joined with a
    newline) and a blank line ends it. Raises :class:`ConfigSyntaxError`.
    """
    sections: Sections = {}
    current: str | None = None
    key: str | None = None
    parts: list[str] = []
    key_line = 0

    def flush() -> None:
        nonlocal key, parts
        if key is not None:
            if current is None:
                raise ConfigSyntaxError(
                    source, key_line, f"option {shown(key)} before any [section]"
                )
            sections[current].setdefault(key, []).append("\n".join(parts))
        key, parts = None, []

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line:
            flush()
            continue
        if line[0] in " \t":
            if key is None:
                raise ConfigSyntaxError(source, number, "continuation line without an option")
            parts.append(line.lstrip())
            continue
        flush()
        if line.startswith("["):
            if not line.endswith("]"):
                raise ConfigSyntaxError(source, number, f"section header {shown(line)} lacks ']'")
            if len(line) <= 2:
                raise ConfigSyntaxError(source, number, "empty section name")
            current = _section_name(line[1:-1])
            sections.setdefault(current, {})
            continue
        if line.startswith(("#", ";")):
            continue
        cut = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        if cut < 0:
            raise ConfigSyntaxError(source, number, f"no '=' or ':' in {shown(line)}")
        key, value = line[:cut].strip(), line[cut + 1 :].strip()
        if not key:
            raise ConfigSyntaxError(source, number, "empty option name")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        parts, key_line = [value], number
    flush()
    return sections


def option_values(text: str, section: str, option: str, source: str = "config") -> list[str]:
    """All values of one option in one section, in file order (none: ``[]``)."""
    return parse_ini(text, source).get(_section_name(section), {}).get(option, [])


def _comparable(values: list[str]) -> str:
    # One value stays as it is; a repeated option keeps every value, in order.
    return values[0] if len(values) == 1 else json.dumps(values)


def effective(text: str, fname: str) -> dict[Option, str]:
    """Parse an INI config; secrets become digests, host-specific options are dropped.

    A repeated option (``MultiStrOpt``) is one value listing every occurrence in order, so
    two hosts that differ in any occurrence compare different. A file oslo.config would
    refuse is :class:`CouldNotRun` naming the file and line.
    """
    try:
        sections = parse_ini(text, fname)
    except ConfigSyntaxError as exc:
        raise UnparsableConfig(exc) from None
    values: dict[Option, str] = {}
    for section, options in sections.items():
        for option, found in options.items():
            if option in HOST_SPECIFIC:
                continue
            value = _comparable(found)
            if is_secret(option):
                for one in found:
                    remember_option(option, one)  # masked wherever it shows up later
            values[(fname, section, option)] = digest(value) if is_secret(option) else value
    return values


def config_text(remote: Remote, canonical: str) -> str | None:
    """A service configuration file's text as the host's ``configs`` read holds it
    (None when the file does not exist there)."""
    return parts(remote.read("configs").stdout).get(remote.path(canonical))


# Documented defaults of the paths the suite reads on hosts.
NOVA_STATE_PATH = "/var/lib/nova"
NOVA_INSTANCES_PATH = "$state_path/instances"
SWIFT_DEVICES = "/srv/node"
SWIFT_RECON_CACHE = "/var/cache/swift"
_SWIFT_SERVERS = ("object-server.conf", "container-server.conf", "account-server.conf")


def _last(sections: Sections, section: str, option: str) -> str | None:
    found = sections.get(_section_name(section), {}).get(option)
    return found[-1] if found else None


def _oslo_substitute(value: str, sections: Sections, default: Mapping[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return _last(sections, "DEFAULT", name) or default.get(name, m.group(0))

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, value)


def service_paths(texts: Mapping[str, str]) -> dict[str, str]:
    """The host paths the suite reads, from config texts keyed by file name or path.

    - ``nova_instances_path``: nova.conf ``[DEFAULT] instances_path`` (default
      ``$state_path/instances``, ``state_path`` default ``/var/lib/nova``);
    - ``swift_devices``: ``devices`` of the first swift server config given
      (object, container, account), ``[DEFAULT]`` then its ``[app:*-server]`` section
      (paste.deploy's local values win), default ``/srv/node``;
    - ``swift_recon_cache_path``: ``recon_cache_path`` of that file's ``[DEFAULT]`` then
      ``[filter:recon]``, default ``/var/cache/swift``.

    Files that do not parse count as absent (their service would not start either).
    """
    parsed: dict[str, Sections] = {}
    for name, text in texts.items():
        try:
            parsed[Path(name).name] = parse_ini(text, name)
        except ConfigSyntaxError:
            continue
    nova = parsed.get("nova.conf", {})
    defaults = {"state_path": NOVA_STATE_PATH}
    state_path = _last(nova, "DEFAULT", "state_path") or NOVA_STATE_PATH
    defaults["state_path"] = _oslo_substitute(state_path, nova, {})
    instances = _last(nova, "DEFAULT", "instances_path") or NOVA_INSTANCES_PATH
    paths = {"nova_instances_path": _oslo_substitute(instances, nova, defaults)}
    devices, recon = SWIFT_DEVICES, SWIFT_RECON_CACHE
    for fname in _SWIFT_SERVERS:
        if fname not in parsed:
            continue
        swift = parsed[fname]
        app = f"app:{fname.removesuffix('.conf')}"
        devices = _last(swift, app, "devices") or _last(swift, "DEFAULT", "devices") or devices
        recon = (
            _last(swift, "filter:recon", "recon_cache_path")
            or _last(swift, "DEFAULT", "recon_cache_path")
            or recon
        )
        break
    paths["swift_devices"] = devices
    paths["swift_recon_cache_path"] = recon
    return paths


def host_config(remote: Remote, role: str) -> dict[Option, str] | None:
    """The role's effective configuration on a host (None when none of its files exist)."""
    values: dict[Option, str] = {}
    found = False
    for path in ROLE_CONFIGS.get(role, ()):
        text = config_text(remote, path)
        if text is None:
            continue
        found = True
        values.update(effective(text, Path(path).name))
    return values if found else None


def effective_files(text: str) -> dict[str, dict[str, str]]:
    """What ``reports/snapshot.json`` keeps of a ``configs`` read: per file, its options
    as ``[section] option`` with secrets as digests, never their values."""
    kept: dict[str, dict[str, str]] = {}
    for path, content in parts(text).items():
        try:
            options = effective(content, Path(path).name)
        except CouldNotRun as exc:
            kept[path] = {"(unparsable)": exc.what}
            continue
        kept[path] = {f"[{sec}] {opt}": value for (_, sec, opt), value in sorted(options.items())}
    return kept


def show(value: str | None) -> str:
    if value is None:
        return "(unset)"
    return "(secret)" if value.startswith("sha256:") else value

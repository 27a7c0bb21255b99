"""Every dependency a host's configuration names must answer, from that host.

A service needs what its configuration names: the broker of ``transport_url`` (RPC's,
and notifications' where ``[oslo_messaging_notifications]`` sets its own), the
database server of ``[database] connection``, keystone at ``auth_url`` and
``www_authenticate_uri``, memcached at ``memcached_servers``, glance at ``api_servers``,
Ceph's monitors at ceph.conf's ``mon_host`` (librados' own syntax, read apart).
One of them not answering from the host that uses it (a firewall rule after a reboot, a
VIP that did not come back, a server that did not start) is a failure no per-service
check names. The endpoints are taken from the host's ``configs`` read, then probed from
the host in one more command: a bounded TCP connect to each, all at once (bash's
``/dev/tcp``, else python3), never a byte sent.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from afterboot.domains.config import ConfigSyntaxError, parse_ini
from afterboot.domains.database import DSN
from afterboot.domains.rabbitmq_api import TRANSPORT_OPTIONS, transport_endpoints
from afterboot.errors import InputError
from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import HostRead, parts, register, unexpected
from afterboot.snapshot import ReadResult

CONNECT_S = 3.0  # one connect's bound; the probes run side by side
# (section, option, how its value names endpoints); section names as oslo.config keeps
# them (lower case, DEFAULT as is); swift's paste sections by their name
OPTIONS: tuple[tuple[str, str, str], ...] = (
    # the brokers: RPC's, and notifications' where a site sets it apart (as MQ-005 reads them)
    *((section, option, "amqp") for section, option in TRANSPORT_OPTIONS),
    ("database", "connection", "sql"),
    ("api_database", "connection", "sql"),
    ("placement_database", "connection", "sql"),
    ("keystone_authtoken", "www_authenticate_uri", "url"),
    ("keystone_authtoken", "auth_url", "url"),
    ("keystone_authtoken", "memcached_servers", "hostports"),
    ("cache", "memcache_servers", "hostports"),
    ("placement", "auth_url", "url"),
    ("neutron", "auth_url", "url"),
    ("service_user", "auth_url", "url"),
    ("glance", "api_servers", "urls"),
    ("filter:authtoken", "www_authenticate_uri", "url"),
    ("filter:authtoken", "auth_url", "url"),
    ("filter:authtoken", "memcached_servers", "hostports"),
    ("filter:cache", "memcache_servers", "hostports"),
)
DEFAULT_PORTS = {"hostports": 11211, "http": 80, "https": 443}
# a monitor address without port: msgr v1's, which monitors bind by default on every
# release (v2's 3300 only where msgr2 was enabled); an address written ``v2:`` is probed
# on v2's port
CEPH_PORTS = {"v1": 6789, "v2": 3300}


@dataclass(frozen=True)
class Dependency:
    """One endpoint one option of one file names (never its credentials)."""

    file: str
    section: str
    option: str
    host: str
    port: int

    @property
    def endpoint(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def hostport(text: str, default: int) -> tuple[str, int] | None:
    """``ctl:11211``, ``inet6:[::1]:11211``, ``[fd00::1]:5000``, ``ctl`` (the default)."""
    text = text.strip().removeprefix("inet6:").removeprefix("inet:")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if not host or (port and not port.isdigit()):
        return None
    return host, int(port) if port else default


def _url(text: str) -> tuple[str, int] | None:
    parts_ = urlsplit(text.strip())
    if parts_.scheme not in ("http", "https") or not parts_.hostname:
        return None
    try:
        port = parts_.port
    except ValueError:
        return None
    return parts_.hostname, port or DEFAULT_PORTS[parts_.scheme]


def _endpoints(kind: str, value: str) -> list[tuple[str, int]]:
    if "$" in value:  # an oslo.config substitution: not resolved here
        return []
    if kind == "amqp":
        return [(e.host, e.port) for e in transport_endpoints(value)]
    if kind == "sql":
        try:
            dsn = DSN.parse(value)
        except InputError:
            return []  # not MySQL (sqlite) or not a URL: DB-001's to judge
        return [] if dsn.socket or not dsn.host or dsn.port < 0 else [(dsn.host, dsn.port)]
    if kind in ("url", "urls"):
        found = [_url(v) for v in value.split(",")]
        return [f for f in found if f is not None]
    found = [hostport(v, DEFAULT_PORTS["hostports"]) for v in value.split(",") if v.strip()]
    return [f for f in found if f is not None]


def _top_level(text: str, separators: str) -> list[str]:
    """``text`` split at ``separators`` outside brackets (``[v2:a,v1:b] [v2:[::1]:3300]``)."""
    out: list[str] = []
    word, depth = "", 0
    for ch in text:
        depth += (ch == "[") - (ch == "]")
        if depth == 0 and ch in separators:
            if word:
                out.append(word)
            word = ""
        else:
            word += ch
    return [*out, word] if word else out


def _monitor(addr: str) -> tuple[str, int] | None:
    """One monitor address: ``v2:10.0.0.1:3300/0``, ``10.0.0.1:6789``, ``[fd00::1]``,
    ``mon1``."""
    kind = "v1"
    for prefix in ("v2:", "v1:", "any:"):
        if addr.startswith(prefix):
            kind = "v2" if prefix == "v2:" else "v1"
            addr = addr[len(prefix) :]
    return hostport(addr.split("/", 1)[0], CEPH_PORTS[kind])


def ceph_monitors(text: str) -> list[tuple[str, int]]:
    """The monitors ``[global] mon_host`` (or ``mon host``) names in a ceph.conf, one
    address each: a ``[v2:...,v1:...]`` group's v2 address, else its first."""
    section, value = "", ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()  # cephadm indents with tabs
        if line.startswith("[") and line.endswith("]") and "=" not in line:
            section = line[1:-1].strip().lower()
            continue
        key, sep, val = line.partition("=")
        if sep and section == "global" and "_".join(key.lower().split()) == "mon_host":
            value = val.strip()
    found = []
    for group in _top_level(value, ", \t"):
        inner = group[1:-1] if group.startswith("[") and group.endswith("]") else ""
        addrs = _top_level(inner, ",") if inner else [group]
        if not any(a.startswith(("v1:", "v2:", "any:")) for a in addrs):
            addrs = [group]  # an IPv6 literal in brackets, not a group of addresses
        chosen = next((a for a in addrs if a.startswith("v2:")), addrs[0])
        mon = _monitor(chosen)
        if mon is not None:
            found.append(mon)
    return list(dict.fromkeys(found))


def dependencies(configs: Mapping[str, str]) -> list[Dependency]:
    """The endpoints the configuration files name (file path -> text), in file order;
    a file that does not parse names none (CONF-001 names it)."""
    return named(configs)[0]


def named(configs: Mapping[str, str]) -> tuple[list[Dependency], dict[str, str]]:
    """The endpoints the configuration files name (file path -> text), in file order,
    and each file that does not parse with its error: what it names is not known."""
    found: list[Dependency] = []
    unparsable: dict[str, str] = {}
    for path, text in configs.items():
        if path.endswith("/ceph.conf"):  # librados' syntax, not oslo.config's
            found += [Dependency(path, "global", "mon_host", h, p) for h, p in ceph_monitors(text)]
            continue
        try:
            sections = parse_ini(text, path)
        except ConfigSyntaxError as exc:
            unparsable[path] = str(exc)
            continue
        for section, option, kind in OPTIONS:
            values = sections.get(section, {}).get(option, [])
            if not values:
                continue
            for host, port in _endpoints(kind, values[-1]):
                found.append(Dependency(path, section, option, host, port))
    return found, unparsable


def endpoints(deps: Iterable[Dependency]) -> list[tuple[str, int]]:
    return list(dict.fromkeys((d.host, d.port) for d in deps))


def probe(pairs: list[tuple[str, int]], connect_s: float = CONNECT_S) -> str:
    """The probe command: one line per endpoint, ``<host> <port> <status>`` (0 answered,
    124 timed out, else refused or unreachable), all connects side by side. Host names
    are arguments, never shell text."""
    t = f"{connect_s:g}"
    head = (
        "if command -v bash >/dev/null 2>&1; then p() { timeout -k 1 " + t + " bash -c "
        '\'exec 3<>"/dev/tcp/$1/$2"\' _ "$1" "$2" 2>/dev/null; }; '
        "elif command -v python3 >/dev/null 2>&1; then p() { timeout -k 1 " + t + " python3 -c "
        "'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), "
        + t
        + ').close()\' "$1" "$2" 2>/dev/null; }; '
        'else echo "neither bash nor python3 to probe with" >&2; exit 127; fi; '
    )
    body = "".join(
        f"(p {shlex.quote(h)} {port}; echo {shlex.quote(h)} {port} $?) & " for h, port in pairs
    )
    return head + body + "wait"


def probe_from(spec: HostSpec, configs: ReadResult | None) -> str | ReadResult:
    """The ``dependencies`` read's command on this host, made from its ``configs`` read;
    its result where no command is needed: a configs read that failed fails this one too
    (nothing probed is no answer), a configuration that names no endpoint has none to
    probe (the host is not asked again for nothing)."""
    if configs is None or configs.rc != 0:
        return ReadResult("dependencies", 1, "", "its configuration could not be read")
    pairs = endpoints(dependencies(parts(configs.stdout)))
    return probe(pairs) if pairs else ReadResult("dependencies", 0, "")


def answers(text: str, host: str = "") -> dict[tuple[str, int], int]:
    """The probe's lines: (host, port) -> status (0 answered). A line that is not
    ``<host> <port> <status>`` is could-not-run naming it."""
    found: dict[tuple[str, int], int] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 3 or not (fields[1].isdigit() and fields[2].isdigit()):
            raise unexpected(host, "dependencies", line)
        found[(fields[0], int(fields[1]))] = int(fields[2])
    return found


def why(status: int) -> str:
    return "no answer within the bound" if status in (124, 137) else "refused or unreachable"


# -- the reads this module judges (afterboot.reads.hostreads' registry) --------------

register(
    HostRead(
        "dependencies",
        "a bounded TCP connect from the host to each endpoint its configuration names",
        lambda s: "true",
        follows="configs",
    ),
)

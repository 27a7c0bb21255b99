"""RabbitMQ as the messaging hosts see it: the host read ``rabbitmq`` (``rabbitmqctl``
cluster status and every vhost's queues, read once per run), parsed; and
``rabbitmq_permissions`` (the broker's users and every vhost's permissions) beside the
users and vhosts the services' ``transport_url`` log in as."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from afterboot.domains.config import ConfigSyntaxError, parse_ini
from afterboot.domains.database import SERVICE_CONFIGS
from afterboot.domains.rabbitmq_api import (
    CERT_WITHIN,
    HEALTH,
    TRANSPORT_OPTIONS,
    option_named,
    transport_endpoints,
)
from afterboot.errors import CouldNotRun, one_line, shown
from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import (
    PART,
    SHARED_TRIES,
    HostRead,
    engine_command,
    name_lines,
    outside_parts,
    parts,
    register,
    unexpected,
)
from afterboot.transport.connections import Connections, Remote, first_answer


@dataclass(frozen=True)
class Broker:
    """What one messaging host's ``rabbitmqctl`` said."""

    host: str
    cluster_status: dict[str, Any]
    consumers: dict[tuple[str, str], int]  # (vhost, queue) -> consumers
    ready: dict[tuple[str, str], int]  # (vhost, queue) -> messages ready


QUEUE_HEADER = ["name", "consumers", "messages_ready"]


def queue_rows(
    text: str, host: str = "", read: str = "rabbitmq_root_queues"
) -> dict[str, tuple[int, int]]:
    """``list_queues name consumers messages_ready``: queue -> (consumers, ready). Its
    header may lead; any other line that is not a name and two counts is could-not-run
    naming it (no queue is an answer, garbage is not)."""
    rows = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.rsplit(None, 2)
        if fields == QUEUE_HEADER:
            continue
        if len(fields) != 3 or not (fields[1].isdigit() and fields[2].isdigit()):
            raise unexpected(host, read, line)
        rows[fields[0]] = (int(fields[1]), int(fields[2]))
    return rows


def vhost_names(text: str, host: str = "") -> list[str]:
    """``list_vhosts name``: a vhost a line (its header ``name`` may lead); a line that is
    no single name is could-not-run naming it."""
    return sorted(name_lines(text, host, "rabbitmq_vhosts") - {"name"})


def _checked(remote: Remote, name: str) -> str:
    result = remote.read(name)
    if result.rc != 0:
        raise CouldNotRun(
            f"{remote.name}: rabbitmqctl failed",
            (result.stderr.strip() or result.stdout.strip() or f"exit {result.rc}")[-200:],
        )
    return result.stdout


def broker_of(remote: Remote) -> Broker:
    """Parse one host's RabbitMQ reads, or CouldNotRun naming why rabbitmqctl failed.

    The queues of vhost ``/`` are read beside the vhost list; other vhosts (one per
    service in openstack-ansible) are read after it, in one more command."""
    try:
        status = json.loads(_checked(remote, "rabbitmq_status") or "{}")
    except json.JSONDecodeError:
        raise CouldNotRun(f"{remote.name}: rabbitmqctl cluster_status unreadable", "") from None
    vhosts = vhost_names(_checked(remote, "rabbitmq_vhosts"), remote.name)
    by_vhost: dict[str, dict[str, tuple[int, int]]] = {}
    if "/" in vhosts:
        by_vhost["/"] = queue_rows(_checked(remote, "rabbitmq_root_queues"), remote.name)
    if any(v != "/" for v in vhosts):
        every = _checked(remote, "rabbitmq_queues")
        if outside_parts(every):
            raise unexpected(remote.name, "rabbitmq_queues", outside_parts(every))
        for vhost, text in parts(every).items():
            by_vhost[vhost] = queue_rows(text, remote.name, "rabbitmq_queues")
    consumers = {(v, q): row[0] for v, rows in by_vhost.items() for q, row in rows.items()}
    ready = {(v, q): row[1] for v, rows in by_vhost.items() for q, row in rows.items()}
    return Broker(remote.name, status, consumers, ready)


def broker(connections: Connections) -> Broker:
    """The first messaging host whose rabbitmqctl answered (they share one cluster)."""
    try:
        return first_answer(connections.with_role("messaging"), broker_of, "RabbitMQ")
    except CouldNotRun as exc:
        raise CouldNotRun("RabbitMQ answers on no messaging host", exc.reason) from None


# -- users, vhosts and permissions: what the broker grants, what the services need ----------

PERMISSIONS_READ = "rabbitmq_permissions"
PERMISSIONS = ("configure", "write", "read")
_ID = "0123456789abcdef0123456789abcdef"
# Names oslo.messaging's RabbitMQ driver gives what it declares (configure), publishes to
# (write) and consumes from or binds to (read) on its vhost: the services' control
# exchanges, RPC topics with their per-host queues and fanout exchanges and queues, the
# replies' queues, notifications, and the default exchange replies are published to
# (RabbitMQ checks it as amq.default). A permission regex must match every one: '.*'.
OSLO_NAMES = (
    "openstack",
    "nova",
    "cinder",
    "neutron",
    "conductor",
    "conductor.controller",
    "conductor_fanout",
    f"conductor_fanout_{_ID}",
    "cinder-volume.storage1@ceph",
    f"q-agent-notifier-port-update_fanout_{_ID}",
    f"reply_{_ID}",
    "notifications.info",
    "amq.default",
)


@dataclass(frozen=True)
class Grants:
    """What one messaging host's broker said of its users and of each vhost's
    permissions: vhost -> user -> (configure, write, read) regexes."""

    host: str
    users: frozenset[str]
    vhosts: dict[str, dict[str, tuple[str, str, str]]]


def parse_grants(text: str, host: str = "") -> Grants:
    """The ``rabbitmq_permissions`` read: a part ``users`` (``list_users``: ``user<TAB>[tags]``
    a line) and a part ``vhost <name>`` for each vhost (``list_permissions``:
    ``user<TAB>configure<TAB>write<TAB>read`` a line, a regex possibly empty). No users
    part (an empty answer), a part of another name or a line of another shape is
    could-not-run naming it: never a broker without users or permissions."""
    outside = outside_parts(text)
    if outside:
        raise unexpected(host, PERMISSIONS_READ, outside)
    sections = parts(text)
    if "users" not in sections:
        where = f"host {host}: " if host else ""
        raise CouldNotRun(f"{where}read {PERMISSIONS_READ!r}: no list of users in its answer", "")
    users = set()
    for line in sections.pop("users").split("\n"):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0] or not re.fullmatch(r"\[[^\[\]]*\]", fields[1]):
            raise unexpected(host, PERMISSIONS_READ, line)
        users.add(fields[0])
    vhosts: dict[str, dict[str, tuple[str, str, str]]] = {}
    for name, body in sections.items():
        kind, _, vhost = name.partition(" ")
        if kind != "vhost" or not vhost:
            raise unexpected(host, PERMISSIONS_READ, f"{PART} {name}")
        rows: dict[str, tuple[str, str, str]] = {}
        for line in body.split("\n"):
            if not line:
                continue
            fields = line.split("\t")
            if len(fields) != 4 or not fields[0]:
                raise unexpected(host, PERMISSIONS_READ, line)
            rows[fields[0]] = (fields[1], fields[2], fields[3])
        vhosts[vhost] = rows
    return Grants(host, frozenset(users), vhosts)


def grants_of(remote: Remote) -> Grants:
    return parse_grants(remote.read(PERMISSIONS_READ).stdout, remote.name)


def grants(connections: Connections) -> Grants:
    """The first messaging host whose rabbitmqctl listed users and permissions (the
    cluster shares them)."""
    try:
        return first_answer(
            connections.with_role("messaging"), grants_of, "RabbitMQ", tries=SHARED_TRIES
        )
    except CouldNotRun as exc:
        raise CouldNotRun(
            "RabbitMQ's users and permissions answer on no messaging host", exc.reason
        ) from None


def lacking(regexes: tuple[str, str, str], user: str = "", vhost: str = "") -> list[str]:
    """The permissions (configure, write, read) whose regex does not match every name
    oslo.messaging uses (:data:`OSLO_NAMES`). RabbitMQ matches a regex anywhere in a
    name; an empty one stands for ``^$``: it grants nothing. A regex Python's ``re``
    cannot read is could-not-run naming it (RabbitMQ's are Erlang's PCRE)."""
    missing = []
    for permission, regex in zip(PERMISSIONS, regexes, strict=True):
        try:
            pattern = re.compile(regex or "^$")
        except re.error as exc:
            raise CouldNotRun(
                f"RabbitMQ: the {permission} permission of {user} on vhost {vhost}, "
                f"{shown(regex)}, is a regex afterboot cannot evaluate",
                str(exc),
            ) from None
        if not all(pattern.search(name) for name in OSLO_NAMES):
            missing.append(permission)
    return missing


@dataclass(frozen=True)
class Login:
    """A user and the vhost a transport URL logs in as (never its password)."""

    user: str
    vhost: str


def transport_logins(url: str) -> list[Login] | None:
    """What an oslo.messaging transport URL logs in as: each broker's user (a URL of
    several brokers may name several) and the vhost of its path as oslo.messaging and
    kombu read it (``/nova``: ``nova``; ``//`` or ``/%2F``: ``/``; an empty path: ``/``).
    ``[]`` for a URL of no RabbitMQ or of no user; ``None`` where the user or the vhost
    is an oslo.config substitution (``$name``): not known here. The path is taken after
    the last userinfo, so no part of a password is ever read as the vhost."""
    url = url.strip()
    users = [e.user for e in transport_endpoints(url) if e.user]
    if not users:
        return []
    rest = url.partition("://")[2]
    tail = rest[rest.rfind("@") + 1 :].split("?", 1)[0].split("#", 1)[0]
    vhost = unquote(tail.partition("/")[2]) or "/"
    if "$" in vhost or any("$" in u for u in users):
        return None
    return [Login(user, vhost) for user in dict.fromkeys(users)]


def transport_urls(remote: Remote, unknown: list[str]) -> list[tuple[str, str]]:
    """The transport URLs of each service configuration of the host's ``configs`` read
    (:data:`TRANSPORT_OPTIONS`: RPC's ``[DEFAULT] transport_url``, and notifications'
    where a site sets it apart), each with where it is written (``host:path`` for RPC's,
    ``host:path [section] option`` for another); a file that does not parse is added to
    ``unknown`` (``host:path (does not parse)``). A failed ``configs`` read is
    could-not-run."""
    texts = parts(remote.read("configs").stdout)
    found: list[tuple[str, str]] = []
    for canonical in dict.fromkeys(path for path, _, _ in SERVICE_CONFIGS.values()):
        path = remote.path(canonical)
        text = texts.get(path)
        if text is None:
            continue
        try:
            sections = parse_ini(text, path)
        except ConfigSyntaxError:
            unknown.append(f"{remote.name}:{path} (does not parse)")
            continue
        for section, option in TRANSPORT_OPTIONS:
            values = sections.get(section, {}).get(option, [])
            value = values[-1].strip() if values else ""
            if value:  # empty: RPC's is used
                found.append((f"{remote.name}:{path}{option_named(section, option)}", value))
    return found


def configured_logins(remote: Remote) -> tuple[dict[Login, list[str]], list[str]]:
    """The logins the transport URLs of the host's service configurations name
    (:func:`transport_urls`), each with where it is written, and the files whose
    transport URL is not known (where, then ``(why)``): a file that does not parse, a
    user or vhost that is a substitution. A failed ``configs`` read is could-not-run."""
    found: dict[Login, list[str]] = {}
    unknown: list[str] = []
    for where, value in transport_urls(remote, unknown):
        logins = transport_logins(value)
        if logins is None:
            unknown.append(f"{where} (its user or vhost is an oslo.config substitution)")
            continue
        for login in logins:
            found.setdefault(login, []).append(where)
    return found, unknown


def configured_brokers(remote: Remote) -> tuple[dict[tuple[str, int], list[str]], list[str]]:
    """The brokers (host, port) the transport URLs of the host's service configurations
    name, each with where it is written, and the files whose brokers are not known (a
    file that does not parse, a broker's host that is an oslo.config substitution)."""
    found: dict[tuple[str, int], list[str]] = {}
    unknown: list[str] = []
    for where, value in transport_urls(remote, unknown):
        brokers = transport_endpoints(value)
        if any("$" in b.host for b in brokers):
            unknown.append(f"{where} (a broker's host is an oslo.config substitution)")
            continue
        for b in brokers:
            found.setdefault((b.host, b.port), []).append(where)
    return found, unknown


# -- the broker's own health checks (MQ-006) ------------------------------------------

HEALTH_PARTS = ("state", "ports", "certificates")


@dataclass(frozen=True)
class Listener:
    """One listener of the node: protocol (amqp, amqp/ssl, clustering, http ...), the
    interface it is bound to, its port, and whether it has a certificate (TLS)."""

    protocol: str
    interface: str
    port: int
    tls: bool


@dataclass(frozen=True)
class Expiring:
    """A TLS listener whose certificate (or CA certificate) expires within
    :data:`CERT_WITHIN`: where, which file, and when it expires (the broker's words)."""

    protocol: str
    port: int
    certfile: str
    expires: str


@dataclass(frozen=True)
class Health:
    """What one messaging host's node said of its own health: the vhosts it has that do
    not run there, its listeners, its verdict on the ports asked (the management API's
    port-listener check; none from rabbitmqctl), and its TLS listeners' certificates
    expiring soon (``None``: not asked, rabbitmqctl on a node without TLS listener)."""

    host: str
    node: str
    down_vhosts: tuple[str, ...]
    listeners: tuple[Listener, ...]
    ports: dict[int, bool]
    expiring: tuple[Expiring, ...] | None
    source: str

    def listening(self, port: int) -> bool:
        """The node listens on ``port``: by its own port-listener check where it was asked,
        else by its listeners."""
        if port in self.ports:
            return self.ports[port]
        return any(listener.port == port for listener in self.listeners)


def _json_line(text: str, host: str, part: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise unexpected(host, HEALTH, f"{part}: {text}") from None


def _state(text: str, host: str) -> tuple[str, tuple[str, ...], tuple[Listener, ...]]:
    """The part ``state``: one JSON line (node, down_vhosts, listeners), then ``ok`` where
    it was printed by ``rabbitmqctl eval`` (the expression's value)."""
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines or lines[1:] not in ([], ["ok"]):
        raise unexpected(host, HEALTH, lines[-1] if lines else "state: (empty)")
    doc = _json_line(lines[0], host, "state")
    node, down, found = (
        (doc.get("node"), doc.get("down_vhosts"), doc.get("listeners"))
        if isinstance(doc, dict)
        else (None, None, None)
    )
    if not (
        isinstance(node, str)
        and isinstance(down, list)
        and all(isinstance(v, str) for v in down)
        and isinstance(found, list)
    ):
        raise unexpected(host, HEALTH, lines[0])
    listeners = []
    for item in found:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("port"), int)
            and isinstance(item.get("protocol"), str)
            and isinstance(item.get("tls"), bool)
        ):
            raise unexpected(host, HEALTH, json.dumps(item))
        listeners.append(
            Listener(item["protocol"], str(item.get("interface", "")), item["port"], item["tls"])
        )
    return node, tuple(sorted(down)), tuple(listeners)


def _ports(text: str, host: str) -> dict[int, bool]:
    """The part ``ports``: ``{"5672": "ok", "5671": "failed"}``, the node's own verdicts."""
    doc = _json_line(text.strip(), host, "ports")
    if not isinstance(doc, dict) or not all(
        k.isdigit() and v in ("ok", "failed") for k, v in doc.items()
    ):
        raise unexpected(host, HEALTH, text.strip())
    return {int(k): v == "ok" for k, v in doc.items()}


def _when(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _certificates(text: str, host: str) -> tuple[Expiring, ...]:
    """The part ``certificates``: ``exit N`` (rabbitmq-diagnostics
    check_certificate_expiration's status), then its JSON: exit 0 and ``{"result": "ok"}``
    (none expiring), or non-zero and ``{"result": "error", "expired": [...]}``. Anything
    else (an error of the tool, another shape) is could-not-run naming it."""
    first, _, rest = text.strip().partition("\n")
    words = first.split()
    if len(words) != 2 or words[0] != "exit" or not words[1].isdigit():
        raise unexpected(host, HEALTH, f"certificates: {first}")
    status = int(words[1])
    doc = _json_line(rest.strip(), host, "certificates")
    result = doc.get("result") if isinstance(doc, dict) else None
    if status == 0 and result == "ok":
        return ()
    expired = doc.get("expired") if isinstance(doc, dict) else None
    if status == 0 or result != "error" or not isinstance(expired, list) or not expired:
        raise CouldNotRun(
            f"host {host}: read {HEALTH!r}: the certificate expiration check did not "
            f"answer (exit {status})",
            one_line(rest, 200),
        )
    found = []
    for item in expired:
        if not isinstance(item, dict) or not isinstance(item.get("port"), int):
            raise unexpected(host, HEALTH, json.dumps(item)[:80])
        certs = [
            f"{item.get(name) or '?'} ({_when(item.get(f'{name}_expires_on'))})"
            for name in ("certfile", "cacertfile")
            if item.get(f"{name}_expires_on")
        ]
        found.append(
            Expiring(
                str(item.get("protocol", "?")),
                item["port"],
                str(item.get("certfile") or "?"),
                "; ".join(certs) or "?",
            )
        )
    return tuple(found)


def parse_health(text: str, host: str = "", source: str = "rabbitmqctl") -> Health:
    """The ``rabbitmq_health`` read: parts ``state`` (always), ``ports`` (the management
    API's port-listener answers) and ``certificates`` (the management API always;
    rabbitmqctl only where a listener has TLS). A part of another name, a line of another
    shape, or no ``state`` is could-not-run naming it: never a node without a vhost down
    or a listener less."""
    outside = outside_parts(text)
    if outside:
        raise unexpected(host, HEALTH, outside)
    sections = parts(text)
    other = [name for name in sections if name not in HEALTH_PARTS]
    if other:
        raise unexpected(host, HEALTH, f"{PART} {other[0]}")
    if "state" not in sections:
        where = f"host {host}: " if host else ""
        raise CouldNotRun(f"{where}read {HEALTH!r}: no node state in its answer", "")
    node, down, listeners = _state(sections["state"], host)
    ports = _ports(sections["ports"], host) if "ports" in sections else {}
    expiring = _certificates(sections["certificates"], host) if "certificates" in sections else None
    if expiring is None and any(listener.tls for listener in listeners):
        raise CouldNotRun(
            f"host {host}: read {HEALTH!r}: TLS listeners, certificates not checked", ""
        )
    return Health(host, node, down, listeners, ports, expiring, source)


def health_of(remote: Remote) -> Health:
    result = remote.read(HEALTH)
    source = "management API" if "management API" in result.stderr else "rabbitmqctl"
    return parse_health(result.stdout, remote.name, source)


# -- the reads this module judges (afterboot.reads.hostreads' registry) --------------


def _rabbitmqctl(spec: HostSpec, tool: str = "rabbitmqctl") -> str:
    if spec.service_manager == "container":
        return f"{engine_command(spec)} exec rabbitmq {tool} -q"
    return f"{tool} -q"


def _rabbitmq_status(spec: HostSpec) -> str:
    return f"{_rabbitmqctl(spec)} cluster_status --formatter json"


def _rabbitmq_vhosts(spec: HostSpec) -> str:
    return f"{_rabbitmqctl(spec)} list_vhosts name"


def _rabbitmq_root_queues(spec: HostSpec) -> str:
    return f"{_rabbitmqctl(spec)} list_queues -p / name consumers messages_ready"


def _rabbitmq_queues(spec: HostSpec) -> str:
    ctl = _rabbitmqctl(spec)
    return (
        f'vs=$({ctl} list_vhosts name) || exit; for v in $vs; do [ "$v" = name ] && continue; '
        f'echo "{PART} $v"; {ctl} list_queues -p "$v" name consumers messages_ready '
        "|| exit $?; done"
    )


def _rabbitmq_permissions(spec: HostSpec) -> str:
    """The broker's users, then each vhost's permissions, as parts (``users``, ``vhost
    <name>``); a vhost a line of ``list_vhosts`` (blanks kept, no globbing)."""
    ctl = _rabbitmqctl(spec)
    return (
        f'ctl() {{ {ctl} "$@" </dev/null; }}; '
        "vs=$(ctl list_vhosts --no-table-headers name) || exit; "
        f'echo "{PART} users"; ctl list_users --no-table-headers || exit; '
        "set -f; IFS='\n'; for v in $vs; do "
        f'echo "{PART} vhost $v"; ctl list_permissions --no-table-headers -p "$v" || exit; '
        "done"
    )


# The node's own health checks in one Erlang VM (each rabbitmqctl boots one: ~1 s of CPU):
# the vhosts it does not run (rabbit_vhost_sup_sup:check/0, what check_virtual_hosts and
# /api/health/checks/virtual-hosts call) and its listeners (rabbit_networking's, what
# `rabbitmq-diagnostics listeners` and the port-listener check list), as one JSON line.
# Read only: it calls what those checks call, nothing that changes the node.
HEALTH_EVAL = (
    "N = node(), "
    "Ls = [#{protocol => P, interface => list_to_binary(inet:ntoa(IP)), port => Port, "
    "tls => is_list(Os) andalso (proplists:is_defined(certfile, Os) orelse "
    "proplists:is_defined(ssl_opts, Os))} "
    "|| {listener, LN, P, _, IP, Port, Os} <- rabbit_networking:active_listeners(), LN =:= N], "
    'io:format("~s~n", [rabbit_json:encode(#{node => N, '
    "down_vhosts => rabbit_vhost_sup_sup:check(), listeners => Ls})])."
)


def _rabbitmq_health(spec: HostSpec) -> str:
    """Part ``state``: :data:`HEALTH_EVAL`'s line; part ``certificates`` only where a
    listener has TLS (one more VM): ``exit N`` and check_certificate_expiration's JSON."""
    within, unit = CERT_WITHIN
    diagnostics = _rabbitmqctl(spec, "rabbitmq-diagnostics")
    return (
        f"s=$({_rabbitmqctl(spec)} eval {shlex.quote(HEALTH_EVAL)} </dev/null) "
        "|| { r=$?; printf '%s\\n' \"$s\"; exit $r; }; "
        f'echo "{PART} state"; printf \'%s\\n\' "$s"; '
        "case $s in *'\"tls\":true'*) "
        f"c=$({diagnostics} check_certificate_expiration --within {within} --unit {unit} "
        "--formatter json </dev/null 2>&1); r=$?; "
        f'echo "{PART} certificates"; echo "exit $r"; printf \'%s\\n\' "$c";; esac'
    )


register(
    HostRead("rabbitmq_status", "RabbitMQ cluster status", _rabbitmq_status, slow=True),
    HostRead("rabbitmq_vhosts", "RabbitMQ vhosts", _rabbitmq_vhosts, slow=True),
    HostRead(
        "rabbitmq_root_queues", "RabbitMQ queues of vhost /", _rabbitmq_root_queues, slow=True
    ),
    # Only where vhosts other than "/" exist (openstack-ansible): read after the others.
    HostRead("rabbitmq_queues", "RabbitMQ queues of every vhost", _rabbitmq_queues, slow=True),
    # MQ-005: user names, tags and permission regexes (no secret: passwords are not listed)
    HostRead(
        PERMISSIONS_READ,
        "RabbitMQ users and every vhost's permissions",
        _rabbitmq_permissions,
        slow=True,
        shared=True,
    ),
    # MQ-006: vhosts down, listeners, TLS certificates expiring (the node's own checks)
    HostRead(HEALTH, "RabbitMQ's own health checks", _rabbitmq_health, slow=True),
)

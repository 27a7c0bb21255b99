"""RabbitMQ's management API as a source of the messaging hosts' RabbitMQ reads.

kolla-ansible and openstack-ansible enable the management plugin. Where it answers, the
collection pass asks it over HTTP (five requests, a few milliseconds) instead of booting
three ``rabbitmqctl`` Erlang VMs on the host (about a second of CPU each under load), and
files the answers under the same reads (``rabbitmq_status``, ``rabbitmq_vhosts``,
``rabbitmq_root_queues``, ``rabbitmq_queues``), in the format ``rabbitmqctl`` prints, so
that the checks and the before/after comparison judge one format whatever the source.

The credentials are the services' own: the ``transport_url`` of their configurations
(the host's own ``configs`` read, then the controllers'). Consumers come from
``/api/consumers``, which the broker updates as channels open and close; a queue's
ready-message count comes from its statistics, which the broker emits every few seconds:
a queue without statistics yet (a broker just started, or the plugin just enabled) makes
the whole answer incomplete, and the host is read with ``rabbitmqctl`` as before. So is
any failure: no plugin, a refused user (openstack-ansible's service users have no
management tag), TLS only, a filtered port.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from afterboot.domains.config import config_text
from afterboot.domains.database import SERVICE_CONFIGS, parse_service_config
from afterboot.errors import CouldNotRun
from afterboot.reads.hostreads import PART
from afterboot.redact import remember, url_userinfo
from afterboot.snapshot import ReadResult
from afterboot.transport.connections import Connections, Remote

PORT = 15672  # the plugin's default listener (kolla: rabbitmq_management_port)
# what this source answers, in the format rabbitmqctl prints it
READS = ("rabbitmq_status", "rabbitmq_vhosts", "rabbitmq_root_queues", "rabbitmq_queues")
# answered too where the user may list them (an administrator), else read by rabbitmqctl
OPTIONAL = ("rabbitmq_permissions",)
# answered where the broker has the health checks (3.8.10+) and they answer as documented,
# only when a check asks for it (one request each); else read by rabbitmqctl
HEALTH = "rabbitmq_health"
# certificates asked about: those expiring within this (certificate-expiration/14/days;
# rabbitmq-diagnostics check_certificate_expiration --within 14 --unit days)
CERT_WITHIN = (14, "days")
MAX_USERS = 3  # credentials tried per host (each service may have its own user)
# The options a service's broker is named in (section as oslo.config keeps it, option):
# RPC's, and notifications' (oslo.messaging uses RPC's where it is unset or empty; a site
# may send notifications as another user, to another vhost or another broker).
RPC = ("DEFAULT", "transport_url")
NOTIFICATIONS = ("oslo_messaging_notifications", "transport_url")
TRANSPORT_OPTIONS = (RPC, NOTIFICATIONS)


@dataclass(frozen=True)
class Endpoint:
    """One broker of a transport URL: where, and as whom (the password never shown)."""

    host: str
    port: int
    user: str
    password: str = field(default="", repr=False)


def option_named(section: str, option: str) -> str:
    """How a finding names where a transport URL is written, after its file: nothing for
    RPC's (``[DEFAULT] transport_url``, the one every service has), `` [section] option``
    for another, so that the operator knows which line to fix."""
    return "" if (section, option) == RPC else f" [{section}] {option}"


def transport_endpoints(url: str) -> list[Endpoint]:
    """The brokers of an oslo.messaging transport URL
    (``rabbit://user:pass@host1:5672,user:pass@host2:5672/vhost``)."""
    url = url.strip()
    if not url.partition("://")[0].startswith(("rabbit", "amqp")):
        return []
    found = []
    for user, secret, hostport in url_userinfo(url):
        password = secret or ""
        remember(password)
        remember(unquote(password))
        if hostport.startswith("["):  # [v6]:port
            host, _, port = hostport[1:].partition("]")
            port = port.lstrip(":")
        elif hostport.count(":") == 1:
            host, _, port = hostport.partition(":")
        else:  # a bare name, IPv4 or unbracketed IPv6 address
            host, port = hostport, ""
        if host:
            found.append(
                Endpoint(
                    host, int(port) if port.isdigit() else 5672, unquote(user), unquote(password)
                )
            )
    return found


def _own_endpoints(remote: Remote) -> list[Endpoint]:

    found: list[Endpoint] = []
    for path in dict.fromkeys(path for path, _, _ in SERVICE_CONFIGS.values()):
        text = config_text(remote, path)
        value = parse_service_config(text, "DEFAULT", "transport_url") if text else None
        if value:
            found.extend(transport_endpoints(value))
    return found


def endpoints(remote: Remote, connections: Connections) -> list[Endpoint]:
    """The transport URLs' brokers the host's own configurations name, else the
    controllers' (a messaging host of its own holds no service configuration)."""
    found: list[Endpoint] = []
    for host in [remote, *(r for r in connections.with_role("controller") if r is not remote)]:
        try:
            found = _own_endpoints(host)
        except CouldNotRun:
            continue
        if found:
            break
    return found


def _address(remote: Remote, known: Iterable[Endpoint]) -> str:
    """The address at which the services reach this host's broker, else the inventory's."""
    mine = {remote.spec.address, remote.name} - {None}
    for endpoint in known:
        if endpoint.host in mine:
            return endpoint.host
    return remote.spec.address or remote.name


def _get(session: Any, base: str, path: str, timeout: float) -> Any:
    resp = session.get(base + path, timeout=(min(2.0, timeout), timeout), allow_redirects=False)
    if resp.status_code != 200:
        raise CouldNotRun(f"{base}{path.split('?')[0]}: HTTP {resp.status_code}", "")
    return resp.json()


def _alarms(session: Any, base: str, timeout: float, nodes: list[Any]) -> list[dict[str, str]]:
    """The broker's own alarm health check (3.8.10+: 200 without alarm, 503 naming them),
    live; the nodes' alarm flags (refreshed with their statistics, every few seconds)
    where the broker has no such check."""
    path = "/api/health/checks/alarms"
    resp = _ask(session, base, path, timeout)
    if resp.status_code == 404:
        return [
            {"node": n["name"], "resource": resource, "type": "resource_limit"}
            for n in nodes
            for resource, key in (("memory", "mem_alarm"), ("disk", "disk_free_alarm"))
            if n.get(key)
        ]
    doc = _verdict(resp, f"{base}{path}")
    found = doc.get("alarms") or [] if doc["status"] == "failed" else []
    if doc["status"] == "failed" and not found:
        raise CouldNotRun(f"{base}{path}: failed, naming no alarm", "")
    return [
        {
            "node": str(a.get("node", "")),
            # "disk space" here, "disk" in rabbitmqctl's cluster status
            "resource": str(a.get("resource", "")).split()[0] if a.get("resource") else "",
            "type": "resource_limit",
        }
        for a in found
    ]


def _permissions(session: Any, base: str, timeout: float, vhosts: list[str]) -> str | None:
    """``rabbitmq_permissions`` as rabbitmqctl prints it (a part ``users``: ``user<TAB>[tags]``,
    a part ``vhost <name>`` each: ``user<TAB>configure<TAB>write<TAB>read``), or None where
    the user may not list users and permissions (only an administrator may)."""
    try:
        users = _get(session, base, "/api/users?columns=name,tags", timeout)
        granted = _get(session, base, "/api/permissions", timeout)
    except CouldNotRun:
        return None
    lines = [f"{PART} users"]
    for user in users:
        tags = user.get("tags") or []
        tags = tags if isinstance(tags, list) else [t for t in str(tags).split(",") if t]
        lines.append(f"{user['name']}\t[{', '.join(map(str, tags))}]")
    by_vhost: dict[str, list[str]] = {v: [] for v in vhosts}
    for p in granted:
        regexes = "\t".join(str(p[k]) for k in ("configure", "write", "read"))
        by_vhost.setdefault(str(p["vhost"]), []).append(f"{p['user']}\t{regexes}")
    for vhost, rows in sorted(by_vhost.items()):
        lines += [f"{PART} vhost {vhost}", *rows]
    return "\n".join(lines) + "\n"


def _ask(session: Any, base: str, path: str, timeout: float) -> Any:
    return session.get(base + path, timeout=(min(2.0, timeout), timeout), allow_redirects=False)


def _verdict(resp: Any, where: str) -> dict[str, Any]:
    """A health check's answer, 200 ``{"status": "ok", ...}`` or 503 ``{"status":
    "failed", ...}``; any other status (404: a broker without that check), a body that is
    no such JSON, is CouldNotRun naming it (never a pass)."""
    if resp.status_code not in (200, 503):
        older = " (no such health check: RabbitMQ before 3.8.10)" if resp.status_code == 404 else ""
        raise CouldNotRun(f"{where}: HTTP {resp.status_code}{older}", "")
    try:
        doc = resp.json()
    except ValueError:
        raise CouldNotRun(f"{where}: HTTP {resp.status_code}, not JSON", resp.text[:100]) from None
    expected = "ok" if resp.status_code == 200 else "failed"
    if not isinstance(doc, dict) or doc.get("status") != expected:
        raise CouldNotRun(f"{where}: HTTP {resp.status_code} answering {str(doc)[:100]}", "")
    return doc


def _check(session: Any, base: str, path: str, timeout: float) -> dict[str, Any]:
    """One of the broker's health checks, asked (:func:`_verdict`)."""
    return _verdict(_ask(session, base, path, timeout), f"{base}{path}")


def _health(session: Any, base: str, timeout: float, ports: Iterable[int]) -> str:
    """``rabbitmq_health`` in the format its rabbitmqctl snippet prints
    (:func:`afterboot.domains.rabbitmq.parse_health`): the virtual-hosts check, the node's
    listeners (``/api/overview``: never their socket options, which may hold a key's
    password), the port-listener check of each port the transport URLs name for this
    broker, and the certificate-expiration check (a node without TLS listener: ok)."""
    vhosts = _check(session, base, "/api/health/checks/virtual-hosts", timeout)
    down = vhosts.get("virtual-hosts", []) if vhosts["status"] == "failed" else []
    if vhosts["status"] == "failed" and not (
        isinstance(down, list) and down and all(isinstance(v, str) for v in down)
    ):
        raise CouldNotRun(f"{base}/api/health/checks/virtual-hosts: failed, naming no vhost", "")
    overview = _get(session, base, "/api/overview?columns=node,listeners", timeout)
    node = str(overview["node"])
    listeners = []
    for item in overview["listeners"]:
        if item.get("node") != node:
            continue
        opts = item.get("socket_opts") or {}
        opts = opts if isinstance(opts, dict) else {}
        listeners.append(
            {
                "interface": str(item.get("ip_address", "")),
                "port": int(item["port"]),
                "protocol": str(item["protocol"]),
                "tls": "certfile" in opts or "ssl_opts" in opts,
            }
        )
    verdicts = {
        str(port): _check(session, base, f"/api/health/checks/port-listener/{port}", timeout)[
            "status"
        ]
        for port in sorted(set(ports))
    }
    within, unit = CERT_WITHIN
    certs = _check(
        session, base, f"/api/health/checks/certificate-expiration/{within}/{unit}", timeout
    )
    if certs["status"] == "ok":
        certificates = f"exit 0\n{json.dumps({'result': 'ok'})}"
    else:  # as rabbitmq-diagnostics check_certificate_expiration prints it (exit 69)
        expired = certs.get("expired")
        if not isinstance(expired, list) or not expired:
            raise CouldNotRun(f"{base}: certificate-expiration failed, naming no listener", "")
        certificates = f"exit 69\n{json.dumps({'result': 'error', 'expired': expired})}"
    state = {"down_vhosts": down, "listeners": listeners, "node": node}
    return (
        f"{PART} state\n{json.dumps(state)}\n{PART} ports\n{json.dumps(verdicts)}\n"
        f"{PART} certificates\n{certificates}\n"
    )


def _answer(
    session: Any,
    base: str,
    timeout: float,
    wanted: Collection[str] = (),
    ports: Iterable[int] = (),
) -> dict[str, ReadResult]:
    nodes = _get(
        session, base, "/api/nodes?columns=name,running,type,mem_alarm,disk_free_alarm", timeout
    )
    vhosts = [v["name"] for v in _get(session, base, "/api/vhosts?columns=name", timeout)]
    queues = _get(session, base, "/api/queues?columns=name,vhost,messages_ready", timeout)
    consumers = _get(session, base, "/api/consumers?columns=queue", timeout)
    if any("messages_ready" not in q for q in queues):
        raise CouldNotRun(f"{base}: queue statistics not emitted yet", "")
    counts: dict[tuple[str, str], int] = {}
    for consumer in consumers:
        queue = consumer.get("queue") or {}
        key = (str(queue.get("vhost")), str(queue.get("name")))
        counts[key] = counts.get(key, 0) + 1
    rows: dict[str, list[str]] = {v: [] for v in vhosts}
    for q in queues:
        vhost, name = str(q["vhost"]), str(q["name"])
        ready = int(q["messages_ready"])
        rows.setdefault(vhost, []).append(f"{name}\t{counts.get((vhost, name), 0)}\t{ready}")
    alarms = _alarms(session, base, timeout, nodes)
    status = {
        "running_nodes": [n["name"] for n in nodes if n.get("running")],
        "disk_nodes": [n["name"] for n in nodes if n.get("type", "disc") == "disc"],
        "ram_nodes": [n["name"] for n in nodes if n.get("type") == "ram"],
        "alarms": alarms,
        "source": "management API",
    }
    via = f"via the management API at {base}"
    permissions = _permissions(session, base, timeout, vhosts)
    text = {
        "rabbitmq_status": json.dumps(status),
        "rabbitmq_vhosts": "\n".join(vhosts),
        "rabbitmq_root_queues": "\n".join(rows.get("/", [])),
        "rabbitmq_queues": "\n".join(
            f"{PART} {v}\n" + "\n".join(r) for v, r in sorted(rows.items())
        ),
    }
    out = {name: ReadResult(name, 0, value + "\n", via) for name, value in text.items()}
    if permissions is not None:
        out["rabbitmq_permissions"] = ReadResult("rabbitmq_permissions", 0, permissions, via)
    # not answered here (no such check, another answer): left to rabbitmqctl; requests'
    # errors are OSErrors
    with contextlib.suppress(CouldNotRun, OSError, ValueError, KeyError, TypeError):
        if HEALTH in wanted:
            out[HEALTH] = ReadResult(HEALTH, 0, _health(session, base, timeout, ports), via)
    return out


def management_reads(
    remote: Remote,
    connections: Connections,
    timeout: float,
    wanted: Collection[str] = (*READS, *OPTIONAL),
) -> dict[str, ReadResult]:
    """The host's RabbitMQ reads from its broker's management API, or CouldNotRun saying
    why not (then ``rabbitmqctl`` reads them); :data:`HEALTH` only where ``wanted``."""
    import requests

    known = endpoints(remote, connections)
    if not known:
        raise CouldNotRun(f"{remote.name}: no transport_url names a RabbitMQ user", "")
    host = _address(remote, known)
    base = f"http://[{host}]:{PORT}" if ":" in host else f"http://{quote(host, safe='.-')}:{PORT}"
    users = list({(e.user, e.password): e for e in known}.values())[:MAX_USERS]
    ports = {e.port for e in known if e.host == host}  # what the services use of this broker
    why = []
    with requests.Session() as session:
        session.trust_env = False  # the broker is on the management network, not behind a proxy
        for endpoint in users:
            session.auth = (endpoint.user, endpoint.password)
            try:
                return _answer(session, base, timeout, wanted, ports)
            except CouldNotRun as exc:
                why.append(str(exc))
                if not str(exc).endswith(("HTTP 401", "HTTP 403")):
                    break
            except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
                why.append(f"{base}: {type(exc).__name__}: {exc}"[:200])
                break
    raise CouldNotRun(f"{remote.name}: RabbitMQ management API", "; ".join(why)[-300:])

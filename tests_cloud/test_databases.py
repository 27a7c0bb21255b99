"""Databases (Ops Guide: databases and message queue; after a restore): every service's
``connection =`` reaches its database, the tables the checks rely on are intact, and a
Galera cluster is whole. Read-only sessions; passwords never shown."""

from __future__ import annotations

import pytest

from afterboot.checks.catalog import WITH_CONFIG_GATE
from afterboot.checks.findings import Findings
from afterboot.domains.database import Databases, configured_dsns
from afterboot.domains.discovery import inventory_name
from afterboot.errors import CouldNotRun, InputError
from afterboot.inventory.model import Inventory
from afterboot.snapshot import Snapshot
from afterboot.transport.connections import Remote


@pytest.mark.check("DB-001", tier=10, roles=("controller",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("configs", "database_sessions")
def test_service_databases_reachable(
    host: Remote, db: Databases, database_sessions: dict[str, dict[str, str]], findings: Findings
) -> None:
    """Each service's ``[database] connection`` on the host opens a session."""
    checked, broken = [], []
    opened = database_sessions.get(host.name, {})
    for service, (path, section, dsn) in configured_dsns(host).items():
        if isinstance(dsn, InputError):
            broken.append(f"{service}: {dsn}")
            continue
        checked.append(service)
        if service in opened:
            reason = opened[service]
        else:  # not read by the pass (its host's configs came late)
            refused = db.refusal(dsn)
            reason = refused.reason if refused else ""
        if reason:
            broken.append(f"{service} ({path} [{section}]): {reason} connecting to {dsn}")
            findings.add(
                service,
                host=host.name,
                expected="session",
                actual=reason,
                service=service,
                config=path,
                reason=reason,
                db_host=dsn.host,
                db_user=dsn.user,
            )
    if not checked and not broken:
        pytest.skip(f"no service database configuration on {host.name}")
    assert not broken, f"database connections failing on {host.name}: " + "; ".join(broken)


@pytest.mark.check(
    "DB-002", tier=10, roles=("database",), phases=("post-restore", "post-upgrade"), settles=False
)
@pytest.mark.reads("tables")
def test_tables_intact(tables: dict[str, str], findings: Findings) -> None:
    """The tables the checks rely on exist and give up a row after a restore (read-only:
    ``information_schema`` and ``SELECT ... LIMIT 1``, never ``CHECK TABLE``)."""
    for name, state in tables.items():
        if state:
            service, _, table = name.partition(".")
            findings.add(
                name,
                expected="intact",
                actual=state,
                table=name,
                database=service,
                table_name=table,
                said=f"{name}: {state}",
            )
    findings.assert_none("tables damaged or missing: ")


@pytest.mark.check("DB-003", tier=10, roles=("database",))
@pytest.mark.reads("galera", "database_server")
def test_galera_cluster_whole(
    galera: dict[str, str], inventory: Inventory, snapshot: Snapshot, findings: Findings
) -> None:
    """A Galera cluster is Primary, Synced, and has every database host as a member.

    Its status is the node's that nova's DSN reaches (``database_server``'s ``server``,
    ``@@hostname:@@port``): that node is the finding's host, every database host of the
    inventory its ``nodes``."""
    if not galera:
        pytest.skip("the database is not a Galera cluster (wsrep_on is not ON)")
    status = galera
    nodes = inventory.names("database")
    problems = []
    if status.get("wsrep_cluster_status") != "Primary":
        problems.append(f"cluster status {status.get('wsrep_cluster_status')}")
    if status.get("wsrep_local_state_comment") != "Synced":
        problems.append(f"node state {status.get('wsrep_local_state_comment')}")
    if int(status.get("wsrep_cluster_size") or 0) != len(nodes):
        problems.append(
            f"cluster size {status.get('wsrep_cluster_size')}, inventory has {len(nodes)}"
        )
    if not problems:
        return
    server = answering_server(snapshot)
    # the node that answered; not known (its read failed): each node is to be looked at
    known = inventory_name(nodes, server.rpartition(":")[0]) if server else ""
    for host in [known] if known else nodes or [""]:
        findings.add(
            server or "galera",
            host=host,
            expected=f"Primary, Synced, {len(nodes)} nodes",
            actual="; ".join(problems),
            server=server or "the node nova's DSN reaches",
            cluster_status=status.get("wsrep_cluster_status", ""),
            node_state=status.get("wsrep_local_state_comment", ""),
            size=status.get("wsrep_cluster_size", ""),
            nodes=",".join(nodes),
            said="Galera: " + "; ".join(problems) + (f" ({server} answered)" if server else ""),
        )
    findings.assert_none()


def answering_server(snapshot: Snapshot) -> str:
    """``host:port`` of the server nova's DSN reaches (the ``database_server`` read), ""
    where that read failed: the Galera status is judged all the same."""
    try:
        server = snapshot.cloud_value("database_server")
    except Exception:  # noqa: BLE001 - its own checks say why; here it only names the node
        return ""
    return str(server.get("server") or "") if isinstance(server, dict) else ""


CONNECTIONS_HEADROOM = 0.9  # connections in use past this share of max_connections


@pytest.mark.check("DB-004", tier=10, roles=("database",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("database_server")
def test_database_server_accepts_writes(
    database_server: dict[str, str], findings: Findings
) -> None:
    """The database server takes writes (read_only, super_read_only and innodb_read_only
    OFF; a Galera node ready) and has connections to spare (in use below 90% of
    max_connections): its own variables and status, read through nova's DSN. A server
    that refuses writes makes every service record go stale, which looks like every
    service being down."""
    server = database_server.get("server", "the database server")
    missing = [
        v for v in ("read_only", "max_connections", "threads_connected") if v not in database_server
    ]
    if missing:
        raise CouldNotRun(f"{server}: no {', '.join(missing)} in its variables and status", "")
    for flag in ("read_only", "super_read_only", "innodb_read_only"):
        if database_server.get(flag, "OFF").upper() in ("ON", "1"):
            findings.add(
                flag,
                expected="OFF",
                actual="ON",
                server=server,
                flag=flag,
                said=f"{server} refuses writes: {flag} is ON",
            )
    if database_server.get("wsrep_on", "OFF").upper() == "ON" and (
        database_server.get("wsrep_ready", "").upper() != "ON"
    ):
        findings.add(
            "wsrep_ready",
            expected="ON",
            actual=database_server.get("wsrep_ready") or "unknown",
            server=server,
            flag="wsrep_ready",
            said=f"{server}: Galera node not ready (wsrep_ready "
            f"{database_server.get('wsrep_ready')})",
        )
    try:
        used = int(database_server["threads_connected"])
        most = int(database_server["max_connections"])
    except ValueError:
        raise CouldNotRun(f"{server}: connection counts are not numbers", "") from None
    if most and used >= CONNECTIONS_HEADROOM * most:
        findings.add(
            "connections",
            expected=f"under {int(CONNECTIONS_HEADROOM * most)}",
            actual=f"{used} of {most}",
            server=server,
            used=str(used),
            max=str(most),
            said=f"{server}: {used} of max_connections {most} in use",
        )
    findings.assert_none()

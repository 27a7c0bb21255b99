"""Databases (Ops Guide: databases and message queue; after a restore): every service's
``connection =`` reaches its database, the tables the checks rely on are intact, and a
Galera cluster is whole. Read-only sessions; passwords never shown."""

from __future__ import annotations

import pytest

from fixtures.connections import Remote
from fixtures.database import Databases, configured_dsns
from fixtures.errors import InputError
from fixtures.inventory import Inventory
from plugins.catalog import WITH_CONFIG_GATE
from plugins.findings import Findings


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
@pytest.mark.reads("galera")
def test_galera_cluster_whole(galera: dict[str, str], inventory: Inventory) -> None:
    """A Galera cluster is Primary, Synced, and has every database host as a member."""
    if not galera:
        pytest.skip("the database is not a Galera cluster (wsrep_on is not ON)")
    status = galera
    expected = len(inventory.with_role("database"))
    problems = []
    if status.get("wsrep_cluster_status") != "Primary":
        problems.append(f"cluster status {status.get('wsrep_cluster_status')}")
    if status.get("wsrep_local_state_comment") != "Synced":
        problems.append(f"node state {status.get('wsrep_local_state_comment')}")
    if int(status.get("wsrep_cluster_size") or 0) != expected:
        problems.append(
            f"cluster size {status.get('wsrep_cluster_size')}, inventory has {expected}"
        )
    assert not problems, "Galera: " + "; ".join(problems)

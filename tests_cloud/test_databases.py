"""Databases (Ops Guide: databases and message queue; after a restore): every service's
``connection =`` reaches its database, the tables the checks rely on are intact, and a
Galera cluster is whole. Read-only sessions; passwords never shown."""

from __future__ import annotations

import pytest

from fixtures.connections import Remote
from fixtures.database import Databases, configured_dsns
from fixtures.errors import CouldNotRun, InputError
from fixtures.inventory import Inventory
from plugins.catalog import WITH_CONFIG_GATE
from plugins.findings import Findings

# Tables the checks (and an operator's recovery) rely on, per database.
TABLES = {
    "nova": ("instances", "block_device_mapping", "services", "compute_nodes"),
    "nova_api": ("cell_mappings", "host_mappings", "flavors"),
    "cinder": ("volumes", "volume_attachment", "services"),
    "keystone": ("project", "user", "endpoint"),
    "glance": ("images",),
    "placement": ("resource_providers", "allocations"),
    "neutron": ("networks", "ports"),
}


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


# Client errors that mean "no answer" (timeout, lost or refused connection): afterboot
# could not look, which says nothing about the table.
_NO_ANSWER = (2003, 2006, 2013, 2055)


def _no_answer(exc: Exception) -> bool:
    code = exc.args[0] if exc.args else None
    return isinstance(exc, OSError | TimeoutError) or code in _NO_ANSWER


@pytest.mark.check(
    "DB-002", tier=10, roles=("database",), phases=("post-restore", "post-upgrade"), settles=False
)
def test_tables_intact(db: Databases, findings: Findings) -> None:
    """The tables the checks rely on exist and give up a row after a restore (read-only:
    ``information_schema`` and ``SELECT ... LIMIT 1``, never ``CHECK TABLE``)."""
    problems = []
    for service, tables in TABLES.items():
        try:
            session = db.session(service)
        except CouldNotRun as exc:
            problems.append(f"{service}: {exc}")
            continue
        with session.cursor() as cur:
            try:
                cur.execute(
                    "SELECT TABLE_NAME AS name FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = DATABASE()"
                )
                present = {str(r["name"]) for r in cur.fetchall()}
            except Exception as exc:  # pymysql errors carry (code, text)
                if _no_answer(exc):
                    raise CouldNotRun(
                        f"database {service}: no answer listing its tables", type(exc).__name__
                    ) from None
                raise
            for table in tables:
                if table not in present:
                    problems.append(f"{service}.{table}: missing")
                    findings.add(
                        f"{service}.{table}",
                        expected="intact",
                        actual="missing",
                        table=f"{service}.{table}",
                        database=service,
                        table_name=table,
                    )
                    continue
                try:
                    cur.execute(f"SELECT 1 FROM `{table}` LIMIT 1")
                    cur.fetchall()
                except Exception as exc:  # noqa: BLE001 - e.g. 1030/1034 a damaged table
                    if _no_answer(exc):
                        raise CouldNotRun(
                            f"database {service}: no answer reading {table}",
                            type(exc).__name__,
                        ) from None
                    text = str(exc.args[-1] if exc.args else exc)
                    problems.append(f"{service}.{table}: {text}")
                    findings.add(
                        f"{service}.{table}",
                        expected="OK",
                        actual=text,
                        table=f"{service}.{table}",
                        database=service,
                        table_name=table,
                    )
    assert not problems, "tables damaged or missing: " + "; ".join(problems)


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

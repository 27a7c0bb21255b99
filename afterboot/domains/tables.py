"""The tables the checks (and an operator's recovery) rely on, read for their integrity
after a restore: read-only, ``information_schema`` and ``SELECT ... LIMIT 1`` per table,
never ``CHECK TABLE`` (it locks, and repairs on some engines)."""

from __future__ import annotations

from typing import Any

from afterboot.errors import CouldNotRun
from afterboot.reads.cloudreads import CloudContext, CloudRead, register

TABLES: dict[str, tuple[str, ...]] = {
    "nova": ("instances", "block_device_mapping", "services", "compute_nodes"),
    "nova_api": ("cell_mappings", "host_mappings", "flavors"),
    "cinder": ("volumes", "volume_attachment", "services"),
    "keystone": ("project", "user", "endpoint"),
    "glance": ("images",),
    "placement": ("resource_providers", "allocations"),
    "neutron": ("networks", "ports"),
}

# Client errors that mean "no answer" (timeout, lost or refused connection): afterboot
# could not look, which says nothing about the table.
NO_ANSWER = (2003, 2006, 2013, 2055)
MISSING = "missing"


def no_answer(exc: BaseException) -> bool:
    code = exc.args[0] if exc.args else None
    return isinstance(exc, OSError | TimeoutError) or code in NO_ANSWER


def table_states(db: Any) -> dict[str, str]:
    """``"service.table"`` -> ``""`` (a row came back), ``"missing"``, or the server's
    error reading a row (a damaged table); ``"service"`` -> why its database did not
    open a session. CouldNotRun when a database stops answering: that says nothing of a
    table."""
    states: dict[str, str] = {}
    for service, tables in TABLES.items():
        try:
            session = db.session(service)
        except CouldNotRun as exc:
            states[service] = str(exc)
            continue
        with session.cursor() as cur:
            present = _listed(cur, service)
            for table in tables:
                name = f"{service}.{table}"
                states[name] = _row_error(cur, service, table) if table in present else MISSING
    return states


def _listed(cur: Any, service: str) -> set[str]:
    try:
        cur.execute(
            "SELECT TABLE_NAME AS name FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE()"
        )
        return {str(r["name"]) for r in cur.fetchall()}
    except Exception as exc:
        if no_answer(exc):
            raise CouldNotRun(
                f"database {service}: no answer listing its tables", type(exc).__name__
            ) from None
        raise


def _row_error(cur: Any, service: str, table: str) -> str:
    try:
        cur.execute(f"SELECT 1 FROM `{table}` LIMIT 1")
        cur.fetchall()
    except Exception as exc:  # noqa: BLE001 - e.g. 1030/1034: a damaged table
        if no_answer(exc):
            raise CouldNotRun(
                f"database {service}: no answer reading {table}", type(exc).__name__
            ) from None
        return str(exc.args[-1] if exc.args else exc)
    return ""


# -- the cloud reads this module makes (afterboot.reads.cloudreads' registry) ----------


def _tables(ctx: CloudContext) -> dict[str, str]:
    return table_states(ctx.db)


register(
    CloudRead(
        "tables",
        "each table the checks rely on: a row read, missing, or the error reading it (database)",
        _tables,
        "db",
    ),
)

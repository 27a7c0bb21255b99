"""nova's own records, read from its databases (every cell), as the guide's SQL does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from afterboot.domains.database import DSN, Databases
from afterboot.errors import CouldNotRun, InputError
from afterboot.reads.cloudreads import CloudContext, CloudRead, register


@dataclass(frozen=True)
class Instance:
    uuid: str
    host: str | None
    vm_state: str
    power_state: int
    task_state: str | None
    name: str  # libvirt domain name, e.g. instance-0000000a
    cell: str


def _cell_dsn(template: str, local: DSN) -> DSN:
    """A cell's database_connection, with nova's ``{username}``-style template filled."""
    if "{" in template:
        template = template.format(
            scheme=local.scheme,
            username=local.user,
            password=local.password,
            hostname=local.host,
            port=local.port,
            path=local.database,
            query="",
        ).rstrip("?")
    return DSN.parse(template, "nova_api.cell_mappings")


def cell_dsns(db: Databases) -> dict[str, DSN]:
    """Every cell's DSN but cell0 (which only holds instances that never got a host).
    nova_api's cell mappings unreadable is could-not-run: the cells other than nova.conf's
    would go unseen, and their hosts' instances with them (never a partial answer)."""
    local = db.dsn("nova")
    try:
        rows = db.query("nova_api", "SELECT name, uuid, database_connection FROM cell_mappings")
    except CouldNotRun as exc:
        raise CouldNotRun(
            "nova_api's cell_mappings could not be read: the instances of its cells are unknown",
            exc.reason or str(exc),
        ) from None
    cells: dict[str, DSN] = {}
    for row in rows:
        if row["uuid"] == "00000000-0000-0000-0000-000000000000":
            continue
        try:
            cells[row["name"] or row["uuid"]] = _cell_dsn(row["database_connection"], local)
        except (InputError, KeyError, IndexError) as exc:
            raise CouldNotRun(
                f"cell {row['name']}: unusable database_connection", str(exc)
            ) from None
    return cells or {"(nova.conf)": local}


_INSTANCE_SQL = (
    "SELECT uuid, host, vm_state, power_state, task_state, id FROM instances WHERE deleted = 0"
)


def instances_of(db: Databases, timeout: float) -> list[Instance]:
    """Every live instance of every cell."""
    found: list[Instance] = []
    for cell, dsn in cell_dsns(db).items():
        conn = dsn.connect(timeout)
        try:
            with conn.cursor() as cur:
                cur.execute(_INSTANCE_SQL)
                rows: list[dict[str, Any]] = list(cur.fetchall())
        finally:
            conn.close()
        found.extend(
            Instance(
                uuid=r["uuid"],
                host=r["host"],
                vm_state=r["vm_state"] or "",
                power_state=int(r["power_state"] or 0),
                task_state=r["task_state"],
                name=f"instance-{int(r['id']):08x}",
                cell=cell,
            )
            for r in rows
        )
    return found


def on_host(all_instances: list[Instance], host: str) -> list[Instance]:
    short = host.split(".", 1)[0]
    return [i for i in all_instances if i.host and i.host.split(".", 1)[0] == short]


# -- fixtures ------------------------------------------------------------------------


# -- the cloud reads this module makes (afterboot.reads.cloudreads' registry) ----------


def _instances(ctx: CloudContext) -> Any:
    return instances_of(ctx.db, ctx.timeout)


register(
    CloudRead("instances", "every live instance of every nova cell (database)", _instances, "db"),
)

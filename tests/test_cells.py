"""NOVA-005/007 read every cell's instances: when nova_api's cell mappings cannot be
read, the instances are could-not-run, never nova.conf's cell alone (a partial answer
that passes every host of the other cells)."""

from __future__ import annotations

from typing import Any

import pytest

from afterboot.domains.database import DSN
from afterboot.domains.nova import cell_dsns
from afterboot.errors import CouldNotRun

LOCAL = DSN.parse("mysql+pymysql://nova:pw@db/nova")


class Db:
    def __init__(self, rows: list[dict[str, Any]] | None) -> None:
        self.rows = rows

    def dsn(self, service: str) -> DSN:
        return LOCAL

    def query(self, service: str, sql: str) -> list[dict[str, Any]]:
        if self.rows is None:
            raise CouldNotRun("nova_api", "(1045, Access denied for user 'nova')")
        return self.rows


def test_cells_unreadable_could_not_run() -> None:
    with pytest.raises(CouldNotRun, match="cell_mappings could not be read") as info:
        cell_dsns(Db(None))  # type: ignore[arg-type]
    assert "1045" in info.value.reason


def test_every_cell_but_cell0() -> None:
    rows = [
        {
            "name": "cell0",
            "uuid": "00000000-0000-0000-0000-000000000000",
            "database_connection": "mysql+pymysql://nova:pw@db/nova_cell0",
        },
        {"name": "cell1", "uuid": "c1", "database_connection": "mysql+pymysql://nova:pw@db/nova"},
        {"name": "cell2", "uuid": "c2", "database_connection": "mysql+pymysql://nova:pw@db2/nova"},
    ]
    cells = cell_dsns(Db(rows))  # type: ignore[arg-type]
    assert sorted(cells) == ["cell1", "cell2"]
    assert cells["cell2"].host == "db2"
    assert cell_dsns(Db([])) == {"(nova.conf)": LOCAL}  # type: ignore[arg-type]

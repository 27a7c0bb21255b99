"""DB-002's read (``tables``) reads only (``information_schema`` and ``SELECT ... LIMIT 1``,
never ``CHECK TABLE``); a table that is gone is a finding, a database that does not answer
is *could not run*, never "missing"."""

from __future__ import annotations

from typing import Any

import pymysql
import pytest

from afterboot.checks.findings import Findings, item_findings
from afterboot.domains.tables import TABLES, table_states
from afterboot.errors import CouldNotRun
from tests_cloud import test_databases as checks


class FakeCursor:
    def __init__(self, db: FakeDb) -> None:
        self.db, self.rows = db, []  # type: ignore[var-annotated]

    def __enter__(self) -> FakeCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, sql: str, args: Any = None) -> None:
        self.db.statements.append(sql)
        if "information_schema" in sql:
            self.rows = [{"name": t} for t in self.db.tables]
            return
        table = sql.split("`")[1]
        if table in self.db.errors:
            raise self.db.errors[table]
        self.rows = [{"1": 1}]

    def fetchall(self) -> list[dict[str, Any]]:
        return self.rows


class FakeDb:
    def __init__(self, tables: set[str], errors: dict[str, Exception]) -> None:
        self.tables, self.errors = tables, errors
        self.statements: list[str] = []

    def session(self, service: str) -> FakeDb:
        return self

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)


ALL = {t for tables in TABLES.values() for t in tables}


def test_only_reads_and_passes_on_intact_tables(request: pytest.FixtureRequest) -> None:
    db = FakeDb(ALL, {})
    states = table_states(db)
    checks.test_tables_intact(states, Findings(request.node))
    assert set(states) == {f"{s}.{t}" for s, tables in TABLES.items() for t in tables}
    assert db.statements
    for sql in db.statements:
        assert sql.split()[0] in ("SELECT", "SHOW"), sql
        assert "CHECK" not in sql.upper()


def test_a_missing_table_is_a_finding(request: pytest.FixtureRequest) -> None:
    states = table_states(FakeDb(ALL - {"instances"}, {}))
    with pytest.raises(AssertionError, match=r"nova\.instances: missing"):
        checks.test_tables_intact(states, Findings(request.node))
    found = item_findings(request.node)
    assert [(f.subject, f.actual) for f in found] == [("nova.instances", "missing")]
    assert found[0].extra["table_name"] == "instances"


def test_a_damaged_table_is_a_finding_naming_the_server_error(
    request: pytest.FixtureRequest,
) -> None:
    crashed = pymysql.err.InternalError(1194, "Table 'volumes' is marked as crashed")
    states = table_states(FakeDb(ALL, {"volumes": crashed}))
    with pytest.raises(AssertionError, match=r"cinder\.volumes: Table 'volumes' is marked"):
        checks.test_tables_intact(states, Findings(request.node))


def test_a_timeout_is_could_not_run_not_missing() -> None:
    lost = pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query")
    with pytest.raises(CouldNotRun, match="no answer reading instances"):
        table_states(FakeDb(ALL, {"instances": lost}))

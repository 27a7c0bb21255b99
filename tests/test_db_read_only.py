"""DB-002 reads only (``information_schema`` and ``SELECT ... LIMIT 1``, never ``CHECK
TABLE``); a table that is gone is a finding, a database that does not answer is
*could not run*, never "missing"."""

from __future__ import annotations

from typing import Any

import pymysql
import pytest

from fixtures.errors import CouldNotRun
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


class FakeFindings:
    def __init__(self) -> None:
        self.added: list[tuple[str, dict[str, Any]]] = []

    def add(self, subject: str, **fields: Any) -> None:
        self.added.append((subject, fields))


ALL = {t for tables in checks.TABLES.values() for t in tables}


def test_only_reads_and_passes_on_intact_tables() -> None:
    db = FakeDb(ALL, {})
    checks.test_tables_intact(db, FakeFindings())  # type: ignore[arg-type]
    assert db.statements
    for sql in db.statements:
        assert sql.split()[0] in ("SELECT", "SHOW"), sql
        assert "CHECK" not in sql.upper()


def test_a_missing_table_is_a_finding() -> None:
    db, found = FakeDb(ALL - {"instances"}, {}), FakeFindings()
    with pytest.raises(AssertionError, match=r"nova\.instances: missing"):
        checks.test_tables_intact(db, found)  # type: ignore[arg-type]
    assert ("nova.instances", "missing") in [(s, f["actual"]) for s, f in found.added]


def test_a_timeout_is_could_not_run_not_missing() -> None:
    lost = pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query")
    db, found = FakeDb(ALL, {"instances": lost}), FakeFindings()
    with pytest.raises(CouldNotRun, match="no answer reading instances"):
        checks.test_tables_intact(db, found)  # type: ignore[arg-type]
    assert not found.added

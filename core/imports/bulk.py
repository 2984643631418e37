"""Bulk writes for an import: one prepared INSERT or UPDATE run with executemany on the
session's own connection (so inside the import's transaction), values converted once per
dialect instead of through the ORM per row. SQLite stores instants as naive UTC text in the
same format as `UTCDateTime`; PostgreSQL takes aware datetimes as they are."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite DATETIME storage format


def _sqlite_instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")  # == strftime(SQLITE_FORMAT), faster


def _as_is(value):
    return value


class Bulk:
    def __init__(self, session: Session):
        self.session = session
        self.connection = session.connection()
        sqlite = self.connection.dialect.name == "sqlite"
        self.mark = "?" if sqlite else "%s"
        self.instant: Callable = _sqlite_instant if sqlite else _as_is

    def convert(self, row: dict, instants: Sequence[str], json_columns: Sequence[str] = ()) -> dict:
        out = dict(row)
        for name in instants:
            out[name] = self.instant(out[name])
        for name in json_columns:
            out[name] = json.dumps(out[name])
        return out

    def insert(self, table: str, columns: Sequence[str], rows: list[dict]) -> None:
        if rows:
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([self.mark] * len(columns))})"
            self.connection.exec_driver_sql(sql, [tuple(r[c] for c in columns) for r in rows])

    def update(self, table: str, columns: Sequence[str], rows: list[dict]) -> None:
        if rows:
            sets = ", ".join(f"{c} = {self.mark}" for c in columns)
            sql = f"UPDATE {table} SET {sets} WHERE id = {self.mark}"
            self.connection.exec_driver_sql(sql, [(*(r[c] for c in columns), r["id"]) for r in rows])

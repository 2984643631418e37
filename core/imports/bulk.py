"""Bulk writes for an import, on the session's own connection (so inside the import's
transaction), values converted once per dialect instead of through the ORM per row. Inserts
go to SQLite as multi-row INSERT ... VALUES statements: each statement that fires the overlap
trigger keeps a statement journal, which one statement per row paid for once per row.
Everything else runs one prepared statement with executemany (psycopg pipelines it).
SQLite stores instants as naive UTC text in the same format as `UTCDateTime`; PostgreSQL
takes aware datetimes as they are."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter

from sqlalchemy.orm import Session

SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite DATETIME storage format
MAX_PARAMETERS = 32_000  # bound values per statement: under SQLite's 32,766


def _sqlite_instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # == strftime(SQLITE_FORMAT): the aware text less its "+00:00", without a naive copy first
    return value.isoformat(" ", "microseconds")[:26]


class _SqliteTexts(dict):
    """Instant -> SQLite's text of it, worked out on the first lookup."""

    def __init__(self) -> None:
        super().__init__({None: None})

    def __missing__(self, value: datetime) -> str:
        text = self[value] = _sqlite_instant(value)
        return text


class _AsGiven(dict):
    """Every instant as it is (PostgreSQL)."""

    def __missing__(self, value):
        return value


class Bulk:
    def __init__(self, session: Session, instants: Sequence[str] = ()):
        self.session = session
        self.connection = session.connection()
        self.sqlite = self.connection.dialect.name == "sqlite"
        self.mark = "?" if self.sqlite else "%s"
        self.instants = frozenset(instants)
        # instant_of(value): a lookup (rows repeat their instants: the write time, the days), each
        # instant converted once; None stays None. PostgreSQL takes them as they are.
        self.instant_of: Callable = (_SqliteTexts() if self.sqlite else _AsGiven()).__getitem__
        self._getters: dict[tuple[str, ...], tuple[Callable, tuple[int, ...]]] = {}

    def values(self, row: dict, columns: Sequence[str]) -> tuple:
        """The row's values in `columns` order, instants converted for the dialect."""
        key = tuple(columns)
        found = self._getters.get(key)
        if found is None:  # once per column list: the getter, and where its instants are
            at = tuple(i for i, c in enumerate(key) if c in self.instants) if self.sqlite else ()
            found = self._getters[key] = (itemgetter(*key), at)
        getter, at = found
        values = getter(row)
        if len(key) == 1:
            values = (values,)
        if not at:
            return values
        values = list(values)
        for i in at:
            values[i] = self.instant_of(values[i])
        return tuple(values)

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        one = f"({', '.join([self.mark] * len(columns))})"
        if not self.sqlite:  # psycopg pipelines an executemany: cheaper than binding one long statement
            if rows:
                self.connection.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {one}", rows)
            return
        per = MAX_PARAMETERS // len(columns)
        for i in range(0, len(rows), per):
            part = rows[i : i + per]
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * len(part))}"
            self.connection.exec_driver_sql(sql, tuple(chain.from_iterable(part)))

    def insert_numbered(self, table: str, columns: Sequence[str], rows: list[tuple]) -> list[int]:
        """SQLite: insert rows with ids numbered here after the table's largest, and return
        them in order. Safe because the import holds SQLite's write lock (BEGIN IMMEDIATE);
        an INSERT ... RETURNING whose ids must come back in the rows' order was one statement
        per row."""
        first = (self.connection.exec_driver_sql(f"SELECT max(id) FROM {table}").scalar() or 0) + 1
        ids = list(range(first, first + len(rows)))
        self.insert(table, ("id", *columns), [(id_, *row) for id_, row in zip(ids, rows, strict=True)])
        return ids

    def update(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        """`rows`: the values of `columns`, then the id."""
        if rows:
            sets = ", ".join(f"{c} = {self.mark}" for c in columns)
            self.connection.exec_driver_sql(f"UPDATE {table} SET {sets} WHERE id = {self.mark}", rows)

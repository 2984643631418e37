"""Engine, sessions and the unit of work.

Writes go through `unit_of_work()`: one transaction that the caller commits once. On SQLite
a write transaction begins IMMEDIATE, so two writers can never both pass a check before
either inserts; reads begin deferred and never block each other (WAL mode).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC

from sqlalchemy import DateTime, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from core.base.config import get_settings
from core.base.errors import DatabaseUnavailable


class UTCDateTime(TypeDecorator):
    """An instant: timestamptz on PostgreSQL, naive UTC text on SQLite; always aware UTC in Python."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(DateTime(timezone=False))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: instants must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_engines: dict[str, Engine] = {}


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # 64 MiB of page cache (the default is 2 MiB): a bulk write (an import of history)
            # otherwise spills its dirty pages to the WAL mid-transaction and reads them back.
            cur.execute("PRAGMA cache_size=-65536")
            # Statement journals in memory: each row an INSERT ... executemany writes fires the
            # overlap trigger, so each is a statement that may abort and keeps such a journal.
            cur.execute("PRAGMA temp_store=MEMORY")
            # Reads through a memory map (up to 1 GiB of the file) rather than copied into the page
            # cache: a fresh connection's first scan of the rollup costs a third less CPU.
            cur.execute("PRAGMA mmap_size=1073741824")
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
            conn.exec_driver_sql(f"BEGIN {mode}")

    else:
        # No JIT: the planner judges the rollup's reads (a few hundred thousand index rows) costly
        # enough to compile, and compiling took longer than the query itself (0.2-0.45 s a query).
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args={"options": "-c jit=off"}
        )
    return engine


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().database_url
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def check_connection(url: str | None = None) -> None:
    """Raise DatabaseUnavailable with a one-line reason when the database cannot be reached."""
    url = url or get_settings().database_url
    try:
        with get_engine(url).connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseUnavailable(f"Cannot connect to the database at {_redact(url)}: {reason}") from None


@contextmanager
def read_session(engine: Engine | None = None) -> Iterator[Session]:
    """A session for reading; rolled back at the end."""
    engine = engine or get_engine()
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """One write transaction: committed when the block ends, rolled back on any error."""
    engine = engine or get_engine()
    with Session(engine.execution_options(write=True), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def refresh_statistics(*tables: str, engine: Engine | None = None) -> None:
    """After a bulk load on PostgreSQL: plan from the new rows now, not when autovacuum gets to
    them (re-importing 100,000 rows took 276 s instead of 18 s while the planner still thought
    the table empty). A role that does not own the tables gets a warning, not an error."""
    engine = engine or get_engine()
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table}")


def constraint_name(exc: BaseException) -> str | None:
    """The name of the database rule an IntegrityError broke, on PostgreSQL and SQLite alike."""
    orig = getattr(exc, "orig", exc)
    diag = getattr(orig, "diag", None)
    if diag is not None and getattr(diag, "constraint_name", None):
        return diag.constraint_name
    match = re.search(r"\b((?:ex|ck|uq|fk)_[a-z_]+)\b", str(orig))
    return match.group(1) if match else None

"""Shared fixtures. `db` runs a test on SQLite and on PostgreSQL with the same code;
`sqlite_db` on SQLite only. Each test gets an empty, fully migrated database, reachable
through the app's own settings (DATABASE_URL), so services, pages and the CLI all see it.

PostgreSQL tests skip with a reason when no server answers, unless REQUIRE_POSTGRES=1
(set by .ci/run), which turns the skip into a failure."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from core import bootstrap
from core.base import db as core_db
from core.base import migrate
from core.base.config import reset_settings
from core.base.db import dispose_engines, get_engine
from core.people import users
from tests.factories import use_database

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
REQUIRE_CHROMIUM = os.environ.get("REQUIRE_CHROMIUM") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

# The app refuses to start without a real cookie key outside demo mode; tests use their own.
os.environ.setdefault("AUTH_COOKIE_KEY", "tests-only-cookie-key-0123456789abcdefghijklmnop")
os.environ.setdefault("DEMO_MODE", "0")
bootstrap.bootstrap()  # the app's handlers, jobs and fixing actions, as every entry point does


@dataclass
class TestDB:
    kind: str
    url: str

    @property
    def engine(self) -> Engine:
        return get_engine(self.url)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


def _pg_reason() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {str(exc).splitlines()[0]}"


@dataclass
class _PgDatabase:
    """A worker's PostgreSQL test database and what it takes to bring it back to its freshly
    migrated state: the rows the migrations wrote (a fingerprint of each such table), and one
    query that names every table holding anything else."""

    url: str
    engine: Engine
    tables: list[str]
    seeded: dict[str, list[dict]]
    dirty_query: str


def _fingerprint(table: str) -> str:
    return f"(SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM \"{table}\" t)"


@pytest.fixture(scope="session")
def _pg_database():
    reason = _pg_reason()
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " (REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"apptest_{worker}_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # A commit does not wait for its WAL to reach the disk: the same visibility and locking,
        # only a crash of the server could lose the last commits, and this database is thrown away.
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url, pool_size=1, pool_pre_ping=True)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        tables = list(
            conn.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'")
            )
        )
        seeded = {t: [dict(r) for r in conn.execute(text(f'SELECT * FROM "{t}"')).mappings()] for t in tables}
        seeded = {t: rows for t, rows in seeded.items() if rows}
        prints = {t: conn.scalar(text(f"SELECT {_fingerprint(t)}")) for t in seeded}
    # A table is dirty when it holds a row (or, for a table the migrations fill, other rows than theirs).
    probes = [
        f"SELECT '{t}' WHERE {_fingerprint(t)} <> '{prints[t]}'"
        if t in seeded
        else f"SELECT '{t}' WHERE EXISTS (SELECT FROM \"{t}\")"
        for t in tables
    ]
    yield _PgDatabase(url, engine, tables, seeded, " UNION ALL ".join(probes))
    engine.dispose()
    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_live(tmp_path_factory) -> Path:
    """Where each SQLite test's database lives: one path for the whole session, so the engine
    made for it (and the SQL it compiled) serves every test; the file is fresh each time."""
    return tmp_path_factory.mktemp("live") / "test.db"


def _fresh_sqlite(template: Path, path: Path) -> str:
    url = f"sqlite:///{path}"
    get_engine(url).dispose()  # no connection of the last test left on the old file
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(template, path)
    return url


@pytest.fixture(scope="session", autouse=True)
def _engines_kept():
    """One engine per database URL for the whole session. `dispose_engines()` (each test's set-up
    and teardown, and the code under test) still closes every connection; only the engine object,
    and with it SQLAlchemy's cache of compiled statements, outlives it. Without this each test
    compiled every statement it ran again, a third of a typical test's CPU."""
    kept: dict[str, Engine] = {}
    original = core_db.make_engine

    def make_engine(url: str) -> Engine:
        if url not in kept:
            kept[url] = original(url)
        return kept[url]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(core_db, "make_engine", make_engine)
        yield
    for engine in kept.values():
        engine.dispose()


def _fresh_pg(pg: _PgDatabase) -> str:
    """Back to the freshly migrated state, touching only what the last test changed: the tables
    that hold rows are emptied (and the migrations' rows put back), and every sequence that moved
    starts again. Most tests write to a handful of the tables, and one query finds which."""
    with pg.engine.begin() as conn:
        dirty = list(conn.scalars(text(pg.dirty_query)))
        if dirty:
            # Past the foreign keys (every table holding a row is emptied, so none is left dangling)
            # and past audit_log's no-DELETE trigger.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in dirty:
            conn.execute(text(f'DELETE FROM "{table}"'))
            if pg.seeded.get(table):
                columns = list(pg.seeded[table][0])
                names = ", ".join(f'"{c}"' for c in columns)
                values = ", ".join(f":{c}" for c in columns)
                conn.execute(text(f'INSERT INTO "{table}" ({names}) VALUES ({values})'), pg.seeded[table])
        conn.execute(
            text(
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false)"
                " FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL"
            )
        )
    return pg.url


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, monkeypatch, _sqlite_template, _sqlite_live) -> TestDB:
    if request.param == "sqlite":
        url = _fresh_sqlite(_sqlite_template, _sqlite_live)
    else:
        url = _fresh_pg(request.getfixturevalue("_pg_database"))
    use_database(url, monkeypatch)
    yield TestDB(request.param, url)
    dispose_engines()
    reset_settings()


@pytest.fixture
def sqlite_db(monkeypatch, _sqlite_template, _sqlite_live) -> TestDB:
    url = _fresh_sqlite(_sqlite_template, _sqlite_live)
    use_database(url, monkeypatch)
    yield TestDB("sqlite", url)
    dispose_engines()
    reset_settings()


@pytest.fixture
def pg_db(monkeypatch, _pg_database) -> TestDB:
    url = _fresh_pg(_pg_database)
    use_database(url, monkeypatch)
    yield TestDB("postgresql", url)
    dispose_engines()
    reset_settings()


@pytest.fixture
def fast_passwords(monkeypatch) -> None:
    """Users created through the services get cheap bcrypt hashes (the real cost is for production)."""
    monkeypatch.setattr(users, "PASSWORD_ROUNDS", 4)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if REQUIRE_CHROMIUM:
            pytest.fail(reason + " (REQUIRE_CHROMIUM=1)")
        pytest.skip(reason)
    return CHROMIUM

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
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'")
            )
        ]
    engine.dispose()
    yield url, tables
    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fresh_sqlite(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "test.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def _fresh_pg(pg) -> str:
    url, tables = pg
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # past audit_log's no-TRUNCATE trigger
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path, monkeypatch, _sqlite_template) -> TestDB:
    if request.param == "sqlite":
        url = _fresh_sqlite(_sqlite_template, tmp_path)
    else:
        url = _fresh_pg(request.getfixturevalue("_pg_database"))
    use_database(url, monkeypatch)
    yield TestDB(request.param, url)
    dispose_engines()
    reset_settings()


@pytest.fixture
def sqlite_db(tmp_path, monkeypatch, _sqlite_template) -> TestDB:
    url = _fresh_sqlite(_sqlite_template, tmp_path)
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

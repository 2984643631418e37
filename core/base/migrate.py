"""Bring any database to the newest schema (Alembic head)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import DBAPIError

from core.base.config import ROOT
from core.base.db import get_engine
from core.base.errors import DatabaseUnavailable


def alembic_config() -> Config:
    return Config(str(ROOT / "alembic.ini"))


def upgrade(engine: Engine | None = None) -> None:
    engine = engine or get_engine()
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def ensure_current(engine: Engine | None = None) -> None:
    """What the app does on start: nothing when the schema is at head; otherwise migrate, and
    when its database role may not change the schema (the production set-up), say what to run."""
    engine = engine or get_engine()
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    try:
        upgrade(engine)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
            raise
        raise DatabaseUnavailable(
            f"The database schema is at revision {current or 'none'} and this version needs {head}, but the app's "
            "database role may not change the schema: run `python -m core init-db` as the owner role."
        ) from None


def current_revision(engine: Engine | None = None) -> str | None:
    engine = engine or get_engine()
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()

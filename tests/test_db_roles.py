"""The production set-up on PostgreSQL: the app's own role can read and append to the audit
log and nothing more, and the owner role cannot TRUNCATE it either."""

from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from core.base import grants, migrate
from core.base.errors import DatabaseUnavailable
from core.base.models import AuditLog
from core.security import audit
from core.security.access import SYSTEM


@pytest.fixture
def app_role(pg_db):
    role = f"app_{make_url(pg_db.url).database}".lower()[:60]
    with pg_db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
    grants.grant_app_role(pg_db.engine, role)
    engine = create_engine(make_url(pg_db.url).set(username=role))
    yield engine
    engine.dispose()
    with pg_db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP OWNED BY {role}"))
        conn.execute(text(f"DROP ROLE {role}"))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET reason = 'edited'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete",
        "DROP TABLE audit_log",
    ],
)
def test_the_app_role_cannot_rewrite_the_audit_log(pg_db, app_role, statement):
    with app_role.begin() as conn:
        conn.execute(AuditLog.__table__.insert().values(action="test.append", outcome="ok"))
    with pytest.raises(DBAPIError, match="permission denied|must be owner"), app_role.begin() as conn:
        conn.execute(text(statement))
    with app_role.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM audit_log")) == 1


def test_the_app_role_works_the_app_and_appends_to_the_log(pg_db, app_role):
    with app_role.begin() as conn:
        conn.execute(text("INSERT INTO locations (name, timezone, active) VALUES ('Uptown', 'UTC', true)"))
        conn.execute(text("UPDATE locations SET address = '3 Hill St' WHERE name = 'Uptown'"))
    from sqlalchemy.orm import Session

    with Session(app_role) as session:
        audit.record(session, SYSTEM, "location.create", entity="location", after={"name": "Uptown"})
        session.commit()


def test_even_the_owner_cannot_truncate_the_audit_log(pg_db):
    with pytest.raises(DBAPIError, match="append-only"), pg_db.engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_log"))


def test_an_app_role_without_ddl_rights_says_to_run_init_db_as_the_owner(pg_db, app_role):
    cfg = migrate.alembic_config()

    def owner(step, target: str) -> None:
        with pg_db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, target)

    owner(command.downgrade, "-1")  # as if this release's last migration were still to run
    try:
        with pytest.raises(DatabaseUnavailable, match="init-db` as the owner role"):
            migrate.ensure_current(app_role)
    finally:
        owner(command.upgrade, "head")


def test_roles_are_for_postgresql_only(sqlite_db):
    with pytest.raises(Exception, match="PostgreSQL only"):
        grants.grant_app_role(sqlite_db.engine, "app")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consent_records SET signed_name = 'Someone else'",
        "DELETE FROM consent_records",
        "TRUNCATE consent_records",
        "ALTER TABLE consent_records DISABLE TRIGGER consent_records_no_update_delete",
    ],
)
def test_the_app_role_can_sign_consents_but_never_rewrite_them(pg_db, app_role, statement):
    from tests.factories import world
    from tests.intake_fixtures import FORM

    w = world()
    with pg_db.engine.begin() as conn:  # the owner publishes a form (as init-db's owner would not: any writer)
        conn.execute(text("INSERT INTO intake_forms (appointment_type_id, version, definition, published_at) "
                          "VALUES (:t, 1, :d, now())"), {"t": w.types["consult"].id, "d": json.dumps(FORM)})  # fmt: skip
    with app_role.begin() as conn:
        form_id = conn.scalar(text("SELECT id FROM intake_forms"))
        conn.execute(
            text("INSERT INTO consent_records (customer_id, form_id, question_key, text_sha256, signed_name, signed_at) "
                 "VALUES (:c, :f, 'treatment', :h, 'Ada Lovelace', now())"),
            {"c": w.customers["ada"].id, "f": form_id, "h": "0" * 64},
        )  # fmt: skip
    with pytest.raises(DBAPIError, match="permission denied|must be owner"), app_role.begin() as conn:
        conn.execute(text(statement))
    with app_role.connect() as conn:
        assert conn.scalar(text("SELECT signed_name FROM consent_records")) == "Ada Lovelace"

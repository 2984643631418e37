"""The audit trail cannot be given a false past: its time is the database's own, each row is
chained to the one committed before it (SHA-256), and `python -m core verify-audit` names the
first row where the chain breaks after the database's owner tampered with it. On SQLite and
PostgreSQL; concurrent writers still make one linear chain."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.exc import DBAPIError

from core.base import db as core_db
from core.base.db import unit_of_work
from core.base.models import AuditChainLink, AuditLog
from core.cli import main
from core.notifications import preferences
from core.security import audit, audit_chain
from core.security.access import SYSTEM
from tests.factories import at, audit_rows, book, world

WRITERS = 20


def _verify(capsys) -> tuple[int, str]:
    code = main(["verify-audit"])
    out = capsys.readouterr()
    return code, (out.out + out.err).strip()


def _as_owner(db, statement: str, **params) -> None:
    """What only the database's owner can do: past the append-only triggers."""
    with db.engine.begin() as conn:
        if db.kind == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(statement), params)
        else:
            for name in ("audit_log_no_update", "audit_log_no_delete"):
                conn.execute(text(f"DROP TRIGGER {name}"))
            conn.execute(text(statement), params)


def _a_chained_world():
    w = world()
    for hour in (9, 10, 11, 14):
        book(w, at(hour, 0))
    return w, [row.id for row in audit_rows()]


def test_every_row_written_by_the_app_is_chained_and_verifies(db, capsys):
    _, ids = _a_chained_world()
    with core_db.read_session() as s:
        linked = s.scalars(select(AuditChainLink.audit_id).order_by(AuditChainLink.seq)).all()
    assert sorted(linked) == ids and len(ids) > 3
    code, message = _verify(capsys)
    assert code == 0
    assert message == f"The audit chain holds: {len(ids)} rows checked."


def test_an_audit_row_gets_the_databases_time_not_the_one_it_was_given(db):
    backdated = datetime(2020, 1, 1, tzinfo=UTC)
    if db.kind == "postgresql":  # a trigger overrides whatever the app sends
        with db.engine.begin() as conn:
            conn.execute(insert(AuditLog).values(action="forged.past", outcome="ok", at=backdated))
        (row,) = audit_rows(action="forged.past")
        assert row.at.year > 2020
    else:  # SQLite cannot change a value in a trigger: it refuses the insert instead
        with pytest.raises(DBAPIError, match="database's own time"), db.engine.begin() as conn:
            conn.execute(insert(AuditLog).values(action="forged.past", outcome="ok", at=backdated))
        assert audit_rows(action="forged.past") == []


def test_a_row_changed_by_the_owner_is_named_by_verify_audit(db, capsys):
    _, ids = _a_chained_world()
    target = ids[2]
    _as_owner(db, "UPDATE audit_log SET actor_username = 'someone-else' WHERE id = :id", id=target)
    code, message = _verify(capsys)
    assert code == 1
    assert message == (
        f"error: The audit chain breaks at audit row #{target}: it was changed after it was written "
        "(its hash no longer matches)."
    )


def test_a_row_deleted_by_the_owner_is_named_by_verify_audit(db, capsys):
    _, ids = _a_chained_world()
    _as_owner(db, "DELETE FROM audit_log WHERE id = :id", id=ids[1])
    code, message = _verify(capsys)
    assert code == 1
    assert f"audit row #{ids[1]}: it was removed" in message


def test_a_row_inserted_around_the_app_is_named_by_verify_audit(db, capsys):
    _a_chained_world()
    with db.engine.begin() as conn:  # the app's own rights, but not through its sessions
        forged = conn.execute(
            insert(AuditLog).values(action="forged.row", outcome="ok").returning(AuditLog.id)
        ).scalar()
    code, message = _verify(capsys)
    assert code == 1
    assert f"audit row #{forged}: it is not in the chain" in message


def test_concurrent_writers_make_one_linear_chain(db, monkeypatch, capsys):
    if db.kind == "postgresql":
        monkeypatch.setitem(core_db._engines, db.url, create_engine(db.url, pool_size=WRITERS + 2, max_overflow=0))
    barrier = threading.Barrier(WRITERS)
    failures = []

    def write(n: int) -> None:
        barrier.wait()
        try:
            with unit_of_work() as s:
                for k in range(3):
                    audit.record(s, SYSTEM, "test.concurrent", entity="writer", entity_id=f"{n}-{k}")
        except Exception as exc:  # noqa: BLE001 - collected and asserted
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    assert len(audit_rows(action="test.concurrent")) == WRITERS * 3
    code, message = _verify(capsys)
    assert (code, message) == (0, f"The audit chain holds: {WRITERS * 3} rows checked.")
    chain = audit_chain.verify
    with db.engine.connect() as conn:
        assert chain(conn).checked == WRITERS * 3


def test_a_rolled_back_savepoint_leaves_the_rest_of_the_transaction_chained(db, capsys):
    with unit_of_work() as s:
        audit.record(s, SYSTEM, "test.before_savepoint")
        s.flush()
        savepoint = s.begin_nested()
        audit.record(s, SYSTEM, "test.rolled_back")
        s.flush()
        savepoint.rollback()
        audit.record(s, SYSTEM, "test.after_savepoint")
    assert [r.action for r in audit_rows()] == ["test.before_savepoint", "test.after_savepoint"]
    assert _verify(capsys) == (0, "The audit chain holds: 2 rows checked.")


def test_a_public_unsubscribe_is_chained_like_staff_rows_and_a_change_to_it_is_named(db, capsys):
    w, ids = _a_chained_world()
    url = preferences.unsubscribe_url(w.customers["ada"].id, "email")
    preferences.unsubscribe(parse_qs(urlparse(url).query)["t"][0], "203.0.113.9")
    (row,) = audit_rows(action="customer.unsubscribe")
    assert (row.actor_username, row.actor_id, row.role) == ("public", None, None)
    assert _verify(capsys) == (0, f"The audit chain holds: {len(ids) + 1} rows checked.")
    _as_owner(db, "UPDATE audit_log SET reason = 'staff request' WHERE id = :id", id=row.id)
    code, message = _verify(capsys)
    assert code == 1
    assert f"audit row #{row.id}: it was changed after it was written" in message

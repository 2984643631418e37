"""The database itself enforces the rules that matter, on SQLite and PostgreSQL alike."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.base import migrate
from core.base.db import constraint_name, unit_of_work
from core.base.models import Appointment, AuditLog
from tests.factories import world

T0 = datetime(2030, 1, 7, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York


def _appt(w, start, minutes=30, provider="rao", room=None, status="booked", group_key=None, before=0, after=0):
    kw = {"group_key": group_key} if group_key else {}
    return Appointment(
        location_id=w.locations["downtown"].id,
        provider_id=w.providers[provider].id,
        room_id=w.rooms[room].id if room else None,
        type_id=w.types["consult"].id,
        customer_id=w.customers["ada"].id,
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        block_start=start - timedelta(minutes=before),
        block_end=start + timedelta(minutes=minutes + after),
        status=status,
        **kw,
    )


def _insert(*appts):
    with unit_of_work() as s:
        s.add_all(appts)


def test_migrations_bring_an_empty_database_to_head(db):
    assert migrate.current_revision() == migrate.head_revision()
    tables = set(inspect(db.engine).get_table_names())
    assert {"appointments", "audit_log", "users", "busy_blocks", "exceptions", "notification_outbox"} <= tables


def test_overlapping_appointments_for_one_provider_are_refused(db):
    w = world()
    _insert(_appt(w, T0))
    with pytest.raises(IntegrityError) as err:
        _insert(_appt(w, T0 + timedelta(minutes=15)))
    assert constraint_name(err.value) == "ex_appointments_provider_overlap"
    with unit_of_work() as s:
        assert s.scalar(select(text("count(*)")).select_from(Appointment)) == 1


def test_back_to_back_appointments_are_allowed(db):
    w = world()
    _insert(_appt(w, T0), _appt(w, T0 + timedelta(minutes=30)), _appt(w, T0 - timedelta(minutes=30)))


def test_buffers_are_part_of_the_held_time(db):
    w = world()
    _insert(_appt(w, T0, after=10))
    with pytest.raises(IntegrityError):
        _insert(_appt(w, T0 + timedelta(minutes=35)))
    _insert(_appt(w, T0 + timedelta(minutes=40)))


def test_cancelled_appointments_do_not_block(db):
    w = world()
    _insert(_appt(w, T0, status="cancelled"))
    _insert(_appt(w, T0))


def test_reactivating_a_cancelled_appointment_into_a_taken_slot_is_refused(db):
    w = world()
    _insert(_appt(w, T0, status="cancelled"), _appt(w, T0, minutes=60))
    with pytest.raises(IntegrityError), unit_of_work() as s:
        cancelled = s.scalars(select(Appointment).where(Appointment.status == "cancelled")).one()
        cancelled.status = "booked"


def test_one_room_cannot_hold_two_appointments_of_different_providers(db):
    w = world()
    _insert(_appt(w, T0, room="dt1"))
    with pytest.raises(IntegrityError) as err:
        _insert(_appt(w, T0, provider="kim", room="dt1"))
    assert constraint_name(err.value) == "ex_appointments_room_overlap"
    _insert(_appt(w, T0, provider="kim", room="dt2"))


def test_group_session_members_share_the_slot(db):
    w = world()
    _insert(_appt(w, T0, group_key="class-1"), _appt(w, T0, group_key="class-1"))
    with pytest.raises(IntegrityError):
        _insert(_appt(w, T0, group_key="other"))


def test_end_must_be_after_start(db):
    w = world()
    bad = _appt(w, T0)
    bad.end_at = T0
    with pytest.raises(IntegrityError):
        _insert(bad)


def test_audit_log_refuses_update_and_delete(db):
    with unit_of_work() as s:
        s.add(AuditLog(action="test.action", entity="thing", entity_id="1"))
    for statement in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError), unit_of_work() as s:
            s.execute(text(statement))
    with unit_of_work() as s:
        assert s.scalars(select(AuditLog.action)).all() == ["test.action"]

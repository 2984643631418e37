"""Two people acting on the same thing at the same moment, on PostgreSQL (SQLite's write
transactions are exclusive already). Every service locks what it reads, so the second action
sees the first's result: where the actions exclude each other exactly one wins and the other
gets the same sentence it would get a second later; where both may apply they apply one after
the other. Either way the final state, the history and the audit log tell the same story."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select

from core.base import db as core_db
from core.base.db import read_session
from core.base.errors import DomainError
from core.base.models import Appointment, AppointmentHistory, AuditLog, User, WaitlistOffer
from core.people import users
from core.scheduling import booking, waitlist
from core.security.access import A
from tests.factories import world
from tests.test_booking_storm import storm

# Many PostgreSQL connections at once: one such module at a time (make test groups them on one worker).
pytestmark = pytest.mark.xdist_group("storms")

ROUNDS = 20
NOW = datetime(2030, 1, 2, 12, 0, tzinfo=UTC)
FIRST_DAY = date(2030, 1, 7)  # a Monday


def slot(n: int, hour: int = 10) -> datetime:
    """The n-th test slot: a distinct weekday and time in New York, two hours from its neighbours."""
    day = FIRST_DAY + timedelta(days=7 * (n // 12))
    day += timedelta(days=(n % 12) // 3)
    minutes = (n % 3) * 120
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC) + timedelta(hours=5, minutes=minutes)


@pytest.fixture
def pg(pg_db, monkeypatch):
    engine = create_engine(pg_db.url, pool_size=10, max_overflow=0)
    monkeypatch.setitem(core_db._engines, pg_db.url, engine)
    return pg_db


def book(w, start, customer="ada"):
    return booking.book(
        w.actors["frontdesk"], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
        customer_id=w.customers[customer].id, provider_id=w.providers["rao"].id, start=start, now=NOW,
        intake={"reason": "check"},
    ).appointment  # fmt: skip


def story(appointment_id: int) -> tuple[Appointment, list[str], Counter]:
    with read_session() as s:
        appt = s.get(Appointment, appointment_id)
        kinds = list(
            s.scalars(
                select(AppointmentHistory.kind)
                .where(AppointmentHistory.appointment_id == appointment_id)
                .order_by(AppointmentHistory.id)
            )
        )
        audited = Counter(
            s.scalars(
                select(AuditLog.action).where(
                    AuditLog.entity == "appointment",
                    AuditLog.entity_id == str(appointment_id),
                    AuditLog.outcome == "ok",
                )
            )
        )
        s.expunge_all()
    return appt, kinds, audited


def test_two_cancels_at_once_cancel_once_with_one_audit_row(pg):
    w = world()
    fd = w.actors["frontdesk"]
    for n in range(ROUNDS):
        appt = book(w, slot(n))
        results, errors = storm([lambda a=appt: booking.cancel(fd, a.id, reason="ill", now=NOW)] * 2)
        assert len(results) == 1 and len(errors) == 1
        assert "already cancelled" in str(errors[0])
        final, kinds, audited = story(appt.id)
        assert final.status == "cancelled"
        assert kinds == ["created", "status"]
        assert audited[A.APPOINTMENT_CANCEL] == 1


def test_cancel_and_reschedule_at_once_apply_in_turn_or_refuse(pg):
    w = world()
    fd = w.actors["frontdesk"]
    for n in range(ROUNDS):
        appt = book(w, slot(n))
        new_start = appt.start_at + timedelta(minutes=30)
        results, errors = storm([
            lambda a=appt: booking.cancel(fd, a.id, reason="ill", now=NOW),
            lambda a=appt, t=new_start: booking.reschedule(fd, a.id, new_start=t, now=NOW),
        ])  # fmt: skip
        final, kinds, audited = story(appt.id)
        assert final.status == "cancelled", "the cancel applies whichever came first"
        if errors:  # the cancel came first: the reschedule saw a cancelled appointment
            (error,) = errors
            assert isinstance(error, DomainError) and "rescheduled" in str(error)
            assert (final.start_at, final.reschedule_count, kinds) == (appt.start_at, 0, ["created", "status"])
            assert audited[A.APPOINTMENT_RESCHEDULE] == 0
        else:  # the reschedule came first, then the cancel of the moved appointment
            assert (final.start_at, final.reschedule_count) == (new_start, 1)
            assert kinds == ["created", "reschedule", "status"]
            assert audited[A.APPOINTMENT_RESCHEDULE] == 1
        assert audited[A.APPOINTMENT_CANCEL] == 1


def test_two_reschedules_at_once_count_both(pg):
    w = world()
    fd = w.actors["frontdesk"]
    for n in range(ROUNDS):
        appt = book(w, slot(n))
        targets = [appt.start_at + timedelta(minutes=30), appt.start_at - timedelta(minutes=30)]
        results, errors = storm([
            lambda a=appt, t=t: booking.reschedule(fd, a.id, new_start=t, now=NOW) for t in targets
        ])  # fmt: skip
        assert errors == []
        final, kinds, audited = story(appt.id)
        assert final.reschedule_count == 2 == audited[A.APPOINTMENT_RESCHEDULE]
        assert kinds == ["created", "reschedule", "reschedule"]
        assert final.start_at in targets


def test_check_in_and_cancel_at_once_never_leave_a_checked_in_cancellation(pg):
    w = world()
    fd = w.actors["frontdesk"]
    for n in range(ROUNDS):
        appt = book(w, slot(n))
        before = appt.start_at - timedelta(minutes=5)
        results, errors = storm([
            lambda a=appt, b=before: booking.check_in(fd, a.id, now=b),
            lambda a=appt, b=before: booking.cancel(fd, a.id, reason="left", now=b),
        ])  # fmt: skip
        final, kinds, audited = story(appt.id)
        assert final.status == "cancelled"
        if errors:  # the cancel came first: check-in refused
            assert "checked in" in str(errors[0])
            assert kinds == ["created", "status"] and audited[A.APPOINTMENT_CHECK_IN] == 0
        else:
            assert kinds == ["created", "status", "status"] and audited[A.APPOINTMENT_CHECK_IN] == 1


def test_booking_and_dismissing_one_offer_at_once_one_wins(pg):
    w = world()
    fd = w.actors["frontdesk"]
    for n in range(ROUNDS):
        start = slot(n)
        taken = book(w, start)
        day = (start - timedelta(hours=5)).date()
        waitlist.add_entry(
            fd, customer_id=w.customers["alan"].id, location_id=w.locations["downtown"].id,
            type_id=w.types["consult"].id, earliest_date=day, latest_date=day, now=NOW,
        )  # fmt: skip
        booking.cancel(fd, taken.id, reason="moved", now=NOW)
        with read_session() as s:
            offer_id = s.scalar(select(WaitlistOffer.id).where(WaitlistOffer.freed_by_appointment_id == taken.id))
        results, errors = storm([
            lambda o=offer_id: waitlist.book_offer(fd, o, now=NOW),
            lambda o=offer_id: waitlist.dismiss_offer(fd, o),
        ])  # fmt: skip
        assert len(results) == 1 and len(errors) == 1
        assert "already" in str(errors[0])
        with read_session() as s:
            status = s.scalar(select(WaitlistOffer.status).where(WaitlistOffer.id == offer_id))
            booked = s.scalar(
                select(Appointment.id).where(Appointment.start_at == start, Appointment.status != "cancelled")
            )
        assert (status == "booked") == (booked is not None)
        assert status in ("booked", "dismissed")


def test_two_admins_editing_one_user_at_once_get_no_raw_database_error(pg):
    w = world()
    admin = w.actors["admin"]
    with read_session() as s:
        target = s.scalar(select(User.id).where(User.username == "frontdesk"))
    for n in range(ROUNDS):
        role = "manager" if n % 2 else "front_desk"
        results, errors = storm([
            lambda r=role: users.set_role_and_locations(admin, target, role=r, location_names=["Downtown"]),
            lambda: users.deactivate_user(admin, target, reason="leaving"),
        ])  # fmt: skip
        assert all(isinstance(e, DomainError) for e in errors), errors
        users.reactivate_user(admin, target)


def test_time_off_added_for_one_provider_at_once_keeps_the_stored_minutes(pg):
    from datetime import time

    from core.metrics import capacity
    from core.metrics.models import MetricCapacityDay
    from core.security.access import SYSTEM
    from core.settings.working_time import add_time_off

    w = world()
    rao = w.providers["rao"].id
    hours = (9, 10, 11, 13, 14)  # five hours off one day, each added by its own request
    calls = [lambda h=h: add_time_off(SYSTEM, rao, first_day=FIRST_DAY, start_time=time(h), end_time=time(h + 1))
             for h in hours]  # fmt: skip
    results, errors = storm(calls)
    assert not errors and len(results) == len(hours)
    with read_session() as s:
        stored = set(s.execute(select(MetricCapacityDay.__table__)).all())
    with core_db.unit_of_work() as s:
        capacity.refresh(s, [rao])
    with read_session() as s:
        assert set(s.execute(select(MetricCapacityDay.__table__)).all()) == stored
    assert [minutes for _, _, day, _, minutes in stored if day == FIRST_DAY] == [8 * 60 - 5 * 60]

"""One customer is never booked twice at the same time with two providers (group sessions
aside); a manager may book over it with a reason, which the audit log keeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.base.db import read_session
from core.base.errors import ConflictError, PermissionDenied
from core.base.models import Appointment, AuditLog
from core.scheduling import booking
from tests.factories import NOW, at, book, world
from tests.test_booking_storm import storm

# Many PostgreSQL connections at once: one such module at a time (make test groups them on one worker).
pytestmark = pytest.mark.xdist_group("storms")


def test_the_same_customer_at_the_same_time_with_another_provider_is_refused_by_name(db):
    w = world()
    book(w, at(10), provider="rao")
    with pytest.raises(ConflictError, match=r"^Ada Lovelace is already booked 10:00–10:30 with Dr\. Rao\.$"):
        book(w, at(10, 15), provider="kim")
    book(w, at(10, 30), provider="kim")  # back to back is fine


def test_a_reschedule_into_the_customers_other_appointment_is_refused(db):
    w = world()
    book(w, at(10), provider="rao")
    later = book(w, at(14), provider="kim").appointment
    with pytest.raises(ConflictError, match="already booked 10:00–10:30 with Dr. Rao"):
        booking.reschedule(w.actors["frontdesk"], later.id, new_start=at(10), now=NOW)


def test_a_manager_may_book_over_it_with_a_reason_and_the_desk_may_not(db):
    w = world()
    book(w, at(10), provider="rao")
    with pytest.raises(PermissionDenied, match="Only a manager"):
        book(w, at(10), provider="kim", override_reason="parent and child seen together")
    result = book(w, at(10), provider="kim", actor="manager", override_reason="parent and child seen together")
    with read_session() as s:
        reason = s.scalar(
            select(AuditLog.reason).where(
                AuditLog.entity_id == str(result.appointment.id), AuditLog.action == "appointment.book"
            )
        )
    assert "Booked anyway: parent and child seen together" in reason


def test_members_of_one_group_session_may_share_its_time(db):
    w = world()
    start = at(10) + timedelta(hours=-5)  # 10:00 in London
    book(w, start, "class", provider="lee", location="harbor", customer="mary")
    book(w, start, "class", provider="lee", location="harbor", customer="mary")


def test_two_desks_booking_one_customer_with_two_providers_at_once_book_once(db):
    w = world()
    calls = [lambda p=p: book(w, at(11), provider=p) for p in ("rao", "kim")] * 5
    results, errors = storm(calls)
    assert len(results) == 1 and len(errors) == 9
    assert all(isinstance(e, ConflictError) for e in errors)
    with read_session() as s:
        assert s.scalar(select(func.count()).select_from(Appointment)) == 1

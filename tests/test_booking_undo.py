"""Undoing the last status change (confirm, check-in, complete, no-show) within a few minutes:
the status goes back, the undo is a history and audit entry of its own, and it is refused after
the window, after another change, for a cancellation and outside the actor's scope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.base.db import read_session
from core.base.errors import InvalidTransition, NotFound, PermissionDenied
from core.base.models import Appointment, AppointmentHistory
from core.scheduling import booking
from tests.factories import at, audit_rows, book, world

UNDO = "appointment.undo"
WHEN = {"confirm": at(9, 40), "check_in": at(9, 55), "complete": at(10, 25), "mark_no_show": at(10, 10)}


def _appt(appointment_id: int) -> Appointment:
    with read_session() as s:
        appt = s.get(Appointment, appointment_id)
        s.expunge(appt)
        return appt


def _kinds(appointment_id: int) -> list[tuple[str, dict]]:
    with read_session() as s:
        rows = s.scalars(
            select(AppointmentHistory)
            .where(AppointmentHistory.appointment_id == appointment_id)
            .order_by(AppointmentHistory.id)
        )
        return [(h.kind, h.new) for h in rows]


@pytest.mark.parametrize(
    ("steps", "back_to", "stamp"),
    [
        (["confirm"], "booked", "confirmed_at"),
        (["check_in"], "booked", "checked_in_at"),
        (["confirm", "check_in"], "confirmed", "checked_in_at"),
        (["check_in", "complete"], "checked_in", "completed_at"),
        (["mark_no_show"], "booked", None),
    ],
)
def test_the_last_status_change_is_undone_with_its_own_history_and_audit(db, steps, back_to, stamp):
    w = world()
    appt_id = book(w, at(10)).appointment.id
    desk = w.actors["frontdesk"]
    for step in steps:  # each when the desk would take it
        now = WHEN[step]
        getattr(booking, step)(desk, appt_id, now=now)
    undone = booking.undo_status(desk, appt_id, now=now + timedelta(minutes=4))
    assert undone.status == back_to == _appt(appt_id).status
    if stamp:
        assert getattr(_appt(appt_id), stamp) is None
    kinds = _kinds(appt_id)
    assert [k for k, _ in kinds] == ["created", *["status"] * len(steps), "undo"]  # the undone change stays
    assert kinds[-1][1]["status"] == back_to
    (row,) = audit_rows(action=UNDO, entity_id=str(appt_id))
    assert row.before["status"] != row.after["status"] == back_to and row.outcome == "ok"


def test_an_undo_is_refused_after_the_window(db):
    w = world()
    appt_id = book(w, at(10)).appointment.id
    booking.check_in(w.actors["frontdesk"], appt_id, now=at(10, 1))
    with pytest.raises(InvalidTransition, match=r"checked in at 10:01: a change can be undone only within 5 minutes"):
        booking.undo_status(w.actors["frontdesk"], appt_id, now=at(10, 7))
    assert _appt(appt_id).status == "checked_in" and not audit_rows(action=UNDO)


@pytest.mark.parametrize(
    ("then", "refusal"),
    [
        (lambda d, i, now: booking.add_note(d, i, note="in the waiting room", now=now), "was a note"),
        (lambda d, i, now: booking.undo_status(d, i, now=now), "already undone"),
        (lambda d, i, now: booking.cancel(d, i, reason="left", now=now), "A cancellation cannot be undone"),
    ],
)
def test_an_undo_is_refused_when_something_else_changed_since(db, then, refusal):
    w = world()
    desk = w.actors["frontdesk"]
    appt_id = book(w, at(10)).appointment.id
    booking.check_in(desk, appt_id, now=at(10, 1))
    then(desk, appt_id, at(10, 2))
    status = _appt(appt_id).status
    before = len(_kinds(appt_id))
    with pytest.raises(InvalidTransition, match=refusal):
        booking.undo_status(desk, appt_id, now=at(10, 3))
    assert _appt(appt_id).status == status and len(_kinds(appt_id)) == before


def test_nothing_to_undo_on_a_fresh_booking(db):
    w = world()
    appt_id = book(w, at(10)).appointment.id
    with pytest.raises(InvalidTransition, match="no status change to undo"):
        booking.undo_status(w.actors["frontdesk"], appt_id, now=at(10))


def test_undo_needs_the_undone_actions_permission_and_scope(db):
    w = world()
    appt_id = book(w, at(10)).appointment.id
    booking.confirm(w.actors["frontdesk"], appt_id, now=at(9))
    with pytest.raises(PermissionDenied):  # a provider may not confirm, so may not undo a confirmation
        booking.undo_status(w.actors["provider"], appt_id, now=at(9, 1))
    with pytest.raises(NotFound, match=f"Unknown appointment #{appt_id}."):  # another location's desk
        booking.undo_status(w.actors["harbordesk"], appt_id, now=at(9, 1))
    with pytest.raises(NotFound, match="Unknown appointment #999999."):
        booking.undo_status(w.actors["frontdesk"], 999999, now=at(9, 1))
    assert _appt(appt_id).status == "confirmed"
    assert not audit_rows(action=UNDO)
    denied = audit_rows(outcome="denied", entity_id=str(appt_id), fields=["action"])
    assert denied == [("appointment.confirm",), ("appointment.confirm",)]  # recorded as the undone action


def test_a_provider_undoes_their_own_no_show(db):
    w = world()
    appt_id = book(w, at(10)).appointment.id
    booking.mark_no_show(w.actors["provider"], appt_id, now=at(10, 10))
    assert booking.undo_status(w.actors["provider"], appt_id, now=at(10, 12)).status == "booked"


def _pending(appointment_id: int) -> set[str]:
    from core.notifications.models import NotificationOutbox

    with read_session() as s:
        q = select(NotificationOutbox.kind).where(
            NotificationOutbox.appointment_id == appointment_id, NotificationOutbox.status == "pending"
        )
        return set(s.scalars(q))


def test_an_undone_no_show_or_completion_takes_back_its_message(db):
    w = world()
    desk = w.actors["frontdesk"]
    missed = book(w, at(10)).appointment.id
    seen = book(w, at(11), customer="alan").appointment.id
    booking.mark_no_show(desk, missed, now=at(10, 10))
    booking.check_in(desk, seen, now=at(11))
    booking.complete(desk, seen, now=at(11, 30))
    assert "no_show" in _pending(missed) and "follow_up" in _pending(seen)
    booking.undo_status(desk, missed, now=at(10, 12))
    booking.undo_status(desk, seen, now=at(11, 31))
    assert "no_show" not in _pending(missed) and "follow_up" not in _pending(seen)


def test_an_undone_check_in_brings_back_the_reminders_still_ahead(db):
    from core.base.db import unit_of_work
    from core.notifications.models import NotificationSchedule

    w = world()
    with unit_of_work() as s:
        s.add(NotificationSchedule(type_id=w.types["consult"].id, reminder_offsets_min=[5]))  # 09:55
    desk = w.actors["frontdesk"]
    appt_id = book(w, at(10)).appointment.id
    assert "reminder" in _pending(appt_id)
    booking.check_in(desk, appt_id, now=at(9, 50))  # the wrong customer, ten minutes early
    assert "reminder" not in _pending(appt_id)
    booking.undo_status(desk, appt_id, now=at(9, 51))
    assert "reminder" in _pending(appt_id)

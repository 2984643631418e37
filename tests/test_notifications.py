"""Notifications through the booking services: what the outbox holds after each change, and
what a send pass does with it when no channel is configured (recorded, not sent)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.base.db import read_session
from core.notifications import sender
from core.notifications.enqueue import idempotency_key
from core.notifications.models import NotificationOutbox
from core.scheduling import booking
from tests.factories import world

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday
START = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # Monday 9 March, 10:00 in New York (EDT since 8 March)


def _rows(appointment_id: int) -> list[NotificationOutbox]:
    with read_session() as s:
        q = select(NotificationOutbox).where(NotificationOutbox.appointment_id == appointment_id)
        rows = list(s.scalars(q.order_by(NotificationOutbox.id)))
        s.expunge_all()
        return rows


def _by_status(appointment_id: int) -> dict[str, set[tuple[str, str, int | None]]]:
    out: dict[str, set] = {}
    for r in _rows(appointment_id):
        out.setdefault(r.status, set()).add((r.kind, r.channel, r.offset_min))
    return out


def _book(w, start=START, now=NOW, customer="ada"):
    return booking.book(
        w.actors["frontdesk"], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
        customer_id=w.customers[customer].id, start=start, provider_id=w.providers["rao"].id,
        intake={"reason": "check-up"}, now=now,
    ).appointment  # fmt: skip


def _both(kind, offset=None):
    return {(kind, "email", offset), (kind, "sms", offset)}


@pytest.fixture
def no_channels(monkeypatch):
    for name in ("SMTP_HOST", "SMS_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)


def test_booking_queues_a_confirmation_and_reminders_at_the_types_offsets(db):
    w = world()
    appt = _book(w)
    rows = _rows(appt.id)
    assert _by_status(appt.id) == {"pending": _both("confirmation") | _both("reminder", 2880) | _both("reminder", 120)}
    due = {(r.kind, r.offset_min): r.due_at for r in rows}
    assert due[("confirmation", None)] == NOW
    assert due[("reminder", 2880)] == START - timedelta(hours=48)  # 48 real hours across the DST change
    assert due[("reminder", 120)] == START - timedelta(hours=2)
    assert {r.written_for for r in rows} == {START}
    assert {r.location_id for r in rows} == {w.locations["downtown"].id}
    key = idempotency_key(appt.id, "reminder", "email", START, 120)
    assert key == f"a{appt.id}.reminder120.email.20260309T1400Z" and key in {r.idempotency_key for r in rows}


def test_a_reminder_whose_time_has_passed_at_booking_is_not_queued(db):
    w = world()
    appt = _book(w, now=START - timedelta(hours=30))
    assert _by_status(appt.id) == {"pending": _both("confirmation") | _both("reminder", 120)}


def test_reschedule_supersedes_what_was_written_for_the_old_start_and_queues_for_the_new(db):
    w = world()
    appt = _book(w)
    new_start = START + timedelta(days=1)
    booking.reschedule(w.actors["frontdesk"], appt.id, new_start=new_start, now=NOW + timedelta(minutes=5))
    rows = _rows(appt.id)
    old = [r for r in rows if r.written_for == START]
    new = [r for r in rows if r.written_for == new_start]
    assert {r.status for r in old} == {"superseded"}  # marked, not deleted
    assert len(old) == 6
    assert {(r.kind, r.channel, r.offset_min) for r in new} == (
        _both("rescheduled") | _both("reminder", 2880) | _both("reminder", 120)
    )
    assert {r.status for r in new} == {"pending"}
    moved = next(r for r in new if r.kind == "rescheduled")
    assert moved.payload == {"previous_start": START.isoformat()}


def test_rescheduling_back_to_the_old_time_revives_the_superseded_reminders(db):
    w = world()
    appt = _book(w)
    booking.reschedule(w.actors["frontdesk"], appt.id, new_start=START + timedelta(days=1), now=NOW)
    booking.reschedule(w.actors["frontdesk"], appt.id, new_start=START, now=NOW + timedelta(minutes=1))
    pending = [r for r in _rows(appt.id) if r.status == "pending"]
    assert {(r.kind, r.offset_min, r.written_for) for r in pending} == {
        ("rescheduled", None, START), ("reminder", 2880, START), ("reminder", 120, START),
    }  # fmt: skip
    assert len(pending) == 6


def test_cancel_cancels_pending_messages_and_queues_a_cancellation_notice(db, no_channels):
    w = world()
    appt = _book(w)
    booking.cancel(w.actors["frontdesk"], appt.id, reason="customer called", now=NOW + timedelta(hours=1))
    assert _by_status(appt.id) == {
        "cancelled": _both("confirmation") | _both("reminder", 2880) | _both("reminder", 120),
        "pending": _both("cancellation"),
    }
    # Nothing written for the appointment goes out after the cancellation, however late the pass.
    summary = sender.send_due(START - timedelta(hours=1))
    assert summary.get("not_sent") == 2  # the two cancellation notices, recorded
    assert {r.kind for r in _rows(appt.id) if r.status not in ("cancelled",)} == {"cancellation"}


def test_no_show_queues_a_rebooking_message_and_completion_a_follow_up(db):
    w = world()
    a = _book(w)
    b = _book(w, start=START + timedelta(hours=2), customer="alan")
    booking.mark_no_show(w.actors["frontdesk"], a.id, now=START + timedelta(minutes=20))
    booking.check_in(w.actors["frontdesk"], b.id, now=START + timedelta(hours=1, minutes=55))
    booking.complete(w.actors["frontdesk"], b.id, now=START + timedelta(hours=2, minutes=30))
    assert _by_status(a.id)["pending"] == _both("no_show")
    statuses_b = _by_status(b.id)
    assert statuses_b["pending"] == _both("follow_up")
    follow = next(r for r in _rows(b.id) if r.kind == "follow_up")
    assert follow.due_at == START + timedelta(hours=2, minutes=30) + timedelta(minutes=180)


def test_a_refused_booking_leaves_no_outbox_rows(db):
    w = world()
    _book(w)
    with pytest.raises(Exception):  # noqa: B017 - any refusal; the point is what is left behind
        _book(w, customer="alan")  # same provider, same time
    with read_session() as s:
        assert len(s.scalars(select(NotificationOutbox)).all()) == 6


def test_without_a_channel_messages_are_recorded_as_not_sent_with_what_would_go_out(db, no_channels):
    w = world()
    appt = _book(w)
    summary = sender.send_due(NOW + timedelta(minutes=1))
    assert summary.get("not_sent") == 2
    conf = {r.channel: r for r in _rows(appt.id) if r.kind == "confirmation"}
    assert conf["email"].status == "not_sent"
    assert conf["email"].last_error.startswith("not sent: no channel configured for email")
    assert conf["email"].recipient == "ada@example.test"
    assert "Mon 9 March 2026 at 10:00 EDT" in conf["email"].body
    assert conf["sms"].recipient == "+12125550100"
    # Reminders are not due yet.
    assert {r.status for r in _rows(appt.id) if r.kind == "reminder"} == {"pending"}

"""Exceptions queue detection: each rule is detected, deduplicated and resolves itself when its
cause goes, in the booking's own transaction and in full passes; a second pass changes nothing;
an item resolved by hand stays resolved until its cause goes and comes back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from core.base.bus import publish
from core.base.db import read_session, unit_of_work
from core.base.models import (
    Appointment,
    BusyBlock,
    CalendarSyncState,
    ExceptionItem,
    NotificationOutbox,
    TimeOff,
)
from core.queue import actions, detect, kinds, lifecycle, reads
from core.queue.items import RESOLVED_BY_ITSELF, raise_item
from core.queue.models import QueueTypeWindow
from core.scheduling import booking, waitlist
from core.scheduling.booking.intake import mark_intake_received
from core.scheduling.events import ProviderScheduleChanged
from tests.factories import world

MONDAY = date(2030, 1, 7)


def at(hh: int, mm: int = 0, day: date = MONDAY) -> datetime:
    """Local New York wall-clock time on `day` (January: UTC-5)."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC) + timedelta(hours=5)


FAR = at(10) - timedelta(days=5)  # nothing is due yet
SOON = at(10) - timedelta(hours=30)  # inside the 48 h confirmation window, outside the 24 h intake one
LATE = at(10) - timedelta(hours=20)  # inside the 24 h intake and cancellation windows


@pytest.fixture
def w(db):
    return world()


def book(w, start=None, *, now=FAR, customer="ada", provider="rao", intake=True, actor="frontdesk"):
    return booking.book(
        w.actors[actor], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
        customer_id=w.customers[customer].id, provider_id=w.providers[provider].id, start=start or at(10),
        intake={"reason": "check-up"} if intake else None, now=now,
    ).appointment  # fmt: skip


def items(kind: str | None = None) -> dict[str, tuple[str, str | None]]:
    with read_session() as s:
        query = select(ExceptionItem.dedupe_key, ExceptionItem.status, ExceptionItem.resolution)
        if kind:
            query = query.where(ExceptionItem.kind == kind)
        return {key: (status, resolution) for key, status, resolution in s.execute(query)}


def table() -> list[tuple]:
    with read_session() as s:
        return [tuple(r) for r in s.execute(select(ExceptionItem.__table__).order_by(ExceptionItem.id))]


def test_unconfirmed_opens_in_the_booking_transaction_and_resolves_on_confirm(w):
    appt = book(w, now=SOON)
    key = kinds.key(kinds.UNCONFIRMED, appt.id)
    assert items(kinds.UNCONFIRMED) == {key: ("open", None)}
    booking.confirm(w.actors["frontdesk"], appt.id, now=SOON)
    assert items(kinds.UNCONFIRMED) == {key: ("resolved", RESOLVED_BY_ITSELF)}


def test_a_full_pass_finds_what_time_brought_and_a_second_pass_changes_nothing(w):
    appt = book(w, intake=False)  # five days ahead: nothing due yet
    assert items() == {}
    result = detect.detect_all(SOON)
    assert dict(result.opened) == {kinds.UNCONFIRMED: 1}
    before = table()
    again = detect.detect_all(SOON)
    assert sum(again.opened.values()) == 0 and sum(again.resolved.values()) == 0
    assert table() == before
    assert dict(detect.detect_all(LATE).opened) == {kinds.INTAKE_MISSING: 1}  # now the intake is due too
    mark_intake_received(w.actors["frontdesk"], appt.id, now=LATE)
    assert items(kinds.INTAKE_MISSING)[kinds.key(kinds.INTAKE_MISSING, appt.id)] == ("resolved", RESOLVED_BY_ITSELF)


def test_rule_windows_are_per_appointment_type(w):
    appt = book(w, intake=False, now=SOON)
    assert kinds.key(kinds.INTAKE_MISSING, appt.id) not in items()
    with unit_of_work() as s:
        s.add(QueueTypeWindow(type_id=w.types["consult"].id, intake_hours=36, confirm_hours=12))
    detect.detect_all(SOON)
    assert items(kinds.INTAKE_MISSING) == {kinds.key(kinds.INTAKE_MISSING, appt.id): ("open", None)}
    assert items(kinds.UNCONFIRMED)[kinds.key(kinds.UNCONFIRMED, appt.id)][1] == RESOLVED_BY_ITSELF


def test_a_no_show_waits_for_a_rebook(w):
    appt = book(w, now=FAR)
    started = at(10) + timedelta(minutes=20)
    booking.mark_no_show(w.actors["frontdesk"], appt.id, now=started)
    key = kinds.key(kinds.NO_SHOW_FOLLOWUP, appt.id)
    assert items(kinds.NO_SHOW_FOLLOWUP) == {key: ("open", None)}
    book(w, at(11, day=MONDAY + timedelta(days=1)), now=started)  # rebooked: the other appointment clears it
    assert items(kinds.NO_SHOW_FOLLOWUP) == {key: ("resolved", RESOLVED_BY_ITSELF)}


def test_a_late_cancellation_is_reviewed_by_hand_and_stays_resolved(w):
    appt = book(w, now=FAR)
    booking.cancel(w.actors["frontdesk"], appt.id, reason="sick", now=LATE)
    key = kinds.key(kinds.LATE_CANCEL, appt.id)
    assert items(kinds.LATE_CANCEL) == {key: ("open", None)}
    with read_session() as s:
        item_id = s.scalar(select(ExceptionItem.id).where(ExceptionItem.dedupe_key == key))
    lifecycle.resolve(w.actors["frontdesk"], [item_id], resolution="No action needed", note="first time", now=LATE)
    detect.detect_all(LATE)  # the cause lasts: the item stays resolved
    assert items(kinds.LATE_CANCEL) == {key: ("resolved", "No action needed")}
    detect.detect_all(at(10) + timedelta(days=kinds.LATE_CANCEL_REVIEW_DAYS + 1))  # review window over
    with read_session() as s:
        item = s.get(ExceptionItem, item_id)
        assert (item.status, item.resolution, item.cause_active) == ("resolved", "No action needed", False)


def test_a_hand_resolved_item_reopens_when_its_cause_comes_back(w):
    appt = book(w, now=FAR)
    with unit_of_work() as s:
        s.add(BusyBlock(provider_id=w.providers["rao"].id, calendar_id="rao@example.test", google_event_id="g1",
                        start_at=at(10), end_at=at(11), summary="Dentist"))  # fmt: skip
    detect.detect_all(FAR)
    key = kinds.key(kinds.CALENDAR_OVERLAP, appt.id)
    with read_session() as s:
        item = s.scalar(select(ExceptionItem).where(ExceptionItem.dedupe_key == key))
        assert item.details["event"] == "Dentist" and item.due_at == appt.start_at
        item_id = item.id
    lifecycle.resolve(w.actors["manager"], [item_id], resolution="Handled outside the app", now=FAR)
    detect.detect_all(FAR)
    assert items(kinds.CALENDAR_OVERLAP)[key][0] == "resolved"
    with unit_of_work() as s:
        s.execute(delete(BusyBlock))
    detect.detect_all(FAR)  # cause gone
    with unit_of_work() as s:
        s.add(BusyBlock(provider_id=w.providers["rao"].id, calendar_id="rao@example.test", google_event_id="g2",
                        start_at=at(9, 45), end_at=at(10, 15), summary="Call"))  # fmt: skip
    assert dict(detect.detect_all(FAR).opened) == {kinds.CALENDAR_OVERLAP: 1}
    with read_session() as s:
        item = s.get(ExceptionItem, item_id)
        assert (item.status, item.reopen_count, item.resolved_by) == ("open", 1, None)


def test_a_freed_slot_offered_to_the_waitlist_is_an_item_until_booked_or_dismissed(w):
    appt = book(w, now=FAR)
    waitlist.add_entry(w.actors["frontdesk"], customer_id=w.customers["alan"].id, location_id=w.locations["downtown"].id,
                       type_id=w.types["consult"].id, earliest_date=MONDAY, latest_date=MONDAY, now=FAR)  # fmt: skip
    booking.cancel(w.actors["frontdesk"], appt.id, reason="moved away", now=FAR)
    offers = items(kinds.WAITLIST_OFFER)
    assert list(offers.values()) == [("open", None)]
    with read_session() as s:
        offer_id = s.scalar(select(ExceptionItem.id).where(ExceptionItem.kind == kinds.WAITLIST_OFFER))
    book(w, at(10), customer="ada", now=FAR)  # someone else takes the time: the offer is withdrawn
    assert items(kinds.WAITLIST_OFFER) == {k: ("resolved", RESOLVED_BY_ITSELF) for k in offers}
    assert offer_id


def test_calendar_items_raised_by_sync_resolve_when_their_cause_goes(w):
    appt = book(w, now=FAR)
    rao = w.providers["rao"].id
    with unit_of_work() as s:
        raise_item(s, kind=kinds.CALENDAR_CHANGED, dedupe_key=kinds.key(kinds.CALENDAR_CHANGED, appt.id), now=FAR,
                   location_id=appt.location_id, appointment_id=appt.id, provider_id=rao)  # fmt: skip
        raise_item(s, kind=kinds.CALENDAR_BROKEN, dedupe_key=kinds.key(kinds.CALENDAR_BROKEN, rao), now=FAR,
                   location_id=appt.location_id, provider_id=rao)  # fmt: skip
        s.add(CalendarSyncState(provider_id=rao, calendar_id="rao@example.test", status="error", last_error="401"))
    detect.detect_all(FAR)  # both causes still there: nothing changes
    assert {s for s, _ in items().values()} == {"open"}
    booking.cancel(w.actors["frontdesk"], appt.id, reason="moved away", now=FAR)
    assert items(kinds.CALENDAR_CHANGED)[kinds.key(kinds.CALENDAR_CHANGED, appt.id)][1] == RESOLVED_BY_ITSELF
    with unit_of_work() as s:
        s.scalar(select(CalendarSyncState)).status = "ok"
    assert dict(detect.detect_all(FAR).resolved) == {kinds.CALENDAR_BROKEN: 1}


def test_hours_or_time_off_changes_raise_outside_hours_items(w):
    appt = book(w, now=FAR)
    rao = w.providers["rao"].id

    def changed():
        with unit_of_work() as s:
            publish(s, ProviderScheduleChanged(provider_id=rao, location_ids=(appt.location_id,), at=FAR))

    with unit_of_work() as s:
        s.add(TimeOff(provider_id=rao, start_at=at(0), end_at=at(23), reason="Conference"))
    changed()
    key = kinds.key(kinds.OUTSIDE_HOURS, appt.id)
    assert items(kinds.OUTSIDE_HOURS) == {key: ("open", None)}
    with read_session() as s:
        assert s.scalar(select(ExceptionItem.details).where(ExceptionItem.dedupe_key == key)) == {
            "reason": "on time off (Conference)"
        }
    with unit_of_work() as s:
        s.execute(delete(TimeOff))
    changed()
    assert items(kinds.OUTSIDE_HOURS) == {key: ("resolved", RESOLVED_BY_ITSELF)}


def test_an_undelivered_message_resolves_once_sent(w):
    appt = book(w, now=FAR)
    with unit_of_work() as s:
        row = NotificationOutbox(idempotency_key=f"a{appt.id}.reminder.email.test", appointment_id=appt.id,
                                 channel="email", kind="reminder", recipient="ada@example.test", due_at=FAR,
                                 next_attempt_at=FAR, status="failed", last_error="550 mailbox unavailable")  # fmt: skip
        s.add(row)
        s.flush()
        raise_item(s, kind=kinds.NOTIFICATION_FAILED, dedupe_key=kinds.key(kinds.NOTIFICATION_FAILED, row.id),
                   now=FAR, location_id=appt.location_id, appointment_id=appt.id)  # fmt: skip
    detect.detect_all(FAR)
    assert [s for s, _ in items(kinds.NOTIFICATION_FAILED).values()] == ["open"]
    with unit_of_work() as s:
        s.get(NotificationOutbox, row.id).status = "sent"
    assert dict(detect.detect_all(FAR).resolved) == {kinds.NOTIFICATION_FAILED: 1}


def test_raising_the_same_cause_twice_keeps_one_item(w):
    appt = book(w, now=FAR)
    key = kinds.key(kinds.CALENDAR_DELETED, appt.id)
    for _ in range(2):
        with unit_of_work() as s:
            raise_item(s, kind=kinds.CALENDAR_DELETED, dedupe_key=key, now=FAR, appointment_id=appt.id,
                       location_id=appt.location_id, details={"google": "deleted"})  # fmt: skip
    with read_session() as s:
        assert s.scalar(select(ExceptionItem.due_at).where(ExceptionItem.dedupe_key == key)) == appt.start_at
    assert items() == {key: ("open", None)}


def test_detection_scoped_to_one_location_leaves_the_others(w):
    book(w, now=FAR)
    harbor = booking.book(
        w.actors["admin"], type_id=w.types["class"].id, location_id=w.locations["harbor"].id,
        customer_id=w.customers["alan"].id, provider_id=w.providers["lee"].id,
        start=datetime(2030, 1, 7, 10, tzinfo=UTC), now=FAR,
    ).appointment  # fmt: skip
    detect.detect_all(datetime(2030, 1, 6, 12, tzinfo=UTC), location_ids=[w.locations["harbor"].id])
    assert items() == {kinds.key(kinds.UNCONFIRMED, harbor.id): ("open", None)}


def test_an_appointment_of_the_past_never_opens_future_rules(w):
    with unit_of_work() as s:
        s.add(Appointment(location_id=w.locations["downtown"].id, provider_id=w.providers["rao"].id,
                          type_id=w.types["consult"].id, customer_id=w.customers["ada"].id, start_at=at(10),
                          end_at=at(10, 30), block_start=at(10), block_end=at(10, 30), intake_complete=False))  # fmt: skip
    assert items() == {}
    assert sum(detect.detect_all(at(12)).opened.values()) == 0


def test_an_appointment_outside_the_hours_is_one_item_and_the_lesser_kinds_wait(w):
    """Time off over a booked, unconfirmed appointment: the desk sees "Outside working hours"
    (with move and cancel), not also "Unconfirmed: call the customer" for a visit that cannot
    take place; once it is moved, the unconfirmed item is back."""
    appt = book(w, now=SOON)
    rao = w.providers["rao"].id
    unconfirmed, outside = kinds.key(kinds.UNCONFIRMED, appt.id), kinds.key(kinds.OUTSIDE_HOURS, appt.id)
    assert items(kinds.UNCONFIRMED) == {unconfirmed: ("open", None)}
    with unit_of_work() as s:
        s.add(TimeOff(provider_id=rao, start_at=at(0), end_at=at(23), reason="Conference"))
        publish(s, ProviderScheduleChanged(provider_id=rao, location_ids=(appt.location_id,), at=SOON))
    open_items = {k for k, (status, _) in items().items() if status == "open"}
    assert open_items == {outside}
    assert not detect.detect_all(SOON).opened  # a full pass agrees
    item = next(i for i in reads.list_items(w.actors["frontdesk"], now=SOON) if i.dedupe_key == outside)
    assert {a.name for a in actions.available(w.actors["frontdesk"], item)} >= {"move", "cancel"}
    kim = w.providers["kim"].id  # the same time with another provider
    booking.reschedule(w.actors["frontdesk"], appt.id, new_start=at(10), provider_id=kim, now=SOON)
    assert items(kinds.OUTSIDE_HOURS)[outside] == ("resolved", RESOLVED_BY_ITSELF)
    assert items(kinds.UNCONFIRMED)[unconfirmed] == ("open", None)  # moved and still unconfirmed: call them


def test_cancel_with_notice_fixes_an_appointment_that_cannot_take_place(w):
    appt = book(w, now=SOON)
    rao = w.providers["rao"].id
    with unit_of_work() as s:
        s.add(TimeOff(provider_id=rao, start_at=at(0), end_at=at(23), reason="Conference"))
        publish(s, ProviderScheduleChanged(provider_id=rao, location_ids=(appt.location_id,), at=SOON))
    item = next(i for i in reads.list_items(w.actors["frontdesk"], now=SOON) if i.kind == kinds.OUTSIDE_HOURS)
    actions.fix(w.actors["frontdesk"], item.id, "cancel", now=SOON)
    with read_session() as s:
        cancelled = s.get(Appointment, appt.id)
        assert cancelled.status == "cancelled" and "on time off (Conference)" in cancelled.cancel_reason
    assert {k for k, (status, _) in items().items() if status == "open"} == set()

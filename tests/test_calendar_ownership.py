"""Whose fields are whose on our Google events, and pushes Google refuses, against the Calendar
v3 emulator over real HTTP: a title edited in Google waits in the queue like a move (kept or
overwritten only by a person's choice); a description edited in Google is kept by our pushes; a
push refused with a 4xx is tried three times, then raises "calendar push failed" naming Google's
reason and sends nothing more until someone acts. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from core.base.errors import InvalidTransition
from core.base.models import Appointment
from core.calendar_sync import fixes
from core.calendar_sync.client import event_id_for
from core.calendar_sync.models import CalendarLink, CalendarPush
from core.calendar_sync.push import PUSH_ATTEMPTS
from core.calendar_sync.sync import sync_pass
from core.queue import actions
from core.scheduling import booking
from tests import test_calendar_sync as calendar_tests
from tests.test_calendar_sync import NOW, RAO, at, book, get, iso, items, ours

emu, w = calendar_tests.emu, calendar_tests.w  # the same fixtures: the emulator, and a world using it

TITLE = "Consultation - Ada"  # ours: the type and the first name


def _retitled(w, emu, title="Ada (bring X-rays)"):
    a1 = book(w, at(9))
    sync_pass(NOW)
    assert ours(emu)[a1.id]["summary"] == TITLE
    emu.edit_event(RAO, event_id_for(a1.id, 0), summary=title)
    return a1


def test_a_title_edited_in_google_waits_in_the_queue_and_no_push_overwrites_it(w, emu):
    a1 = _retitled(w, emu)
    assert sync_pass(NOW).conflicts == 1
    booking.reschedule(w.actors["frontdesk"], a1.id, new_start=at(10), now=NOW)  # our change meanwhile
    sync_pass(NOW)
    sync_pass(NOW)

    [item] = items("calendar_changed")
    assert (item.details["google_summary"], item.details["ours_summary"]) == ("Ada (bring X-rays)", TITLE)
    event = ours(emu)[a1.id]
    assert event["summary"] == "Ada (bring X-rays)" and event["start"]["dateTime"] == iso(at(9))  # held, untouched
    assert get(CalendarLink, a1.id).state == "changed"


def test_accepting_googles_title_keeps_it_through_later_pushes(w, emu):
    a1 = _retitled(w, emu)
    sync_pass(NOW)
    fixes.accept_google_version(w.actors["frontdesk"], a1.id, now=NOW)
    assert items() == [] and get(Appointment, a1.id).start_at == at(9)  # a title is no reason to move

    booking.reschedule(w.actors["frontdesk"], a1.id, new_start=at(10), now=NOW)
    sync_pass(NOW)
    event = ours(emu)[a1.id]
    assert event["start"]["dateTime"] == iso(at(10)) and event["summary"] == "Ada (bring X-rays)"
    assert items() == []
    sync_pass(NOW)  # the echo of our own patch is no conflict
    assert items() == []


def test_keep_ours_puts_our_title_back(w, emu):
    a1 = _retitled(w, emu)
    sync_pass(NOW)
    fixes.keep_ours(w.actors["frontdesk"], a1.id, now=NOW)
    sync_pass(NOW)
    assert ours(emu)[a1.id]["summary"] == TITLE
    assert items() == [] and len(items("calendar_changed", status_in=("resolved",))) == 1


def test_a_title_edited_in_google_before_our_next_push_is_a_conflict_not_overwritten(w, emu):
    a1 = _retitled(w, emu)
    booking.reschedule(w.actors["frontdesk"], a1.id, new_start=at(10), now=NOW)  # pushed before any pull
    emu.reset_counts()
    assert sync_pass(NOW).conflicts == 1
    assert emu.count(method="PATCH") == 1  # the 412; nothing over Google's title
    assert ours(emu)[a1.id]["summary"] == "Ada (bring X-rays)"
    assert items("calendar_changed")[0].details["google_summary"] == "Ada (bring X-rays)"


def test_a_description_or_location_edited_in_google_is_kept_by_our_pushes(w, emu):
    a1 = book(w, at(9))
    sync_pass(NOW)
    emu.edit_event(RAO, event_id_for(a1.id, 0), description="Parking at the back", location="Room 4")
    assert sync_pass(NOW).conflicts == 0
    booking.reschedule(w.actors["frontdesk"], a1.id, new_start=at(11), now=NOW)
    sync_pass(NOW)
    event = ours(emu)[a1.id]
    assert (event["description"], event["location"]) == ("Parking at the back", "Room 4")
    assert event["start"]["dateTime"] == iso(at(11)) and event["summary"] == TITLE and items() == []


def test_a_push_google_refuses_is_tried_three_times_then_raises_an_item_and_stops(w, emu):
    a1, a2 = book(w, at(9)), book(w, at(11), customer="alan")
    emu.refuse(event_id_for(a1.id, 0), 400, "invalid", "Invalid time zone definition for start time.")
    for n in range(1, PUSH_ATTEMPTS + 1):
        summary = sync_pass(NOW)
        assert summary.errors == 1 and len(items("calendar_push_failed")) == (n == PUSH_ATTEMPTS)
    assert set(ours(emu)) == {a2.id}  # the others went on

    [item] = items("calendar_push_failed")
    assert item.appointment_id == a1.id
    assert item.details["reason"] == "Google answered 400: Invalid time zone definition for start time."
    emu.reset_counts()
    assert sync_pass(NOW).errors == 0
    assert emu.count(method="POST") == 0  # held: Google is not asked again
    assert get(CalendarPush, a1.id).attempts == PUSH_ATTEMPTS

    emu.refused.clear()  # what Google named is fixed
    [retry] = [a for a in actions.available(w.actors["frontdesk"], _view(w, item.id)) if a.name == "retry_push"]
    actions.fix(w.actors["frontdesk"], item.id, retry.name, now=NOW)
    sync_pass(NOW)
    assert set(ours(emu)) == {a1.id, a2.id}
    assert items() == [] and get(CalendarPush, a1.id) is None
    with pytest.raises(InvalidTransition, match="not held"):
        fixes.retry_push(w.actors["frontdesk"], a1.id)


def test_a_change_to_a_held_appointment_asks_google_again(w, emu):
    a1 = book(w, at(9))
    emu.refuse(event_id_for(a1.id, 0))
    for _ in range(PUSH_ATTEMPTS):
        sync_pass(NOW)
    assert len(items("calendar_push_failed")) == 1
    emu.refused.clear()
    booking.reschedule(w.actors["frontdesk"], a1.id, new_start=at(10), now=NOW)
    sync_pass(NOW)
    assert ours(emu)[a1.id]["start"]["dateTime"] == iso(at(10)) and items("calendar_push_failed") == []


def _view(w, item_id):
    from core.queue import reads

    return reads.get_item(w.actors["frontdesk"], item_id, now=NOW)

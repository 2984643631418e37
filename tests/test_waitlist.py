"""Waitlist: freed slots become offers for matching entries; the front desk books or dismisses them."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import select

from core.base.db import unit_of_work
from core.base.errors import ConflictError, InvalidTransition, NotFound, PermissionDenied, ValidationError
from core.base.models import AuditLog, Customer, TimeOff, WaitlistEntry, WaitlistOffer
from core.scheduling import booking, waitlist
from tests.factories import MONDAY, NOW, at, book, world


def wait(w, customer="alan", type_="consult", first=MONDAY, last=MONDAY, provider=None, actor="frontdesk"):
    return waitlist.add_entry(
        w.actors[actor],
        customer_id=w.customers[customer].id if customer in w.customers else customer,
        location_id=w.locations["downtown"].id,
        type_id=w.types[type_].id,
        earliest_date=first,
        latest_date=last,
        provider_id=w.providers[provider].id if provider else None,
        now=NOW,
    )


def offers(w, **kw):
    return waitlist.open_offers(w.actors["frontdesk"], location_id=w.locations["downtown"].id, now=NOW, **kw)


def _customer(w, name: str = "Morgan Morning", phone: str = "+12125550111") -> int:
    with unit_of_work() as s:
        c = Customer(name=name, phone=phone, home_location_id=w.locations["downtown"].id)
        s.add(c)
        s.flush()
        return c.id


def entry_status(entry_id: int) -> str:
    with unit_of_work() as s:
        return s.get(WaitlistEntry, entry_id).status


def test_a_cancellation_offers_the_slot_to_matching_entries(db):
    w = world()
    appt = book(w, at(10)).appointment
    entry = wait(w)
    wait(w, first=MONDAY + timedelta(days=1), last=MONDAY + timedelta(days=3))  # other dates
    wait(w, provider="kim")  # wants someone else
    booking.cancel(w.actors["frontdesk"], appt.id, reason="sick", now=NOW)
    [offer] = offers(w)
    assert (offer.entry_id, offer.customer_name, offer.provider_name) == (entry.id, "Alan Turing", "Dr. Rao")
    assert (offer.start, offer.end, offer.type_name) == (at(10), at(10, 30), "Consultation")
    assert entry_status(entry.id) == "offered"
    assert offers(w, day=MONDAY) and offers(w, day=MONDAY + timedelta(days=1)) == []


def test_a_shorter_type_waiting_can_take_a_freed_longer_slot(db):
    w = world()
    appt = book(w, at(10)).appointment
    entry = wait(w, type_="followup")
    booking.cancel(w.actors["frontdesk"], appt.id, reason="sick", now=NOW)
    [offer] = offers(w)
    assert offer.entry_id == entry.id and (offer.start, offer.end) == (at(10), at(10, 15))


def test_a_reschedule_offers_the_old_slot(db):
    w = world()
    appt = book(w, at(10)).appointment
    entry = wait(w)
    booking.reschedule(w.actors["frontdesk"], appt.id, new_start=at(15), now=NOW)
    [offer] = offers(w)
    assert offer.entry_id == entry.id and offer.start == at(10)


def test_a_reschedule_that_still_covers_the_old_time_offers_nothing(db):
    w = world()
    appt = book(w, at(10)).appointment
    wait(w)
    booking.reschedule(w.actors["frontdesk"], appt.id, new_start=at(10, 15), now=NOW)
    assert offers(w) == []


def test_booking_an_offer_books_the_customer_and_withdraws_the_other_offers(db):
    w = world()
    appt = book(w, at(10)).appointment
    first = wait(w, customer="alan")
    with unit_of_work() as s:
        grace = Customer(name="Grace Hopper", email="grace@example.test", home_location_id=w.locations["downtown"].id)
        s.add(grace)
        s.flush()
        grace_id = grace.id
    second = wait(w, customer=grace_id)
    booking.cancel(w.actors["frontdesk"], appt.id, reason="sick", now=NOW)
    listed = offers(w)
    assert [o.entry_id for o in listed] == [first.id, second.id]  # oldest entry first
    result = waitlist.book_offer(w.actors["frontdesk"], listed[0].offer_id, now=NOW)
    new = result.appointment
    assert new.customer_id == w.customers["alan"].id and new.start_at == at(10) and new.source == "waitlist"
    assert result.routing_reason == "Waitlist offer for Alan Turing"
    assert entry_status(first.id) == "booked" and entry_status(second.id) == "waiting"
    assert offers(w) == []
    with unit_of_work() as s:
        statuses = dict(s.execute(select(WaitlistOffer.entry_id, WaitlistOffer.status)).all())
        audited = s.scalars(select(AuditLog.reason).where(AuditLog.entity == "waitlist_offer")).all()
    assert statuses == {first.id: "booked", second.id: "expired"}
    assert audited == ["offer booked"]
    with pytest.raises(InvalidTransition, match="already booked"):
        waitlist.book_offer(w.actors["frontdesk"], listed[0].offer_id, now=NOW)


def test_an_offer_whose_slot_was_taken_is_withdrawn(db):
    w = world()
    appt = book(w, at(10)).appointment
    entry = wait(w)
    booking.cancel(w.actors["frontdesk"], appt.id, reason="sick", now=NOW)
    [offer] = offers(w)
    with unit_of_work() as s:  # the provider's calendar fills the time meanwhile
        s.add(TimeOff(provider_id=w.providers["rao"].id, start_at=at(9), end_at=at(11), reason="Seminar"))
    with pytest.raises(
        ConflictError, match=r"Dr. Rao is off 09:00–11:00 .*\(Seminar\)\. The waitlist offer has been withdrawn"
    ):
        waitlist.book_offer(w.actors["frontdesk"], offer.offer_id, now=NOW)
    assert offers(w) == [] and entry_status(entry.id) == "waiting"


def test_booking_the_offered_time_directly_withdraws_the_offer(db):
    w = world()
    appt = book(w, at(10)).appointment
    entry = wait(w)
    booking.cancel(w.actors["frontdesk"], appt.id, reason="sick", now=NOW)
    assert len(offers(w)) == 1
    book(w, at(10, 15), customer="ada")
    assert offers(w) == [] and entry_status(entry.id) == "waiting"


def test_dismissing_an_offer_puts_the_entry_back_to_waiting(db):
    w = world()
    appt = book(w, at(10)).appointment
    entry = wait(w)
    booking.cancel(w.actors["frontdesk"], appt.id, reason="sick", now=NOW)
    [offer] = offers(w)
    waitlist.dismiss_offer(w.actors["frontdesk"], offer.offer_id)
    assert offers(w) == [] and entry_status(entry.id) == "waiting"


def test_a_removed_entry_gets_no_offers_and_the_reason_is_audited(db):
    w = world()
    appt = book(w, at(10)).appointment
    entry = wait(w)
    with pytest.raises(ValidationError, match="Give a reason"):
        waitlist.remove_entry(w.actors["frontdesk"], entry.id, reason="  ")
    assert entry_status(entry.id) == "waiting"
    waitlist.remove_entry(w.actors["frontdesk"], entry.id, reason="Found another clinic")
    booking.cancel(w.actors["frontdesk"], appt.id, reason="sick", now=NOW)
    assert offers(w) == [] and entry_status(entry.id) == "cancelled"
    with pytest.raises(InvalidTransition):
        waitlist.remove_entry(w.actors["frontdesk"], entry.id, reason="again")
    with unit_of_work() as s:
        row = s.scalars(select(AuditLog).where(AuditLog.entity == "waitlist_entry", AuditLog.reason != "added")).one()
        assert (row.reason, row.before["status"], row.after["status"]) == (
            "Found another clinic",
            "waiting",
            "cancelled",
        )


def test_removing_another_locations_entry_answers_like_a_missing_one(db):
    w = world()
    entry = wait(w)
    for ident in (entry.id, 99999):
        with pytest.raises(NotFound, match=f"^Unknown waitlist entry #{ident}.$"):
            waitlist.remove_entry(w.actors["harbordesk"], ident, reason="x")
    assert entry_status(entry.id) == "waiting"


def test_the_waiting_list_shows_preferences_age_and_contacts_per_role(db):
    w = world()
    prefs = waitlist.Preferences(weekdays=(2, 0), start_from=time(9), start_until=time(12))
    mine = waitlist.add_entry(
        w.actors["frontdesk"], customer_id=w.customers["alan"].id, location_id=w.locations["downtown"].id,
        type_id=w.types["consult"].id, earliest_date=MONDAY, latest_date=MONDAY + timedelta(days=14),
        provider_id=w.providers["rao"].id, preferences=prefs, notes="Mornings only, call first", now=NOW,
    )  # fmt: skip
    wait(w, customer="ada", provider="kim")
    downtown = w.locations["downtown"].id
    [first, second] = waitlist.waiting_entries(w.actors["frontdesk"], location_id=downtown, now=NOW + timedelta(days=3))
    assert first.entry_id == mine.id and first.waiting == "waiting 3 days"
    assert (first.customer_name, first.provider_name, first.phone) == ("Alan Turing", "Dr. Rao", "+442079460000")
    assert first.preferences.text() == "Mon, Wed · 09:00–12:00" and first.notes == "Mornings only, call first"
    assert first.dates == "Mon 7 Jan 2030 – Mon 21 Jan 2030" and second.customer_name == "Ada Lovelace"
    [seen] = waitlist.waiting_entries(w.actors["analyst"], location_id=downtown, now=NOW)[:1]
    assert (seen.phone, seen.email, seen.waiting) == ("***-00", "a***@example.test", "waiting since today")
    assert "call first" not in (seen.notes or "")
    [own] = waitlist.waiting_entries(w.actors["provider"], location_id=downtown, now=NOW)  # Dr. Rao's only
    assert own.entry_id == mine.id
    assert waitlist.waiting_entries(w.actors["frontdesk"], location_id=downtown, now=at(0) + timedelta(days=15)) == []
    with pytest.raises(PermissionDenied):
        waitlist.waiting_entries(w.actors["harbordesk"], location_id=downtown, now=NOW)


def test_offers_respect_preferred_weekdays_and_times_and_show_phone_and_note(db):
    w = world()
    early, late = book(w, at(9)).appointment, book(w, at(14), customer="alan").appointment
    mornings = waitlist.Preferences(start_until=time(11, 30))
    waitlist.add_entry(
        w.actors["frontdesk"], customer_id=_customer(w), location_id=w.locations["downtown"].id,
        type_id=w.types["consult"].id, earliest_date=MONDAY, latest_date=MONDAY, preferences=mornings,
        notes="Prefers Dr. Rao", now=NOW,
    )  # fmt: skip
    tuesdays = waitlist.Preferences(weekdays=(1,))
    waitlist.add_entry(
        w.actors["frontdesk"], customer_id=_customer(w, "Tess Tuesday"), location_id=w.locations["downtown"].id,
        type_id=w.types["consult"].id, earliest_date=MONDAY, latest_date=MONDAY + timedelta(days=1),
        preferences=tuesdays, now=NOW,
    )  # fmt: skip
    booking.cancel(w.actors["frontdesk"], late.id, reason="sick", now=NOW)
    assert offers(w) == []  # 14:00 on a Monday suits neither
    booking.cancel(w.actors["frontdesk"], early.id, reason="sick", now=NOW)
    [offer] = offers(w)
    assert (offer.customer_name, offer.start) == ("Morgan Morning", at(9))
    assert (offer.phone, offer.notes, offer.preferences) == ("+12125550111", "Prefers Dr. Rao", "opening–11:30")


def test_preferences_must_make_sense(db):
    w = world()
    with pytest.raises(ValidationError, match="from 12:00 to 09:00: the first must be earlier"):
        waitlist.add_entry(
            w.actors["frontdesk"], customer_id=w.customers["alan"].id, location_id=w.locations["downtown"].id,
            type_id=w.types["consult"].id, earliest_date=MONDAY, latest_date=MONDAY, now=NOW,
            preferences=waitlist.Preferences(start_from=time(12), start_until=time(9)),
        )  # fmt: skip
    with pytest.raises(ValidationError, match="weekdays, 0 \\(Monday\\) to 6"):
        waitlist.add_entry(
            w.actors["frontdesk"], customer_id=w.customers["alan"].id, location_id=w.locations["downtown"].id,
            type_id=w.types["consult"].id, earliest_date=MONDAY, latest_date=MONDAY, now=NOW,
            preferences=waitlist.Preferences(weekdays=(7,)),
        )  # fmt: skip


def test_a_slot_freed_after_it_started_is_not_offered(db):
    w = world()
    appt = book(w, at(10)).appointment
    wait(w)
    booking.cancel(w.actors["frontdesk"], appt.id, reason="left", now=at(10, 5))
    assert offers(w) == []


def test_bad_waitlist_input_and_permission(db):
    w = world()
    with pytest.raises(ValidationError, match="is before the earliest date"):
        wait(w, first=MONDAY, last=MONDAY - timedelta(days=1))
    with pytest.raises(ValidationError, match="Dr. Kim does not have the skill"):
        wait(w, type_="followup", provider="kim")
    with pytest.raises(PermissionDenied):
        wait(w, actor="analyst")
    with pytest.raises(PermissionDenied):
        waitlist.open_offers(w.actors["harbordesk"], location_id=w.locations["downtown"].id, now=NOW)

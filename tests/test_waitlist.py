"""Waitlist: freed slots become offers for matching entries; the front desk books or dismisses them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.base.db import unit_of_work
from core.base.errors import ConflictError, InvalidTransition, PermissionDenied, ValidationError
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
        ConflictError, match=r"Dr. Rao is off 09:00-11:00 .*\(Seminar\)\. The waitlist offer has been withdrawn"
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


def test_a_cancelled_entry_gets_no_offers(db):
    w = world()
    appt = book(w, at(10)).appointment
    entry = wait(w)
    waitlist.cancel_entry(w.actors["frontdesk"], entry.id)
    booking.cancel(w.actors["frontdesk"], appt.id, reason="sick", now=NOW)
    assert offers(w) == [] and entry_status(entry.id) == "cancelled"
    with pytest.raises(InvalidTransition):
        waitlist.cancel_entry(w.actors["frontdesk"], entry.id)


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

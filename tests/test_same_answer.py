"""Ids reveal nothing: for every service that takes an id, another location's id gets exactly the
answer a missing id gets (the attempt still recorded as a denial, nothing changed), and adding a
customer with an email that belongs to someone outside the desk's locations does not confirm
that record."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.base.db import read_session, unit_of_work
from core.base.errors import ConflictError, DomainError, NotFound
from core.base.models import AuditLog
from core.calendar_sync import fixes as calendar_fixes
from core.people import customers
from core.queue import actions, kinds, lifecycle
from core.queue.items import raise_item
from core.scheduling import booking
from core.scheduling.waitlist import entries as waitlist
from core.settings import locations, providers
from tests.factories import MONDAY, NOW, at, book, world

MISSING = 987654
LATER = at(15)

APPOINTMENT_SERVICES = {
    "confirm": lambda actor, i: booking.confirm(actor, i, now=NOW),
    "check_in": lambda actor, i: booking.check_in(actor, i, now=NOW),
    "complete": lambda actor, i: booking.complete(actor, i, now=NOW),
    "mark_no_show": lambda actor, i: booking.mark_no_show(actor, i, now=NOW),
    "undo_status": lambda actor, i: booking.undo_status(actor, i, now=NOW),
    "cancel_preview": lambda actor, i: booking.cancel_preview(actor, i, now=NOW),
    "cancel": lambda actor, i: booking.cancel(actor, i, reason="probe", now=NOW),
    "add_note": lambda actor, i: booking.add_note(actor, i, note="probe", now=NOW),
    "edit_intake": lambda actor, i: booking.edit_intake(actor, i, {"reason": "probe"}, now=NOW),
    "mark_intake_received": lambda actor, i: booking.mark_intake_received(actor, i, now=NOW),
    "reschedule": lambda actor, i: booking.reschedule(actor, i, new_start=LATER, now=NOW),
    "accept_google_version": lambda actor, i: calendar_fixes.accept_google_version(actor, i, now=NOW),
    "keep_ours": lambda actor, i: calendar_fixes.keep_ours(actor, i, now=NOW),
}
QUEUE_SERVICES = {
    "assign": lambda actor, i: lifecycle.assign(actor, [i], None, now=NOW),
    "snooze": lambda actor, i: lifecycle.snooze(actor, [i], NOW + timedelta(days=1), now=NOW),
    "resolve": lambda actor, i: lifecycle.resolve(actor, [i], resolution="Fixed", now=NOW),
    "reopen": lambda actor, i: lifecycle.reopen(actor, i, now=NOW),
    "record_fix": lambda actor, i: lifecycle.record_fix(actor, i, "probe", since=NOW, now=NOW),
    "fix": lambda actor, i: actions.fix(actor, i, "confirm", now=NOW),
}
OTHER_SERVICES = {  # (actor, what the id names, the call)
    "get_customer": ("frontdesk", "customer", lambda actor, i: customers.get_customer(actor, i)),
    "remove_waitlist_entry": ("frontdesk", "entry", lambda actor, i: waitlist.remove_entry(actor, i, reason="probe")),
    "set_room_active": ("manager", "room", lambda actor, i: locations.set_room_active(actor, i, False, now=NOW)),
    "set_provider_active": ("manager", "provider", lambda actor, i: providers.set_provider_active(actor, i, False)),
}


@pytest.fixture
def w(db):
    w = world()
    w.harbor_appointment = book(
        w, at(10), type_="class", provider="lee", customer="mary", location="harbor"
    ).appointment
    with unit_of_work() as s:
        item, _ = raise_item(s, kind=kinds.CALENDAR_BROKEN, dedupe_key=kinds.key(kinds.CALENDAR_BROKEN, 99), now=NOW,
                             location_id=w.locations["harbor"].id, provider_id=w.providers["lee"].id)  # fmt: skip
        w.harbor_item = item.id
    w.harbor_entry = waitlist.add_entry(
        w.actors["harbordesk"], customer_id=w.customers["mary"].id, type_id=w.types["class"].id,
        location_id=w.locations["harbor"].id, earliest_date=MONDAY, latest_date=MONDAY + timedelta(days=7), now=NOW,
    ).id  # fmt: skip
    return w


def _answer(fn, actor, ident: int) -> tuple[type, str]:
    with pytest.raises(DomainError) as caught:
        fn(actor, ident)
    return caught.type, re.sub(rf"\b{ident}\b", "<id>", str(caught.value))


def _denials() -> int:
    with read_session() as s:
        return s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.outcome == "denied"))


def _same_answer(fn, actor, ident: int) -> None:
    denials = _denials()
    out_of_scope = _answer(fn, actor, ident)
    assert _denials() == denials + 1, "the out-of-scope attempt is recorded as a denial"
    missing = _answer(fn, actor, MISSING)
    assert out_of_scope[1] == missing[1]
    # "Unknown ... #id." for a role that may do this elsewhere; the permission's refusal for one that may not at all
    assert issubclass(out_of_scope[0], NotFound) == issubclass(missing[0], NotFound)


@pytest.mark.parametrize("name", sorted(APPOINTMENT_SERVICES))
def test_another_locations_appointment_is_answered_like_a_missing_one(w, name):
    _same_answer(APPOINTMENT_SERVICES[name], w.actors["frontdesk"], w.harbor_appointment.id)


@pytest.mark.parametrize("name", sorted(QUEUE_SERVICES))
def test_another_locations_queue_item_is_answered_like_a_missing_one(w, name):
    _same_answer(QUEUE_SERVICES[name], w.actors["frontdesk"], w.harbor_item)


@pytest.mark.parametrize("name", sorted(OTHER_SERVICES))
def test_another_locations_record_is_answered_like_a_missing_one(w, name):
    who, what, fn = OTHER_SERVICES[name]
    ident = {
        "customer": w.customers["mary"].id,
        "entry": w.harbor_entry,
        "room": w.rooms["hb1"].id,
        "provider": w.providers["lee"].id,
    }[what]
    _same_answer(fn, w.actors[who], ident)


def test_an_email_on_another_locations_customer_is_refused_without_confirming_that_record(w):
    with pytest.raises(ConflictError) as caught:
        customers.create_customer(
            w.actors["frontdesk"], name="Someone", email="MARY@example.test", location_id=w.locations["downtown"].id
        )
    message = str(caught.value)
    assert message == (
        "A new customer cannot be added with MARY@example.test: search your locations for them by name or phone, "
        "or add them without an email."
    )
    assert "Mary" not in message and "another customer" not in message
    with pytest.raises(ConflictError, match="already belongs to Ada Lovelace"):  # in scope: named, to pick them
        customers.create_customer(
            w.actors["frontdesk"], name="Ada", email="ada@example.test", location_id=w.locations["downtown"].id
        )
    assert [c.name for c in customers.search_customers(w.actors["frontdesk"], "Someone")] == []

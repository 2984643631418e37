"""The customer-facing door and its booking-request page: off until an admin opens it, rate-limited
per client address, a honeypot; requests book at once or hold their slot for the desk, which
confirms or declines them from the queue; held ones lapse by themselves; a taken slot is one
sentence; every write is audited as "public" with the client's address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.base.config import reset_settings
from core.base.db import read_session, unit_of_work
from core.base.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from core.base.models import Appointment, AppointmentType, ExceptionItem, Inquiry
from core.inquiries import holds, online, public
from core.queue import actions, kinds
from core.security import door
from tests.factories import NOW, at, audit_dicts, book, world

SLUG = "downtown"


def _online(w, type_="consult", *, instant=True, hold=30):
    with unit_of_work() as s:
        t = s.get(AppointmentType, w.types[type_].id)
        t.bookable_online, t.online_instant, t.online_hold_minutes = True, instant, hold


def _open(w):
    door.set_open(w.actors["admin"], True, now=NOW)


def _request(w, start=None, client="203.0.113.7", now=NOW, **kw):
    fields = {"type_id": w.types["consult"].id, "start": start or at(10), "name": "Grace Hopper",
              "email": "grace@example.test", "intake": {"reason": "check-up"}} | kw  # fmt: skip
    return public.request_booking(SLUG, client=client, now=now, **fields)


def test_the_door_is_closed_until_an_admin_opens_it_and_only_an_admin_may(db):
    w = world()
    _online(w)
    with pytest.raises(door.DoorClosed):
        _request(w)
    with pytest.raises(PermissionDenied):
        door.set_open(w.actors["manager"], True, now=NOW)
    _open(w)
    assert door.is_open()
    assert audit_dicts(entity="door")[-1]["after"] == {"open": True}


def test_an_instant_type_is_booked_at_once_as_a_web_inquiry_audited_as_public(db):
    w = world()
    _online(w)
    _open(w)
    starts = public.free_starts(SLUG, w.types["consult"].id, now=NOW)
    assert at(10) in starts and len(starts) == len(set(starts))
    done = _request(w, start=at(10))
    assert not done.held and done.start_local.hour == 10
    with read_session() as s:
        inq = s.get(Inquiry, done.inquiry_id)
        appt = s.get(Appointment, done.appointment_id)
        assert (inq.channel, inq.appointment_id, appt.source) == ("web", appt.id, "web")
    rows = audit_dicts(role="public")
    assert rows and {r["client_address"] for r in rows} == {"203.0.113.7"}
    assert {r["actor_username"] for r in rows} == {"public"}
    _request(w, start=at(10), email="second@example.test")  # the other provider's 10:00
    assert at(10) not in public.free_starts(SLUG, w.types["consult"].id, now=NOW)


def test_a_taken_slot_is_one_sentence_and_writes_nothing(db):
    w = world()
    _online(w)
    _open(w)
    book(w, at(10), provider="rao")
    book(w, at(10), provider="kim", customer="alan")
    with pytest.raises(ConflictError, match="taken a moment ago"):
        _request(w, start=at(10))
    with read_session() as s:
        assert s.scalars(select(Inquiry)).all() == []
    assert audit_dicts(role="public") == []


def test_bad_input_is_refused_field_by_field_and_writes_nothing(db):
    w = world()
    _online(w)
    _open(w)
    with pytest.raises(NotFound, match="Not found"):
        public.request_booking("nowhere", type_id=w.types["consult"].id, start=at(10), name="A", email="a@b.cd",
                               client="1.1.1.1", now=NOW)  # fmt: skip
    with pytest.raises(ValidationError, match="cannot be booked online"):
        _request(w, type_id=w.types["followup"].id, client="1.1.1.2")
    with pytest.raises(ValidationError, match="email address"):
        _request(w, email="grace-at-example", client="1.1.1.3")
    with pytest.raises(ValidationError, match="email address or a phone"):
        _request(w, email=None, client="1.1.1.4")
    with pytest.raises(ValidationError, match="Reason for visit"):
        _request(w, intake={}, client="1.1.1.5")
    with pytest.raises(ValidationError, match="days ahead"):
        _request(w, start=at(10) + timedelta(days=120), client="1.1.1.6")
    with pytest.raises(ValidationError, match="could not be sent"):
        _request(w, honeypot="http://spam.example", client="1.1.1.7")
    with read_session() as s:
        assert s.scalars(select(Inquiry)).all() == []


def test_a_burst_over_the_rate_limit_is_refused_and_writes_nothing(db, monkeypatch):
    monkeypatch.setenv("DOOR_REQUESTS_PER_MINUTE", "2")
    reset_settings()
    w = world()
    _online(w)
    _open(w)
    _request(w, start=at(10))
    _request(w, start=at(11), email="two@example.test")
    with pytest.raises(door.TooManyRequests, match="try again in a minute"):
        _request(w, start=at(12), email="three@example.test")
    _request(w, start=at(12), email="other@example.test", client="198.51.100.1")  # another address
    _request(w, start=at(13), email="four@example.test", now=NOW + timedelta(minutes=1))  # the next minute
    with read_session() as s:
        assert len(s.scalars(select(Inquiry)).all()) == 4


def test_a_held_request_waits_in_the_queue_and_the_desk_confirms_it(db):
    w = world()
    _online(w, instant=False, hold=30)
    _open(w)
    done = _request(w, start=at(10))
    assert done.held and done.held_until == NOW + timedelta(minutes=30)
    with read_session() as s:
        item = s.scalar(select(ExceptionItem).where(ExceptionItem.kind == kinds.BOOKING_REQUEST))
        assert item.status == "open" and item.appointment_id == done.appointment_id
        item_id = item.id
    actions.fix(w.actors["frontdesk"], item_id, "confirm_request", now=NOW)
    with read_session() as s:
        assert s.get(Inquiry, done.inquiry_id).held_until is None
        assert s.get(ExceptionItem, item_id).status == "resolved"
    assert holds.expire_requests(NOW + timedelta(hours=1)) == "0 booking request(s) lapsed"


def test_a_declined_request_frees_its_slot_and_does_not_convert(db):
    w = world()
    _online(w, instant=False)
    _open(w)
    done = _request(w, start=at(10))
    late = at(10) - timedelta(hours=2)  # inside the type's 24-hour cancellation window
    holds.decline_request(w.actors["frontdesk"], done.appointment_id, now=late)
    with read_session() as s:
        inq = s.get(Inquiry, done.inquiry_id)
        assert (inq.appointment_id, inq.closed_reason) == (None, "declined")
        appt = s.get(Appointment, done.appointment_id)
        assert (appt.status, appt.late_cancel) == ("cancelled", False)  # the desk declined: no late cancel
    assert book(w, at(10), provider=None).appointment.start_at == at(10)


def test_a_held_request_nobody_answers_lapses_and_frees_its_slot(db):
    w = world()
    _online(w, instant=False, hold=30)
    _open(w)
    done = _request(w, start=at(10))
    assert holds.expire_requests(NOW + timedelta(minutes=29)) == "0 booking request(s) lapsed"
    assert holds.expire_requests(NOW + timedelta(minutes=30)) == "1 booking request(s) lapsed"
    with read_session() as s:
        assert s.get(Inquiry, done.inquiry_id).closed_reason == "expired"
        appt = s.get(Appointment, done.appointment_id)
        assert (appt.status, appt.late_cancel) == ("cancelled", False)  # lapsed: nobody cancelled late
        item = s.scalar(select(ExceptionItem).where(ExceptionItem.kind == kinds.BOOKING_REQUEST))
        assert item.status == "resolved"
    assert at(10) in public.free_starts(SLUG, w.types["consult"].id, now=NOW)


def test_managers_set_which_types_are_bookable_online_and_the_desk_may_not(db):
    w = world()
    _open(w)
    with pytest.raises(ValidationError, match="cannot be booked online"):
        _request(w)
    with pytest.raises(PermissionDenied):
        online.set_online(w.actors["frontdesk"], w.types["consult"].id, bookable=True, instant=True, hold_minutes=30)
    with pytest.raises(ValidationError, match="between 1 and"):
        online.set_online(w.actors["manager"], w.types["consult"].id, bookable=True, instant=True, hold_minutes=0)
    online.set_online(w.actors["manager"], w.types["consult"].id, bookable=True, instant=True, hold_minutes=30)
    assert not _request(w).held
    assert audit_dicts(entity="appointment_type")[-1]["after"]["bookable_online"] is True


def test_a_burst_across_a_minutes_edge_is_still_one_burst(db, monkeypatch):
    """The limit counts the last 60 seconds, not the calendar minute: 3 requests at 12:00:50 and
    3 more at 12:01:10 are 6 in 20 seconds, and the 6th is refused."""
    monkeypatch.setenv("DOOR_REQUESTS_PER_MINUTE", "5")
    reset_settings()
    edge = NOW.replace(second=0, microsecond=0) + timedelta(seconds=50)
    for i in range(3):
        door.count_request("203.0.113.9", now=edge + timedelta(seconds=i))
    for i in range(2):
        door.count_request("203.0.113.9", now=edge + timedelta(seconds=20 + i))
    with pytest.raises(door.TooManyRequests):
        door.count_request("203.0.113.9", now=edge + timedelta(seconds=23))
    assert door.count_request("203.0.113.9", now=edge + timedelta(seconds=75)) <= 5  # the first three aged out

"""The desk's inquiries: recorded (a repeat within the hour merged), booked from (linked one way,
once), closed with a reason, each audited and kept in the conversion rollup; who may do what."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from core.base.db import read_session
from core.base.errors import ConflictError, InvalidTransition, OutOfScope, PermissionDenied, ValidationError
from core.base.models import Appointment, ExceptionItem, Inquiry, Location
from core.inquiries import services as inquiries
from core.metrics.models import MetricInquiryDay
from core.queue import detect, kinds
from core.queue.rules.inquiries import answer_by
from core.settings import locations
from tests.factories import NOW, at, audit_dicts, world


def _record(w, actor="frontdesk", customer="ada", type_="consult", now=NOW, **kw):
    return inquiries.record_inquiry(
        w.actors[actor], location_id=w.locations["downtown"].id, channel=kw.pop("channel", "phone"),
        customer_id=w.customers[customer].id, type_id=w.types[type_].id if type_ else None, now=now, **kw,
    )  # fmt: skip


def _rollup():
    with read_session() as s:
        return [(r.day, r.received, r.converted) for r in s.scalars(select(MetricInquiryDay))]


def test_recording_a_call_writes_one_inquiry_its_audit_row_and_its_rollup(db):
    w = world()
    done = _record(w, preferred_times="mornings", notes="asked about a check-up")
    assert not done.merged
    with read_session() as s:
        inq = s.get(Inquiry, done.inquiry_id)
        assert (inq.channel, inq.preferred_times, inq.created_by) == ("phone", "mornings", w.users["frontdesk"].id)
    assert [a["action"] for a in audit_dicts(entity="inquiry")] == ["inquiry.record"]
    assert _rollup() == [(NOW.date(), 1, 0)]


def test_a_repeat_within_the_hour_is_merged_and_counted_once(db):
    w = world()
    first = _record(w, notes="first call")
    again = _record(w, now=NOW + timedelta(minutes=59), notes="called back", channel="email")
    later = _record(w, now=NOW + timedelta(minutes=121))
    other_type = _record(w, type_="followup", now=NOW + timedelta(minutes=5))
    assert again == inquiries.Recorded(first.inquiry_id, True)
    assert not later.merged and later.inquiry_id != first.inquiry_id
    assert not other_type.merged
    with read_session() as s:
        assert s.get(Inquiry, first.inquiry_id).notes == "first call\ncalled back"
    assert _rollup() == [(NOW.date(), 3, 0)]


def test_a_new_contact_is_added_with_the_inquiry_and_bad_input_writes_nothing(db):
    w = world()
    loc = w.locations["downtown"].id
    inquiries.record_inquiry(w.actors["frontdesk"], location_id=loc, channel="walk_in", now=NOW,
                             new_customer={"name": "Grace Hopper", "phone": "212 555 0199"})  # fmt: skip
    for bad in ({"channel": "fax"}, {"new_customer": {"name": "X", "email": "not-an-email"}},
                {"new_customer": {"name": "Y"}, "notes": "n" * 5000}):  # fmt: skip
        fields = {"channel": "phone", "new_customer": {"name": "Z", "phone": "2125550111"}} | bad
        with pytest.raises(ValidationError):
            inquiries.record_inquiry(w.actors["frontdesk"], location_id=loc, now=NOW, **fields)
    with read_session() as s:
        assert s.scalar(select(Inquiry.id).where(Inquiry.channel != "walk_in")) is None
        assert len(s.scalars(select(Inquiry)).all()) == 1


def test_booking_from_an_inquiry_links_the_appointment_once_and_converts_it(db):
    w = world()
    done = _record(w)
    appt = inquiries.book_from_inquiry(w.actors["frontdesk"], done.inquiry_id, start=at(10),
                                       intake={"reason": "check-up"}, now=NOW)  # fmt: skip
    with read_session() as s:
        inq = s.get(Inquiry, done.inquiry_id)
        assert (inq.appointment_id, inq.booked_at) == (appt.id, NOW)
        assert s.get(Appointment, appt.id).source == "inquiry"
    assert _rollup() == [(NOW.date(), 1, 1)]
    with pytest.raises(ConflictError, match="already booked"):
        inquiries.book_from_inquiry(w.actors["frontdesk"], done.inquiry_id, start=at(11), now=NOW)
    with pytest.raises(ConflictError, match="already booked"):
        inquiries.close_inquiry(w.actors["frontdesk"], done.inquiry_id, reason="price", now=NOW)


def test_a_booking_after_the_conversion_window_does_not_count(db):
    w = world()
    done = _record(w, now=NOW - timedelta(days=8))
    inquiries.book_from_inquiry(w.actors["frontdesk"], done.inquiry_id, start=at(10), intake={"reason": "x"}, now=NOW)
    assert _rollup() == [((NOW - timedelta(days=8)).date(), 1, 0)]


def test_closing_needs_a_reason_and_a_closed_inquiry_cannot_be_booked(db):
    w = world()
    done = _record(w)
    with pytest.raises(ValidationError, match="Choose why"):
        inquiries.close_inquiry(w.actors["frontdesk"], done.inquiry_id, reason="bored", now=NOW)
    inquiries.close_inquiry(
        w.actors["frontdesk"], done.inquiry_id, reason="went_elsewhere", note="chose the clinic next door", now=NOW
    )
    with pytest.raises(InvalidTransition, match="went elsewhere"):
        inquiries.book_from_inquiry(w.actors["frontdesk"], done.inquiry_id, start=at(10), now=NOW)
    with read_session() as s:
        assert s.get(Inquiry, done.inquiry_id).closed_reason == "went_elsewhere"
    assert audit_dicts(entity="inquiry")[-1]["reason"] == "Went elsewhere"


@pytest.mark.parametrize("actor", ["analyst", "provider", "harbordesk", "norole"])
def test_only_the_desk_and_managers_of_the_location_record_inquiries(db, actor):
    w = world()
    with pytest.raises((PermissionDenied, OutOfScope)):
        _record(w, actor=actor)
    assert _record(w, actor="manager").inquiry_id
    assert audit_dicts(outcome="denied", action="inquiry.record")


def test_an_inquiry_nobody_answers_is_queued_and_the_item_resolves_itself_when_booked(db):
    w = world()
    done = _record(w)
    waiting = _record(w, customer="alan")
    # In at 07:00 in New York, two hours before Downtown opens: due one business hour later, at 10:00.
    assert detect.detect_all(NOW + timedelta(minutes=61)).opened.get(kinds.INQUIRY_UNANSWERED, 0) == 0
    assert detect.detect_all(NOW + timedelta(hours=3, minutes=-1)).opened.get(kinds.INQUIRY_UNANSWERED, 0) == 0
    assert detect.detect_all(NOW + timedelta(hours=3)).opened[kinds.INQUIRY_UNANSWERED] == 2
    later = NOW + timedelta(hours=3, minutes=10)
    inquiries.book_from_inquiry(w.actors["frontdesk"], done.inquiry_id, start=at(10), intake={"reason": "x"},
                                now=later)  # fmt: skip
    inquiries.close_inquiry(w.actors["frontdesk"], waiting.inquiry_id, reason="spam", now=later)
    with read_session() as s:
        items = s.scalars(select(ExceptionItem).where(ExceptionItem.kind == kinds.INQUIRY_UNANSWERED)).all()
        assert sorted(i.status for i in items) == ["resolved", "resolved"]


def test_each_location_sets_how_long_an_inquiry_may_wait_and_a_bad_value_changes_nothing(db):
    """Issue 26 item 4: the wait is per location (default one business hour)."""
    w = world()
    downtown = w.locations["downtown"]
    _record(w)
    with pytest.raises(ValidationError, match="from 5 to 1,440"):
        locations.save_location(w.actors["admin"], location_id=downtown.id, name=downtown.name,
                                timezone=downtown.timezone, inquiry_answer_minutes=2)  # fmt: skip
    with read_session() as s:
        assert s.get(Location, downtown.id).inquiry_answer_minutes == 60
    locations.save_location(w.actors["admin"], location_id=downtown.id, name=downtown.name,
                            timezone=downtown.timezone, inquiry_answer_minutes=180)  # fmt: skip
    assert audit_dicts(entity="location")[-1]["after"]["inquiry_answer_minutes"] == 180
    # In at 07:00, Downtown opens at 09:00: three business hours later is 12:00, not 10:00.
    assert detect.detect_all(NOW + timedelta(hours=5, minutes=-1)).opened.get(kinds.INQUIRY_UNANSWERED, 0) == 0
    assert detect.detect_all(NOW + timedelta(hours=5)).opened[kinds.INQUIRY_UNANSWERED] == 1


def test_an_answer_is_due_one_business_hour_after_the_inquiry_in_the_locations_own_hours():
    nine_to_five = {wd: [(time(9), time(17))] for wd in range(5)}
    friday_evening = datetime(2030, 1, 4, 21, 30, tzinfo=UTC)  # 16:30 in New York
    due = answer_by(friday_evening, nine_to_five, "America/New_York", 60)
    assert due == datetime(2030, 1, 7, 14, 30, tzinfo=UTC)  # half an hour on Friday, half on Monday from 09:00
    assert answer_by(friday_evening, {}, "America/New_York", 60) == friday_evening + timedelta(hours=1)  # no hours

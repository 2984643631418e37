"""Many inquiries in one transaction: the desk's rules for each, a bad row refuses the batch and
writes nothing, repeats within the hour merged, one audit row per location, the rollup kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.base.db import read_session
from core.base.errors import ConflictError, NotFound, OutOfScope, ValidationError
from core.base.models import Inquiry
from core.inquiries import services as inquiries
from core.inquiries.bulk import BulkRecorded, NewInquiry, record_inquiries
from core.metrics.models import MetricInquiryDay
from tests.factories import NOW, at, audit_dicts, book, world

LATER = NOW + timedelta(hours=1)


def _new(w, customer="ada", location="downtown", minutes=0, **kw) -> NewInquiry:
    return NewInquiry(location_id=w.locations[location].id, channel=kw.pop("channel", "phone"),
                      customer_id=w.customers[customer].id, received_at=NOW - timedelta(minutes=minutes), **kw)  # fmt: skip


def _stored() -> list[tuple]:
    with read_session() as s:
        return [(i.customer_id, i.channel, i.appointment_id, i.closed_reason, i.notes)
                for i in s.scalars(select(Inquiry).order_by(Inquiry.id))]  # fmt: skip


def _count() -> int:
    with read_session() as s:
        return s.scalar(select(func.count()).select_from(Inquiry))


def test_a_batch_is_recorded_booked_and_closed_with_one_audit_row_per_location_and_its_rollup(db):
    w = world()
    appt = book(w, at(10)).appointment
    done = record_inquiries(w.actors["admin"], [
        _new(w, minutes=90, type_id=w.types["consult"].id, appointment_id=appt.id, booked_at=NOW),
        _new(w, "alan", minutes=200, channel="email", closed_reason="price", closed_at=NOW, notes=" too dear "),
        _new(w, "mary", location="harbor", channel="walk_in", preferred_times="mornings"),
    ], now=LATER)  # fmt: skip
    assert done == BulkRecorded(recorded=3, merged=0, booked=1, closed=1)
    ada, alan, mary = (w.customers[c].id for c in ("ada", "alan", "mary"))
    assert sorted(_stored()) == sorted([(ada, "phone", appt.id, None, None), (alan, "email", None, "price", "too dear"),
                                        (mary, "walk_in", None, None, None)])  # fmt: skip
    rows = audit_dicts(entity="inquiry")
    assert [(r["location_id"], r["after"]["recorded"]) for r in rows] == [
        (w.locations["downtown"].id, 2), (w.locations["harbor"].id, 1)]  # fmt: skip
    with read_session() as s:
        assert sum(r.received for r in s.scalars(select(MetricInquiryDay))) == 3
        assert sum(r.converted for r in s.scalars(select(MetricInquiryDay))) == 1


def test_a_bad_row_refuses_the_whole_batch_with_one_sentence_and_writes_nothing(db):
    w = world()
    good = _new(w)
    cases = [
        (_new(w, channel="pigeon"), ValidationError, "Inquiry 2: choose how it came in"),
        (_new(w, minutes=-120), ValidationError, "Inquiry 2: it cannot be received in the future"),
        (_new(w, closed_reason="bored", closed_at=NOW), ValidationError, "Inquiry 2: choose why it is closed"),
        (_new(w, notes="x" * 2001), ValidationError, "Inquiry 2: The note can be at most 2000"),
        (_new(w, appointment_id=10**6, booked_at=NOW), NotFound, "Unknown appointment #1000000"),
        (NewInquiry(location_id=10**6, channel="phone", customer_id=w.customers["ada"].id, received_at=NOW),
         NotFound, "Unknown location #1000000"),
    ]  # fmt: skip
    for bad, error, sentence in cases:
        with pytest.raises(error, match=sentence):
            record_inquiries(w.actors["admin"], [good, bad], now=LATER)
    assert _count() == 0


def test_the_desk_records_only_in_its_own_locations(db):
    w = world()
    with pytest.raises(OutOfScope, match="Unknown location"):
        record_inquiries(w.actors["frontdesk"], [_new(w), _new(w, "mary", location="harbor")], now=LATER)
    assert _count() == 0
    assert record_inquiries(w.actors["frontdesk"], [_new(w)], now=LATER).recorded == 1


def test_repeats_within_the_hour_merge_in_the_batch_and_into_stored_inquiries(db):
    w = world()
    stored = inquiries.record_inquiry(w.actors["frontdesk"], location_id=w.locations["downtown"].id, channel="phone",
                                      customer_id=w.customers["alan"].id, now=NOW - timedelta(minutes=30))  # fmt: skip
    done = record_inquiries(w.actors["frontdesk"], [
        _new(w, minutes=50, notes="first call"), _new(w, minutes=10, notes="called back", channel="email"),
        _new(w, minutes=-0, notes=None, closed_reason="spam", closed_at=NOW),  # 50 minutes on: still the same
        _new(w, "alan", notes="alan again"),
    ], now=LATER)  # fmt: skip
    assert (done.recorded, done.merged) == (1, 3)
    ada, alan = w.customers["ada"].id, w.customers["alan"].id
    assert sorted(_stored()) == sorted([(alan, "phone", None, None, "alan again"),
                                        (ada, "phone", None, "spam", "first call\ncalled back")])  # fmt: skip
    with read_session() as s:
        assert s.get(Inquiry, stored.inquiry_id).notes == "alan again"


def test_one_appointment_is_booked_from_one_inquiry_only(db):
    w = world()
    appt = book(w, at(10)).appointment
    booked = _new(w, minutes=30, appointment_id=appt.id, booked_at=NOW)
    with pytest.raises(ConflictError, match=f"Appointment #{appt.id} was already booked"):
        record_inquiries(w.actors["admin"], [booked, _new(w, minutes=200, appointment_id=appt.id, booked_at=NOW)],
                         now=LATER)  # fmt: skip
    record_inquiries(w.actors["admin"], [booked], now=LATER)
    with pytest.raises(ConflictError, match="already booked"):
        record_inquiries(w.actors["admin"], [_new(w, minutes=300, appointment_id=appt.id, booked_at=NOW)], now=LATER)
    with pytest.raises(NotFound, match="for this customer"):
        record_inquiries(w.actors["admin"], [_new(w, "alan", minutes=300, appointment_id=appt.id, booked_at=NOW)],
                         now=LATER)  # fmt: skip
    assert _count() == 1

"""Bulk changes: previewed, then applied exactly as previewed in one transaction, or not at all."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select

from core.base.db import read_session
from core.base.errors import ConflictError, PermissionDenied
from core.base.models import Appointment, AuditLog, ExceptionItem, TimeOff
from core.base.tz import local_to_utc
from core.scheduling import booking
from core.scheduling.availability import find_slots
from core.scheduling.hours import Shift
from core.settings import bulk, working_time
from tests.factories import world

NY = "America/New_York"
MONDAY = date(2030, 1, 7)
NOW = datetime(2030, 1, 7, 13, 0, tzinfo=UTC)  # Monday 08:00 in New York


def _book(w, who: str, type_key: str, at: time, customer: str = "ada") -> int:
    return booking.book(
        w.actors["frontdesk"], type_id=w.types[type_key].id, location_id=w.locations["downtown"].id,
        customer_id=w.customers[customer].id, provider_id=w.providers[who].id,
        start=local_to_utc(MONDAY, at, NY), intake={"reason": "x"}, now=NOW,
    ).appointment.id  # fmt: skip


def _state():
    """Everything a bulk change could touch, to compare before and after a refusal."""
    with read_session() as s:
        appts = s.execute(select(Appointment.id, Appointment.status, Appointment.provider_id).order_by(Appointment.id))
        return (
            appts.all(),
            s.scalars(select(TimeOff.id)).all(),
            s.scalars(select(ExceptionItem.dedupe_key)).all(),
            s.scalars(select(AuditLog.id).where(AuditLog.outcome == "ok")).all(),
        )


def test_out_sick_moves_to_a_free_provider_and_queues_rebook_calls_for_the_rest(db):
    w = world()
    rao, kim = w.providers["rao"], w.providers["kim"]
    free = _book(w, "rao", "consult", time(10))  # Kim is free at 10:00
    busy = _book(w, "rao", "consult", time(11))
    _book(w, "kim", "consult", time(11), customer="alan")  # ... but not at 11:00
    skill = _book(w, "rao", "followup", time(14))  # nobody else does follow-ups
    plan = bulk.out_sick_preview(w.actors["manager"], rao.id, now=NOW)
    assert [(i.appointment_id, i.action) for i in plan] == [
        (free, "Move to Dr. Kim"),
        (busy, "Cancel, call to rebook"),
        (skill, "Cancel, call to rebook"),
    ]
    assert plan[0].when == "Mon 7 Jan 10:00-10:30"
    bulk.out_sick(w.actors["manager"], rao.id, plan, now=NOW)
    with read_session() as s:
        status = {a.id: (a.status, a.provider_id) for a in s.scalars(select(Appointment))}
        items = {
            i.dedupe_key: i.kind for i in s.scalars(select(ExceptionItem).where(ExceptionItem.kind == "rebook_call"))
        }
        (off,) = s.execute(select(TimeOff.provider_id, TimeOff.start_at, TimeOff.end_at)).all()
        (summary,) = s.scalars(select(AuditLog.after).where(AuditLog.entity == "bulk_change")).all()
    assert status[free] == ("booked", kim.id)
    assert status[busy] == ("cancelled", rao.id) and status[skill] == ("cancelled", rao.id)
    assert items == {f"rebook_call:{busy}": "rebook_call", f"rebook_call:{skill}": "rebook_call"}
    assert tuple(off) == (rao.id, NOW, local_to_utc(date(2030, 1, 8), time(0), NY))
    assert summary["items"] == [{"appointment_id": i.appointment_id, "action": i.action} for i in plan]
    slots = find_slots(w.actors["frontdesk"], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
                       date_from=MONDAY, date_to=MONDAY, provider_id=rao.id, now=NOW)  # fmt: skip
    assert slots == []


def test_a_reassignment_that_no_longer_fits_leaves_everything_as_it_was(db):
    w = world()
    rao = w.providers["rao"]
    first = _book(w, "rao", "followup", time(9, 30))  # cancelled first in the plan
    moved = _book(w, "rao", "consult", time(10))
    plan = bulk.out_sick_preview(w.actors["manager"], rao.id, now=NOW)
    assert [(i.appointment_id, i.to_provider) for i in plan] == [(first, None), (moved, "Dr. Kim")]
    _book(w, "kim", "consult", time(10), customer="alan")  # Kim is taken after the preview
    before = _state()
    with pytest.raises(ConflictError, match="Nothing was changed: Ada Lovelace's Mon 7 Jan 10:00-10:30 could not move"):
        bulk.out_sick(w.actors["manager"], rao.id, plan, now=NOW)
    assert _state() == before


def test_an_appointment_booked_after_the_preview_refuses_the_plan(db):
    w = world()
    _book(w, "rao", "consult", time(10))
    plan = bulk.out_sick_preview(w.actors["manager"], w.providers["rao"].id, now=NOW)
    _book(w, "rao", "consult", time(15))
    before = _state()
    with pytest.raises(ConflictError, match="changed since the preview"):
        bulk.out_sick(w.actors["manager"], w.providers["rao"].id, plan, now=NOW)
    assert _state() == before
    with pytest.raises(PermissionDenied):
        bulk.out_sick(w.actors["frontdesk"], w.providers["rao"].id, plan, now=NOW)


def test_closing_a_location_for_a_day_cancels_its_appointments_and_blocks_its_hours(db):
    w = world()
    dt = w.locations["downtown"].id
    a1, a2 = _book(w, "rao", "consult", time(10)), _book(w, "kim", "consult", time(15), customer="alan")
    preview = bulk.close_location_preview(w.actors["manager"], dt, MONDAY, now=NOW)
    assert [i.appointment_id for i in preview.appointments] == [a1, a2]
    assert preview.providers == ["Dr. Kim", "Dr. Rao"]
    bulk.close_location(w.actors["manager"], dt, MONDAY, reason="Snow day", preview=preview, now=NOW)
    with read_session() as s:
        assert {a.status for a in s.scalars(select(Appointment))} == {"cancelled"}
        assert len(s.scalars(select(ExceptionItem).where(ExceptionItem.kind == "rebook_call")).all()) == 2
        offs = s.execute(select(TimeOff.start_at, TimeOff.end_at).order_by(TimeOff.provider_id)).all()
    assert [tuple(o) for o in offs] == [(local_to_utc(MONDAY, time(9), NY), local_to_utc(MONDAY, time(17), NY))] * 2
    assert find_slots(w.actors["frontdesk"], type_id=w.types["consult"].id, location_id=dt, date_from=MONDAY,
                      date_to=MONDAY, now=NOW) == []  # fmt: skip
    with pytest.raises(PermissionDenied):
        bulk.close_location(w.actors["manager"], w.locations["harbor"].id, MONDAY, reason="x", preview=preview, now=NOW)


def test_copying_a_week_of_hours_previews_what_falls_outside(db):
    w = world()
    dt = w.locations["downtown"].id
    rao, kim = w.providers["rao"], w.providers["kim"]
    working_time.set_hours(
        w.actors["manager"], rao.id, dt, [Shift(dt, d, time(8), time(12)) for d in range(5)], now=NOW
    )
    late = _book(w, "kim", "consult", time(15))
    preview = bulk.copy_hours_preview(w.actors["manager"], rao.id, dt, [kim.id], now=NOW)
    assert [(a.appointment_id, a.reason) for a in preview["Dr. Kim"]] == [(late, "outside working hours")]
    assert bulk.copy_hours(w.actors["manager"], rao.id, dt, [kim.id], now=NOW) == ["Dr. Kim"]
    assert working_time.week_hours(w.actors["manager"], kim.id, dt) == working_time.week_hours(
        w.actors["manager"], rao.id, dt
    )
    with pytest.raises(PermissionDenied):
        bulk.copy_hours(w.actors["harbordesk"], rao.id, dt, [kim.id], now=NOW)

"""Which appointments fall outside working hours or on time off (settings' preview, the queue's rule)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from core.base.db import read_session, unit_of_work
from core.base.models import TimeOff
from core.base.tz import local_to_utc
from core.scheduling import booking, hours
from tests.factories import NOW, world

NY = "America/New_York"


def test_split_shifts_join_at_their_seam_and_a_gap_between_them_is_outside():
    shifts = [
        hours.Shift(1, 0, time(9), time(12)),
        hours.Shift(1, 0, time(12), time(17)),
        hours.Shift(1, 0, time(18), time(20)),
    ]
    monday = date(2026, 3, 2)
    assert hours.working_stretches(shifts, 1, monday, NY) == [
        (local_to_utc(monday, time(9), NY), local_to_utc(monday, time(17), NY)),
        (local_to_utc(monday, time(18), NY), local_to_utc(monday, time(20), NY)),
    ]
    across_gap = (local_to_utc(monday, time(16, 30), NY), local_to_utc(monday, time(18, 30), NY))
    assert hours.why_outside(*across_gap, 1, NY, shifts, []) == "outside working hours"
    assert (
        hours.why_outside(local_to_utc(monday, time(11), NY), local_to_utc(monday, time(13), NY), 1, NY, shifts, [])
        is None
    )


def test_hours_are_local_on_a_dst_day():
    # 2026-03-08: New York springs forward; 09:00 local is 13:00 UTC, not 14:00.
    sunday = date(2026, 3, 8)
    shifts = [hours.Shift(1, 6, time(9), time(17))]
    (stretch,) = hours.working_stretches(shifts, 1, sunday, NY)
    assert stretch == (datetime(2026, 3, 8, 13, tzinfo=UTC), datetime(2026, 3, 8, 21, tzinfo=UTC))


def test_time_off_names_its_reason():
    monday = date(2026, 3, 2)
    shifts = [hours.Shift(1, 0, time(9), time(17))]
    start, end = local_to_utc(monday, time(10), NY), local_to_utc(monday, time(11), NY)
    off = hours.Absence(start - timedelta(minutes=30), start + timedelta(minutes=15), "Dentist")
    assert hours.why_outside(start, end, 1, NY, shifts, [off]) == "on time off (Dentist)"


def test_booked_appointments_against_stored_and_proposed_hours(db):
    w = world()
    appt = booking.book(
        w.actors["frontdesk"], type_id=w.types["followup"].id, location_id=w.locations["downtown"].id,
        customer_id=w.customers["ada"].id, provider_id=w.providers["rao"].id,
        start=local_to_utc(date(2030, 1, 7), time(10), NY), now=NOW,
    ).appointment  # fmt: skip
    with read_session() as s:
        assert hours.appointments_outside_hours(s, appt.provider_id, since=appt.start_at - timedelta(days=1)) == []
        (found,) = hours.appointments_outside_hours(
            s, appt.provider_id, since=appt.start_at - timedelta(days=1), shifts=[]
        )
        assert (found.appointment_id, found.reason) == (appt.id, "outside working hours")
    with unit_of_work() as s:
        s.add(TimeOff(provider_id=appt.provider_id, start_at=appt.start_at, end_at=appt.end_at, reason="Sick"))
    with read_session() as s:
        (found,) = hours.appointments_outside_hours(s, appt.provider_id, since=appt.start_at - timedelta(days=1))
        assert found.reason == "on time off (Sick)"
    booking.cancel(w.actors["frontdesk"], appt.id, reason="moved away", now=NOW)
    with read_session() as s:
        assert hours.appointments_outside_hours(s, appt.provider_id, since=appt.start_at - timedelta(days=1)) == []

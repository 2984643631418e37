"""A hand-computed week for the metrics tests (the expected figures are worked out in
tests/test_metrics.py beside each assertion)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from core.base.db import unit_of_work
from core.base.models import Appointment, AppointmentHistory, ExceptionItem, Inquiry, Provider, WorkingHours
from core.base.tz import local_to_utc
from core.metrics import capacity
from core.metrics.rebuild import rebuild_rollups
from tests.factories import world

NY, LONDON = "America/New_York", "Europe/London"
MONDAY = date(2030, 1, 7)  # winter: New York is UTC-5, London UTC+0


def local(day: date, hh: int, mm: int = 0, tz: str = NY) -> datetime:
    return local_to_utc(day, time(hh, mm), tz)


def put(s, w, start, *, minutes=30, provider="rao", type_="consult", location="downtown", status="completed",
        booked=None, late=False, rescheduled=0) -> Appointment:  # fmt: skip
    appt = Appointment(
        location_id=w.locations[location].id,
        provider_id=w.providers[provider].id if provider else None,
        type_id=w.types[type_].id if type_ else None,
        customer_id=w.customers["ada"].id,
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        block_start=start,
        block_end=start + timedelta(minutes=minutes),
        status=status,
        booked_at=booked or start - timedelta(days=1),
        late_cancel=late,
        reschedule_count=rescheduled,
        source="test",
    )
    s.add(appt)
    s.flush()
    return appt


def hist(s, appt, kind, manual=True, actor_id=None):
    s.add(AppointmentHistory(appointment_id=appt.id, kind=kind, manual=manual, actor_id=actor_id, at=appt.booked_at))


def hand_week():
    """The week of Monday 2030-01-07 at Downtown (New York) and Harbor (London)."""
    w = world()
    d = MONDAY
    with unit_of_work() as s:
        admin_id = w.users["admin"].id
        a = put(s, w, local(d, 10), booked=local(d - timedelta(days=6), 9))  # lead 6
        b = put(s, w, local(d, 11), status="no_show", booked=local(d, 9))  # lead 0
        c = put(s, w, local(d + timedelta(days=1), 10), minutes=15, provider="kim", type_="followup",
                status="cancelled", late=True, booked=local(d - timedelta(days=3), 12))  # fmt: skip  # lead 4
        # Wednesday 23:30 in New York is Thursday 04:30 UTC: a Wednesday appointment.
        dd = put(s, w, local(d + timedelta(days=2), 23, 30), provider="kim", rescheduled=1,
                 booked=local(d - timedelta(days=1), 20))  # fmt: skip  # lead 3
        e = put(
            s, w, local(d + timedelta(days=3), 12), provider="kim", booked=local(d - timedelta(days=9), 8)
        )  # lead 12
        f = put(s, w, local(d + timedelta(days=4), 10), status="cancelled", booked=local(d - timedelta(days=4), 10))
        # Sunday 23:30 in New York is Monday 04:30 UTC: still this week, and a day without hours.
        h = put(s, w, local(d + timedelta(days=6), 23, 30), status="booked", booked=local(d + timedelta(days=6), 10))
        # Harbor: a group class on Monday, and one on the Sunday before (previous week).
        put(s, w, local(d, 10, tz=LONDON), minutes=60, provider="lee", type_="class", location="harbor",
            booked=local(d - timedelta(days=1), 10, tz=LONDON))  # fmt: skip
        put(s, w, local(d - timedelta(days=1), 23, 30, tz=LONDON), minutes=60, provider="lee", type_="class",
            location="harbor", booked=local(d - timedelta(days=8), 10, tz=LONDON))  # fmt: skip
        hist(s, a, "note", actor_id=admin_id)  # touch
        hist(s, b, "status", actor_id=admin_id)  # a routine status step: not a touch
        hist(s, c, "created", actor_id=admin_id)  # booking itself: not a touch
        hist(s, dd, "reschedule", actor_id=admin_id)  # touch
        hist(s, e, "edit", manual=False)  # by the system: not a touch
        s.add_all(
            [
                ExceptionItem(kind="x", dedupe_key="f", status="resolved", location_id=f.location_id,
                              appointment_id=f.id, resolved_at=local(d, 12), resolved_by=admin_id,
                              resolution="called the customer"),  # touch
                ExceptionItem(kind="x", dedupe_key="a", status="resolved", location_id=a.location_id,
                              appointment_id=a.id, resolved_at=local(d, 12), resolution="resolved by itself"),
                ExceptionItem(kind="sync", dedupe_key="kim", status="resolved", location_id=a.location_id,
                              provider_id=w.providers["kim"].id, resolved_at=local(d + timedelta(days=1), 9),
                              resolved_by=admin_id, resolution="reconnected"),  # touch, no appointment
            ]
        )  # fmt: skip
        dt = w.locations["downtown"].id
        s.add_all(
            [
                Inquiry(location_id=dt, received_at=local(d, 10), appointment_id=a.id),
                Inquiry(location_id=dt, received_at=local(d + timedelta(days=1), 10)),
                Inquiry(location_id=dt, received_at=local(d + timedelta(days=6), 23), appointment_id=h.id),
                Inquiry(location_id=dt, received_at=local(d - timedelta(days=1), 23), appointment_id=b.id),
            ]
        )
        rebuild_rollups(s)
    return w


def provider_without_hours(w) -> int:
    with unit_of_work() as s:
        p = Provider(name="Dr. Nohours", email="nohours@example.test", skills=["general"])
        s.add(p)
        s.flush()
        return p.id


def add_sunday_shift(w, provider="rao", location="downtown", start=time(0), end=time(6)):
    with unit_of_work() as s:
        s.add(WorkingHours(provider_id=w.providers[provider].id, location_id=w.locations[location].id, weekday=6,
                           start_time=start, end_time=end))  # fmt: skip
        s.flush()
        capacity.refresh(s, [w.providers[provider].id])  # as settings' change of hours does


def utc(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)

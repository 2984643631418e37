"""The public request page's slot list: the free starts of one type over 14 days at the busiest location, on the big database.

The page shows them on every run (`core.inquiries.public.free_starts`: the availability engine
over 14 local days, each start once whichever provider has it). The type is marked bookable
online for the run and put back after. Printed beside the today page's figure (bench_today);
target: median under 150 ms."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import func, select

from bench.common import open_bench_db, report, timed
from core.base.db import read_session, unit_of_work
from core.base.models import Appointment, AppointmentType, Location
from core.base.tz import local_to_utc
from core.inquiries import public
from core.security import door


def main() -> None:
    if not open_bench_db():
        return
    with read_session() as s:
        location_id = s.scalar(
            select(Appointment.location_id).group_by(Appointment.location_id).order_by(func.count().desc()).limit(1)
        )
        type_id = s.scalar(
            select(Appointment.type_id).where(Appointment.location_id == location_id, Appointment.type_id.is_not(None))
            .group_by(Appointment.type_id).order_by(func.count().desc()).limit(1)
        )  # fmt: skip
        location = s.get(Location, location_id)
        slug, tz, name = door.slug(location.name), location.timezone, location.name
        latest = s.scalar(select(func.max(Appointment.start_at)).where(Appointment.location_id == location_id))
    # From a morning inside the booked history, so the 14 days hold real appointments.
    now = local_to_utc((min(latest, datetime.now(UTC))).date(), time(8), tz)
    with unit_of_work() as s:
        t = s.get(AppointmentType, type_id)
        was, t.bookable_online = t.bookable_online, True
        type_name = t.name
    try:
        starts = public.free_starts(slug, type_id, now=now)
        print(f"   {name}: {type_name}, {len(starts)} free starts over {public.DAYS} days from {now:%Y-%m-%d}")
        report("public slot list (core.inquiries.public.free_starts)", timed(lambda: public.free_starts(slug, type_id, now=now)),
               target="median under 150 ms")  # fmt: skip
    finally:
        with unit_of_work() as s:
            s.get(AppointmentType, type_id).bookable_online = was

"""Today's schedule: a full rerun of pages/today.py for a location with 300 appointments that day, on the big database.

The busiest (location, local day) of the demo chain is topped up to 300 appointments by a
direct insert (extra "Bench" providers at that location, back-to-back appointments without a
room, so the overlap rules hold); later runs find it already full. The page is run with
AppTest as the front desk would see it (the schedule, the timeline and the list), and the
schedule query is timed alone.
"""

from __future__ import annotations

import logging
import random
from datetime import date, time, timedelta
from pathlib import Path
from time import process_time_ns
from time import thread_time_ns as time_ns  # pauses in CPU time: the machine may be shared

from sqlalchemy import func, select

from bench.common import open_bench_db, report, timed
from core.base.clock import utcnow
from core.base.db import read_session, unit_of_work
from core.base.models import Appointment, AppointmentType, Customer, Location, Provider, Role, User
from core.base.tz import local_day_bounds, local_to_utc
from core.scheduling import schedule
from core.security.access import actor_for

TARGET = 300
PER_PROVIDER = 30  # 20-minute appointments from 08:00 to 18:00
PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "today.py")


def _busiest_day(session) -> tuple[int, date]:
    """The location and local day with the most appointments (counted by UTC date, then checked)."""
    day_col = func.date(Appointment.start_at)
    location_id, utc_day, _ = session.execute(
        select(Appointment.location_id, day_col, func.count())
        .group_by(Appointment.location_id, day_col)
        .order_by(func.count().desc())
        .limit(1)
    ).one()
    return location_id, date.fromisoformat(str(utc_day))


def _count(session, location: Location, day: date) -> int:
    lo, hi = local_day_bounds(day, location.timezone)
    return session.scalar(
        select(func.count()).where(
            Appointment.location_id == location.id, Appointment.start_at >= lo, Appointment.start_at < hi
        )
    )


def _top_up(location_id: int, day: date) -> int:
    """Add appointments until the day has TARGET; returns how many were added."""
    rng = random.Random(300)
    with unit_of_work() as session:
        location = session.get(Location, location_id)
        missing = TARGET - _count(session, location, day)
        if missing <= 0:
            return 0
        atype = session.scalars(select(AppointmentType).order_by(AppointmentType.duration_min)).first()
        customers = list(
            session.scalars(select(Customer.id).where(Customer.home_location_id == location_id).limit(500))
        ) or list(session.scalars(select(Customer.id).limit(500)))
        statuses = ["booked", "confirmed", "checked_in", "completed", "no_show", "cancelled"]
        added, n = 0, 0
        while added < missing:
            n += 1
            email = f"bench-today-{location_id}-{n}@bench.invalid"
            provider = session.scalar(select(Provider).where(Provider.email == email))
            if provider is None:
                provider = Provider(name=f"Bench {n:02d}", email=email, skills=[], locations=[location])
                session.add(provider)
                session.flush()
            for slot in range(PER_PROVIDER):
                if added >= missing:
                    break
                start = local_to_utc(day, time(8), location.timezone) + timedelta(minutes=20 * slot)
                taken = session.scalar(
                    select(func.count()).where(Appointment.provider_id == provider.id, Appointment.start_at == start)
                )
                if taken:
                    continue
                end = start + timedelta(minutes=20)
                session.add(
                    Appointment(
                        location_id=location_id,
                        provider_id=provider.id,
                        type_id=atype.id,
                        customer_id=rng.choice(customers),
                        start_at=start,
                        end_at=end,
                        block_start=start,
                        block_end=end,
                        status=rng.choice(statuses),
                        booked_at=start - timedelta(days=7),
                        source="bench",
                    )
                )
                added += 1
        return added


def _desk_user(session, location_id: int) -> User:
    """A front-desk user working at the location (the demo's own, or a bench one)."""
    user = session.scalar(
        select(User)
        .where(User.role == Role.FRONT_DESK, User.active.is_(True), User.locations.any(Location.id == location_id))
        .limit(1)
    )
    if user is None:
        user = session.scalar(select(User).where(User.username == "bench-today-desk"))
    return user


def main() -> None:
    if not open_bench_db():
        return
    with read_session() as s:
        location_id, day = _busiest_day(s)
        appointments = s.scalar(select(func.count()).select_from(Appointment))
    added = _top_up(location_id, day)
    with unit_of_work() as s:
        location = s.get(Location, location_id)
        user = _desk_user(s, location_id)
        if user is None:  # demo front desk works elsewhere: a bench user scoped to this location
            user = User(username="bench-today-desk", name="Bench Desk", role=Role.FRONT_DESK, locations=[location])
            s.add(user)
            s.flush()
        actor, user_id, name, tz = actor_for(user), user.id, location.name, location.timezone
        rows = _count(s, location, day)
    print(f"   {name} ({tz}) on {day}: {rows} appointments ({added} added now), {appointments:,} in the database")

    query = timed(lambda: schedule.day_schedule(actor, location_id, day, now=utcnow()), repeat=20)
    report("schedule query (core.scheduling.schedule.day_schedule)", query)

    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["user_id"] = user_id
    at.query_params["date"] = day.isoformat()
    at.query_params["location"] = str(location_id)
    at.run()
    if at.exception:
        print(f"   the page failed: {at.exception[0].message}")
        return
    shown = len(at.dataframe[0].value) if len(at.dataframe) else 0
    print(f"   page shows {shown} rows (cancelled hidden), timeline charts: {len(at.get('plotly_chart'))}")
    report("full page rerun (AppTest, pages/today.py)", timed(at.run, repeat=10, warmup=2), target="< 300 ms")
    _gc_pauses(at)


def _gc_pauses(at, reruns: int = 20) -> None:
    """The garbage collector's pauses during page reruns: as Python starts (default thresholds,
    nothing frozen), then after `pages.startup.settle_garbage_collector()` (what app.py calls
    once per process: the start-up objects frozen out of the collector's scans)."""
    import gc

    from pages import startup

    pauses: dict[int, list[float]] = {}
    started: list[float] = []

    def watch(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(time_ns())
        elif started:
            pauses.setdefault(info["generation"], []).append((time_ns() - started.pop()) / 1e6)

    for label in ("default", "after settle_garbage_collector()"):
        if label != "default":
            startup.settle_garbage_collector()
        pauses.clear()
        gc.callbacks.append(watch)
        try:
            t0 = process_time_ns()
            for _ in range(reruns):
                at.run()
            cpu = (process_time_ns() - t0) / 1e6 / reruns
        finally:
            gc.callbacks.remove(watch)
        figures = {"rerun_cpu_ms": cpu, "tracked_objects": len(gc.get_objects()), "frozen": gc.get_freeze_count()}
        for gen in (0, 1, 2):
            got = pauses.get(gen, [])
            figures[f"gen{gen}_per_rerun"] = len(got) / reruns
            figures[f"gen{gen}_max_ms"] = max(got, default=0.0)
        figures["gc_ms_per_rerun"] = sum(sum(v) for v in pauses.values()) / reruns
        report(f"garbage collection over {reruns} reruns, {label}", figures)


if __name__ == "__main__":
    main()

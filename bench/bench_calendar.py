"""Google Calendar sync against the local Calendar v3 emulator (real HTTP, Google's own client).

On a fresh SQLite database of its own: 20 providers, each with a calendar of 500 Google-only
events (10,000 in all), and 100 future appointments each (2,000 to push).
- full sync: the first pass over the 20 calendars (pushes 2,000 events, pulls 10,000 as busy
  blocks), with its request count;
- idle incremental pass: nothing changed; one list request per calendar;
- one change: one appointment rescheduled, then a pass;
- the plain database doing the pull's writes alone (10,000 busy-block rows in one transaction),
  as the floor the pull is compared with.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime

from sqlalchemy import insert, select

from bench.common import report
from core.base import migrate
from core.base.config import reset_settings
from core.base.db import dispose_engines, read_session, unit_of_work
from core.base.models import Appointment, AppointmentType, BusyBlock, Customer, Location, Provider, WorkingHours
from core.calendar_sync import client
from core.calendar_sync.sync import sync_pass
from core.scheduling import booking
from core.security.access import SYSTEM
from tests.calendar_emulator import CalendarEmulator

CALENDARS, GOOGLE_EVENTS, APPOINTMENTS = 20, 500, 100
NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


def _seed(emu: CalendarEmulator) -> list[int]:
    with unit_of_work() as s:
        loc = Location(name="Bench", timezone="America/New_York")
        atype = AppointmentType(name="Consultation", duration_min=30, horizon_days=400)
        customer = Customer(name="Ada Lovelace")
        s.add_all([loc, atype, customer])
        s.flush()
        providers = [Provider(name=f"P{i}", email=f"p{i}@bench.test", locations=[loc]) for i in range(CALENDARS)]
        s.add_all(providers)
        s.flush()
        s.add_all(
            WorkingHours(provider_id=p.id, location_id=loc.id, weekday=d, start_time=dtime(7), end_time=dtime(21))
            for p in providers
            for d in range(7)
        )
        rows = []
        for p in providers:
            for j in range(APPOINTMENTS):
                start = NOW + timedelta(days=1 + j // 8, hours=j % 8)
                rows.append(
                    dict(
                        location_id=loc.id, provider_id=p.id, type_id=atype.id, customer_id=customer.id,
                        start_at=start, end_at=start + timedelta(minutes=30), block_start=start,
                        block_end=start + timedelta(minutes=30), status="booked", group_key=f"{p.id}-{j}",
                    )
                )  # fmt: skip
        s.execute(insert(Appointment), rows)
        ids = [p.id for p in providers]
    for i in range(CALENDARS):
        for j in range(GOOGLE_EVENTS):
            start = NOW + timedelta(days=j // 6, hours=8 + j % 6, minutes=30)
            emu.put_event(
                f"p{i}@bench.test",
                {
                    "summary": f"Busy {j}",
                    "start": {"dateTime": client.rfc3339(start)},
                    "end": {"dateTime": client.rfc3339(start + timedelta(minutes=20))},
                },
            )
    return ids


def _plain_insert_ms(provider_ids: list[int]) -> float:
    rows = [
        dict(
            provider_id=provider_ids[i % len(provider_ids)], calendar_id="plain", google_event_id=f"e{i}",
            start_at=NOW, end_at=NOW + timedelta(minutes=20), summary="Busy", etag=f'"{i}"',
        )
        for i in range(CALENDARS * GOOGLE_EVENTS)
    ]  # fmt: skip
    t0 = time.perf_counter()
    with unit_of_work() as s:
        s.execute(insert(BusyBlock), rows)
    ms = (time.perf_counter() - t0) * 1000
    with unit_of_work() as s:
        s.query(BusyBlock).filter(BusyBlock.calendar_id == "plain").delete()
    return ms


def _timed_pass(emu: CalendarEmulator, label: str, **kw) -> float:
    emu.reset_counts()
    t0, c0 = time.perf_counter(), time.process_time()
    summary = sync_pass(NOW, **kw)
    ms, cpu_ms = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
    report(
        label,
        {
            "ms": ms, "cpu_ms_incl_emulator": cpu_ms, "requests": emu.count(), "lists": emu.count(what="list"), "pushed": summary.pushed,
            "pulled": summary.pulled, "busy_blocks": summary.busy_blocks, "errors": summary.errors,
        },
    )  # fmt: skip
    return ms


def main() -> None:
    print("calendar sync (emulator over HTTP, SQLite)")
    tmp = tempfile.mkdtemp(prefix="bench-calendar-")
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "GOOGLE_CALENDAR_API_ENDPOINT")}
    emu = CalendarEmulator().start()
    try:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/calendar.db"
        os.environ["GOOGLE_CALENDAR_API_ENDPOINT"] = emu.endpoint
        reset_settings()
        dispose_engines()
        migrate.upgrade()
        provider_ids = _seed(emu)
        full_ms = _timed_pass(emu, "full sync, 20 calendars, 10,000 Google events + 2,000 pushes")
        with read_session() as s:
            blocks = len(s.scalars(select(BusyBlock.id)).all())
        plain_ms = _plain_insert_ms(provider_ids)
        report(
            "plain database, 10,000 busy-block rows in one insert",
            {"ms": plain_ms, "busy_blocks_after_sync": blocks, "sync_vs_plain_ratio": full_ms / plain_ms},
        )
        _timed_pass(emu, "idle incremental pass (target: 1 list request per calendar, no writes)")
        with read_session() as s:
            appt_id = s.scalar(select(Appointment.id).order_by(Appointment.id).limit(1))
        booking.reschedule(SYSTEM, appt_id, new_start=NOW + timedelta(days=60, hours=3), now=NOW)
        _timed_pass(emu, "incremental pass after one reschedule")
    finally:
        emu.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings()
        dispose_engines()


if __name__ == "__main__":
    main()

"""Exceptions queue: a full detection pass and the incremental pass after one booking change,
on the 1M-appointment database (targets: full < 5 s, incremental < 50 ms)."""

from __future__ import annotations

import time

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bench.common import open_bench_db, report, timed
from core.base import migrate
from core.base.clock import utcnow
from core.base.db import get_engine, read_session, unit_of_work
from core.base.models import OPEN_STATUSES, Appointment, ExceptionItem
from core.queue import detect


def main() -> None:
    if not open_bench_db():
        return
    migrate.upgrade()
    now = utcnow()
    with unit_of_work() as session:
        session.execute(delete(ExceptionItem))
    t0 = time.perf_counter()
    first = detect.detect_all(now)
    cold = (time.perf_counter() - t0) * 1000
    report("full pass, empty queue", {"ms": cold, "opened": sum(first.opened.values())}, "< 5000 ms")
    steady = timed(lambda: detect.detect_all(now), repeat=3, warmup=0)
    report("full pass, nothing changed", steady, "< 5000 ms")

    with read_session() as session:
        future = (
            select(Appointment.id)
            .where(Appointment.start_at > now, Appointment.status.in_([s.value for s in OPEN_STATUSES]))
            .order_by(Appointment.start_at)
            .limit(1)
        )
        appointment_id = session.scalar(future)
        total = session.scalar(select(func.count()).select_from(Appointment))

    def incremental() -> None:
        with get_engine().connect() as conn, Session(conn.execution_options(write=True)) as session:
            detect.detect_for_appointments(session, now, [appointment_id])
            session.rollback()

    report("incremental pass, one appointment", timed(incremental, repeat=30), "< 50 ms")

    def plain() -> None:
        with read_session() as session:
            session.scalar(select(func.count()).where(Appointment.start_at > now))

    base = timed(plain, repeat=5)
    report(
        "plain database: count the future appointments",
        {"median_ms": base["median_ms"], "full_pass_ratio": steady["median_ms"] / max(base["median_ms"], 0.001)},
    )
    print(f"   ({total:,} appointments)", flush=True)


if __name__ == "__main__":
    main()

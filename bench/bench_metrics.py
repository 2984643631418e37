"""Metrics: the KPI set for a week plus its 12-week trend, and for a whole year, from the daily rollup, against one plain status GROUP BY.

Each figure is printed in milliseconds and as a ratio to `SELECT status, count(*) FROM
appointments WHERE start_at in the window GROUP BY status` over the same appointments. "Cold"
is the first call for a window on a fresh engine with no application cache (after one call
for another window has loaded what a process loads once), the median of three such windows
(the window, and the same ending one and two weeks earlier; min and max printed too); the
median is over repeated calls (still without the pages' cache). The warm figure is a rerun
of the Weekly KPIs page (AppTest) whose reads hit the cache. The rollup is built first if the database has none (that
time is printed too). CPU figures are this process's: all of SQLite's work, but not a
PostgreSQL server's (there the wall figures count, on a machine not shared). PostgreSQL: set
BENCH_PG_URL to a database seeded by the same generator (`DEMO_MODE=1 python -m core seed-demo
--appointments 1000000`; the rollup is built here when it has none).
"""

from __future__ import annotations

import gc
import logging
import os
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from bench.common import open_bench_db, report, timed
from core.base import migrate
from core.base.config import reset_settings
from core.base.db import dispose_engines, get_engine, read_session, unit_of_work
from core.base.models import Appointment, Location, Role, User
from core.base.tz import local_range_bounds, today_in
from core.metrics.definitions import Window, last_full_week
from core.metrics.kpis import dashboard
from core.metrics.models import ROLLUP_MODELS, MetricDaily
from core.metrics.rebuild import rebuild_rollups
from core.security.access import SYSTEM

SETTLED = ("appointments", "inquiries", "working_hours", "time_off", "exceptions",
           *(model.__tablename__ for model in ROLLUP_MODELS))  # fmt: skip
PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "kpis.py")


def _plain(window: Window) -> dict[str, float]:
    """Median wall and CPU ms of the plain status aggregate over the window's appointments
    (every zone's bounds)."""
    with read_session() as s:
        zones = set(s.scalars(select(Location.timezone)))
    lo = min(local_range_bounds(window.first, window.last, tz)[0] for tz in zones)
    hi = max(local_range_bounds(window.first, window.last, tz)[1] for tz in zones)
    query = select(Appointment.status, func.count()).where(Appointment.start_at >= lo, Appointment.start_at < hi)

    def run():
        with read_session() as s:
            return s.execute(query.group_by(Appointment.status)).all()

    return timed(run, repeat=5, warmup=1)


def _cold(fn) -> tuple[float, float]:
    """Wall and CPU ms of one call on a fresh engine, from a collected heap: a full garbage
    collection of what earlier calls left (50-70 ms here) is not this call's cost."""
    dispose_engines()
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000


def _earlier(window: Window, *weeks: int) -> list[Window]:
    return [Window(window.first - timedelta(weeks=k), window.last - timedelta(weeks=k)) for k in weeks]


def _ensure_rollup() -> None:
    migrate.upgrade()
    with read_session() as s:
        has = s.scalar(select(func.count()).select_from(MetricDaily))
        appointments = s.scalar(select(func.count()).select_from(Appointment))
    if has:
        print(f"   {appointments:,} appointments, {has:,} rollup rows (reused)")
    else:
        t0 = time.perf_counter()
        with unit_of_work() as s:
            counted = rebuild_rollups(s)
        seconds = time.perf_counter() - t0
        with read_session() as s:
            has = s.scalar(select(func.count()).select_from(MetricDaily))
        print(f"   rebuilt the rollup from {counted:,} appointments in {seconds:.1f} s: {has:,} rows")
    _settle()


def _settle() -> None:
    """PostgreSQL: measure a database in service, not a freshly loaded one. Right after seeding,
    a migration or a rebuild, autovacuum has not yet caught up: the planner has no statistics for
    the new rows, and no page is marked all-visible, so an index that holds every column read
    still visits the table for each row and loses to a sequential scan. VACUUM (ANALYZE) does
    what autovacuum would."""
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        return
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in SETTLED:
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
    print(f"   VACUUM (ANALYZE) of the tables read: {time.perf_counter() - t0:.1f} s")


def _measure(label: str) -> None:
    week = last_full_week(today_in("UTC"))
    year = Window(week.last - timedelta(days=364), week.last)
    # Once per process, not per request: the ORM configures its mappers and modules load on the
    # first query. A week a year earlier pays for that; "cold" below is then a fresh engine (new
    # connections, SQL compiled anew) with nothing of these windows cached.
    dashboard(SYSTEM, Window(week.first - timedelta(weeks=52), week.last - timedelta(weeks=52)))
    for name, window in (("one week + 12-week trend", week), ("a whole year + 12-week trend", year)):
        plain = _plain(window)
        # Three cold windows (this one and the two ending a week and two weeks earlier), each the
        # first call for its window on a fresh engine: one sample was too noisy to judge by.
        colds = sorted(_cold(lambda w=w: dashboard(SYSTEM, w)) for w in (window, *_earlier(window, 1, 2)))
        cold, cold_cpu = colds[1]
        figures = timed(lambda w=window: dashboard(SYSTEM, w), repeat=5, warmup=0)
        n = dashboard(SYSTEM, window)["current"]["appointments"]
        report(
            f"{label} KPI set, {name} ({n:,} appointments)",
            {"cold_ms": cold, "cold_min_ms": colds[0][0], "cold_max_ms": colds[-1][0], "cold_cpu_ms": cold_cpu,
             "median_ms": figures["median_ms"], "cpu_median_ms": figures["cpu_median_ms"],
             "plain_groupby_ms": plain["median_ms"],
             "plain_cpu_ms": plain["cpu_median_ms"], "ratio_cold": cold / plain["median_ms"],
             "ratio_cold_max": colds[-1][0] / plain["median_ms"],
             "ratio_median": figures["median_ms"] / plain["median_ms"],
             "ratio_cpu": figures["cpu_median_ms"] / plain["cpu_median_ms"]},
            target="< 300 ms; year < 1x the plain aggregate",
        )  # fmt: skip


def _warm_page() -> None:
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    with unit_of_work() as s:
        user = s.scalar(select(User).where(User.role == Role.ANALYST, User.active.is_(True)).limit(1))
        if user is None:
            user = User(username="bench-metrics-analyst", name="Bench Analyst", role=Role.ANALYST)
            s.add(user)
            s.flush()
        user_id = user.id
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["user_id"] = user_id
    at.run()
    if at.exception:
        print(f"   the page failed: {at.exception[0].message}")
        return
    report("Weekly KPIs page rerun, warm cache (AppTest)", timed(at.run, repeat=10, warmup=1), target="< 150 ms")


def _postgresql(label: str, url: str) -> None:
    os.environ["DATABASE_URL"] = url
    reset_settings()
    dispose_engines()
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
    _ensure_rollup()
    _measure(label)


def main() -> None:
    if open_bench_db():
        _ensure_rollup()
        _measure("SQLite")
        _warm_page()
    pg = os.environ.get("BENCH_PG_URL")
    if not pg:
        print("   PostgreSQL: set BENCH_PG_URL to a seeded database to measure it")
        return
    _postgresql("PostgreSQL", pg)
    big = os.environ.get("BENCH_PG_10M_URL")
    if not big:
        print(
            "   PostgreSQL at 10,000,000 appointments: skipped; set BENCH_PG_10M_URL to a database seeded with "
            "`--appointments 10000000` (seeding takes about ten times as long as 1,000,000 does)"
        )
        return
    _postgresql("PostgreSQL, 10M", big)


if __name__ == "__main__":
    main()

"""Seeding: build the shared benchmark database (BENCH_APPOINTMENTS demo appointments, SQLite).

Reused when it already holds the requested number (within the seeder's 5%); BENCH_RESEED=1
rebuilds it. The other benchmarks read it, so this one runs first.

With BENCH_PG_SEED_URL set (a PostgreSQL database that is absent or empty), the same volume is
seeded there too and its rate printed; the database is left seeded (usable as BENCH_PG_URL).
"""

from __future__ import annotations

import os
import time

from sqlalchemy import func, select, text

from bench.common import BENCH_APPOINTMENTS, BENCH_DB, use_bench_db
from core import demo
from core.base import migrate
from core.base.config import reset_settings
from core.base.db import dispose_engines, get_engine
from core.base.models import Appointment


def _existing_count() -> int | None:
    """Appointments in the benchmark database, or None when it is missing or unreadable."""
    if not BENCH_DB.exists():
        return None
    try:
        with get_engine().connect() as conn:
            return conn.scalar(select(func.count()).select_from(Appointment))
    except Exception:  # noqa: BLE001 - a half-built or foreign file is rebuilt, whatever is wrong with it
        return None


def _rate(label: str, summary: demo.Summary, seconds: float, cpu: float, target: str | None = None) -> str:
    rows = summary.appointments
    return (
        f"   {label}: seeded {rows:,} appointments ({summary.counts.get('history', 0):,} history rows, "
        f"{summary.counts.get('inquiries', 0):,} inquiries) in {seconds:.1f} s (CPU of this process {cpu:.1f} s): "
        f"{rows / seconds:,.0f} appointments/s" + (f"   [target: {target}]" if target else "")
    )


def _postgresql(url: str) -> None:
    """Seed BENCH_APPOINTMENTS into the PostgreSQL database at `url`, created when absent; one
    that already holds data is left alone."""
    server, name = url.rsplit("/", 1)
    admin = get_engine(f"{server}/postgres").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    os.environ["DATABASE_URL"] = url
    reset_settings()
    dispose_engines()
    migrate.upgrade()
    if not demo.is_empty():
        print(f"   PostgreSQL: {name} already holds data; name a new or empty database to measure seeding")
        return
    t0, c0 = time.perf_counter(), time.process_time()
    summary = demo.seed_demo(appointments=BENCH_APPOINTMENTS, progress=True)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(_rate(f"PostgreSQL ({name})", summary, seconds, cpu), flush=True)


def main() -> None:
    _sqlite()
    pg = os.environ.get("BENCH_PG_SEED_URL")
    if pg:
        try:
            _postgresql(pg)
        finally:
            use_bench_db()  # the benchmarks after this one read the SQLite database
    else:
        print("   PostgreSQL: set BENCH_PG_SEED_URL to an absent or empty database to measure seeding there")


def _sqlite() -> None:
    use_bench_db()
    count = _existing_count()
    if (
        os.environ.get("BENCH_RESEED") != "1"
        and count is not None
        and abs(count - BENCH_APPOINTMENTS) <= 0.05 * BENCH_APPOINTMENTS
    ):
        print(f"   reusing {BENCH_DB} ({count:,} appointments; BENCH_RESEED=1 rebuilds it)", flush=True)
        return
    dispose_engines()
    for suffix in ("", "-wal", "-shm", "-journal"):
        BENCH_DB.with_name(BENCH_DB.name + suffix).unlink(missing_ok=True)
    BENCH_DB.parent.mkdir(parents=True, exist_ok=True)
    use_bench_db()
    migrate.upgrade()
    t0, c0 = time.perf_counter(), time.process_time()
    summary = demo.seed_demo(appointments=BENCH_APPOINTMENTS, progress=True)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(_rate("SQLite", summary, seconds, cpu, "1,000,000 in < 120 s"), flush=True)


if __name__ == "__main__":
    main()

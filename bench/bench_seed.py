"""Seeding: build the shared benchmark database (BENCH_APPOINTMENTS demo appointments, SQLite).

Reused when it already holds the requested number (within the seeder's 5%); BENCH_RESEED=1
rebuilds it. The other benchmarks read it, so this one runs first.
"""

from __future__ import annotations

import os
import time

from sqlalchemy import func, select

from bench.common import BENCH_APPOINTMENTS, BENCH_DB, use_bench_db
from core import demo
from core.base import migrate
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


def main() -> None:
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
    t0 = time.perf_counter()
    summary = demo.seed_demo(appointments=BENCH_APPOINTMENTS, progress=True)
    seconds = time.perf_counter() - t0
    rows = summary.appointments
    print(
        f"   seeded {rows:,} appointments ({summary.counts.get('history', 0):,} history rows, "
        f"{summary.counts.get('inquiries', 0):,} inquiries) in {seconds:.1f} s: {rows / seconds:,.0f} appointments/s"
        f"   [target: 1,000,000 in < 120 s]",
        flush=True,
    )


if __name__ == "__main__":
    main()

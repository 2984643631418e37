"""Export: one month and the full year of appointments as CSV (to /dev/null) on the big database."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from sqlalchemy import func, select

from bench.common import open_bench_db
from core.base.db import read_session
from core.base.models import Appointment
from core.reports import export
from core.security.access import SYSTEM


def _export(date_from, date_to) -> tuple[int, float]:
    t0 = time.perf_counter()
    with read_session() as session, open(os.devnull, "w", newline="") as out:
        rows = export.write_csv(out, export.iter_rows(session, SYSTEM, date_from=date_from, date_to=date_to))
    return rows, time.perf_counter() - t0


def main() -> None:
    if not open_bench_db():
        return
    with read_session() as s:
        # The demo's "now" is four weeks before its last appointment.
        today = (s.scalar(select(func.max(Appointment.start_at))) - timedelta(days=28)).date()
    month = (today - timedelta(days=60), today - timedelta(days=31))
    year = (today - timedelta(days=365), today)
    for label, (first, last) in (("one month", month), ("full year", year)):
        rows, seconds = _export(first, last)
        print(
            f"   {label} ({first} to {last}): {rows:,} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s",
            flush=True,
        )


if __name__ == "__main__":
    main()

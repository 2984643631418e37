"""Export: one month, and the whole database, as CSV (to /dev/null) on the big database, against
the sqlite3 command-line tool writing the same joined rows as CSV (target: under 2x its time)."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import time
from datetime import timedelta

from sqlalchemy import func, select

from bench.common import BENCH_DB, open_bench_db
from core.base.db import read_session
from core.base.models import Appointment
from core.reports import export
from core.security.access import SYSTEM

# The export's rows as plain SQL: the same joins, columns and order, no local time or masking.
SQLITE_SQL = """
SELECT a.id, a.external_id, l.name, p.name, p.email, t.name, c.name, c.email, c.phone, a.start_at, a.end_at,
       a.status, a.booked_at, a.cancelled_at, a.late_cancel, a.reschedule_count, a.intake_complete, a.source,
       a.calendar_event_id
FROM appointments a JOIN locations l ON l.id = a.location_id LEFT JOIN providers p ON p.id = a.provider_id
LEFT JOIN appointment_types t ON t.id = a.type_id JOIN customers c ON c.id = a.customer_id
ORDER BY a.start_at, a.id;
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _export(date_from=None, date_to=None) -> tuple[int, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    with read_session() as session, open(os.devnull, "w", newline="") as out:
        rows = export.write_csv(out, session, SYSTEM, date_from=date_from, date_to=date_to)
    return rows, time.perf_counter() - t0, time.process_time() - c0


def _sqlite3_cli() -> tuple[float, float] | None:
    tool = shutil.which("sqlite3")
    if tool is None:
        return None
    t0, c0 = time.perf_counter(), _children_cpu()
    with open(os.devnull, "wb") as out:
        subprocess.run([tool, "-readonly", "-csv", "-header", str(BENCH_DB), SQLITE_SQL], stdout=out, check=True)
    return time.perf_counter() - t0, _children_cpu() - c0


def main() -> None:
    if not open_bench_db():
        return
    with read_session() as s:
        # The demo's "now" is four weeks before its last appointment.
        today = (s.scalar(select(func.max(Appointment.start_at))) - timedelta(days=28)).date()
    first, last = today - timedelta(days=60), today - timedelta(days=31)
    rows, seconds, cpu = _export(first, last)
    print(
        f"   one month ({first} to {last}): {rows:,} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s", flush=True
    )
    rows, seconds, cpu = _export()
    print(
        f"   whole database: {rows:,} rows in {seconds:.2f} s (CPU {cpu:.2f} s) = {rows / seconds:,.0f} rows/s",
        flush=True,
    )
    cli = _sqlite3_cli()
    if cli is None:
        print("   sqlite3 command-line tool not installed (apt-get install sqlite3): no ratio")
        return
    cli_seconds, cli_cpu = cli
    print(
        f"   sqlite3 -csv, same joined rows: {cli_seconds:.2f} s (CPU {cli_cpu:.2f} s); "
        f"export / sqlite3 = {seconds / cli_seconds:.2f}x wall, {cpu / cli_cpu:.2f}x CPU   [target: < 2x]",
        flush=True,
    )


if __name__ == "__main__":
    main()

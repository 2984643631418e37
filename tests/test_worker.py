"""The worker: a pass runs every registered job with a log line each; a job's lease lets one
pass run at a time; two workers (and two detection passes) at once against PostgreSQL produce
exactly the items one would."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import time, timedelta

from sqlalchemy import delete, select

from core.base import jobs
from core.base.clock import utcnow
from core.base.config import ROOT
from core.base.db import read_session, unit_of_work
from core.base.models import Appointment, ExceptionItem, WorkingHours
from core.base.tz import to_local
from core.queue import detect
from core.queue.rules import RULES, Scope
from core.worker import JobLease, claim, release, run_pass
from tests.factories import world
from tests.test_queue_rules import at, book

DETECT = next(j for j in jobs.registered() if j.name == "detect-exceptions")


def _due_soon(w) -> None:
    """Appointments starting within a day from the real clock: unconfirmed, intake missing. The
    providers work around the clock that week, so whatever the hour the tests run at, no
    appointment is outside working hours (which would make the lesser kinds wait)."""
    now = utcnow()
    tz = w.locations["downtown"].timezone
    with unit_of_work() as s:
        s.execute(delete(WorkingHours))
        s.add_all(WorkingHours(provider_id=w.providers[p].id, location_id=w.locations["downtown"].id, weekday=d,
                               start_time=time(0), end_time=time(23, 59)) for p in ("rao", "kim") for d in range(7))  # fmt: skip
        for k, provider in enumerate(("rao", "kim")):
            start = now.replace(microsecond=0) + timedelta(hours=5 + k)
            if to_local(start, tz).hour == 23:  # not across local midnight
                start += timedelta(hours=2)
            s.add(Appointment(location_id=w.locations["downtown"].id, provider_id=w.providers[provider].id,
                              type_id=w.types["consult"].id, customer_id=w.customers["ada"].id, start_at=start,
                              end_at=start + timedelta(minutes=30), block_start=start,
                              block_end=start + timedelta(minutes=30), intake_complete=False))  # fmt: skip


def _items() -> list[tuple]:
    with read_session() as s:
        return sorted(tuple(r) for r in s.execute(select(ExceptionItem.dedupe_key, ExceptionItem.status)))


def _expected() -> list[tuple]:
    now = utcnow()
    with read_session() as s:
        return sorted((c.key, "open") for rule in RULES if rule.raises for c in rule.find(s, now, Scope()))


def test_a_pass_runs_every_job_once_and_logs_a_line(sqlite_db):
    w = world()
    _due_soon(w)
    expected = _expected()
    outcomes = run_pass("test-worker", only=["detect-exceptions"])
    assert [o.line.split(":")[0] for o in outcomes] == ["detect-exceptions"]
    assert f"opened {len(expected)} (" in outcomes[0].line and len(expected) >= 4
    assert _items() == expected
    again = run_pass("test-worker", only=["detect-exceptions"])
    assert again[0].ran is False and "not due" in again[0].line
    with read_session() as s:
        lease = s.get(JobLease, "detect-exceptions")
        assert (lease.runs, lease.lease_until, lease.last_error) == (1, None, None)


def test_a_held_lease_keeps_a_second_worker_out_until_it_is_released(sqlite_db):
    now = utcnow()
    assert claim(DETECT, "one", now) is None
    assert "running on one" in claim(DETECT, "two", now, force=True)
    release(DETECT, "one", summary="done", error=None)
    assert claim(DETECT, "two", now, force=True) is None
    release(DETECT, "two", summary="done", error=None)


def test_two_workers_at_once_on_postgresql_produce_the_items_one_would(pg_db):
    w = world()
    _due_soon(w)
    book(w, at(10), now=at(10) - timedelta(days=5))  # far ahead: nothing
    env = {**os.environ, "DATABASE_URL": pg_db.url}
    cmd = [sys.executable, "-m", "core", "worker", "--once", "--force", "--job", "detect-exceptions"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]  # fmt: skip
    logs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    assert sum("detect-exceptions: opened" in log for log in logs) >= 1
    assert _items() == _expected() and len(_items()) >= 4


def test_two_detection_passes_racing_on_postgresql_converge(pg_db):
    w = world()
    _due_soon(w)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait()
            detect.detect_all()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _items() == _expected() and len(_items()) >= 4
    result = detect.detect_all()
    assert sum(result.opened.values()) == sum(result.resolved.values()) == 0

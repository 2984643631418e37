"""`python -m core worker`: run the periodic jobs (core.base.jobs) in one process, with a clear
log line per job run; `--once` for a single pass.

Safe on several machines against one PostgreSQL: each job has a lease row (`job_leases`). A
worker claims it in a short transaction (SELECT ... FOR UPDATE SKIP LOCKED: a row another worker
is claiming is skipped, never waited for), only when the job is due and no unexpired lease is
held, and releases it when the run ends; a crashed worker's lease expires after LEASE_AT_LEAST
or the job's period, whichever is longer. So one pass of a job runs at a time. Jobs are also safe
run twice at once (they claim their own work with row locks or unique constraints). On SQLite a
write transaction is exclusive, which serialises the claims of the one worker it supports.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, Text, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from core.base import jobs
from core.base.clock import utcnow
from core.base.db import unit_of_work
from core.base.models import Base

log = logging.getLogger("core.worker")
LEASE_AT_LEAST = timedelta(minutes=10)
POLL = timedelta(seconds=15)


class JobLease(Base):
    __tablename__ = "job_leases"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None]
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_summary: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    runs: Mapped[int] = mapped_column(default=0)


@dataclass(frozen=True)
class Outcome:
    job: str
    ran: bool
    line: str  # what the log says


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(job: jobs.Job, owner: str, now: datetime, *, force: bool = False) -> str | None:
    """Take the job's lease; None when taken, else why not ("running elsewhere", "not due ...")."""
    with unit_of_work() as session:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(JobLease).values(name=job.name, runs=0).on_conflict_do_nothing(index_elements=["name"]))
        lease = session.scalar(
            select(JobLease)
            .where(JobLease.name == job.name)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if lease is None:
            return "being claimed by another worker"
        if lease.lease_until is not None and lease.lease_until > now:
            return f"running on {lease.owner}"
        if not force and lease.last_started_at is not None and lease.last_started_at + job.every > now:
            wait = lease.last_started_at + job.every - now
            return f"not due for {int(wait.total_seconds())} s"
        lease.owner, lease.last_started_at = owner, now
        lease.lease_until = now + max(LEASE_AT_LEAST, job.every)
    return None


def release(job: jobs.Job, owner: str, *, summary: str | None, error: str | None) -> None:
    with unit_of_work() as session:
        lease = session.get(JobLease, job.name, with_for_update=True)
        if lease is None or lease.owner != owner:
            return  # our lease expired and another worker took the job over
        lease.lease_until, lease.last_finished_at = None, utcnow()
        lease.last_summary, lease.last_error, lease.runs = summary, error, lease.runs + 1


def run_job(job: jobs.Job, owner: str, *, force: bool = False) -> Outcome:
    now = utcnow()
    refusal = claim(job, owner, now, force=force)
    if refusal:
        return Outcome(job.name, False, f"{job.name}: skipped ({refusal})")
    started = time.perf_counter()
    try:
        summary = job.run(now)
    except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
        error = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        release(job, owner, summary=None, error=f"{type(exc).__name__}: {error}")
        log.exception("job %s failed", job.name)
        return Outcome(job.name, True, f"{job.name}: FAILED after {_ms(started)} ms: {type(exc).__name__}: {error}")
    release(job, owner, summary=summary, error=None)
    return Outcome(job.name, True, f"{job.name}: {summary} ({_ms(started)} ms)")


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def run_pass(owner: str, *, force: bool = False, only: list[str] | None = None) -> list[Outcome]:
    outcomes = []
    for job in jobs.registered():
        if only and job.name not in only:
            continue
        outcome = run_job(job, owner, force=force)
        (log.info if outcome.ran else log.debug)(outcome.line)
        outcomes.append(outcome)
    return outcomes


def run_forever(owner: str, stop: threading.Event, poll: timedelta = POLL) -> None:
    log.info("worker %s started: %s", owner, ", ".join(f"{j.name} every {j.every}" for j in jobs.registered()))
    while not stop.is_set():
        run_pass(owner)
        stop.wait(poll.total_seconds())
    log.info("worker %s stopped", owner)


def cmd_worker(args) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
    )
    owner = worker_id()
    if args.once:
        outcomes = run_pass(owner, force=args.force, only=args.job)
        for outcome in outcomes:
            if not outcome.ran:
                log.info(outcome.line)
        return 1 if any("FAILED" in o.line for o in outcomes) else 0
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(owner, stop, timedelta(seconds=args.poll))
    return 0


def register(sub) -> None:
    p = sub.add_parser("worker", help="run the periodic jobs (exception detection, calendar sync, notifications, ...)")
    p.add_argument("--once", action="store_true", help="one pass over the due jobs, then exit")
    p.add_argument("--force", action="store_true", help="with --once: run every job now, due or not")
    p.add_argument("--job", action="append", help="only this job (repeatable)")
    p.add_argument("--poll", type=float, default=POLL.total_seconds(), help="seconds between passes (default 15)")
    p.add_argument("--verbose", action="store_true", help="also log jobs skipped as not due")
    p.set_defaults(func=cmd_worker)

"""Realistic, deterministic demo data: `python -m core seed-demo`.

The same (seed, now) always gives the same rows. The shape is what a clinic group's manager
would recognise: locations in several time zones, providers with skills working weekly hours
(local time, DST-correct) at one or two locations, vacations, appointment types with buffers,
notice, horizon, cancellation windows, intake and a group class; 12 months of history and four
weeks ahead. No-shows rise with lead time and vary by weekday, type and source; some cancels
are late; freed slots get rebooked; some appointments were rescheduled; a few upcoming ones
still lack intake or confirmation; about two thirds of inquiries led to a booking.

Schedules are free of overlaps by construction: each provider's local working day is walked
block by block (buffers included), exam rooms are one per provider at a location and the
shared rooms (treatment, studio, procedure) are checked per day. The database still enforces
the rule: on PostgreSQL the exclusion constraints stay on (rebuilding them after the load cost
more than keeping them up to date during it); on SQLite the two overlap triggers are dropped for
the bulk load and recreated (the migration's own SQL) in the same transaction.

The bulk tables are loaded with COPY on PostgreSQL and executemany on SQLite; on both their
secondary indexes (and on PostgreSQL their foreign keys and unique constraints) are dropped for
the load and re-created from the catalog's own definitions before the transaction commits.

Demo sign-in (demo data only; never use these anywhere real):

    role        username    password
    front desk  frontdesk   frontdesk-demo-1   first location
    provider    provider    provider-demo-1    a provider at the first location
    manager     manager     manager-demo-1     first location
    analyst     analyst     analyst-demo-1     all locations, read only
    admin       admin       admin-demo-1       everything

The generator is split by what it builds: `catalogue` (types, names, patterns), `org` (locations,
providers, rooms, hours, time off), `people` (users, customers), `walk` and `appointments` (the
schedule and each appointment's story), `inquiries` (lost inquiries, the waitlist) and `bulk`
(the raw inserts and each dialect's bulk-load plumbing). `Builder` holds the state they share.
"""

from __future__ import annotations

import random
import sys
import time as clock
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, Engine, exists, func, insert, select, text
from sqlalchemy.orm import Session

from core.base import bus
from core.base.clock import utcnow
from core.base.db import get_engine, refresh_statistics
from core.base.errors import ValidationError
from core.base.models import (
    Appointment,
    AppointmentHistory,
    AppointmentType,
    AuditLog,
    Customer,
    Inquiry,
    Location,
    Provider,
    Role,
    Room,
    User,
)
from core.demo.bulk import (
    APPT_COLS,
    BULK_TABLES,
    HIST_COLS,
    INQ_COLS,
    pg_copy,
    pg_instants,
    restore_pg_rules,
    restore_sqlite_rules,
    sqlite_instants,
    suspend_pg_rules,
    suspend_sqlite_rules,
    to_epoch,
)
from core.demo.catalogue import AHEAD_DAYS, DEMO_USERS, HISTORY_DAYS, sizing
from core.demo.inquiries import add_lost_inquiries, add_waitlist
from core.demo.intake_forms import add_intake_forms
from core.demo.org import LocationPlan, ProviderPlan, add_catalogue, add_places
from core.demo.people import add_customers, add_users
from core.demo.walk import walk
from core.scheduling.events import DemoSeeded
from core.security import audit_chain
from core.security.passwords import hash_password

__all__ = ["DEMO_USERS", "Builder", "Summary", "is_empty", "seed_demo", "sizing"]


# ---------------------------------------------------------------------------------------------
# Summary


@dataclass
class Summary:
    seed: int
    now: datetime
    first_day: date
    last_day: date
    requested: int
    counts: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    zones: list[str] = field(default_factory=list)
    users: list[tuple[str, str, str, str]] = field(default_factory=list)  # role, username, password, scope
    seconds: float = 0.0

    @property
    def appointments(self) -> int:
        return self.counts.get("appointments", 0)

    def describe(self) -> str:
        c = self.counts
        lines = [
            f"Demo data seeded (seed {self.seed}) in {self.seconds:.1f} s: "
            f"{self.first_day} to {self.last_day} (12 months of history, 4 weeks ahead).",
            "",
            f"  locations          {c.get('locations', 0):>10,}   time zones: {', '.join(self.zones)}",
            f"  rooms              {c.get('rooms', 0):>10,}",
            f"  providers          {c.get('providers', 0):>10,}   time off periods: {c.get('time_off', 0):,}",
            f"  appointment types  {c.get('appointment_types', 0):>10,}",
            f"  customers          {c.get('customers', 0):>10,}",
            f"  appointments       {c.get('appointments', 0):>10,}   "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(self.statuses.items())),
            f"  history rows       {c.get('history', 0):>10,}",
            f"  inquiries          {c.get('inquiries', 0):>10,}   converted to a booking: {c.get('inquiries_converted', 0):,}",
            f"  waitlist entries   {c.get('waitlist', 0):>10,}",
            "",
            "Demo sign-in (demo data only):",
            f"  {'role':<12}{'username':<12}{'password':<20}scope",
        ]
        for role, username, password, scope in self.users:
            lines.append(f"  {role:<12}{username:<12}{password:<20}{scope}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Public entry points


def is_empty(engine: Engine | None = None) -> bool:
    """True when the database has no locations and no appointments."""
    engine = engine or get_engine()
    with engine.connect() as conn:
        has_any = conn.scalar(select(exists().select_from(Location))) or conn.scalar(
            select(exists().select_from(Appointment))
        )
        conn.rollback()
    return not has_any


def seed_demo(
    appointments: int = 25_000,
    seed: int = 7,
    progress: bool = False,
    now: datetime | None = None,
    *,
    password_rounds: int = 12,
    engine: Engine | None = None,
) -> Summary:
    """Fill an empty database (at schema head) with demo data; one transaction."""
    if appointments < 0:
        raise ValidationError("The number of appointments cannot be negative.")
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValidationError("`now` must be timezone-aware.")
    now = now.astimezone(UTC).replace(microsecond=0)
    engine = engine or get_engine()
    if not is_empty(engine):
        raise ValidationError(
            "The database already has locations or appointments; demo data goes into an empty database "
            "only (use --if-empty to skip, or point DATABASE_URL at a new database)."
        )
    started = clock.perf_counter()
    # Hash before taking the write lock: bcrypt is slow on purpose.
    hashes = {username: hash_password(password, rounds=password_rounds) for username, password, _ in DEMO_USERS}
    builder = Builder(appointments, seed, now, progress)
    with engine.execution_options(write=True).begin() as conn:
        summary = builder.run(conn, hashes)
        builder.note("committing")
    # What comes next (the rollup rebuild, the first pages) plans from the new rows, not from
    # an empty table's statistics until autovacuum comes by.
    builder.note("refreshing planner statistics")
    refresh_statistics(*BULK_TABLES, engine=engine)
    builder.note("done")
    summary.seconds = clock.perf_counter() - started
    return summary


class Builder:
    """The state one seeding run shares across its parts: the dice, the clock, the buffers and the counts."""

    def __init__(self, target: int, seed: int, now: datetime, progress: bool) -> None:
        self.target = target
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = now
        self.now_e = to_epoch(now)
        self.today = now.date()
        self.first_day = self.today - timedelta(days=HISTORY_DAYS)
        self.last_day = self.today + timedelta(days=AHEAD_DAYS)
        self.ps_e = to_epoch(datetime.combine(self.first_day, time.min, tzinfo=UTC))
        self.go_live_e = self.ps_e + 75 * 86400  # bookings before this came from the old system
        self.progress = progress
        self.started = clock.perf_counter()
        self.statuses: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.appt_buf: list[tuple] = []
        self.hist_buf: list[tuple] = []
        self.inq_buf: list[tuple] = []
        self.anchors: dict[tuple[str, date], int | None] = {}
        self.intake: dict[str, tuple[list[str], str]] = {}
        self.type_ids: dict[str, int] = {}
        self.desk_user: int | None = None
        self.first_loc: LocationPlan | None = None
        # Filled in as the run goes: the dialect's plumbing (run), the places (add_places), the
        # demo users (add_users) and the next appointment id (run, then add_appointment).
        self.sqlite = False
        self.ts: Callable[[int | None], str | None] = pg_instants()
        self.locs: list[LocationPlan] = []
        self.provs: list[ProviderPlan] = []
        self.short_src_cum: list[float] = []
        self.user_rows: list[tuple[str, str, str, str]] = []
        self.next_appt = 0
        self.customer_busy: defaultdict[int, list[tuple[int, int]]] = defaultdict(list)  # epoch [start, end)

    def bulk(self, conn: Connection, table, cols: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        if self.sqlite:
            sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            conn.exec_driver_sql(sql, rows)
        else:
            pg_copy(conn, table.name, cols, rows)

    def next_id(self, conn: Connection, model) -> int:
        return (conn.scalar(select(func.max(model.id))) or 0) + 1

    def flush(self, conn: Connection) -> None:
        if not self.appt_buf:
            return
        self.bulk(conn, Appointment.__table__, APPT_COLS, self.appt_buf)
        self.bulk(conn, AppointmentHistory.__table__, HIST_COLS, self.hist_buf)
        self.bulk(conn, Inquiry.__table__, INQ_COLS, self.inq_buf)
        self.counts["appointments"] += len(self.appt_buf)
        self.counts["history"] += len(self.hist_buf)
        self.counts["inquiries"] += len(self.inq_buf)
        self.appt_buf, self.hist_buf, self.inq_buf = [], [], []
        self.note(f"{self.counts['appointments']:,} of ~{self.target:,} appointments")

    def note(self, what: str) -> None:
        if self.progress:
            print(f"seed-demo: {what} ({clock.perf_counter() - self.started:.1f} s)", file=sys.stderr, flush=True)

    def run(self, conn: Connection, hashes: dict[str, str]) -> Summary:
        self.sqlite = conn.dialect.name == "sqlite"
        # The bulk rows carry instants and JSON as the text each database stores (the JSON text
        # is json.dumps', as SQLAlchemy writes it); the ORM-built rows before them use objects.
        self.ts = sqlite_instants() if self.sqlite else pg_instants()
        n_loc, n_prov, n_cust = sizing(self.target)
        add_catalogue(self, conn)
        add_places(self, conn, n_loc, n_prov)
        add_users(self, conn, hashes)
        add_intake_forms(self, conn)
        if self.sqlite:
            conn.exec_driver_sql("PRAGMA cache_size=-400000")
            saved = suspend_sqlite_rules(conn)
        else:
            saved = suspend_pg_rules(conn)
        add_customers(self, conn, n_cust)
        self.next_appt = self.next_id(conn, Appointment)
        walk(self, conn)
        self.flush(conn)
        self.note("inquiries and waitlist")
        add_lost_inquiries(self, conn)
        add_waitlist(self, conn)
        with Session(bind=conn) as session:  # the outbox's history and what is due (core.notifications.demo)
            bus.publish(session, DemoSeeded(at=self.now))
            session.flush()
        self.note("rebuilding indexes and constraints")
        if self.sqlite:
            restore_sqlite_rules(conn, saved)
            conn.exec_driver_sql("PRAGMA cache_size=-2000")
        else:
            restore_pg_rules(conn, saved)
            for model in (Location, Room, Provider, AppointmentType, Customer, User, Appointment):
                t = model.__tablename__
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {t}))")
                )
        seeded = conn.execute(
            insert(AuditLog).returning(AuditLog.id),
            {
                "actor_username": "system",
                "role": Role.ADMIN.value,
                "action": "demo.seed",
                "entity": "database",
                "after": {
                    "seed": self.seed,
                    "requested": self.target,
                    "now": self.now.isoformat(),
                    "appointments": self.counts["appointments"],
                },
            },
        )
        audit_chain.seal(conn, seeded.scalars().all())
        return Summary(
            seed=self.seed,
            now=self.now,
            first_day=self.first_day,
            last_day=self.last_day,
            requested=self.target,
            counts=dict(self.counts),
            statuses=dict(self.statuses),
            zones=sorted({loc.tz for loc in self.locs}),
            users=self.user_rows,
        )

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
schedule and each appointment's story), `inquiries` (inquiries, the waitlist) and `bulk` (the
raw inserts and each dialect's bulk-load plumbing). `state.Builder` holds what they share;
`plans` what they know of each location and provider. STEPS below runs them in order: a new
part of the demo is a function `(builder, conn)` and one line there.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, exists, insert, select, text
from sqlalchemy.orm import Session

from core.base import bus
from core.base.clock import utcnow
from core.base.db import get_engine, refresh_statistics
from core.base.errors import ValidationError
from core.base.models import (
    Appointment,
    AppointmentType,
    AuditLog,
    Customer,
    Location,
    Provider,
    Role,
    Room,
    User,
)
from core.demo import inquiries, org, people
from core.demo.bulk import BULK_TABLES, restore_pg_rules, restore_sqlite_rules, suspend_pg_rules, suspend_sqlite_rules
from core.demo.catalogue import DEMO_USERS, sizing
from core.demo.intake_forms import add_intake_forms
from core.demo.state import Builder
from core.demo.walk import walk
from core.scheduling.events import DemoSeeded
from core.security import audit_chain
from core.security.passwords import hash_password

__all__ = ["DEMO_USERS", "STEPS", "Summary", "is_empty", "seed_demo", "sizing"]


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

    @classmethod
    def of(cls, builder: Builder) -> Summary:
        return cls(seed=builder.seed, now=builder.now, first_day=builder.first_day, last_day=builder.last_day,
                   requested=builder.target, counts=dict(builder.counts), statuses=dict(builder.statuses),
                   zones=sorted({loc.tz for loc in builder.locations}), users=builder.user_rows)  # fmt: skip

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
# The steps, in order


def suspend_rules(builder: Builder, conn: Connection) -> None:
    """The bulk tables' secondary indexes (and triggers, and on PostgreSQL constraints) off for the load."""
    if builder.sqlite:
        conn.exec_driver_sql("PRAGMA cache_size=-400000")
        builder.suspended_rules = suspend_sqlite_rules(conn)
    else:
        builder.suspended_rules = suspend_pg_rules(conn)


def restore_rules(builder: Builder, conn: Connection) -> None:
    """Everything `suspend_rules` took off, exactly as it was; PostgreSQL's sequences past the load."""
    builder.note("rebuilding indexes and constraints")
    if builder.sqlite:
        restore_sqlite_rules(conn, builder.suspended_rules)
        conn.exec_driver_sql("PRAGMA cache_size=-2000")
        return
    restore_pg_rules(conn, builder.suspended_rules)
    for model in (Location, Room, Provider, AppointmentType, Customer, User, Appointment):
        t = model.__tablename__
        conn.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {t}))")
        )


def announce(builder: Builder, conn: Connection) -> None:
    """DemoSeeded through the bus: the outbox's history and what is due (core.notifications.demo)."""
    with Session(bind=conn) as session:
        bus.publish(session, DemoSeeded(at=builder.now))
        session.flush()


def record_seed(builder: Builder, conn: Connection) -> None:
    """The seeding's own audit row, linked into the chain with the rows the steps wrote."""
    seeded = conn.execute(
        insert(AuditLog).returning(AuditLog.id),
        {"actor_username": "system", "role": Role.ADMIN.value, "action": "demo.seed", "entity": "database",
         "after": {"seed": builder.seed, "requested": builder.target, "now": builder.now.isoformat(),
                   "appointments": builder.counts["appointments"]}},
    )  # fmt: skip
    audit_chain.seal(conn, [*builder.audit_ids, *seeded.scalars().all()])


Step = Callable[[Builder, Connection], None]

STEPS: tuple[Step, ...] = (
    org.add_catalogue,  # appointment types and their intake answers
    org.add_locations,
    org.add_providers,
    org.add_rooms,
    org.add_hours,  # weekly working hours, local time
    org.add_time_off,
    org.add_channels,  # each location's booking channels
    people.add_users,  # one demo user per role
    add_intake_forms,  # each type's published intake form versions
    suspend_rules,  # the bulk load starts
    people.add_customers,
    walk,  # the year of appointments and their history
    inquiries.add_inquiries,  # through core.inquiries: the desk's rules, audited, the rollup told
    restore_rules,  # the bulk load ends
    inquiries.add_waitlist,
    announce,  # DemoSeeded: the outbox
    record_seed,
)


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
    builder = Builder(appointments, seed, now, progress, hashes)
    with engine.execution_options(write=True).begin() as conn:
        builder.start(conn)
        for step in STEPS:
            builder.note(step.__name__.replace("_", " "))
            step(builder, conn)
        builder.note("committing")
    # What comes next (the rollup rebuild, the first pages) plans from the new rows, not from
    # an empty table's statistics until autovacuum comes by.
    builder.note("refreshing planner statistics")
    refresh_statistics(*BULK_TABLES, engine=engine)
    builder.note("done")
    summary = Summary.of(builder)
    summary.seconds = clock.perf_counter() - started
    return summary

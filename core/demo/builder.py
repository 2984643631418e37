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
the rule: on PostgreSQL the exclusion constraints stay on; on SQLite the two overlap triggers
are dropped for the bulk load and recreated (the migration's own SQL) in the same transaction.

Demo sign-in (demo data only; never use these anywhere real):

    role        username    password
    front desk  frontdesk   frontdesk-demo-1   first location
    provider    provider    provider-demo-1    a provider at the first location
    manager     manager     manager-demo-1     first location
    analyst     analyst     analyst-demo-1     all locations, read only
    admin       admin       admin-demo-1       everything
"""

from __future__ import annotations

import json
import random
import sys
import time as clock
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate

from sqlalchemy import Connection, Engine, exists, func, insert, select, text

from core.base.db import get_engine, utcnow
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
    TimeOff,
    User,
    WaitlistEntry,
    WorkingHours,
    provider_locations,
    user_locations,
)
from core.base.tz import local_to_utc
from core.security.passwords import hash_password

# (username, password, role): one demo user per role, printed by seed-demo and the README.
DEMO_USERS: list[tuple[str, str, str]] = [
    ("frontdesk", "frontdesk-demo-1", Role.FRONT_DESK.value),
    ("provider", "provider-demo-1", Role.PROVIDER.value),
    ("manager", "manager-demo-1", Role.MANAGER.value),
    ("analyst", "analyst-demo-1", Role.ANALYST.value),
    ("admin", "admin-demo-1", Role.ADMIN.value),
]
_USER_NAMES = {
    "frontdesk": "Frankie Desk",
    "provider": None,  # the provider's own name
    "manager": "Morgan Manager",
    "analyst": "Avery Analyst",
    "admin": "Ada Admin",
}

CHUNK = 25_000  # appointments per bulk insert
HISTORY_DAYS = 365
AHEAD_DAYS = 28
SOURCES = ("front_desk", "online", "phone", "google")

# ---------------------------------------------------------------------------------------------
# The catalogue


@dataclass(frozen=True)
class _TypeSpec:
    name: str
    duration: int  # minutes
    before: int
    after: int
    min_notice: int  # minutes
    horizon: int  # days
    window: int  # cancellation window, hours
    reschedule_notice: int  # hours
    capacity: int
    skills: tuple[str, ...]
    room_kind: str | None
    intake: tuple[tuple[str, str, bool], ...]
    routing: str
    color: str
    weight: float  # how often a provider who can do it books it
    no_show: float  # relative no-show risk
    cancel: float  # relative cancellation risk
    short: float  # share booked within ~a day
    mean_days: float  # typical lead time
    long_days: int  # lead time of planned-ahead bookings, at most

    block: int = 0  # minutes held: buffers and the appointment

    def __post_init__(self) -> None:
        object.__setattr__(self, "block", self.before + self.duration + self.after)


TYPES: tuple[_TypeSpec, ...] = (
    _TypeSpec(
        "New patient consultation", 45, 0, 10, 24 * 60, 90, 24, 24, 1, ("general",), "exam",
        (("reason", "Reason for visit", True), ("insurance", "Insurance provider", True),
         ("referral", "Referred by", False)),
        "round_robin", "#4C78A8", 3, 1.2, 1.0, 0.04, 9, 60,
    ),
    _TypeSpec(
        "Follow-up visit", 20, 0, 5, 120, 60, 24, 12, 1, ("general",), "exam",
        (("reason", "What should we follow up on?", False),),
        "least_booked", "#72B7B2", 5, 0.9, 0.9, 0.15, 6, 35,
    ),
    _TypeSpec(
        "Annual check-up", 30, 5, 10, 24 * 60, 180, 48, 24, 1, ("general",), "exam",
        (("medications", "Current medications", True),),
        "round_robin", "#54A24B", 2, 1.0, 1.1, 0.02, 21, 120,
    ),
    _TypeSpec(
        "Telehealth check-in", 15, 0, 5, 60, 21, 4, 2, 1, ("general",), None,
        (("callback", "Best number to reach you", True),),
        "least_booked", "#B279A2", 2, 1.4, 0.8, 0.45, 2, 14,
    ),
    _TypeSpec(
        "Physiotherapy session", 50, 0, 10, 12 * 60, 60, 24, 24, 1, ("physio",), "treatment",
        (("complaint", "Injury or complaint", True),),
        "round_robin", "#F58518", 6, 1.0, 1.0, 0.08, 6, 45,
    ),
    _TypeSpec(
        "Group mobility class", 60, 0, 15, 120, 30, 12, 12, 8, ("group",), "studio", (),
        "round_robin", "#E45756", 1, 1.5, 1.2, 0.10, 5, 28,
    ),
    _TypeSpec(
        "Minor procedure", 60, 15, 15, 2 * 24 * 60, 90, 72, 72, 1, ("procedure",), "procedure",
        (("consent", "Consent form signed", True), ("allergies", "Allergies", True)),
        "least_booked", "#9D755D", 1, 0.5, 0.7, 0.0, 14, 60,
    ),
    _TypeSpec(
        "Nutrition counselling", 40, 0, 10, 24 * 60, 60, 24, 24, 1, ("nutrition",), "exam",
        (("goals", "What would you like to work on?", True),),
        "round_robin", "#EECA3B", 5, 1.1, 1.0, 0.05, 10, 45,
    ),
)  # fmt: skip

_INTAKE_ANSWERS = {
    "reason": ["Back pain", "Persistent cough", "Headaches", "Knee pain after running", "Skin rash"],
    "insurance": ["BlueShield", "Aetna", "Self-pay", "Bupa", "Cigna"],
    "referral": ["Dr. Gomez", "A friend", "Website", ""],
    "medications": ["None", "Lisinopril 10 mg", "Metformin", "Vitamin D"],
    "callback": ["Mobile on file", "Work number", "Call after 5 pm"],
    "complaint": ["Shoulder strain", "ACL rehab", "Lower back", "Ankle sprain", "Neck stiffness"],
    "consent": ["yes"],
    "allergies": ["None known", "Penicillin", "Latex", "Nuts"],
    "goals": ["Lower cholesterol", "Weight management", "Sports nutrition", "Diabetes diet"],
}

# name, IANA zone, city line, US area code (None: London)
_LOCATION_SEEDS = (
    ("Downtown", "America/New_York", "New York, NY 10007", "212"),
    ("Brooklyn Heights", "America/New_York", "Brooklyn, NY 11201", "718"),
    ("Shoreditch", "Europe/London", "London EC2A", None),
    ("Lakeview", "America/Chicago", "Chicago, IL 60657", "773"),
    ("Santa Monica", "America/Los_Angeles", "Santa Monica, CA 90401", "310"),
    ("Camden", "Europe/London", "London NW1", None),
    ("Wicker Park", "America/Chicago", "Chicago, IL 60622", "312"),
    ("Cherry Creek", "America/Denver", "Denver, CO 80206", "303"),
    ("Harlem", "America/New_York", "New York, NY 10027", "646"),
    ("Silver Lake", "America/Los_Angeles", "Los Angeles, CA 90026", "213"),
    ("Arcadia", "America/Phoenix", "Phoenix, AZ 85018", "602"),
    ("Clapham", "Europe/London", "London SW4", None),
)
_LOCATION_SUFFIXES = ("North", "South", "East", "West", "Central", "Park", "Square", "Plaza", "Hills", "Heights")
_STREETS = ("Main St", "Oak Ave", "High St", "Market St", "Church Rd", "Park Lane", "Elm St", "Station Rd")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FIRST = _words(
    "Olivia Liam Emma Noah Ava Oliver Sophia Elijah Isabella James Mia William Amelia Benjamin Harper Lucas "
    "Evelyn Henry Abigail Alexander Emily Mason Ella Michael Elizabeth Ethan Camila Daniel Luna Jacob Sofia "
    "Logan Avery Jackson Mila Sebastian Aria Jack Scarlett Aiden Penelope Owen Layla Samuel Chloe Matthew "
    "Victoria Joseph Madison Levi Eleanor Mateo Grace David Nora John Riley Wyatt Zoey Carter Hannah Julian "
    "Priya Arjun Mei Hiroshi Fatima Omar Aisha Kwame Chidi Ines Lars Ingrid Mateus Yusuf Zara Rafael Leila"
)
_LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Patel Shah Kim Chen Wang Okafor Mensah "
    "Kowalski Novak Dubois Rossi Schmidt Murphy O'Brien Kelly Singh Ali Haddad Cohen Silva Costa Tanaka"
)

_CANCEL_REASONS = (
    "Schedule conflict", "Feeling better", "Illness", "Transport problem", "Work commitment",
    "Booked elsewhere", "Weather", "Childcare", "Cost", "No reason given",
)  # fmt: skip
_STAFF_CANCEL_REASONS = ("Provider unavailable", "Clinic closure", "Duplicate booking")
_NOTES = (
    "Prefers morning calls", "Needs step-free access", "Interpreter requested (Spanish)",
    "Running 10 minutes late, called ahead", "Bring previous imaging", "First visit after surgery",
    "Parking validation", "Allergic to latex",
)  # fmt: skip
_INQUIRY_LOST = (
    "Asked about prices", "No suitable time offered", "Insurance not accepted", "Went elsewhere",
    "Did not call back", "Only wanted information", "Too far away", "Will call back next month",
)  # fmt: skip
_INQUIRY_CHANNEL = {"front_desk": "walk_in", "online": "web", "phone": "phone", "google": "google"}
_INQUIRY_SHARE = {"front_desk": 0.05, "online": 0.10, "phone": 0.30, "google": 0.28}
_VACATION_REASONS = ("Vacation", "Vacation", "Conference", "Sick leave", "Family leave")
_PARTIAL_REASONS = ("Training", "Personal appointment", "Team meeting", "Admin afternoon")

# Demand and risk patterns.
_WEEKDAY_DEMAND = (1.10, 1.02, 0.97, 1.0, 0.92, 0.85, 0.0)
_MONTH_DEMAND = (1.08, 1.03, 1.02, 1.0, 0.98, 0.95, 0.9, 0.82, 1.02, 1.04, 1.02, 0.88)
_WEEKDAY_NO_SHOW = (1.25, 0.9, 0.85, 0.95, 1.2, 1.35, 1.0)
_SOURCE_NO_SHOW = {"front_desk": 0.75, "online": 1.15, "phone": 0.9, "google": 1.35}
NO_SHOW_BASE = 0.08
CANCEL_BASE = 0.12
RESCHEDULE_RATE = 0.08
REBOOK_RATE = 0.45
FUTURE_BOOKED_MEAN = 6 * 86400  # how long ago upcoming appointments were booked, on average

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _randint(rng: random.Random, lo: int, hi: int) -> int:
    """rng.randint without its overhead (the seeder calls it millions of times)."""
    return lo + int(rng.random() * (hi - lo + 1))


def _randrange(rng: random.Random, n: int) -> int:
    return int(rng.random() * n)


def _choice(rng: random.Random, seq: Sequence):
    return seq[int(rng.random() * len(seq))]


def sizing(appointments: int) -> tuple[int, int, int]:
    """(locations, providers, customers) for a requested number of appointments: a clinic group
    of ~4 locations and ~15 providers at 25k, a chain of ~120 locations at a million."""
    providers = max(6, round(appointments / 1700))
    if providers <= 9:
        locations = 3
    elif providers <= 20:
        locations = 4
    else:
        locations = round(providers / 5)
    customers = max(150, appointments // 8)
    return locations, providers, customers


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
    builder = _Builder(appointments, seed, now, progress)
    with engine.execution_options(write=True).begin() as conn:
        summary = builder.run(conn, hashes)
        builder.note("committing")
    builder.note("done")
    summary.seconds = clock.perf_counter() - started
    return summary


# ---------------------------------------------------------------------------------------------
# The generator


@dataclass
class _Loc:
    id: int
    index: int
    name: str
    tz: str
    area: str | None
    providers: list[_Prov] = field(default_factory=list)
    exam_rooms: list[int] = field(default_factory=list)
    shared_rooms: dict[str, list[int]] = field(default_factory=dict)
    schedule: list[list[tuple[_Prov, list[tuple[int, int]]]]] = field(default_factory=lambda: [[] for _ in range(7)])
    pool: tuple[int, int] = (0, 0)  # first customer id, pool size
    src_cum: list[float] = field(default_factory=list)


@dataclass
class _Prov:
    id: int
    index: int
    name: str
    email: str
    kind: str
    skills: list[str]
    tz: str
    types: list[_TypeSpec] = field(default_factory=list)
    cum: list[float] = field(default_factory=list)
    demand: float = 1.0
    off_days: set[date] = field(default_factory=set)
    half_days: set[date] = field(default_factory=set)
    locations: list[_Loc] = field(default_factory=list)


_HALF_DAY_FROM = 13 * 60  # partial time off covers local 13:00-20:00
_HALF_DAY_TO = 20 * 60


_OVERLAP_TRIGGERS = ("appointments_no_overlap_insert", "appointments_no_overlap_update")
_BULK_TABLES = ("customers", "appointments", "appointment_history", "inquiries")


def _suspend_sqlite_rules(conn: Connection) -> list[str]:
    """Drop the overlap triggers and the bulk tables' secondary indexes for the load; returns
    their SQL exactly as the database holds it, for `_restore_sqlite_rules` in the same
    transaction. (Rows are overlap-free by construction; building an index once is far faster
    than keeping five up to date row by row.)"""
    tables = ", ".join(f"'{t}'" for t in _BULK_TABLES)
    triggers = ", ".join(f"'{t}'" for t in _OVERLAP_TRIGGERS)
    saved = conn.exec_driver_sql(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND "
        f"((type = 'index' AND tbl_name IN ({tables})) OR (type = 'trigger' AND name IN ({triggers}))) "
        "ORDER BY type, name"
    ).all()
    for kind, name, _ in saved:
        conn.exec_driver_sql(f'DROP {kind.upper()} "{name}"')
    return [sql for _, _, sql in saved]


def _restore_sqlite_rules(conn: Connection, saved: list[str]) -> None:
    for sql in saved:
        conn.exec_driver_sql(sql)


def _sqlite_instants() -> Callable[[int | None], str | None]:
    """Epoch seconds -> the text SQLAlchemy stores for a UTC instant on SQLite (fast: two lookups)."""
    clock_times = [f"{h:02d}:{m:02d}:{s:02d}.000000" for h in range(24) for m in range(60) for s in range(60)]
    days: dict[int, str] = {}

    def instant(epoch: int | None) -> str | None:
        if epoch is None:
            return None
        day, sec = divmod(epoch, 86400)
        prefix = days.get(day)
        if prefix is None:
            prefix = days[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d ")
        return prefix + clock_times[sec]

    return instant


def _aware(epoch: int | None) -> datetime | None:
    return None if epoch is None else _EPOCH + timedelta(seconds=epoch)


def _iso(epoch: int) -> str:
    return (_EPOCH + timedelta(seconds=epoch)).isoformat()


def _epoch(instant: datetime) -> int:
    return int((instant - _EPOCH).total_seconds())


_APPT_COLS = (
    "id", "external_id", "location_id", "provider_id", "room_id", "type_id", "customer_id", "start_at",
    "end_at", "block_start", "block_end", "group_key", "status", "booked_at", "booked_by", "source",
    "intake_answers", "intake_complete", "notes", "confirmed_at", "checked_in_at", "completed_at",
    "cancelled_at", "cancel_reason", "late_cancel", "reschedule_count", "calendar_event_id", "calendar_etag",
    "updated_at",
)  # fmt: skip
_HIST_COLS = ("appointment_id", "at", "actor_id", "kind", "old", "new", "manual")
_INQ_COLS = ("location_id", "type_id", "customer_id", "channel", "received_at", "appointment_id", "notes")
_CUST_COLS = ("id", "name", "email", "phone", "home_location_id", "created_at")
_JSON_COLS = {"intake_answers", "old", "new"}
_TIME_COLS = {
    "start_at", "end_at", "block_start", "block_end", "booked_at", "confirmed_at", "checked_in_at",
    "completed_at", "cancelled_at", "updated_at", "at", "received_at", "created_at",
}  # fmt: skip


class _Builder:
    def __init__(self, target: int, seed: int, now: datetime, progress: bool) -> None:
        self.target = target
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = now
        self.now_e = _epoch(now)
        self.today = now.date()
        self.first_day = self.today - timedelta(days=HISTORY_DAYS)
        self.last_day = self.today + timedelta(days=AHEAD_DAYS)
        self.ps_e = _epoch(datetime.combine(self.first_day, time.min, tzinfo=UTC))
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
        self.first_loc: _Loc | None = None

    # -- database plumbing ---------------------------------------------------------------------

    def _bulk(self, conn: Connection, table, cols: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        if self.sqlite:
            sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            conn.exec_driver_sql(sql, rows)
        else:
            conn.execute(table.insert(), [dict(zip(cols, row, strict=True)) for row in rows])

    def _next_id(self, conn: Connection, model) -> int:
        return (conn.scalar(select(func.max(model.id))) or 0) + 1

    def _flush(self, conn: Connection) -> None:
        if not self.appt_buf:
            return
        self._bulk(conn, Appointment.__table__, _APPT_COLS, self.appt_buf)
        self._bulk(conn, AppointmentHistory.__table__, _HIST_COLS, self.hist_buf)
        self._bulk(conn, Inquiry.__table__, _INQ_COLS, self.inq_buf)
        self.counts["appointments"] += len(self.appt_buf)
        self.counts["history"] += len(self.hist_buf)
        self.counts["inquiries"] += len(self.inq_buf)
        self.appt_buf, self.hist_buf, self.inq_buf = [], [], []
        self.note(f"{self.counts['appointments']:,} of ~{self.target:,} appointments")

    def note(self, what: str) -> None:
        if self.progress:
            print(f"seed-demo: {what} ({clock.perf_counter() - self.started:.1f} s)", file=sys.stderr, flush=True)

    # -- the run -------------------------------------------------------------------------------

    def run(self, conn: Connection, hashes: dict[str, str]) -> Summary:
        self.sqlite = conn.dialect.name == "sqlite"
        if self.sqlite:
            self.ts = _sqlite_instants()
            self.js = lambda s: s
        else:
            self.ts = _aware
            self.js = json.loads
        n_loc, n_prov, n_cust = sizing(self.target)
        self._catalogue(conn)
        self._places(conn, n_loc, n_prov)
        self._users(conn, hashes)
        saved = None
        if self.sqlite:
            conn.exec_driver_sql("PRAGMA cache_size=-400000")
            saved = _suspend_sqlite_rules(conn)
        self._customers(conn, n_cust)
        self.next_appt = self._next_id(conn, Appointment)
        self._walk(conn)
        self._flush(conn)
        self.note("inquiries and waitlist")
        self._lost_inquiries(conn)
        self._waitlist(conn)
        if saved is not None:
            self.note("rebuilding indexes")
            _restore_sqlite_rules(conn, saved)
            conn.exec_driver_sql("PRAGMA cache_size=-2000")
        else:
            for model in (Location, Room, Provider, AppointmentType, Customer, User, Appointment):
                t = model.__tablename__
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {t}))")
                )
        conn.execute(
            insert(AuditLog),
            {
                "at": self.now,
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

    # -- catalogue, places, people -------------------------------------------------------------

    def _catalogue(self, conn: Connection) -> None:
        next_id = self._next_id(conn, AppointmentType)
        rows = []
        for i, t in enumerate(TYPES):
            self.type_ids[t.name] = next_id + i
            rows.append(
                {
                    "id": next_id + i,
                    "name": t.name,
                    "duration_min": t.duration,
                    "buffer_before_min": t.before,
                    "buffer_after_min": t.after,
                    "min_notice_min": t.min_notice,
                    "horizon_days": t.horizon,
                    "cancellation_window_hours": t.window,
                    "reschedule_notice_hours": t.reschedule_notice,
                    "capacity": t.capacity,
                    "required_skills": list(t.skills),
                    "room_kind": t.room_kind,
                    "intake_fields": [{"name": n, "label": label, "required": req} for n, label, req in t.intake],
                    "routing_policy": t.routing,
                    "color": t.color,
                    "active": True,
                }
            )
            # Answers: three complete variants, and one with a required field missing.
            complete = []
            for v in range(3):
                answers = {
                    n: _INTAKE_ANSWERS[n][(v + k) % len(_INTAKE_ANSWERS[n])] for k, (n, _, _) in enumerate(t.intake)
                }
                complete.append(json.dumps(answers))
            required = [n for n, _, req in t.intake if req]
            incomplete = {n: _INTAKE_ANSWERS[n][0] for n, _, req in t.intake if not req}
            self.intake[t.name] = (complete, json.dumps(incomplete) if required else "")
        conn.execute(insert(AppointmentType), rows)
        self.counts["appointment_types"] = len(rows)

    def _places(self, conn: Connection, n_loc: int, n_prov: int) -> None:
        rng = self.rng
        # Locations: the seed list first, then the same neighbourhoods with a suffix.
        loc_id = self._next_id(conn, Location)
        self.locs: list[_Loc] = []
        loc_rows = []
        for i in range(n_loc):
            base, tz, city, area = _LOCATION_SEEDS[i % len(_LOCATION_SEEDS)]
            rnd = i // len(_LOCATION_SEEDS)
            if rnd == 0:
                name = base
            elif rnd <= len(_LOCATION_SUFFIXES):
                name = f"{base} {_LOCATION_SUFFIXES[rnd - 1]}"
            else:
                name = f"{base} {rnd + 1}"
            loc = _Loc(id=loc_id + i, index=i, name=name, tz=tz, area=area)
            self.locs.append(loc)
            street = f"{rng.randint(1, 400)} {_STREETS[rng.randrange(len(_STREETS))]}"
            loc_rows.append(
                {"id": loc.id, "name": name, "timezone": tz, "address": f"{street}, {city}", "active": True}
            )
        conn.execute(insert(Location), loc_rows)
        self.first_loc = self.locs[0]
        self.counts["locations"] = n_loc
        by_zone: dict[str, list[_Loc]] = {}
        for loc in self.locs:
            by_zone.setdefault(loc.tz, []).append(loc)

        # Providers: doctors, physiotherapists and dietitians, round robin over locations.
        pattern = ("doctor", "physio", "doctor", "dietitian", "doctor", "doctor", "physio", "doctor", "physio")
        prov_id = self._next_id(conn, Provider)
        self.provs: list[_Prov] = []
        used_names: set[str] = set()
        for i in range(n_prov):
            kind = pattern[i % len(pattern)]
            if kind == "doctor":
                skills = ["general"] + (["procedure"] if i == 2 or rng.random() < 0.35 else [])
            elif kind == "physio":
                skills = ["physio"] + (["group"] if i == 1 or rng.random() < 0.6 else [])
            else:
                skills = ["nutrition"]
            while True:
                first, last = _FIRST[rng.randrange(len(_FIRST))], _LAST[rng.randrange(len(_LAST))]
                if f"{first} {last}" not in used_names or len(used_names) > 5000:
                    break
            used_names.add(f"{first} {last}")
            name = {
                "doctor": f"Dr. {first} {last}",
                "physio": f"{first} {last}, PT",
                "dietitian": f"{first} {last}, RD",
            }[kind]
            email = f"{first}.{last}.{i + 1}@clinic.example".lower().replace("'", "")
            home = self.locs[i % n_loc]
            p = _Prov(id=prov_id + i, index=i, name=name, email=email, kind=kind, skills=skills, tz=home.tz)
            p.demand = rng.uniform(0.85, 1.15)
            p.types = [t for t in TYPES if set(t.skills) <= set(skills)]
            p.cum = list(accumulate(t.weight for t in p.types))
            p.locations = [home]
            siblings = [loc for loc in by_zone[home.tz] if loc is not home]
            if siblings and i != 0 and rng.random() < 0.3:
                p.locations.append(siblings[rng.randrange(len(siblings))])
            self.provs.append(p)
        conn.execute(
            insert(Provider),
            [
                {
                    "id": p.id,
                    "name": p.name,
                    "email": p.email,
                    "skills": p.skills,
                    "calendar_id": None,
                    "active": True,
                }
                for p in self.provs
            ],
        )
        conn.execute(
            insert(provider_locations),
            [{"provider_id": p.id, "location_id": loc.id} for p in self.provs for loc in p.locations],
        )
        for p in self.provs:
            for loc in p.locations:
                loc.providers.append(p)
        self.counts["providers"] = n_prov

        # Rooms: an exam room per provider at the location, and the shared kinds.
        room_id = self._next_id(conn, Room)
        room_rows = []
        for loc in self.locs:
            physios = sum(1 for p in loc.providers if "physio" in p.skills)
            specs = [(f"Exam {k + 1}", "exam") for k in range(max(1, len(loc.providers)))]
            specs += [(f"Treatment {k + 1}", "treatment") for k in range(max(1, physios))]
            specs += [("Studio", "studio"), ("Procedure room", "procedure")]
            for name, kind in specs:
                room_rows.append({"id": room_id, "location_id": loc.id, "name": name, "kind": kind, "active": True})
                if kind == "exam":
                    loc.exam_rooms.append(room_id)
                else:
                    loc.shared_rooms.setdefault(kind, []).append(room_id)
                room_id += 1
        conn.execute(insert(Room), room_rows)
        self.counts["rooms"] = len(room_rows)

        # Weekly hours (local time), split by weekday between a provider's locations.
        wh_rows = []
        for p in self.provs:
            days = [0, 1, 2, 3, 4]
            if p.kind == "physio" and rng.random() < 0.45:
                days.append(5)
            if p.kind == "dietitian" or rng.random() < 0.2:
                days.remove(days[rng.randrange(len(days) - 1)])
            start = rng.choice((450, 480, 480, 510, 540))
            lunch = rng.choice((720, 750))
            end = rng.choice((960, 990, 1020, 1020, 1050, 1080))
            late_day = days[rng.randrange(len(days))] if rng.random() < 0.4 else None
            split = len(days) - 2 if len(p.locations) > 1 else len(days)
            for k, wd in enumerate(days):
                loc = p.locations[0] if k < split else p.locations[1]
                if wd == 5:
                    segments = [(540, 780)]
                else:
                    day_end = 1140 if wd == late_day else end
                    day_start = 600 if wd == late_day else start
                    segments = [(day_start, lunch), (lunch + 60, day_end)]
                loc.schedule[wd].append((p, segments))
                for s, e in segments:
                    wh_rows.append(
                        {
                            "provider_id": p.id,
                            "location_id": loc.id,
                            "weekday": wd,
                            "start_time": time(s // 60, s % 60),
                            "end_time": time(e // 60, e % 60),
                        }
                    )
        conn.execute(insert(WorkingHours), wh_rows)

        # Time off: a couple of vacations and a few afternoons per provider (local days).
        to_rows = []
        span = (self.last_day - self.first_day).days
        for p in self.provs:
            for _ in range(2 if rng.random() < 0.7 else 3):
                first = self.first_day + timedelta(days=rng.randrange(span - 5))
                length = rng.randint(3, 9)
                last = first + timedelta(days=length - 1)
                p.off_days.update(first + timedelta(days=k) for k in range(length))
                to_rows.append(
                    {
                        "provider_id": p.id,
                        "start_at": local_to_utc(first, time.min, p.tz),
                        "end_at": local_to_utc(last + timedelta(days=1), time.min, p.tz),
                        "reason": rng.choice(_VACATION_REASONS),
                    }
                )
            for _ in range(rng.randint(2, 4)):
                day = self.first_day + timedelta(days=rng.randrange(span))
                if day in p.off_days or day in p.half_days:
                    continue
                p.half_days.add(day)
                to_rows.append(
                    {
                        "provider_id": p.id,
                        "start_at": local_to_utc(day, time(_HALF_DAY_FROM // 60), p.tz),
                        "end_at": local_to_utc(day, time(_HALF_DAY_TO // 60), p.tz),
                        "reason": rng.choice(_PARTIAL_REASONS),
                    }
                )
        conn.execute(insert(TimeOff), to_rows)
        self.counts["time_off"] = len(to_rows)

        # Booking channels differ by location (a younger neighbourhood books online more).
        for loc in self.locs:
            online = rng.uniform(0.25, 0.45)
            google = rng.uniform(0.08, 0.2)
            phone = rng.uniform(0.2, 0.35)
            desk = max(0.05, 1 - online - google - phone)
            weights = {"front_desk": desk, "online": online, "phone": phone, "google": google}
            loc.src_cum = list(accumulate(weights[s] / sum(weights.values()) for s in SOURCES))
        self.short_src_cum = list(accumulate((0.45, 0.15, 0.35, 0.05)))

    def _users(self, conn: Connection, hashes: dict[str, str]) -> None:
        loc = self.first_loc
        provider = loc.providers[0]
        existing = set(conn.scalars(select(User.username).where(User.username.in_([u for u, _, _ in DEMO_USERS]))))
        next_id = self._next_id(conn, User)
        self.user_rows: list[tuple[str, str, str, str]] = []
        labels = {
            "front_desk": "front desk",
            "provider": "provider",
            "manager": "manager",
            "analyst": "analyst",
            "admin": "admin",
        }
        for username, password, role in DEMO_USERS:
            if role in (Role.FRONT_DESK, Role.MANAGER):
                scope, locs = loc.name, [loc]
            elif role == Role.PROVIDER:
                scope, locs = f"{provider.name} at {', '.join(x.name for x in provider.locations)}", provider.locations
            else:
                scope, locs = "all locations", []
            if username in existing:
                self.user_rows.append((labels[role], username, "(existing user, unchanged)", ""))
                continue
            uid = next_id
            next_id += 1
            conn.execute(
                insert(User),
                {
                    "id": uid,
                    "username": username,
                    "name": _USER_NAMES[username] or provider.name,
                    "email": f"{username}@demo.example",
                    "password_hash": hashes[username],
                    "role": role,
                    "all_locations": role in (Role.ANALYST, Role.ADMIN),
                    "provider_id": provider.id if role == Role.PROVIDER else None,
                    "active": True,
                    "created_at": self.now - timedelta(days=HISTORY_DAYS),
                },
            )
            if locs:
                conn.execute(insert(user_locations), [{"user_id": uid, "location_id": x.id} for x in locs])
            if role == Role.FRONT_DESK:
                self.desk_user = uid
            self.user_rows.append((labels[role], username, password, scope))

    def _customers(self, conn: Connection, n_cust: int) -> None:
        rng = self.rng
        first_id = self._next_id(conn, Customer)
        weights = [max(1, len(loc.providers)) for loc in self.locs]
        total = sum(weights)
        next_id = first_id
        span = self.now_e - self.ps_e
        rows = []
        for loc, w in zip(self.locs, weights, strict=True):
            size = max(10, n_cust * w // total)
            loc.pool = (next_id, size)
            for j in range(size):
                cid = next_id + j
                first, last = _FIRST[_randrange(rng, len(_FIRST))], _LAST[_randrange(rng, len(_LAST))]
                r = rng.random()
                email = None if r < 0.05 else f"{first}.{last}{cid}@example.com".lower().replace("'", "")
                if rng.random() < 0.07:
                    phone = None
                elif loc.area:
                    phone = f"+1 {loc.area}-555-01{_randrange(rng, 100):02d}"
                else:
                    phone = f"+44 20 7946 0{_randrange(rng, 1000):03d}"
                # The first 60% were customers before the history starts; the rest join over the year.
                if j < 0.6 * size:
                    created = self.ps_e - _randint(rng, 86400, 1000 * 86400)
                else:
                    created = self.ps_e + int(span * (j - 0.6 * size) / (0.4 * size))
                rows.append((cid, f"{first} {last}", email, phone, loc.id, self.ts(created)))
            next_id += size
        for k in range(0, len(rows), CHUNK):
            self._bulk(conn, Customer.__table__, _CUST_COLS, rows[k : k + CHUNK])
        self.counts["customers"] = len(rows)

    # -- the walk ------------------------------------------------------------------------------

    def _anchor(self, tz: str, day: date) -> int | None:
        """Epoch of local midnight for a day whose offset holds from 06:00 to 23:00 (true of every
        zone here: clocks change at night), or None when per-slot conversion is needed."""
        key = (tz, day)
        if key not in self.anchors:
            six = local_to_utc(day, time(6), tz)
            late = local_to_utc(day, time(23), tz)
            self.anchors[key] = _epoch(six) - 6 * 3600 if late - six == timedelta(hours=17) else None
        return self.anchors[key]

    def _day_factor(self, day: date) -> float:
        if (day.month, day.day) in ((12, 25), (1, 1)):
            return 0.0
        f = _WEEKDAY_DEMAND[day.weekday()] * _MONTH_DEMAND[day.month - 1]
        f *= 0.92 + 0.16 * min(1.0, max(0.0, (day - self.first_day).days / HISTORY_DAYS))  # the business grows
        ahead = (day - self.today).days
        if ahead > 1:  # upcoming weeks are not fully booked yet
            f *= max(0.3, 1 - 0.7 * (ahead - 1) / (AHEAD_DAYS - 1))
        return f

    def _walk(self, conn: Connection) -> None:
        rng = self.rng
        rand = rng.random
        days = [self.first_day + timedelta(days=k) for k in range((self.last_day - self.first_day).days + 1)]
        factors = [self._day_factor(d) for d in days]

        # Weighted working minutes per day, to steer the fill rate towards the requested count.
        weighted = []
        for day, fac in zip(days, factors, strict=True):
            wd = day.weekday()
            total = 0.0
            if fac > 0:
                for loc in self.locs:
                    for p, segments in loc.schedule[wd]:
                        if day in p.off_days:
                            continue
                        half = day in p.half_days
                        total += p.demand * sum(e - s for s, e in segments if not (half and e > _HALF_DAY_FROM))
            weighted.append(total * fac)
        remaining_w = sum(weighted)
        mean_block = sum(t.block * t.weight for t in TYPES) / sum(t.weight for t in TYPES)
        laid = 0
        walked = 0
        expected = 0.0
        now = self.now_e

        for day, fac, w in zip(days, factors, weighted, strict=True):
            if w <= 0:
                continue
            done = self.counts["appointments"] + len(self.appt_buf)
            per_block = done / expected if expected > 200 else 1.15
            blocks_per_min = laid / walked if walked > 2000 else 1 / mean_block
            fill = (self.target - done) / (per_block * blocks_per_min * remaining_w) if remaining_w > 0 else 0.0
            fill = min(1.5, max(0.0, fill))
            remaining_w -= w
            wd = day.weekday()
            for loc in self.locs:
                entries = loc.schedule[wd]
                if not entries:
                    continue
                anchor = self._anchor(loc.tz, day)
                busy: dict[int, list[tuple[int, int]]] = {}
                for p, segments in entries:
                    if day in p.off_days:
                        continue
                    half = day in p.half_days
                    prob = min(0.95, fill * fac * p.demand)
                    types, cum = p.types, p.cum
                    top = cum[-1]
                    exam = loc.exam_rooms[loc.providers.index(p)]
                    for s, e in segments:
                        if half and e > _HALF_DAY_FROM:
                            continue
                        walked += e - s
                        cur = s
                        while True:
                            t = types[bisect(cum, rand() * top)]
                            end_min = cur + t.block
                            if end_min > e:
                                break
                            laid += 1
                            expected += prob
                            if rand() < prob:
                                if anchor is not None:
                                    bs = anchor + cur * 60
                                    be = anchor + end_min * 60
                                else:
                                    bs = _epoch(local_to_utc(day, time(cur // 60, cur % 60), loc.tz))
                                    be = _epoch(local_to_utc(day, time(end_min // 60, end_min % 60), loc.tz))
                                start = bs + t.before * 60
                                if start - now > t.horizon * 86400:
                                    cur = end_min
                                    continue  # beyond the booking horizon
                                room = None
                                kind = t.room_kind
                                if kind == "exam":
                                    room = exam
                                elif kind is not None:
                                    for r in loc.shared_rooms[kind]:
                                        taken = busy.setdefault(r, [])
                                        if all(b1 <= bs or b0 >= be for b0, b1 in taken):
                                            taken.append((bs, be))
                                            room = r
                                            break
                                    else:
                                        cur = end_min
                                        continue  # no free room: the slot stays empty
                                end = start + t.duration * 60
                                if t.capacity > 1:
                                    key = f"{rng.getrandbits(128):032x}"
                                    for _ in range(_randint(rng, 3, t.capacity)):
                                        self._appointment(loc, p, t, room, bs, start, end, be, wd, key, False)
                                else:
                                    key = f"{rng.getrandbits(128):032x}"
                                    self._appointment(loc, p, t, room, bs, start, end, be, wd, key, True)
                            cur = end_min
            if len(self.appt_buf) >= CHUNK:
                self._flush(conn)

    def _lead(self, t: _TypeSpec) -> int:
        rng = self.rng
        u = rng.random()
        if u < t.short:
            lead = rng.uniform(0.2, 30) * 3600
        elif u < t.short + 0.6:
            lead = rng.expovariate(1 / t.mean_days) * 86400
        else:
            lead = rng.uniform(10, max(10, t.long_days)) * 86400
        lo = max(t.min_notice * 60, 900)
        return int(min(max(lead, lo), t.horizon * 86400))

    def _customer(self, loc: _Loc, at: int) -> int:
        rng = self.rng
        if rng.random() < 0.03:  # visiting another location of the group
            loc = self.locs[_randrange(rng, len(self.locs))]
        base, size = loc.pool
        frac = min(1.0, max(0.0, (at - self.ps_e) / (self.now_e - self.ps_e)))
        return base + _randrange(rng, max(1, min(size, int(size * (0.6 + 0.4 * frac)))))

    def _appointment(
        self,
        loc: _Loc,
        p: _Prov,
        t: _TypeSpec,
        room: int | None,
        bs: int,
        start: int,
        end: int,
        be: int,
        wd: int,
        key: str,
        may_rebook: bool,
        rebooked_after: int | None = None,
    ) -> None:
        rng = self.rng
        rand = rng.random
        now = self.now_e
        ts = self.ts
        aid = self.next_appt
        self.next_appt += 1
        future = start > now
        notice = max(t.min_notice * 60, 900)

        if rebooked_after is not None:  # a freed slot, taken by someone else
            booked = _randint(rng, rebooked_after + 60, min(start - notice, now))
        elif future:
            booked = now - int(rng.expovariate(1.0) * FUTURE_BOOKED_MEAN)
            booked = max(min(booked, start - notice), start - t.horizon * 86400)
        else:
            booked = start - self._lead(t)
        lead = start - booked
        lead_days = lead / 86400
        source = SOURCES[bisect(self.short_src_cum if lead < 86400 else loc.src_cum, rand())]
        customer = self._customer(loc, booked)
        staff = source in ("front_desk", "phone")
        actor = self.desk_user if staff and loc is self.first_loc else None

        status = None
        confirmed_at = checked_in_at = completed_at = cancelled_at = None
        cancel_reason = None
        late = False
        touched = booked

        # Cancellations: likelier the further ahead it was booked; upcoming ones only partly happened yet.
        pc = CANCEL_BASE * t.cancel * (0.6 + 0.8 * min(lead_days, 30) / 30)
        if future:
            pc *= (now - booked) / lead
        if rand() < pc:
            latest = min(start - 300, now)
            if latest > booked + 120:
                window = t.window * 3600
                if rand() < 0.38 and start - window < latest:
                    cancelled_at = _randint(rng, max(booked + 60, start - window), latest)
                else:
                    cancelled_at = _randint(rng, booked + 60, latest)
                status = "cancelled"
                late = start - cancelled_at < window
                by_staff = rand() < 0.08
                cancel_reason = _choice(rng, _STAFF_CANCEL_REASONS if by_staff else _CANCEL_REASONS)
                touched = cancelled_at
                manual = by_staff or staff or rand() < 0.3
                self.hist_buf.append(
                    (
                        aid,
                        ts(cancelled_at),
                        actor if manual else None,
                        "status",
                        self.js('{"status": "booked"}'),
                        self.js(f'{{"status": "cancelled", "late_cancel": {"true" if late else "false"}}}'),
                        manual,
                    )
                )

        if status is None:
            if future:
                ahead = start - now
                if ahead < 4 * 86400:  # reminders go out four days ahead; most answer
                    lo = max(booked + 60, start - 4 * 86400)
                    if rand() < (0.7 if ahead < 2 * 86400 else 0.5) and now > lo:
                        confirmed_at = _randint(rng, lo, now)
                elif rand() < 0.15 and now > booked + 60:  # confirmed right when booking
                    confirmed_at = _randint(rng, booked + 60, min(now, booked + 3600))
                status = "confirmed" if confirmed_at else "booked"
            else:
                if lead > 6 * 3600 and rand() < 0.8:
                    lo, hi = max(booked + 60, start - 3 * 86400), start - 3600
                    if hi > lo:
                        confirmed_at = _randint(rng, lo, hi)
                if end > now:  # in progress
                    status = "checked_in"
                    checked_in_at = max(booked + 30, start - _randint(rng, 0, 600))
                else:
                    pns = (
                        NO_SHOW_BASE
                        * t.no_show
                        * _WEEKDAY_NO_SHOW[wd]
                        * (0.4 + 1.6 * min(lead_days, 40) / 40)
                        * (0.7 if confirmed_at else 1.3)
                        * _SOURCE_NO_SHOW[source]
                    )
                    if rand() < pns:
                        status = "no_show"
                        marked = min(start + 900, now)
                        self.hist_buf.append(
                            (
                                aid,
                                ts(marked),
                                actor,
                                "status",
                                self.js('{"status": "confirmed"}' if confirmed_at else '{"status": "booked"}'),
                                self.js('{"status": "no_show"}'),
                                True,
                            )
                        )
                        touched = marked
                    else:
                        status = "completed"
                        checked_in_at = max(booked + 30, start - _randint(rng, 0, 900))
                        completed_at = min(end + _randint(rng, 0, 600), now)
                        touched = completed_at
            if confirmed_at and confirmed_at > touched:
                touched = confirmed_at
            if checked_in_at and checked_in_at > touched:
                touched = checked_in_at

        # Reschedules: the same appointment moved once or twice before it happened.
        reschedules = 0
        if rand() < RESCHEDULE_RATE * (1.5 if lead_days > 14 else 1.0):
            n = 1 if rand() < 0.8 else 2
            positions = [start + _choice(rng, (-7, -3, -2, -1, 1, 2, 3, 7, 14)) * 86400 for _ in range(n)] + [start]
            last = min(min(positions), now, cancelled_at or now) - 3600
            if min(positions) > booked + 3 * 3600 and last > booked + 120:
                moments = sorted(_randint(rng, booked + 60, last) for _ in range(n))
                duration = end - start
                manual = staff or rand() < 0.3
                for k in range(n):
                    old, new = positions[k], positions[k + 1]
                    self.hist_buf.append(
                        (
                            aid,
                            ts(moments[k]),
                            actor if manual else None,
                            "reschedule",
                            self.js(f'{{"start_at": "{_iso(old)}", "end_at": "{_iso(old + duration)}"}}'),
                            self.js(f'{{"start_at": "{_iso(new)}", "end_at": "{_iso(new + duration)}"}}'),
                            manual,
                        )
                    )
                reschedules = n
                touched = max(touched, moments[-1])

        complete_variants, incomplete = self.intake[t.name]
        if incomplete and rand() < ((0.2 if source == "online" else 0.1) if future else 0.02):
            answers, intake_ok = incomplete, False
        else:
            answers, intake_ok = complete_variants[_randrange(rng, 3)], True

        self.appt_buf.append(
            (
                aid,
                f"EHR-{aid:07d}" if booked < self.go_live_e else None,
                loc.id,
                p.id,
                room,
                self.type_ids[t.name],
                customer,
                ts(start),
                ts(end),
                ts(bs),
                ts(be),
                key,
                status,
                ts(booked),
                actor if staff else None,
                source,
                self.js(answers),
                intake_ok,
                _NOTES[_randrange(rng, len(_NOTES))] if rand() < 0.02 else None,
                ts(confirmed_at),
                ts(checked_in_at),
                ts(completed_at),
                ts(cancelled_at),
                cancel_reason,
                late,
                reschedules,
                None,
                None,
                ts(touched),
            )
        )
        self.statuses[status] += 1

        # The inquiry that led to this booking, for some channels.
        if rand() < _INQUIRY_SHARE[source]:
            received = booked - _randint(rng, 300, 2 * 86400)
            self.inq_buf.append(
                (loc.id, self.type_ids[t.name], customer, _INQUIRY_CHANNEL[source], ts(received), aid, None)
            )
            self.counts["inquiries_converted"] += 1

        # A cancelled slot with time left is often taken by someone else.
        if (
            status == "cancelled"
            and may_rebook
            and rand() < REBOOK_RATE
            and min(start - notice, now) > cancelled_at + 600
        ):
            key = f"{rng.getrandbits(128):032x}"
            self._appointment(loc, p, t, room, bs, start, end, be, wd, key, False, rebooked_after=cancelled_at)

    # -- inquiries that went nowhere, and the waitlist -------------------------------------------

    def _lost_inquiries(self, conn: Connection) -> None:
        rng = self.rng
        converted = self.counts["inquiries_converted"]
        lost = round(converted * (0.45 + 0.15 * rng.random()))  # 62-69% of inquiries convert
        weights = list(accumulate(max(1, len(loc.providers)) for loc in self.locs))
        channels = ("phone", "web", "google", "email", "walk_in")
        channel_cum = list(accumulate((0.4, 0.3, 0.15, 0.1, 0.05)))
        rows = []
        for _ in range(lost):
            loc = self.locs[bisect(weights, rng.random() * weights[-1])]
            received = _randint(rng, self.ps_e, self.now_e)
            t = TYPES[_randrange(rng, len(TYPES))]
            customer = self._customer(loc, received) if rng.random() < 0.55 else None
            rows.append(
                (
                    loc.id,
                    self.type_ids[t.name] if rng.random() < 0.8 else None,
                    customer,
                    channels[bisect(channel_cum, rng.random())],
                    self.ts(received),
                    None,
                    _choice(rng, _INQUIRY_LOST),
                )
            )
        for k in range(0, len(rows), CHUNK):
            self._bulk(conn, Inquiry.__table__, _INQ_COLS, rows[k : k + CHUNK])
        self.counts["inquiries"] += len(rows)

    def _waitlist(self, conn: Connection) -> None:
        rng = self.rng
        rows = []
        statuses = ("waiting", "waiting", "waiting", "waiting", "booked", "expired", "cancelled")
        notes = (None, None, "Prefers mornings", "Any provider is fine", "After school hours only", "Short notice OK")
        per_location = max(2, min(12, 3 + self.target // 20_000))
        for loc in self.locs:
            kinds = [t for t in TYPES if any(t in p.types for p in loc.providers)] or list(TYPES)
            for _ in range(per_location):
                t = kinds[_randrange(rng, len(kinds))]
                status = statuses[_randrange(rng, len(statuses))]
                created = self.now_e - _randint(rng, 3600, 20 * 86400)
                earliest = self.today + timedelta(days=_randint(rng, -7 if status != "waiting" else 0, 10))
                providers = [p for p in loc.providers if t in p.types]
                rows.append(
                    {
                        "customer_id": self._customer(loc, created),
                        "location_id": loc.id,
                        "type_id": self.type_ids[t.name],
                        "provider_id": providers[0].id if providers and rng.random() < 0.3 else None,
                        "earliest_date": earliest,
                        "latest_date": earliest + timedelta(days=_randint(rng, 3, 21)),
                        "notes": _choice(rng, notes),
                        "status": status,
                        "created_at": _aware(created),
                        "created_by": self.desk_user if loc is self.first_loc else None,
                    }
                )
        if rows:
            conn.execute(insert(WaitlistEntry), rows)
        self.counts["waitlist"] = len(rows)

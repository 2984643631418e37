"""A small, explicit world for tests: two locations in different time zones, rooms, providers
with weekly hours, appointment types, customers, and one user per role; the fixed clock the
scheduling tests share (`NOW`, `MONDAY`, `at`), booking through the real service (`book`), and
readers of what the services wrote (`audit_rows`, `OVERLAPS`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.base.config import reset_settings
from core.base.db import dispose_engines, read_session, unit_of_work
from core.base.models import AppointmentType, AuditLog, Customer, Location, Provider, Role, Room, User, WorkingHours
from core.scheduling import booking
from core.security.access import Actor, actor_for
from core.security.passwords import hash_password

PASSWORD = "correct-horse-42"

# The scheduling tests' clock: "now" is a Wednesday, the appointments go on the Monday after.
NOW = datetime(2030, 1, 2, 12, 0, tzinfo=UTC)
MONDAY = date(2030, 1, 7)

# Active appointments of different group sessions whose held blocks overlap on a provider or room.
OVERLAPS = text(
    """SELECT count(*) FROM appointments a JOIN appointments b
       ON a.id < b.id AND a.status <> 'cancelled' AND b.status <> 'cancelled'
          AND a.group_key <> b.group_key
          AND (a.provider_id = b.provider_id OR a.room_id = b.room_id)
          AND a.block_start < b.block_end AND b.block_start < a.block_end"""
)


@dataclass
class World:
    locations: dict[str, Location] = field(default_factory=dict)
    rooms: dict[str, Room] = field(default_factory=dict)
    providers: dict[str, Provider] = field(default_factory=dict)
    types: dict[str, AppointmentType] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)


def _hours(session: Session, provider: Provider, location: Location, days=range(0, 5), start=time(9), end=time(17)):
    for wd in days:
        session.add(
            WorkingHours(provider=provider, location_id=location.id, weekday=wd, start_time=start, end_time=end)
        )


def build_world(session: Session, password_rounds: int = 4) -> World:
    w = World()
    w.locations["downtown"] = Location(name="Downtown", timezone="America/New_York", address="1 Main St")
    w.locations["harbor"] = Location(name="Harbor", timezone="Europe/London", address="2 Quay Rd")
    session.add_all(w.locations.values())
    session.flush()
    dt, hb = w.locations["downtown"], w.locations["harbor"]
    w.rooms["dt1"] = Room(location_id=dt.id, name="Exam 1", kind="exam")
    w.rooms["dt2"] = Room(location_id=dt.id, name="Exam 2", kind="exam")
    w.rooms["hb1"] = Room(location_id=hb.id, name="Studio", kind="studio")
    session.add_all(w.rooms.values())
    w.providers["rao"] = Provider(
        name="Dr. Rao", email="rao@example.test", skills=["general", "followup"], locations=[dt]
    )
    w.providers["kim"] = Provider(name="Dr. Kim", email="kim@example.test", skills=["general"], locations=[dt])
    w.providers["lee"] = Provider(name="Sam Lee", email="lee@example.test", skills=["general", "group"], locations=[hb])
    session.add_all(w.providers.values())
    session.flush()
    _hours(session, w.providers["rao"], dt)
    _hours(session, w.providers["kim"], dt)
    _hours(session, w.providers["lee"], hb)
    w.types["consult"] = AppointmentType(
        name="Consultation", duration_min=30, buffer_after_min=0, cancellation_window_hours=24,
        required_skills=["general"], room_kind="exam", horizon_days=90,
        intake_fields=[{"name": "reason", "label": "Reason for visit", "required": True}],
    )  # fmt: skip
    w.types["followup"] = AppointmentType(
        name="Follow-up", duration_min=15, buffer_before_min=5, buffer_after_min=10, required_skills=["followup"]
    )
    w.types["class"] = AppointmentType(
        name="Group class", duration_min=60, capacity=6, required_skills=["group"], room_kind="studio"
    )
    session.add_all(w.types.values())
    w.customers["ada"] = Customer(
        name="Ada Lovelace", email="ada@example.test", phone="+12125550100", home_location_id=dt.id
    )
    w.customers["alan"] = Customer(
        name="Alan Turing", email="alan@example.test", phone="+442079460000", home_location_id=dt.id
    )
    w.customers["mary"] = Customer(
        name="Mary Somerville", email="mary@example.test", phone="+442079460001", home_location_id=hb.id
    )
    session.add_all(w.customers.values())
    session.flush()
    pw = hash_password(PASSWORD, rounds=password_rounds)
    specs = {
        "frontdesk": (Role.FRONT_DESK, [dt], None),
        "provider": (Role.PROVIDER, [dt], w.providers["rao"].id),
        "manager": (Role.MANAGER, [dt], None),
        "analyst": (Role.ANALYST, [], None),
        "admin": (Role.ADMIN, [], None),
        "harbordesk": (Role.FRONT_DESK, [hb], None),
        "norole": (None, [dt], None),
    }
    for username, (role, locs, provider_id) in specs.items():
        user = User(
            username=username, name=username.title(), email=f"{username}@example.test", password_hash=pw,
            role=role, locations=locs, provider_id=provider_id,
        )  # fmt: skip
        session.add(user)
        w.users[username] = user
    session.flush()
    w.actors = {name: actor_for(user) for name, user in w.users.items()}
    return w


def world() -> World:
    """Build the world in its own committed transaction."""
    with unit_of_work() as session:
        return build_world(session)


def use_database(url: str, monkeypatch) -> None:
    """Point the app's settings (and so services, pages and the CLI) at the database at `url`."""
    dispose_engines()
    monkeypatch.setenv("DATABASE_URL", url)
    reset_settings()


def at(hh: int, mm: int = 0, day: date = MONDAY) -> datetime:
    """A New York wall-clock time on `day` as UTC (January: UTC-5)."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC) + timedelta(hours=5)


def desk(location: str) -> str:
    """The front-desk user of a location of the world."""
    return "harbordesk" if location == "harbor" else "frontdesk"


def book(
    w: World,
    start: datetime,
    type_: str = "consult",
    provider: str | None = "rao",
    customer: str = "ada",
    actor: str | None = None,
    location: str = "downtown",
    **kw,
) -> booking.BookingResult:
    """Book through the real service, as the location's front desk unless `actor` says otherwise."""
    return booking.book(
        w.actors[actor or desk(location)],
        type_id=w.types[type_].id,
        location_id=w.locations[location].id,
        customer_id=w.customers[customer].id,
        provider_id=w.providers[provider].id if provider else None,
        start=start,
        now=kw.pop("now", NOW),
        **kw,
    )


def audit_rows(*criteria, fields: Sequence[str] | None = None, **equals) -> list:
    """Audit rows in the order written, filtered by SQL criteria and column=value pairs: AuditLog
    objects (usable after the session ends), or tuples of `fields` when given."""
    query = select(AuditLog).where(*criteria, *(getattr(AuditLog, k) == v for k, v in equals.items()))
    with read_session() as s:
        rows = list(s.scalars(query.order_by(AuditLog.id)))
        s.expunge_all()
    if fields is None:
        return rows
    return [tuple(getattr(row, f) for f in fields) for row in rows]


def audit_dicts(*criteria, **equals) -> list[dict]:
    """`audit_rows` as one dict per row, keyed by column name."""
    columns = [c.name for c in AuditLog.__table__.columns]
    return [{c: getattr(row, c) for c in columns} for row in audit_rows(*criteria, **equals)]


def many_customers(w: World, n: int, location: str = "downtown") -> list[int]:
    """`n` new customers at a location (for storms where each attempt is someone else)."""
    with unit_of_work() as session:
        rows = [Customer(name=f"Storm Customer {i}", home_location_id=w.locations[location].id) for i in range(n)]
        session.add_all(rows)
        session.flush()
        return [c.id for c in rows]


def shown(markdown: str) -> str:
    """What a person reads of a message drawn through `pages.safe.plain`: its Markdown escapes and
    the zero-width spaces that stop auto-linking are invisible."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "").replace("  \n", "\n")

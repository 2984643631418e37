"""A small, explicit world for tests: two locations in different time zones, rooms, providers
with weekly hours, appointment types, customers, and one user per role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from sqlalchemy.orm import Session

from core.base.db import unit_of_work
from core.base.models import AppointmentType, Customer, Location, Provider, Role, Room, User, WorkingHours
from core.security.access import Actor, actor_for
from core.security.passwords import hash_password

PASSWORD = "correct-horse-42"


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
        name="Ada Lovelace", email="ada@example.test", phone="+1 555 0100", home_location_id=dt.id
    )
    w.customers["alan"] = Customer(
        name="Alan Turing", email="alan@example.test", phone="+44 20 7946 0000", home_location_id=dt.id
    )
    w.customers["mary"] = Customer(
        name="Mary Somerville", email="mary@example.test", phone="+44 20 7946 0001", home_location_id=hb.id
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

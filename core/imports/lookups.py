"""What an import looks up in the database before it writes: locations, providers and types by
name (case-insensitive), customers and appointments already there, and the time the file's
providers are already held (for the overlap rule). Reads in chunks, a few queries per import."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.models import Appointment, AppointmentType, Customer, Location, Provider, Status

CHUNK = 900  # ids per IN (...) list: under SQLite's 999 bound parameters
ONE_DAY = timedelta(days=1)
# What an import compares to decide "updated" or "unchanged".
APPOINTMENT_FIELDS = (
    "location_id", "provider_id", "type_id", "customer_id", "start_at", "end_at", "block_start", "block_end",
    "status", "booked_at", "cancelled_at", "late_cancel",
)  # fmt: skip


def chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass(frozen=True)
class Place:
    id: int  # negative: to be created by this import
    name: str
    timezone: str
    zone: ZoneInfo


@dataclass(frozen=True)
class TypeInfo:
    id: int
    name: str
    buffer_before: timedelta
    buffer_after: timedelta
    cancellation_window: timedelta
    capacity: int


@dataclass
class Catalog:
    """Locations, providers and types by lower-cased name (providers by email too)."""

    locations: dict[str, Place]
    providers: dict[str, tuple[int, str]]
    types: dict[str, TypeInfo]
    new_locations: list[Place] = field(default_factory=list)

    @classmethod
    def load(cls, session: Session) -> Catalog:
        locations = {
            name.lower(): Place(id_, name, tz, ZoneInfo(tz))
            for id_, name, tz in session.execute(select(Location.id, Location.name, Location.timezone))
        }
        providers: dict[str, tuple[int, str]] = {}
        for id_, name, email in session.execute(select(Provider.id, Provider.name, Provider.email)):
            providers.setdefault(name.lower(), (id_, name))
            providers.setdefault(email.lower(), (id_, name))
        types = {
            r.name.lower(): TypeInfo(
                r.id,
                r.name,
                timedelta(minutes=r.buffer_before_min),
                timedelta(minutes=r.buffer_after_min),
                timedelta(hours=r.cancellation_window_hours),
                r.capacity,
            )
            for r in session.execute(
                select(
                    AppointmentType.id,
                    AppointmentType.name,
                    AppointmentType.buffer_before_min,
                    AppointmentType.buffer_after_min,
                    AppointmentType.cancellation_window_hours,
                    AppointmentType.capacity,
                )
            )
        }
        return cls(locations, providers, types)

    def add_location(self, name: str, timezone: str) -> Place:
        place = Place(-(len(self.new_locations) + 1), name, timezone, ZoneInfo(timezone))
        self.locations[name.lower()] = place
        self.new_locations.append(place)
        return place


def existing_appointments(session: Session, external_ids: list[str]) -> dict[str, dict]:
    """external_id -> the appointment's compared fields (and its id and group key)."""
    cols = [Appointment.id, Appointment.external_id, Appointment.group_key] + [
        getattr(Appointment, f) for f in APPOINTMENT_FIELDS
    ]
    out: dict[str, dict] = {}
    for part in chunks(external_ids):
        for row in session.execute(select(*cols).where(Appointment.external_id.in_(part))):
            out[row.external_id] = row._asdict()
    return out


def existing_customers(session: Session, column, keys: Iterable[str]) -> dict[str, dict]:
    """key -> {id, name, email, phone} for customers whose `column` is one of `keys`."""
    out: dict[str, dict] = {}
    for part in chunks(sorted(set(keys))):
        query = select(Customer.id, Customer.name, Customer.email, Customer.phone, column.label("key")).where(
            column.in_(part)
        )
        for row in session.execute(query.order_by(Customer.id)):
            out.setdefault(row.key, {"id": row.id, "name": row.name, "email": row.email, "phone": row.phone})
    return out


class HeldTime:
    """The blocks each provider already holds (active appointments), plus the ones this import
    adds as it goes: `clash` answers whether a new block would overlap one of them. Blocks are
    at most a day long, so only those starting in the day before the new one can reach it."""

    def __init__(self) -> None:
        self._starts: dict[int, list[datetime]] = {}
        self._items: dict[int, list[tuple[datetime, datetime, str, str]]] = {}

    def load(self, session: Session, spans: dict[int, tuple[datetime, datetime]], skip_ids: set[int]) -> None:
        """Existing blocks of each provider within its span, except the appointments in `skip_ids`
        (the ones this import replaces)."""
        for provider_id, (lo, hi) in spans.items():
            query = (
                select(Appointment.id, Appointment.block_start, Appointment.block_end, Appointment.group_key)
                .where(
                    Appointment.provider_id == provider_id,
                    Appointment.status != Status.CANCELLED.value,
                    Appointment.block_start >= lo - ONE_DAY,
                    Appointment.block_start < hi,
                    Appointment.block_end.is_not(None),
                )
                .order_by(Appointment.block_start)
            )
            for id_, start, end, key in session.execute(query):
                if id_ not in skip_ids:
                    self.add(provider_id, start, end, key, f"appointment #{id_}")

    def add(self, provider_id: int, start: datetime, end: datetime, group_key: str, label: str) -> None:
        starts = self._starts.setdefault(provider_id, [])
        items = self._items.setdefault(provider_id, [])
        i = bisect.bisect_right(starts, start)
        starts.insert(i, start)
        items.insert(i, (start, end, group_key, label))

    def clash(self, provider_id: int, start: datetime, end: datetime, group_key: str) -> tuple | None:
        starts = self._starts.get(provider_id)
        if not starts:
            return None
        items = self._items[provider_id]
        for i in range(bisect.bisect_right(starts, start - ONE_DAY), bisect.bisect_left(starts, end)):
            s, e, key, label = items[i]
            if s < end and e > start and key != group_key:
                return s, e, label
        return None

"""What a person recognises in an audit row: the names behind its ids and its times in a zone.

"appointment 23666" reads "Ada Lovelace · Consultation · Dr. Rao · Mon 7 Jan 10:00" (the
appointment's own local time), and before/after values such as `{"customer_id": 244, "type_id":
4, "start": "2030-01-07T15:00:00+00:00"}` read "customer: Ada Lovelace (#244) · type:
Consultation (#4) · start: Mon 7 Jan 10:00". Names are looked up in a few batched queries per
page of rows; ids stay beside them, since names change and ids do not."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from core.base.models import (
    Appointment,
    AppointmentType,
    Customer,
    Location,
    Provider,
    Room,
    User,
    WaitlistEntry,
    WaitlistOffer,
)
from core.scheduling.labels import day_label
from core.scheduling.named import with_names
from core.security import access
from core.security.access import Actor

# The id keys of before/after values, by the kind of thing they name.
ID_KINDS = {
    "customer_id": "customer", "type_id": "type", "appointment_type_id": "type", "provider_id": "provider",
    "room_id": "room", "location_id": "location", "home_location_id": "location", "user_id": "user",
    "appointment_id": "appointment", "booked_appointment_id": "appointment", "entry_id": "waitlist_entry",
}  # fmt: skip
# The kind of thing a row's own entity id names.
ENTITY_KINDS = {
    "customer": "customer", "appointment_type": "type", "provider": "provider", "room": "room",
    "location": "location", "user": "user", "appointment": "appointment", "waitlist_entry": "waitlist_entry",
    "waitlist_offer": "waitlist_offer",
}  # fmt: skip
TIME_KEYS = {"start", "end", "start_at", "end_at", "new_start", "old_start"}


def viewer_zone(session: Session, actor: Actor) -> str:
    """The time zone the viewer works in: that of their first location (by id), else UTC."""
    zone = session.scalar(
        select(Location.timezone)
        .where(Location.active.is_(True), access.location_filter(actor, Location.id))
        .order_by(Location.id)
        .limit(1)
    )
    return zone or "UTC"


def local_text(instant: datetime, zone: str) -> str:
    """'Mon 7 Jan 2030 10:00' in `zone`."""
    local = instant.astimezone(ZoneInfo(zone))
    return f"{day_label(local.date())} {local.year} {local:%H:%M}"


def _ident(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


class Names:
    """The names behind the ids that `rows` (audit search rows) mention."""

    def __init__(self, session: Session, rows: list[dict]) -> None:
        wanted: dict[str, set[int]] = defaultdict(set)
        for row in rows:
            kind = ENTITY_KINDS.get(row["entity"] or "")
            if kind and (ident := _ident(row["entity_id"])) is not None:
                wanted[kind].add(ident)
            for values in (row["before"], row["after"]):
                for key, value in (values or {}).items() if isinstance(values, dict) else ():
                    if key in ID_KINDS and (ident := _ident(value)) is not None:
                        wanted[ID_KINDS[key]].add(ident)
        self.names: dict[str, dict[int, str]] = {kind: self._load(session, kind, ids) for kind, ids in wanted.items()}

    @staticmethod
    def _load(session: Session, kind: str, ids: set[int]) -> dict[int, str]:
        simple = {
            "customer": (Customer.id, Customer.name), "type": (AppointmentType.id, AppointmentType.name),
            "provider": (Provider.id, Provider.name), "room": (Room.id, Room.name),
            "location": (Location.id, Location.name), "user": (User.id, User.username),
        }  # fmt: skip
        if kind in simple:
            key, name = simple[kind]
            return {i: n for i, n in session.execute(select(key, name).where(key.in_(ids)))}
        if kind == "appointment":
            query = select(
                Appointment.id,
                Customer.name,
                AppointmentType.name,
                Provider.name,
                Appointment.start_at,
                Location.timezone,
            ).where(Appointment.id.in_(ids))  # fmt: skip
            query = with_names(query, inner=True)
            return {
                i: " · ".join(p for p in (customer, type_name, provider, local_text(start, zone)) if p)
                for i, customer, type_name, provider, start, zone in session.execute(query)
            }
        entry_type = aliased(AppointmentType)
        if kind == "waitlist_entry":
            query = (
                select(WaitlistEntry.id, Customer.name, entry_type.name)
                .join(Customer, Customer.id == WaitlistEntry.customer_id)
                .join(entry_type, entry_type.id == WaitlistEntry.type_id)
                .where(WaitlistEntry.id.in_(ids))
            )
            return {i: f"{customer} · {type_name}" for i, customer, type_name in session.execute(query)}
        query = (  # waitlist_offer
            select(WaitlistOffer.id, Customer.name, WaitlistOffer.start_at, Location.timezone)
            .join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id)
            .join(Customer, Customer.id == WaitlistEntry.customer_id)
            .join(Location, Location.id == WaitlistOffer.location_id)
            .where(WaitlistOffer.id.in_(ids))
        )
        return {i: f"{customer} · {local_text(start, zone)}" for i, customer, start, zone in session.execute(query)}

    def name(self, kind: str, value) -> str | None:
        ident = _ident(value)
        return None if ident is None else self.names.get(kind, {}).get(ident)

    def entity(self, row: dict) -> str | None:
        kind = ENTITY_KINDS.get(row["entity"] or "")
        return self.name(kind, row["entity_id"]) if kind else None

    def values(self, values, zone: str) -> str:
        """Before/after values as a line a person reads; times in `zone` (the row's location's)."""
        if values is None:
            return ""
        if not isinstance(values, dict):
            return json.dumps(values, sort_keys=True, ensure_ascii=False)
        parts = []
        for key in sorted(values):
            value = values[key]
            label = key.removesuffix("_id") if key in ID_KINDS else key
            if key in ID_KINDS and (name := self.name(ID_KINDS[key], value)):
                text = f"{name} (#{value})"
            elif key in TIME_KEYS and isinstance(value, str) and (instant := _instant(value)):
                text = local_text(instant, zone)
            elif isinstance(value, dict | list):
                text = json.dumps(value, sort_keys=True, ensure_ascii=False)
            else:
                text = "—" if value is None else str(value)
            parts.append(f"{label}: {text}")
        return " · ".join(parts)


def _instant(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None

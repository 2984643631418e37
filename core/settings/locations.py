"""Locations (name, IANA time zone, address, active) and their rooms (name, kind, active).
Admins only (A.LOCATIONS_MANAGE). A location or room that future appointments use cannot be
deactivated until they have moved; nothing is ever deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.base.clock import resolve_now, utcnow
from core.base.errors import ConflictError, NotFound, ValidationError
from core.base.models import OPEN_STATUSES, Appointment, Location, Room, provider_locations
from core.scheduling.events import LocationZoneChanged, ProviderScheduleChanged
from core.security import access
from core.security.access import A, Actor
from core.security.service import Tx, reading, service
from core.settings.common import clean_name, clean_optional, clean_timezone, clean_words


@dataclass(frozen=True)
class LocationView:
    id: int
    name: str
    timezone: str
    address: str | None
    active: bool
    rooms: int
    upcoming: int  # open appointments from now on
    answer_minutes: int = 60  # business minutes an inquiry may wait for an answer (the queue's rule)


@dataclass(frozen=True)
class RoomView:
    id: int
    location_id: int
    location: str
    name: str
    kind: str
    active: bool


def location_state(loc: Location) -> dict:
    return {"name": loc.name, "timezone": loc.timezone, "address": loc.address, "active": loc.active,
            "inquiry_answer_minutes": loc.inquiry_answer_minutes}  # fmt: skip


ANSWER_MINUTES = (5, 1440)


def clean_answer_minutes(value: object) -> int:
    """Business minutes an inquiry may wait for an answer: a whole number from 5 to 1,440."""
    low, high = ANSWER_MINUTES
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(
            f"The time to answer an inquiry must be a whole number of minutes from {low} to {high:,}."
        )
    return value


def room_state(room: Room) -> dict:
    return {"location_id": room.location_id, "name": room.name, "kind": room.kind, "active": room.active}


def _upcoming(session: Session, now: datetime, *, location_id: int | None = None, room_id: int | None = None) -> int:
    q = select(func.count(Appointment.id)).where(
        Appointment.status.in_([s.value for s in OPEN_STATUSES]), Appointment.end_at > now
    )
    if location_id is not None:
        q = q.where(Appointment.location_id == location_id)
    if room_id is not None:
        q = q.where(Appointment.room_id == room_id)
    return session.scalar(q) or 0


def _managing(actor: Actor | None) -> str:
    """What the actor reads locations and rooms as: managing locations, or (settings) within
    their scope; an actor who may do neither is refused as one who may not manage locations."""
    return (
        A.SETTINGS_MANAGE
        if access.can(actor, A.SETTINGS_MANAGE) and not access.can(actor, A.LOCATIONS_MANAGE)
        else A.LOCATIONS_MANAGE
    )


def list_locations(
    actor: Actor | None, *, search: str = "", include_inactive: bool = False, now: datetime | None = None
) -> list[LocationView]:
    """Locations the actor manages (settings: in their scope), by name."""
    now = resolve_now(now)
    rooms = select(func.count(Room.id)).where(Room.location_id == Location.id, Room.active.is_(True)).scalar_subquery()
    upcoming = (
        select(func.count(Appointment.id))
        .where(
            Appointment.location_id == Location.id,
            Appointment.status.in_([s.value for s in OPEN_STATUSES]),
            Appointment.end_at > now,
        )
        .scalar_subquery()
    )
    q = select(Location, rooms, upcoming).where(access.location_filter(actor, Location.id)).order_by(Location.name)
    if not include_inactive:
        q = q.where(Location.active.is_(True))
    if term := search.strip():
        like = f"%{term}%"
        q = q.where(or_(Location.name.ilike(like), Location.address.ilike(like), Location.timezone.ilike(like)))
    with reading(actor, _managing(actor), entity="location") as session:
        return [
            LocationView(
                loc.id,
                loc.name,
                loc.timezone,
                loc.address,
                loc.active,
                n_rooms or 0,
                n_up or 0,
                loc.inquiry_answer_minutes,
            )  # fmt: skip
            for loc, n_rooms, n_up in session.execute(q)
        ]


def save_location(
    actor: Actor | None,
    *,
    location_id: int | None = None,
    name: str,
    timezone: str,
    address: str | None = None,
    inquiry_answer_minutes: int | None = None,
) -> LocationView:
    """Add a location (no id) or change one. Changing the time zone moves every wall-clock rule
    (working hours, day boundaries) with it, so it is refused while future appointments exist."""
    name, tz = clean_name(name, "location"), clean_timezone(timezone)
    address = clean_optional(address, 255, "address")
    answer = None if inquiry_answer_minutes is None else clean_answer_minutes(inquiry_answer_minutes)
    with service(actor, A.LOCATIONS_MANAGE, entity="location", entity_id=location_id, location_id=None) as tx:
        s = tx.session
        clash = s.execute(select(Location.id, Location.name).where(func.lower(Location.name) == name.lower())).first()
        if clash is not None and clash.id != location_id:
            raise ConflictError(f"There is already a location named {clash.name}.")
        if location_id is None:
            loc, before = Location(name=name, timezone=tz, address=address, active=True), None
            loc.inquiry_answer_minutes = answer or 60
            s.add(loc)
        else:
            loc = tx.get(Location, location_id, what="location")
            tx.require(loc.id, entity_id=loc.id)
            before = location_state(loc)
            loc.name, loc.address = name, address
            if answer is not None:
                loc.inquiry_answer_minutes = answer
            change_zone(tx, loc, tz)
        s.flush()
        tx.entity_id, tx.location_id = loc.id, loc.id
        if before != location_state(loc):
            tx.audit(before=before, after=location_state(loc), reason="added" if before is None else "changed")
        return LocationView(loc.id, loc.name, loc.timezone, loc.address, loc.active, 0, 0, loc.inquiry_answer_minutes)


def change_zone(tx: Tx, loc: Location, tz: str) -> None:
    """Move a saved location to another time zone (a valid IANA name). Every wall-clock rule there
    moves with it (working hours, local days), so it is refused while future appointments exist;
    what is derived from them (available minutes, the metrics' local days) is recomputed in the
    same transaction."""
    if tz == loc.timezone:
        return
    s = tx.session
    if n := _upcoming(s, utcnow(), location_id=loc.id):
        raise ValidationError(
            f"{loc.name} has {n} upcoming appointments: its time zone can change only when none are booked, "
            "since their times would move."
        )
    loc.timezone = tz
    s.flush()
    now = utcnow()
    # The wall-clock hours of everyone working there are other instants now.
    for provider_id in s.scalars(
        select(provider_locations.c.provider_id).where(provider_locations.c.location_id == loc.id)
    ):
        tx.publish(ProviderScheduleChanged(provider_id=provider_id, location_ids=(loc.id,), at=now))
    tx.publish(LocationZoneChanged(location_id=loc.id, at=now))


def set_location_active(actor: Actor | None, location_id: int, active: bool, *, now: datetime | None = None) -> None:
    now = resolve_now(now)
    with service(actor, A.LOCATIONS_MANAGE, entity="location", entity_id=location_id) as tx:
        loc = tx.get(Location, location_id, what="location")
        tx.require(loc.id, entity_id=loc.id)
        if loc.active == active:
            return
        if not active and (n := _upcoming(tx.session, now, location_id=loc.id)):
            raise ValidationError(
                f"{loc.name} has {n} upcoming appointments: close it for those days or move them before deactivating it."
            )
        before = location_state(loc)
        loc.active = active
        tx.audit(before=before, after=location_state(loc), reason="reactivated" if active else "deactivated")


# -- rooms -------------------------------------------------------------------------------------


def list_rooms(
    actor: Actor | None, *, location_id: int | None = None, search: str = "", include_inactive: bool = False
) -> list[RoomView]:
    q = (
        select(Room, Location.name)
        .join(Location, Location.id == Room.location_id)
        .where(access.location_filter(actor, Room.location_id))
        .order_by(Location.name, Room.name)
    )
    if location_id is not None:
        q = q.where(Room.location_id == location_id)
    if not include_inactive:
        q = q.where(Room.active.is_(True))
    if term := search.strip():
        q = q.where(or_(Room.name.ilike(f"%{term}%"), Room.kind.ilike(f"%{term}%"), Location.name.ilike(f"%{term}%")))
    with reading(actor, _managing(actor), entity="room") as session:
        return [RoomView(r.id, r.location_id, loc, r.name, r.kind, r.active) for r, loc in session.execute(q)]


def save_room(actor: Actor | None, *, room_id: int | None = None, location_id: int, name: str, kind: str) -> int:
    """Add a room to a location (no id) or rename / re-kind one; returns its id."""
    name = clean_name(name, "room")
    kinds = clean_words([kind], "room kind")
    if not kinds:
        raise ValidationError("Say what kind of room it is (e.g. exam, studio, consult).")
    with service(actor, A.LOCATIONS_MANAGE, entity="room", entity_id=room_id, location_id=location_id) as tx:
        s = tx.session
        loc = s.get(Location, location_id)
        if loc is None:
            raise NotFound(f"Unknown location #{location_id}.")
        clash = s.scalar(select(Room.id).where(Room.location_id == location_id, func.lower(Room.name) == name.lower()))
        if clash is not None and clash != room_id:
            raise ConflictError(f"{loc.name} already has a room named {name}.")
        if room_id is None:
            room, before = Room(location_id=location_id, name=name, kind=kinds[0], active=True), None
            s.add(room)
        else:
            room = tx.get(Room, room_id, what="room")
            if room.location_id != location_id:
                raise ValidationError(f"{room.name} is at another location; rooms do not move between locations.")
            before = room_state(room)
            room.name, room.kind = name, kinds[0]
        s.flush()
        tx.entity_id = room.id
        if before != room_state(room):
            tx.audit(before=before, after=room_state(room), reason="added" if before is None else "changed")
        return room.id


def set_room_active(actor: Actor | None, room_id: int, active: bool, *, now: datetime | None = None) -> None:
    now = resolve_now(now)
    with service(actor, A.LOCATIONS_MANAGE, entity="room", entity_id=room_id) as tx:
        room = tx.get(Room, room_id, what="room")
        tx.require(room.location_id, entity_id=room.id)
        if room.active == active:
            return
        if not active and (n := _upcoming(tx.session, now, room_id=room.id)):
            raise ValidationError(f"{room.name} is booked for {n} upcoming appointments: move them first.")
        before = room_state(room)
        room.active = active
        tx.audit(before=before, after=room_state(room), reason="reactivated" if active else "deactivated")

"""The read side of the front desk's day: which locations an actor may see, one location's
schedule for one local date (one query, scope in its WHERE clause), and the timeline lanes.

Rows carry the flags the desk works from: unconfirmed (still only booked), late (start time
passed and not checked in) and waitlist offer (a freed slot offered to someone waiting).
The page's tables (`schedule_frame`, `timeline_frame`) are built in `schedule_frames`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import aliased

from core.base import limits
from core.base.clock import resolve_now
from core.base.errors import NotFound
from core.base.models import (
    Appointment,
    AppointmentType,
    Customer,
    Location,
    Provider,
    Role,
    Room,
    Status,
    WaitlistOffer,
    provider_locations,
)
from core.base.tz import local_day_bounds, to_local, today_in

# re-exported: pages use schedule.NO_ROOM, schedule.schedule_frame, schedule.timeline_frame
from core.scheduling import away
from core.scheduling.customer_history import appointments_by_customer as appointments_by_customer
from core.scheduling.customer_history import customer_appointments as customer_appointments
from core.scheduling.labels import STATUS_LABELS as STATUS_LABELS
from core.scheduling.labels import UNKNOWN as UNKNOWN
from core.scheduling.labels import day_label as day_label
from core.scheduling.schedule_frames import NO_ROOM as NO_ROOM
from core.scheduling.schedule_frames import schedule_frame as schedule_frame
from core.scheduling.schedule_frames import timeline_frame as timeline_frame
from core.security import access
from core.security.access import A, Actor
from core.security.service import check, reading

# Free-text notes may hold health or contact details: hidden from roles that may not see contacts.
NOTES_HIDDEN = "(notes hidden: your role does not see customer details)"

# A customer counts as late this long after their start time without checking in.
LATE_AFTER = timedelta(minutes=5)

FLAG_UNCONFIRMED = "unconfirmed"
FLAG_LATE = "not arrived"  # booked or confirmed, start passed, not checked in
FLAG_WAITLIST = "waitlist offer"


@dataclass(frozen=True)
class LocationView:
    id: int
    name: str
    timezone: str


@dataclass(frozen=True)
class ScheduleRow:
    appointment_id: int
    location_id: int
    start: datetime  # aware UTC
    end: datetime | None  # None: imported history without a duration
    local_start: datetime  # in the location's zone
    local_end: datetime | None
    status: str
    customer_id: int
    customer_name: str
    customer_email: str | None
    customer_phone: str | None
    type_id: int | None  # imported history may have no type or provider ("—")
    type_name: str
    provider_id: int | None
    provider_name: str
    room_id: int | None
    room_name: str | None
    intake_complete: bool
    intake_answers: dict  # field name -> answer; hidden like notes from roles without contacts
    group_key: str | None  # shared by the members of one group session
    notes: str | None
    late_cancel: bool
    reschedule_count: int
    flags: tuple[str, ...]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def time_label(self) -> str:
        if self.local_end is None:
            return f"{self.local_start:%H:%M}"
        return f"{self.local_start:%H:%M}–{self.local_end:%H:%M}"

    @property
    def is_open(self) -> bool:
        return self.status in (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN)

    @property
    def summary(self) -> str:
        """'Ada Lovelace · Consultation · 10:00–10:30 with Dr. Rao', a dialog's first line."""
        return f"{self.customer_name} · {self.type_name} · {self.time_label} with {self.provider_name}"


@dataclass(frozen=True)
class DaySchedule:
    location: LocationView
    day: date
    rows: list[ScheduleRow]
    providers: list[tuple[int, str]]  # timeline lanes, in order
    rooms: list[tuple[int, str]]
    time_off: list = field(default_factory=list)  # core.scheduling.away.Away spans of the day, to shade

    def row(self, appointment_id: int) -> ScheduleRow | None:
        return next((r for r in self.rows if r.appointment_id == appointment_id), None)

    @property
    def active_rows(self) -> list[ScheduleRow]:
        return [r for r in self.rows if r.status != Status.CANCELLED]

    def summary(self) -> str:
        """'8 appointments: 5 booked · 2 completed · 1 cancelled · 1 not arrived': the statuses add
        up to the count, cancelled ones included."""
        active = self.active_rows
        parts = [f"{n} {label.lower()}" for status, label in STATUS_LABELS.items()
                 if (n := sum(r.status == status for r in self.rows))]  # fmt: skip
        if late := sum(FLAG_LATE in r.flags for r in active):
            parts.append(f"{late} not arrived")
        total = f"{len(self.rows)} appointment" + ("" if len(self.rows) == 1 else "s")
        return f"{total}: {' · '.join(parts)}" if parts else total


def visible_locations(actor: Actor | None) -> list[LocationView]:
    """Active locations the actor may see the schedule of, by name."""
    if not access.can(actor, A.APPOINTMENT_VIEW) or actor is None:
        return []
    with reading(actor, A.APPOINTMENT_VIEW, entity="location") as session:
        rows = session.execute(
            select(Location.id, Location.name, Location.timezone)
            .where(Location.active.is_(True), access.location_filter(actor, Location.id))
            .order_by(Location.name)
        ).all()
    return [LocationView(*r) for r in rows]


def default_location(actor: Actor | None, locations: list[LocationView]) -> LocationView | None:
    """The actor's own location when they have exactly one in the list; else the first by name."""
    if not locations:
        return None
    if actor is not None and actor.location_ids:
        own = [loc for loc in locations if loc.id in actor.location_ids]
        if own:
            return own[0]
    return locations[0]


def default_day(location: LocationView, now: datetime | None = None) -> date:
    return today_in(location.timezone, now)


def _location(session, actor: Actor, location_id: int) -> LocationView:
    row = session.execute(
        select(Location.id, Location.name, Location.timezone).where(Location.id == location_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"There is no location with id {location_id}.")
    check(actor, A.APPOINTMENT_VIEW, location_id, entity="location", entity_id=location_id)
    return LocationView(*row)


def _rows_query(actor: Actor):
    cust = aliased(Customer)
    return (
        select(
            Appointment.id,
            Appointment.start_at,
            Appointment.end_at,
            Appointment.status,
            Appointment.customer_id,
            cust.name,
            cust.email,
            cust.phone,
            Appointment.type_id,
            AppointmentType.name,
            Appointment.provider_id,
            Provider.name,
            Appointment.room_id,
            Room.name,
            Appointment.intake_complete,
            Appointment.notes,
            Appointment.late_cancel,
            Appointment.reschedule_count,
            Appointment.location_id,
            Appointment.intake_answers,
            Appointment.group_key,
        )
        .join(cust, Appointment.customer_id == cust.id)
        .outerjoin(AppointmentType, Appointment.type_id == AppointmentType.id)
        .outerjoin(Provider, Appointment.provider_id == Provider.id)
        .outerjoin(Room, Appointment.room_id == Room.id)
        .where(
            access.location_filter(actor, Appointment.location_id),
            access.provider_filter(actor, Appointment.provider_id),
        )
    )


def _row(r, loc: LocationView, *, now: datetime, contacts: bool, offered: set[int]) -> ScheduleRow:
    status = r[3]
    flags = []
    if status == Status.BOOKED:
        flags.append(FLAG_UNCONFIRMED)
    if status in (Status.BOOKED, Status.CONFIRMED) and now > r[1] + LATE_AFTER:
        flags.append(FLAG_LATE)
    if r[0] in offered:
        flags.append(FLAG_WAITLIST)
    return ScheduleRow(
        appointment_id=r[0],
        location_id=loc.id,
        start=r[1],
        end=r[2],
        local_start=to_local(r[1], loc.timezone),
        local_end=to_local(r[2], loc.timezone) if r[2] is not None else None,
        status=status,
        customer_id=r[4],
        customer_name=r[5],
        customer_email=r[6] if contacts else access.mask_email(r[6]),
        customer_phone=r[7] if contacts else access.mask_phone(r[7]),
        type_id=r[8],
        type_name=r[9] or UNKNOWN,
        provider_id=r[10],
        provider_name=r[11] or UNKNOWN,
        room_id=r[12],
        room_name=r[13],
        intake_complete=bool(r[14]),
        intake_answers=(r[19] or {}) if contacts else {},
        group_key=r[20],
        notes=r[15] if contacts or not r[15] else NOTES_HIDDEN,
        late_cancel=bool(r[16]),
        reschedule_count=r[17] or 0,
        flags=tuple(flags),
    )


def _open_offers_freed_by(session, location_id: int, lo: datetime, hi: datetime) -> set[int]:
    return set(
        session.scalars(
            select(WaitlistOffer.freed_by_appointment_id).where(
                WaitlistOffer.location_id == location_id,
                WaitlistOffer.status == "open",
                WaitlistOffer.start_at >= lo,
                WaitlistOffer.start_at < hi,
                WaitlistOffer.freed_by_appointment_id.is_not(None),
            )
        )
    )


def day_schedule(actor: Actor, location_id: int, day: date, *, now: datetime | None = None) -> DaySchedule:
    """Every appointment starting on `day` (local date) at the location, cancelled ones included,
    in start order. A provider sees their own appointments only; analysts see contacts masked."""
    now = resolve_now(now)
    limits.day(day)
    with reading(actor, A.APPOINTMENT_VIEW, entity="location", entity_id=location_id) as session:
        loc = _location(session, actor, location_id)
        lo, hi = local_day_bounds(day, loc.timezone)
        query = _rows_query(actor).where(
            Appointment.location_id == loc.id, Appointment.start_at >= lo, Appointment.start_at < hi
        )
        records = session.execute(query.order_by(Appointment.start_at, Provider.name, Appointment.id)).all()
        offered = _open_offers_freed_by(session, loc.id, lo, hi)
        providers = _provider_lanes(session, actor, loc.id)
        rooms = [
            tuple(r)
            for r in session.execute(
                select(Room.id, Room.name).where(Room.location_id == loc.id, Room.active.is_(True)).order_by(Room.name)
            )
        ]
        contacts = access.can(actor, A.CONTACTS_VIEW, loc.id)
        rows = [_row(r, loc, now=now, contacts=contacts, offered=offered) for r in records]
        rows, time_off = away.flag_rows(session, rows, loc.id, loc.timezone, lo, hi, [p for p, _ in providers])
    # A provider who has appointments here but is no longer linked to the location still gets a lane.
    known = {pid for pid, _ in providers}
    for row in rows:
        if row.provider_id is not None and row.provider_id not in known:
            providers.append((row.provider_id, row.provider_name))
            known.add(row.provider_id)
    return DaySchedule(location=loc, day=day, rows=rows, providers=providers, rooms=rooms, time_off=time_off)


def appointment_row(actor: Actor, appointment_id: int, *, now: datetime | None = None) -> ScheduleRow | None:
    """One appointment as the schedule shows it, read fresh; None when it is not in the actor's scope."""
    now = resolve_now(now)
    if not access.can(actor, A.APPOINTMENT_VIEW):
        return None
    with reading(actor, A.APPOINTMENT_VIEW, entity="appointment", entity_id=appointment_id) as session:
        r = session.execute(_rows_query(actor).where(Appointment.id == appointment_id)).one_or_none()
        if r is None:
            return None
        loc = LocationView(
            *session.execute(select(Location.id, Location.name, Location.timezone).where(Location.id == r[18])).one()
        )
        lo, hi = local_day_bounds(to_local(r[1], loc.timezone).date(), loc.timezone)
        offered = _open_offers_freed_by(session, loc.id, lo, hi)
    return _row(r, loc, now=now, contacts=access.can(actor, A.CONTACTS_VIEW, loc.id), offered=offered)


def _provider_lanes(session, actor: Actor, location_id: int) -> list[tuple[int, str]]:
    query = (
        select(Provider.id, Provider.name)
        .join(provider_locations, provider_locations.c.provider_id == Provider.id)
        .where(provider_locations.c.location_id == location_id, Provider.active.is_(True))
        .where(access.provider_filter(actor, Provider.id))
        .order_by(Provider.name)
    )
    return [tuple(r) for r in session.execute(query)]


def location_providers(actor: Actor, location_id: int) -> list[tuple[int, str]]:
    """Active providers working at a location (a provider sees only themself), by name."""
    if not access.can(actor, A.APPOINTMENT_VIEW, location_id):
        return []
    with reading(actor, A.APPOINTMENT_VIEW, location_id, entity="location") as session:
        return _provider_lanes(session, actor, location_id)


@dataclass(frozen=True)
class TypeView:
    id: int
    name: str
    duration_min: int
    cancellation_window_hours: int
    intake_fields: tuple[dict, ...]  # [{"name", "label", "required"}, ...]


def appointment_types(actor: Actor) -> list[TypeView]:
    """Active appointment types, by name, for the booking dialog."""
    if not access.can(actor, A.APPOINTMENT_VIEW):
        return []
    with reading(actor, A.APPOINTMENT_VIEW, entity="appointment_type") as session:
        rows = session.execute(
            select(
                AppointmentType.id,
                AppointmentType.name,
                AppointmentType.duration_min,
                AppointmentType.cancellation_window_hours,
                AppointmentType.intake_fields,
            )
            .where(AppointmentType.active.is_(True))
            .order_by(AppointmentType.name)
        ).all()
    return [TypeView(r[0], r[1], r[2], r[3], tuple(r[4] or ())) for r in rows]


def is_provider_view(actor: Actor | None) -> bool:
    return actor is not None and actor.role == Role.PROVIDER

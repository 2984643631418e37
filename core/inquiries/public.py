"""The public booking-request page's services: a location found by its URL slug, the types an
admin marked bookable online, their real free slots, and the request itself: booked at once
(`online_instant`) or booked and held as a request for `online_hold_minutes` until the desk
confirms or declines it (queue kind "booking request") or it lapses (`holds`). Either way it is an
inquiry with channel "web", linked to its appointment. A held request is a booked appointment, so
the database's overlap rule makes a web request and a desk booking for one slot exactly one
winner; the loser hears SLOT_GONE. Nothing here tells a customer who else is booked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select

from core.base.clock import require_aware, resolve_now
from core.base.db import read_session
from core.base.errors import ConflictError, DomainError, NotFound, ValidationError
from core.base.models import AppointmentType, Customer, Inquiry, Location
from core.base.tz import to_local
from core.inquiries.services import link_in, record_in
from core.people import phones
from core.people.customers import add_customer_in, validate
from core.queue import kinds
from core.queue.items import raise_item
from core.scheduling.availability.engine import Engine
from core.scheduling.booking import book_in
from core.scheduling.booking.intake import answers
from core.scheduling.conflicts import Attempt, run_booking
from core.security import door
from core.security.access import A
from core.security.service import service

NOT_FOUND = "Not found. Check the link you were given, or call us."
SLOT_GONE = "Sorry, that time was taken a moment ago. Please choose another time."
NOT_ONLINE = "This appointment type cannot be booked online. Please call us."
CONTACT = "Give an email address or a phone number, so we can reach you."
DAYS = 14


@dataclass(frozen=True)
class PublicLocation:
    id: int
    name: str
    timezone: str
    address: str | None


@dataclass(frozen=True)
class PublicType:
    id: int
    name: str
    duration_min: int
    instant: bool
    hold_minutes: int
    intake_fields: list


@dataclass(frozen=True)
class RequestResult:
    inquiry_id: int
    appointment_id: int
    held: bool  # True: waits for the desk until held_until
    start_local: datetime
    held_until: datetime | None
    type_name: str
    location_name: str


def location_by_slug(session, slug: str | None) -> PublicLocation:
    wanted = (slug or "").strip().lower()
    for loc in session.scalars(select(Location).where(Location.active.is_(True)).order_by(Location.id)):
        if wanted and door.slug(loc.name) == wanted:
            return PublicLocation(loc.id, loc.name, loc.timezone, loc.address)
    raise NotFound(NOT_FOUND)


def active_locations() -> list[PublicLocation]:
    """Every active location, for the links an admin hands out."""
    with read_session() as session:
        query = select(Location).where(Location.active.is_(True)).order_by(Location.name)
        return [PublicLocation(loc.id, loc.name, loc.timezone, loc.address) for loc in session.scalars(query)]


def _online_types(session, location_id: int) -> list[AppointmentType]:
    query = select(AppointmentType).where(AppointmentType.active.is_(True), AppointmentType.bookable_online.is_(True))
    out = []
    for atype in session.scalars(query.order_by(AppointmentType.name)):
        offered = [loc.id for loc in atype.locations]
        if not offered or location_id in offered:
            out.append(atype)
    return out


def _public_type(atype: AppointmentType) -> PublicType:
    return PublicType(atype.id, atype.name, atype.duration_min, atype.online_instant, atype.online_hold_minutes,
                      list(atype.intake_fields or []))  # fmt: skip


def page(slug: str | None) -> tuple[PublicLocation, list[PublicType]]:
    """The location of a public URL and its types bookable online; NotFound for an unknown one."""
    with read_session() as session:
        loc = location_by_slug(session, slug)
        return loc, [_public_type(t) for t in _online_types(session, loc.id)]


def _type_here(session, location_id: int, type_id: int) -> AppointmentType:
    for atype in _online_types(session, location_id):
        if atype.id == type_id:
            return atype
    raise ValidationError(NOT_ONLINE)


def free_starts(slug: str | None, type_id: int, *, days: int = DAYS, now: datetime | None = None) -> list[datetime]:
    """The free start times (aware UTC, each once whichever provider has it) of a type bookable
    online at the URL's location, from today over `days` local days."""
    now = resolve_now(now)
    with read_session() as session:
        loc = location_by_slug(session, slug)
        _type_here(session, loc.id, type_id)
        first, last = days_shown(now, loc.timezone, days)
        engine = Engine(session, type_id, loc.id)
        engine.load(first, last)
        slots = engine.slots(first, last, now=now)
    return sorted({s.start for s in slots})


def _customer(tx, location_id: int, name: str, email: str | None, phone: str | None) -> int:
    """The customer with this email (or, without one, this phone), else a new one."""
    match = Customer.email.is_not(None) & (func.lower(Customer.email) == email.lower()) if email else None
    if match is None:
        match = Customer.phone == phone
    found = tx.session.scalar(select(Customer.id).where(or_(match)).order_by(Customer.id).limit(1))
    if found is not None:
        return found
    return add_customer_in(tx, location_id=location_id, name=name, email=email, phone=phone).id


def request_booking(
    slug: str | None,
    *,
    type_id: int,
    start: datetime,
    name: str | None,
    email: str | None = None,
    phone: str | None = None,
    intake: dict | None = None,
    client: str,
    honeypot: str | None = None,
    now: datetime | None = None,
) -> RequestResult:
    """A customer's request for one free start: booked (instant types) or booked and held."""
    now = resolve_now(now)
    start = require_aware(start)
    actor = door.enter(client, honeypot=honeypot, now=now)
    with read_session() as session:
        loc = location_by_slug(session, slug)
        atype = _type_here(session, loc.id, type_id)
        name, email, phone = validate(name, email or None, phone or None, phones.region_for_zone(loc.timezone))
        if email is None and phone is None:
            raise ValidationError(CONTACT)
        given, _ = answers(atype, intake or {}, required=True)
        Engine(session, type_id, loc.id).check_time_rules(start, now)
        instant, hold, type_name = atype.online_instant, atype.online_hold_minutes, atype.name
    attempt = Attempt()

    def run() -> RequestResult:
        with service(actor, A.APPOINTMENT_BOOK, entity="appointment", location_id=loc.id) as tx:
            customer_id = _customer(tx, loc.id, name, email, phone)
            recorded = record_in(tx, location_id=loc.id, channel="web", now=now, customer_id=customer_id,
                                 type_id=type_id)  # fmt: skip
            try:
                appt, _, _ = book_in(tx, type_id=type_id, location_id=loc.id, customer_id=customer_id, start=start,
                                     now=now, attempt=attempt, intake=given, source="web")  # fmt: skip
            except DomainError as exc:
                raise ConflictError(SLOT_GONE) from exc
            inq = tx.get(Inquiry, recorded.inquiry_id)
            link_in(tx, inq, appt, now)
            held_until = None
            if not instant:
                held_until = inq.held_until = now + timedelta(minutes=hold)
                raise_item(tx.session, kind=kinds.BOOKING_REQUEST, dedupe_key=kinds.key(kinds.BOOKING_REQUEST, appt.id),
                           now=now, location_id=loc.id, appointment_id=appt.id, provider_id=appt.provider_id,
                           details={"inquiry_id": inq.id, "held_until": held_until.isoformat()},
                           due_at=held_until)  # fmt: skip
            return RequestResult(inq.id, appt.id, not instant, to_local(appt.start_at, loc.timezone), held_until,
                                 type_name, loc.name)  # fmt: skip

    try:
        return run_booking(run, attempt)
    except ConflictError as exc:
        if str(exc) == SLOT_GONE:
            raise
        raise ConflictError(SLOT_GONE) from exc


def days_shown(now: datetime, tz: str, days: int = DAYS) -> tuple[date, date]:
    first = to_local(now, tz).date()
    return first, first + timedelta(days=days - 1)

"""Waitlist offers: when a cancellation or reschedule frees a future slot, every matching entry
(oldest first, its preferences met) gets an offer the front desk can book or dismiss; booking
one offer withdraws the others for the same time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.base.bus import subscribe
from core.base.clock import resolve_now
from core.base.db import unit_of_work
from core.base.errors import ConflictError, DomainError, InvalidTransition, NotFound
from core.base.models import (
    Appointment,
    AppointmentType,
    Customer,
    Location,
    Provider,
    WaitlistEntry,
    WaitlistOffer,
)
from core.base.tz import local_day_bounds, to_local
from core.scheduling.availability import DomainProblem, Engine
from core.scheduling.booking import BookingResult, book_in, loaded
from core.scheduling.conflicts import Attempt, run_booking
from core.scheduling.events import AppointmentBooked, SlotFreed
from core.scheduling.schedule import NOTES_HIDDEN
from core.scheduling.waitlist.entries import ACTIVE_ENTRY, Preferences
from core.security import access
from core.security.access import A, Actor
from core.security.service import reading, service

MAX_OFFERS_PER_SLOT = 20


@dataclass(frozen=True)
class OfferView:
    offer_id: int
    entry_id: int
    customer_name: str
    type_name: str
    provider_name: str
    start: datetime
    end: datetime
    created_at: datetime
    customer_id: int | None = None
    type_id: int | None = None
    provider_id: int | None = None
    location_id: int | None = None
    phone: str | None = None  # masked for roles that may not see contacts
    preferences: str = "any time"
    notes: str | None = None  # the entry's note (hidden like contacts)


def open_offers(
    actor: Actor | None, *, location_id: int, day: date | None = None, now: datetime | None = None
) -> list[OfferView]:
    """Open offers at a location whose start is still ahead (on one local day if given)."""
    now = resolve_now(now)
    with reading(actor, A.WAITLIST_MANAGE, location_id, entity="waitlist_offer") as session:
        location = session.get(Location, location_id)
        if location is None:
            raise NotFound(f"Unknown location #{location_id}.")
        q = (
            select(
                WaitlistOffer.id,
                WaitlistOffer.entry_id,
                Customer.name,
                AppointmentType.name,
                Provider.name,
                WaitlistOffer.start_at,
                WaitlistOffer.end_at,
                WaitlistOffer.created_at,
                Customer.id,
                AppointmentType.id,
                Provider.id,
                WaitlistOffer.location_id,
                Customer.phone,
                WaitlistEntry,
            )
            .join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id)
            .join(Customer, Customer.id == WaitlistEntry.customer_id)
            .join(AppointmentType, AppointmentType.id == WaitlistEntry.type_id)
            .join(Provider, Provider.id == WaitlistOffer.provider_id)
            .where(
                WaitlistOffer.location_id == location_id,
                WaitlistOffer.status == "open",
                WaitlistOffer.start_at > now,
                access.location_filter(actor, WaitlistOffer.location_id),
            )
            .order_by(WaitlistOffer.start_at, WaitlistOffer.created_at, WaitlistOffer.id)
        )
        if day is not None:
            lo, hi = local_day_bounds(day, location.timezone)
            q = q.where(WaitlistOffer.start_at >= lo, WaitlistOffer.start_at < hi)
        contacts = access.can(actor, A.CONTACTS_VIEW, location_id)
        return [
            OfferView(
                *row[:12],
                phone=row[12] if contacts else access.mask_phone(row[12]),
                preferences=Preferences.of(row[13]).text(),
                notes=row[13].notes if contacts or not row[13].notes else NOTES_HIDDEN,
            )
            for row in session.execute(q)
        ]


def book_offer(actor: Actor | None, offer_id: int, *, now: datetime | None = None) -> BookingResult:
    """Book the offered slot for the waiting customer; withdraw the other offers for that time.
    When the slot is gone meanwhile, the offer is withdrawn and a ConflictError says why."""
    now = resolve_now(now)
    attempt = Attempt()

    def run() -> BookingResult:
        with service(actor, A.APPOINTMENT_BOOK, entity="waitlist_offer") as tx:
            session = tx.session
            offer = tx.get_in_scope(WaitlistOffer, offer_id, what="waitlist offer")
            if offer.status != "open":
                raise InvalidTransition(f"This offer is already {offer.status}.")
            entry = offer.entry
            if entry.status not in ACTIVE_ENTRY:
                raise InvalidTransition(f"The waitlist entry behind this offer is {entry.status}.")
            appt, _reason, room_reason = book_in(
                tx,
                type_id=entry.type_id,
                location_id=offer.location_id,
                customer_id=entry.customer_id,
                start=offer.start_at,
                now=now,
                attempt=attempt,
                provider_id=offer.provider_id,
                source="waitlist",
                notes=entry.notes,
            )
            offer.status = "booked"
            offer.booked_appointment_id = appt.id
            entry.status = "booked"
            for other in session.scalars(
                select(WaitlistOffer).where(
                    WaitlistOffer.status == "open",
                    WaitlistOffer.id != offer.id,
                    or_(
                        WaitlistOffer.entry_id == entry.id,
                        (WaitlistOffer.provider_id == offer.provider_id)
                        & (WaitlistOffer.start_at < offer.end_at)
                        & (WaitlistOffer.end_at > offer.start_at),
                    ),
                )
            ):
                other.status = "dismissed" if other.entry_id == entry.id else "expired"
                _release(session, other.entry_id)
            tx.audit(
                action=A.WAITLIST_MANAGE,
                entity="waitlist_offer",
                entity_id=offer.id,
                location_id=offer.location_id,
                after={"status": "booked", "appointment_id": appt.id},
                reason="offer booked",
            )
            loaded(appt)
            reason = f"Waitlist offer for {entry.customer.name}"
        return BookingResult(appt, reason, room_reason)

    try:
        return run_booking(run, attempt)
    except ConflictError as exc:
        _withdraw(offer_id)
        raise ConflictError(f"{exc} The waitlist offer has been withdrawn.") from None


def _withdraw(offer_id: int) -> None:
    with unit_of_work() as session:
        offer = session.get(WaitlistOffer, offer_id)
        if offer is not None and offer.status == "open":
            offer.status = "expired"
            _release(session, offer.entry_id)


def _release(session: Session, entry_id: int) -> None:
    """An offered entry with no open offer left goes back to waiting."""
    session.flush()
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None or entry.status != "offered":
        return
    still_open = session.scalar(
        select(WaitlistOffer.id).where(WaitlistOffer.entry_id == entry_id, WaitlistOffer.status == "open").limit(1)
    )
    if still_open is None:
        entry.status = "waiting"


def withdraw_offers_taken_by(session: Session, appointment: Appointment) -> None:
    """A booking that takes an offered time withdraws the open offers for it (group sessions
    aside: a seat taken does not fill the session)."""
    if appointment.type is not None and appointment.type.capacity > 1:
        return
    taken = session.scalars(
        select(WaitlistOffer).where(
            WaitlistOffer.status == "open",
            WaitlistOffer.provider_id == appointment.provider_id,
            WaitlistOffer.start_at < appointment.block_end,
            WaitlistOffer.end_at > appointment.block_start,
        )
    ).all()
    for offer in taken:
        offer.status = "expired"
        _release(session, offer.entry_id)


def dismiss_offer(actor: Actor | None, offer_id: int) -> None:
    with service(actor, A.WAITLIST_MANAGE, entity="waitlist_offer") as tx:
        offer = tx.get_in_scope(WaitlistOffer, offer_id, what="waitlist offer")
        if offer.status != "open":
            raise InvalidTransition(f"This offer is already {offer.status}.")
        offer.status = "dismissed"
        _release(tx.session, offer.entry_id)
        tx.audit(before={"status": "open"}, after={"status": "dismissed"}, reason="offer dismissed")


def create_offers_for_freed_slot(
    session: Session,
    appointment: Appointment,
    *,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    provider_id: int | None = None,
) -> list[WaitlistOffer]:
    """Offer the time `appointment` held (or start/provider_id, for a reschedule's old slot)
    to every matching waiting entry, oldest first, inside the caller's transaction. An entry
    matches when it is at the location, its dates cover the local date, it wants this provider
    or any, the start meets its preferred weekdays and times, and the engine says the provider can take the entry's type at that start (so an
    offer lasts the entry's type duration; `end` is accepted for symmetry only)."""
    start = start or appointment.start_at
    provider_id = provider_id or appointment.provider_id
    if start <= now:
        return []
    session.flush()
    location = session.get(Location, appointment.location_id)
    local_start = to_local(start, location.timezone)
    day = local_start.date()
    candidates = session.scalars(
        select(WaitlistEntry)
        .where(
            WaitlistEntry.location_id == location.id,
            WaitlistEntry.status.in_(ACTIVE_ENTRY),
            WaitlistEntry.earliest_date <= day,
            WaitlistEntry.latest_date >= day,
            or_(WaitlistEntry.provider_id.is_(None), WaitlistEntry.provider_id == provider_id),
            WaitlistEntry.customer_id != appointment.customer_id,
        )
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    )
    entries = [e for e in candidates if Preferences.of(e).allows(local_start)][:MAX_OFFERS_PER_SLOT]
    engines: dict[int, Engine | None] = {}
    offers = []
    for entry in entries:
        if entry.type_id not in engines:
            try:
                engine = Engine(session, entry.type_id, location.id, provider_id=provider_id)
                engine.load(day, day, exclude_appointment_id=None)
                engines[entry.type_id] = engine
            except DomainError:
                engines[entry.type_id] = None
        engine = engines[entry.type_id]
        if engine is None:
            continue
        try:
            engine.check_time_rules(start, now)
        except DomainError:
            continue
        fit = engine.fit(provider_id, start)
        if isinstance(fit, DomainProblem):
            continue
        duplicate = session.scalar(
            select(WaitlistOffer.id).where(
                WaitlistOffer.entry_id == entry.id,
                WaitlistOffer.start_at == start,
                WaitlistOffer.provider_id == provider_id,
                WaitlistOffer.status == "open",
            )
        )
        if duplicate is not None:
            continue
        offer = WaitlistOffer(
            entry_id=entry.id,
            location_id=location.id,
            provider_id=provider_id,
            start_at=start,
            end_at=start + timedelta(minutes=engine.type.duration_min),
            freed_by_appointment_id=appointment.id,
            status="open",
            created_at=now,
        )
        session.add(offer)
        entry.status = "offered"
        offers.append(offer)
    if offers:
        session.flush()
    return offers


# -- what booking publishes ------------------------------------------------------------------


@subscribe(AppointmentBooked)
def _on_booked(session: Session, event: AppointmentBooked) -> None:
    withdraw_offers_taken_by(session, session.get(Appointment, event.appointment_id))


@subscribe(SlotFreed)
def _on_slot_freed(session: Session, event: SlotFreed) -> None:
    appointment = session.get(Appointment, event.appointment_id)
    create_offers_for_freed_slot(
        session, appointment, now=event.at, start=event.start, end=event.end, provider_id=event.provider_id
    )

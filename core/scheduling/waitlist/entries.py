"""Waitlist entries: who is waiting at a location, for what, and when they could come.

An entry wants a type at a location between two local dates, optionally with one provider, on
some weekdays and inside a time-of-day window (its preferences). Freed slots are offered only to
entries whose preferences they meet (`offers.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select

from core.base import limits
from core.base.clock import resolve_now
from core.base.errors import InvalidTransition, NotFound, ValidationError
from core.base.models import AppointmentType, Customer, Location, Provider, WaitlistEntry, WaitlistOffer
from core.base.tz import today_in
from core.scheduling.availability import Engine, fmt_day
from core.scheduling.booking import customer_in_scope
from core.scheduling.schedule import NOTES_HIDDEN
from core.security import access, audit
from core.security.access import A, Actor
from core.security.service import reading, service

ACTIVE_ENTRY = ("waiting", "offered")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Preferences:
    """When a waiting customer could come: weekdays (0 = Monday; empty: any) and a local
    time-of-day window for the start (either end open)."""

    weekdays: tuple[int, ...] = ()
    start_from: time | None = None
    start_until: time | None = None

    def allows(self, local_start: datetime) -> bool:
        if self.weekdays and local_start.weekday() not in self.weekdays:
            return False
        at = local_start.time()
        if self.start_from is not None and at < self.start_from:
            return False
        return self.start_until is None or at <= self.start_until

    def text(self) -> str:
        """'Mon, Wed · 09:00–12:00', or 'any time'."""
        parts = []
        if self.weekdays:
            parts.append(", ".join(WEEKDAYS[d] for d in self.weekdays))
        if self.start_from or self.start_until:
            lo = f"{self.start_from:%H:%M}" if self.start_from else "opening"
            hi = f"{self.start_until:%H:%M}" if self.start_until else "closing"
            parts.append(f"{lo}–{hi}")
        return " · ".join(parts) or "any time"

    @classmethod
    def of(cls, entry: WaitlistEntry) -> Preferences:
        return cls(tuple(entry.preferred_weekdays or ()), entry.preferred_from, entry.preferred_until)


def _checked(prefs: Preferences | None) -> Preferences:
    prefs = prefs or Preferences()
    if any(not isinstance(d, int) or not 0 <= d <= 6 for d in prefs.weekdays):
        raise ValidationError("Preferred days are weekdays, 0 (Monday) to 6 (Sunday).")
    if prefs.start_from and prefs.start_until and prefs.start_from >= prefs.start_until:
        raise ValidationError(
            f"The preferred times run from {prefs.start_from:%H:%M} to {prefs.start_until:%H:%M}: "
            "the first must be earlier."
        )
    return Preferences(tuple(sorted(set(prefs.weekdays))), prefs.start_from, prefs.start_until)


@dataclass(frozen=True)
class EntryView:
    entry_id: int
    customer_id: int
    customer_name: str
    phone: str | None  # masked for roles that may not see contacts
    email: str | None
    type_name: str
    provider_name: str | None  # None: any provider
    earliest_date: date
    latest_date: date
    preferences: Preferences
    notes: str | None
    status: str
    created_at: datetime
    waiting_days: int

    @property
    def waiting(self) -> str:
        """'waiting 3 days', 'waiting since today'."""
        if self.waiting_days <= 0:
            return "waiting since today"
        return f"waiting {self.waiting_days} day" + ("" if self.waiting_days == 1 else "s")

    @property
    def dates(self) -> str:
        if self.earliest_date == self.latest_date:
            return fmt_day(self.earliest_date)
        return f"{fmt_day(self.earliest_date)} – {fmt_day(self.latest_date)}"


def entry_dict(entry: WaitlistEntry) -> dict:
    return audit.jsonable(
        {
            "status": entry.status,
            "customer_id": entry.customer_id,
            "type_id": entry.type_id,
            "provider_id": entry.provider_id,
            "earliest_date": entry.earliest_date,
            "latest_date": entry.latest_date,
            "preferences": Preferences.of(entry).text(),
        }
    )


def add_entry(
    actor: Actor | None,
    *,
    customer_id: int,
    location_id: int,
    type_id: int,
    earliest_date: date,
    latest_date: date,
    provider_id: int | None = None,
    preferences: Preferences | None = None,
    notes: str | None = None,
    now: datetime | None = None,
) -> WaitlistEntry:
    now = resolve_now(now)
    limits.day(earliest_date, "earliest date")
    limits.day(latest_date, "latest date")
    notes = limits.text(notes, "note", limits.NOTE_MAX)
    prefs = _checked(preferences)
    with service(
        actor,
        A.WAITLIST_MANAGE,
        entity="waitlist_entry",
        location_id=location_id,
        unknown=f"Unknown location #{location_id}.",
    ) as tx:
        session = tx.session
        if latest_date < earliest_date:
            raise ValidationError(
                f"The latest date {fmt_day(latest_date)} is before the earliest date {fmt_day(earliest_date)}."
            )
        customer_in_scope(tx, customer_id)
        engine = Engine(session, type_id, location_id, provider_id=provider_id)  # validates type/location/provider
        today = today_in(engine.tz, now)
        if latest_date < today:
            raise ValidationError(f"The latest date {fmt_day(latest_date)} has already passed.")
        entry = WaitlistEntry(
            customer_id=customer_id,
            location_id=location_id,
            type_id=type_id,
            provider_id=provider_id,
            earliest_date=earliest_date,
            latest_date=latest_date,
            preferred_weekdays=list(prefs.weekdays) or None,
            preferred_from=prefs.start_from,
            preferred_until=prefs.start_until,
            notes=(notes or "").strip() or None,
            status="waiting",
            created_at=now,
            created_by=actor.user_id if actor else None,
        )
        session.add(entry)
        session.flush()
        tx.audit(entity_id=entry.id, after=entry_dict(entry), reason="added")
    return entry


def remove_entry(actor: Actor | None, entry_id: int, *, reason: str) -> None:
    """Take a waiting (or offered) entry off the list, with the reason in the audit log; its open
    offers are dismissed with it."""
    reason = limits.text(reason, "reason", limits.REASON_MAX) or ""
    if not reason.strip():
        raise ValidationError("Give a reason for removing the customer from the waitlist.")
    with service(actor, A.WAITLIST_MANAGE, entity="waitlist_entry") as tx:
        entry = tx.get_in_scope(WaitlistEntry, entry_id, what="waitlist entry")
        if entry.status not in ACTIVE_ENTRY:
            raise InvalidTransition(f"This waitlist entry is already {entry.status}.")
        before = entry_dict(entry)
        entry.status = "cancelled"
        for offer in tx.session.scalars(
            select(WaitlistOffer).where(WaitlistOffer.entry_id == entry.id, WaitlistOffer.status == "open")
        ):
            offer.status = "dismissed"
        tx.audit(before=before, after=entry_dict(entry), reason=reason.strip())


def waiting_entries(actor: Actor | None, *, location_id: int, now: datetime | None = None) -> list[EntryView]:
    """The location's active entries whose dates have not all passed, longest waiting first.
    Contacts and notes are masked for roles that may not see contacts; a provider sees only
    the entries that asked for them."""
    now = resolve_now(now)
    with reading(actor, A.APPOINTMENT_VIEW, location_id, entity="waitlist_entry") as session:
        location = session.get(Location, location_id)
        if location is None:
            raise NotFound(f"Unknown location #{location_id}.")
        today = today_in(location.timezone, now)
        rows = session.execute(
            select(WaitlistEntry, Customer.name, Customer.phone, Customer.email, AppointmentType.name, Provider.name)
            .join(Customer, Customer.id == WaitlistEntry.customer_id)
            .join(AppointmentType, AppointmentType.id == WaitlistEntry.type_id)
            .outerjoin(Provider, Provider.id == WaitlistEntry.provider_id)
            .where(
                WaitlistEntry.location_id == location_id,
                WaitlistEntry.status.in_(ACTIVE_ENTRY),
                WaitlistEntry.latest_date >= today,
                access.location_filter(actor, WaitlistEntry.location_id),
                access.provider_filter(actor, WaitlistEntry.provider_id),
            )
            .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
        ).all()
        contacts = access.can(actor, A.CONTACTS_VIEW, location_id)
        return [
            EntryView(
                entry_id=e.id,
                customer_id=e.customer_id,
                customer_name=name,
                phone=phone if contacts else access.mask_phone(phone),
                email=email if contacts else access.mask_email(email),
                type_name=type_name,
                provider_name=provider_name,
                earliest_date=e.earliest_date,
                latest_date=e.latest_date,
                preferences=Preferences.of(e),
                notes=e.notes if contacts or not e.notes else NOTES_HIDDEN,
                status=e.status,
                created_at=e.created_at,
                waiting_days=(today - today_in(location.timezone, e.created_at)).days,
            )
            for e, name, phone, email, type_name, provider_name in rows
        ]

"""What every booking service shares: results, the audit snapshot, history rows, the locked
appointment lookup, and the events' state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.errors import NotFound
from core.base.models import Appointment, AppointmentHistory, Customer, Provider
from core.base.tz import to_local
from core.people.customers import scope_clause
from core.scheduling.availability import Engine, fmt_day
from core.scheduling.events import SlotFreed
from core.security import audit
from core.security.service import Tx

NOTE_MAX = 2000
SOURCE_MAX = 30


@dataclass
class BookingResult:
    appointment: Appointment  # detached, loaded (attributes usable after the session closed)
    routing_reason: str | None  # e.g. "Dr. Kim: least booked this week (3 appointments)"
    room_reason: str | None = None  # e.g. "Exam 2: first free exam room"


@dataclass(frozen=True)
class CancelPreview:
    late: bool
    window_hours: int
    message: str  # for the confirmation dialog


# -- helpers ---------------------------------------------------------------------------------


def snapshot(appt: Appointment) -> dict:
    return audit.jsonable(
        {
            "status": appt.status,
            "start": appt.start_at,
            "end": appt.end_at,
            "provider_id": appt.provider_id,
            "room_id": appt.room_id,
            "type_id": appt.type_id,
            "customer_id": appt.customer_id,
            "location_id": appt.location_id,
        }
    )


def history(tx: Tx, appt: Appointment, kind: str, old, new, now: datetime) -> None:
    actor = tx.actor
    tx.session.add(
        AppointmentHistory(
            appointment_id=appt.id,
            at=now,
            actor_id=actor.user_id if actor else None,
            kind=kind,
            old=audit.jsonable(old) if old is not None else None,
            new=audit.jsonable(new) if new is not None else None,
            manual=actor is not None and actor.user_id is not None,
        )
    )


def loaded(appt: Appointment) -> Appointment:
    """Load what pages read, so the appointment is usable once its session has closed."""
    for rel in (appt.location, appt.provider, appt.room, appt.type, appt.customer):
        _ = rel
    return appt


def locked_appointment(tx: Tx, appointment_id: int, action: str | None = None) -> Appointment:
    """The appointment, row-locked, once the actor may act on it; one outside the actor's
    locations (or, for a provider, not theirs) is answered as unknown."""
    return tx.get_in_scope(Appointment, appointment_id, what="appointment", provider=True, action=action)


def customer_in_scope(tx: Tx, customer_id: int) -> None:
    """The customer exists and the actor may find them; otherwise "Unknown customer #id."
    whichever it is, so ids reveal nothing about other locations' customers."""
    visible = tx.session.scalar(select(Customer.id).where(Customer.id == customer_id, scope_clause(tx.actor)))
    if visible is None:
        raise NotFound(f"Unknown customer #{customer_id}.")


def when_text(appt: Appointment) -> str:
    local = to_local(appt.start_at, appt.location.timezone)
    return f"{fmt_day(local.date())} {local:%H:%M}"


def lock_for_capacity(session: Session, engine: Engine, provider_ids: list[int]) -> None:
    """Group sessions share a group_key, so the overlap rule cannot count their members:
    serialise bookings of a provider's group sessions with a row lock (SQLite's write
    transaction is already exclusive)."""
    if engine.capacity > 1 and provider_ids and session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(Provider.id).where(Provider.id.in_(provider_ids)).order_by(Provider.id).with_for_update()
        )


def freed_slot(appt: Appointment, start: datetime, end: datetime, provider_id: int | None, now: datetime) -> SlotFreed:
    return SlotFreed(
        appointment_id=appt.id,
        location_id=appt.location_id,
        type_id=appt.type_id,
        provider_id=provider_id,
        start=start,
        end=end,
        at=now,
    )

"""What every booking service shares: results, the audit snapshot, history rows, the locked
appointment lookup, and the events' state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.errors import ConflictError, NotFound
from core.base.models import Appointment, AppointmentHistory, Customer, Provider, Room
from core.base.tz import to_local
from core.people.customers import scope_clause
from core.scheduling.availability import Engine, customer, fmt_day, fmt_span
from core.scheduling.events import SlotFreed
from core.security import access, audit
from core.security.access import A
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


def lock_schedule(session: Session, engine: Engine, provider_ids: list[int]) -> None:
    """Take the schedule's row locks before reading what holds its time (PostgreSQL; SQLite's
    write transaction is already exclusive): the candidate providers, then the candidate rooms,
    each in id order, so every writer takes them in one order. Two desks booking the same
    provider or room then run one after the other, the second reading the first's booking: no
    exclusion-rule deadlock (two conflicting inserts each waiting for the other), routing
    picks among those still free, and group sessions cannot pass their capacity."""
    if session.get_bind().dialect.name != "postgresql":
        return
    if provider_ids:
        session.execute(
            select(Provider.id)
            .where(Provider.id.in_(provider_ids))
            .order_by(Provider.id)
            .with_for_update(key_share=True)
        )
    if room_ids := sorted(r.id for r in engine.rooms):
        session.execute(select(Room.id).where(Room.id.in_(room_ids)).order_by(Room.id).with_for_update(key_share=True))


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


def refuse_customer_clash(
    tx: Tx,
    customer_id: int,
    start: datetime,
    end: datetime,
    *,
    group_key: str | None,
    exclude_id: int | None = None,
    override_reason: str | None = None,
) -> str | None:
    """One customer is never booked twice at the same time (members of one group session aside):
    ConflictError naming the other appointment, unless someone allowed to override gives a
    reason, which is returned for the audit row. The customer's row is locked first, so two
    desks booking the same customer at once run one after the other."""
    tx.session.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update())
    query = (
        select(Appointment)
        .where(customer.overlapping(customer_id, start, end, exclude_id=exclude_id))
        .order_by(Appointment.start_at)
        .limit(1)
    )
    if group_key is not None:
        query = query.where(Appointment.group_key != group_key)
    other = tx.session.scalar(query)
    if other is None:
        return None
    tz = other.location.timezone
    who = other.provider.name if other.provider else other.location.name
    message = (
        f"{other.customer.name} is already booked {fmt_span(other.start_at, other.end_at, tz)} with {who}"
        + (
            ""
            if to_local(other.start_at, tz).date() == to_local(start, tz).date()
            else f" on {fmt_day(to_local(other.start_at, tz).date())}"
        )
        + "."
    )
    reason = (override_reason or "").strip()
    if reason and access.can(tx.actor, A.APPOINTMENT_OVERRIDE, other.location_id):
        return f"{message} Booked anyway: {reason}"
    if reason:
        access.deny(tx.actor, A.APPOINTMENT_OVERRIDE, f"{message} Only a manager may book over it.",
                    location_id=other.location_id, entity="appointment", entity_id=other.id)  # fmt: skip
    raise ConflictError(message)

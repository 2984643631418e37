"""The customer's own time. One customer is never booked twice at once (members of one group
session aside): booking refuses it (`booking.records.refuse_customer_clash`), and the free times
offered for a known customer leave out the ones it would refuse. Both ask `overlapping`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from core.base.models import OPEN_STATUSES, Appointment, Location, Provider
from core.scheduling.availability.messages import fmt_span
from core.scheduling.availability.rules import Slot, group_key_for


@dataclass(frozen=True)
class Busy:
    """One of the customer's open appointments: when, and the group session it belongs to."""

    appointment_id: int
    start: datetime
    end: datetime
    group_key: str | None


def overlapping(customer_id: int, start: datetime, end: datetime, *, exclude_id: int | None = None) -> ColumnElement:
    """The customer's open appointments that overlap [start, end), less `exclude_id`."""
    clause = and_(
        Appointment.customer_id == customer_id,
        Appointment.status.in_([s.value for s in OPEN_STATUSES]),
        Appointment.start_at < end,
        Appointment.end_at > start,
    )
    return and_(clause, Appointment.id != exclude_id) if exclude_id is not None else clause


def busy(
    session: Session, customer_id: int, start: datetime, end: datetime, *, exclude_id: int | None = None
) -> list[Busy]:
    """The customer's open appointments overlapping [start, end), in start order."""
    rows = session.execute(
        select(Appointment.id, Appointment.start_at, Appointment.end_at, Appointment.group_key)
        .where(overlapping(customer_id, start, end, exclude_id=exclude_id))
        .order_by(Appointment.start_at, Appointment.id)
    ).all()
    return [Busy(*r) for r in rows]


def free_for(slots: list[Slot], held: list[Busy], type_id: int) -> list[Slot]:
    """`slots` less those overlapping one of `held`, a slot in the customer's own group session aside."""
    if not held:
        return slots
    return [
        s
        for s in slots
        if not any(
            b.start < s.end and b.end > s.start and b.group_key != group_key_for(type_id, s.provider_id, s.start)
            for b in held
        )
    ]


def spans(session: Session, held: list[Busy], tz: str) -> list[str]:
    """`held` as the desk reads it: "10:00–10:30 with Dr. Rao" (or at the location, without a provider)."""
    if not held:
        return []
    names = dict(
        session.execute(
            select(Appointment.id, func.coalesce(Provider.name, Location.name))
            .join(Location, Appointment.location_id == Location.id)
            .outerjoin(Provider, Appointment.provider_id == Provider.id)
            .where(Appointment.id.in_([b.appointment_id for b in held]))
        ).all()
    )
    return [f"{fmt_span(b.start, b.end, tz)} with {names[b.appointment_id]}" for b in held]

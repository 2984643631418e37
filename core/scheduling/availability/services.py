"""The public read services: free slots, and which provider a booking would go to."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from core.base.clock import require_aware, resolve_now
from core.base.errors import NotFound, ValidationError
from core.base.models import Location
from core.base.tz import local_day_bounds
from core.scheduling.availability import customer
from core.scheduling.availability.engine import Engine
from core.scheduling.availability.messages import fmt_day
from core.scheduling.availability.routing import routing_for
from core.scheduling.availability.rules import MAX_RANGE_DAYS, Routing, Slot
from core.security.access import A, Actor
from core.security.service import reading


def find_slots(
    actor: Actor | None,
    *,
    type_id: int,
    location_id: int,
    date_from: date,
    date_to: date,
    provider_id: int | None = None,
    room_id: int | None = None,
    now: datetime | None = None,
    exclude_appointment_id: int | None = None,
    limit: int | None = None,
    customer_id: int | None = None,
) -> list[Slot]:
    """Free slots for a type at a location on local dates date_from..date_to, sorted by start
    then provider. `exclude_appointment_id` ignores that appointment's own hold (reschedule);
    with `customer_id`, times the customer is already booked elsewhere are left out, as booking
    would refuse them."""
    now = resolve_now(now)
    with reading(actor, A.APPOINTMENT_VIEW, location_id, entity="availability") as session:
        if date_to < date_from:
            raise ValidationError(f"The end date {fmt_day(date_to)} is before the start date {fmt_day(date_from)}.")
        if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
            raise ValidationError(f"Choose at most {MAX_RANGE_DAYS} days at a time.")
        engine = Engine(session, type_id, location_id, provider_id=provider_id, room_id=room_id)
        engine.load(date_from, date_to, exclude_appointment_id=exclude_appointment_id)
        slots = engine.slots(date_from, date_to, now=now)
        if customer_id is not None and slots:
            held = customer.busy(session, customer_id, slots[0].start, max(s.end for s in slots),
                                 exclude_id=exclude_appointment_id)  # fmt: skip
            slots = customer.free_for(slots, held, type_id)
    return slots[:limit] if limit is not None else slots


def choose_provider(
    actor: Actor | None,
    *,
    type_id: int,
    location_id: int,
    start: datetime,
    room_id: int | None = None,
    now: datetime | None = None,
) -> Routing:
    """Which provider would take a booking at `start` (no provider chosen), and why."""
    now = resolve_now(now)
    start = require_aware(start)
    with reading(actor, A.APPOINTMENT_VIEW, location_id, entity="availability") as session:
        engine = Engine(session, type_id, location_id, room_id=room_id)
        return routing_for(engine, start, now=now)


def customer_elsewhere(
    actor: Actor | None,
    *,
    customer_id: int,
    location_id: int,
    day: date,
    exclude_appointment_id: int | None = None,
) -> list[str]:
    """The customer's other open appointments on the location's local `day` ("10:00–10:30 with
    Dr. Rao"): the times `find_slots(customer_id=...)` leaves out, for the desk to read why."""
    with reading(actor, A.APPOINTMENT_VIEW, location_id, entity="availability") as session:
        tz = session.scalar(select(Location.timezone).where(Location.id == location_id))
        if tz is None:
            raise NotFound(f"Unknown location #{location_id}.")
        lo, hi = local_day_bounds(day, tz)
        return customer.spans(
            session, customer.busy(session, customer_id, lo, hi, exclude_id=exclude_appointment_id), tz
        )

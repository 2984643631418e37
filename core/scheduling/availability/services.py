"""The public read services: free slots, and which provider a booking would go to."""

from __future__ import annotations

from datetime import date, datetime

from core.base.clock import require_aware, resolve_now
from core.base.errors import ValidationError
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
) -> list[Slot]:
    """Free slots for a type at a location on local dates date_from..date_to, sorted by start
    then provider. `exclude_appointment_id` ignores that appointment's own hold (reschedule)."""
    now = resolve_now(now)
    with reading(actor, A.APPOINTMENT_VIEW, location_id, entity="availability") as session:
        if date_to < date_from:
            raise ValidationError(f"The end date {fmt_day(date_to)} is before the start date {fmt_day(date_from)}.")
        if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
            raise ValidationError(f"Choose at most {MAX_RANGE_DAYS} days at a time.")
        engine = Engine(session, type_id, location_id, provider_id=provider_id, room_id=room_id)
        engine.load(date_from, date_to, exclude_appointment_id=exclude_appointment_id)
        slots = engine.slots(date_from, date_to, now=now)
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

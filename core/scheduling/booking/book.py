"""Booking a new appointment: routing, rooms, intake, and the booked event."""

from __future__ import annotations

from datetime import datetime

from core.base import limits
from core.base.clock import require_aware, resolve_now
from core.base.errors import ValidationError
from core.base.models import Appointment, Status, new_key
from core.base.tz import to_local
from core.people.customers import add_customer_in
from core.scheduling.availability import Engine, Fit, pick
from core.scheduling.booking.intake import answers
from core.scheduling.booking.records import (
    SOURCE_MAX,
    BookingResult,
    customer_in_scope,
    history,
    loaded,
    lock_for_capacity,
    refuse_customer_clash,
    snapshot,
)
from core.scheduling.conflicts import Attempt, run_booking
from core.scheduling.events import (
    AppointmentBooked,
    AppointmentState,
)
from core.security.access import A, Actor
from core.security.service import Tx, service


def _room_reason(engine: Engine, fit: Fit, room_id: int | None) -> str | None:
    if fit.room_name is None:
        return None
    if room_id is not None:
        return f"{fit.room_name}: the room asked for"
    if fit.group_key is not None and fit.group_key in engine.sessions:
        return f"{fit.room_name}: the session's room"
    return f"{fit.room_name}: first free {engine.type.room_kind or ''} room".replace("  ", " ")


# -- booking ---------------------------------------------------------------------------------


def book_in(
    tx: Tx,
    *,
    type_id: int,
    location_id: int,
    customer_id: int,
    start: datetime,
    now: datetime,
    attempt: Attempt,
    provider_id: int | None = None,
    room_id: int | None = None,
    intake: dict | None = None,
    source: str = "front_desk",
    notes: str | None = None,
    override_reason: str | None = None,
) -> tuple[Appointment, str | None, str | None]:
    """Book inside the caller's service call (permission already checked). Returns the new
    appointment, the routing reason (when the provider was picked) and the room reason."""
    session, actor = tx.session, tx.actor
    customer_in_scope(tx, customer_id)
    engine = Engine(session, type_id, location_id, provider_id=provider_id, room_id=room_id)
    # Answers given (the desk's form) must fill every required field; none (a one-click waitlist
    # booking, a rebook from the queue) leaves the intake missing for the queue to follow up.
    given, complete = answers(engine.type, intake, required=intake is not None)
    lock_for_capacity(session, engine, [p.id for p in engine.providers])
    routing_reason = None
    if provider_id is None:
        fit, routing_reason = pick(engine, start, now=now)
    else:
        engine.check_time_rules(start, now)
        day = to_local(start, engine.tz).date()
        engine.load(day, day)
        fit = engine.check(provider_id, start, now)
    overridden = refuse_customer_clash(
        tx, customer_id, fit.start, fit.end, group_key=fit.group_key, override_reason=override_reason
    )
    room_reason = _room_reason(engine, fit, room_id)
    appt = Appointment(
        location_id=location_id,
        provider_id=fit.provider_id,
        room_id=fit.room_id,
        type_id=type_id,
        customer_id=customer_id,
        start_at=fit.start,
        end_at=fit.end,
        block_start=fit.block_start,
        block_end=fit.block_end,
        group_key=fit.group_key or new_key(),
        status=Status.BOOKED.value,
        booked_at=now,
        booked_by=actor.user_id if actor else None,
        source=source,
        intake_answers=given,
        intake_complete=complete,
        notes=notes,
    )
    attempt.holds(appt)
    session.add(appt)
    session.flush()
    after = snapshot(appt) | {"intake_complete": complete, "source": source}
    history(tx, appt, "created", None, after, now)
    tx.audit(
        action=A.APPOINTMENT_BOOK,
        entity="appointment",
        entity_id=appt.id,
        location_id=location_id,
        after=after,
        reason="; ".join(r for r in (routing_reason, overridden) if r) or None,
    )
    tx.publish(
        AppointmentBooked(appointment_id=appt.id, before=None, after=AppointmentState.of(appt), actor=actor, at=now)
    )
    return appt, routing_reason, room_reason


def book(
    actor: Actor | None,
    *,
    type_id: int,
    location_id: int,
    customer_id: int | None = None,
    start: datetime,
    provider_id: int | None = None,
    room_id: int | None = None,
    intake: dict | None = None,
    source: str = "front_desk",
    notes: str | None = None,
    now: datetime | None = None,
    new_customer: dict | None = None,
    override_reason: str | None = None,
) -> BookingResult:
    """Book an appointment. Without a provider, routing picks one and says why; without a
    room, the first free room of the type's kind is taken. `intake` answers must fill every
    required field (ValidationError naming it); without `intake` the appointment is booked with
    its intake missing. `new_customer`
    ({name, email, phone}) instead of `customer_id` adds the customer in the same transaction,
    so a refused booking leaves no customer behind."""
    if (customer_id is None) == (new_customer is None):
        raise ValidationError("Choose an existing customer or enter a new one (not both).")
    now = resolve_now(now)
    start = limits.instant(require_aware(start), "start time")
    notes = limits.text(notes, "note", limits.NOTE_MAX)
    if not source or len(source) > SOURCE_MAX:
        raise ValidationError(f"The booking source must be 1 to {SOURCE_MAX} characters (e.g. 'front_desk').")
    attempt = Attempt()

    def run() -> BookingResult:
        with service(
            actor,
            A.APPOINTMENT_BOOK,
            entity="appointment",
            location_id=location_id,
            provider_id=provider_id,
            unknown=f"Unknown location #{location_id}.",
        ) as tx:
            who = customer_id
            if new_customer is not None:
                who = add_customer_in(tx, location_id=location_id, **new_customer).id
            appt, reason, room_reason = book_in(
                tx,
                type_id=type_id,
                location_id=location_id,
                customer_id=who,
                start=start,
                now=now,
                attempt=attempt,
                provider_id=provider_id,
                room_id=room_id,
                intake=intake,
                source=source,
                notes=notes,
                override_reason=limits.text(override_reason, "override reason", limits.REASON_MAX),
            )
            loaded(appt)
        return BookingResult(appt, reason, room_reason)

    return run_booking(run, attempt)

"""Moving an appointment to another provider at the same time, and cancelling one, inside a
caller's transaction (bulk changes: a provider out sick, a location closed for a day).

The caller has checked the permission for the whole change; these apply the same rules as
`reschedule` and `cancel` (the slot engine's check, history, an audit row per appointment,
the domain events) without committing, so one refusal rolls back everything around them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.base.errors import InvalidTransition
from core.base.models import Appointment, Status
from core.base.tz import to_local
from core.scheduling import transitions
from core.scheduling.availability import DomainProblem, Engine
from core.scheduling.booking.records import freed_slot, history, lock_schedule, snapshot, when_text
from core.scheduling.events import AppointmentCancelled, AppointmentRescheduled, AppointmentState
from core.security.access import A
from core.security.service import Tx


def reassign_in(tx: Tx, appt: Appointment, provider_id: int, *, now: datetime, reason: str) -> Appointment:
    """Give `appt` to another provider at the same time (the same room when it is free).
    Raises the slot engine's own error (e.g. "Dr. Kim is already booked 10:00-10:30") when
    the provider cannot take it."""
    if appt.status not in (Status.BOOKED.value, Status.CONFIRMED.value):
        raise InvalidTransition(
            f"The appointment {when_text(appt)} is {transitions.STATUS_WORDS[Status(appt.status)]}; "
            "only booked or confirmed appointments can move to another provider."
        )
    engine = Engine(tx.session, appt.type_id, appt.location_id, provider_id=provider_id)
    lock_schedule(tx.session, engine, [provider_id])
    day = to_local(appt.start_at, engine.tz).date()
    engine.load(day, day, exclude_appointment_id=appt.id)
    # Notice and horizon were checked when it was booked; only the provider's time and a room matter now.
    fit = engine.fit(provider_id, appt.start_at, prefer_room_id=appt.room_id)
    if isinstance(fit, DomainProblem):
        raise fit.error()
    before, state = snapshot(appt), AppointmentState.of(appt)
    old = {"start": appt.start_at, "end": appt.end_at, "provider_id": appt.provider_id, "room_id": appt.room_id}
    appt.block_start, appt.block_end = fit.block_start, fit.block_end
    appt.provider_id, appt.room_id = fit.provider_id, fit.room_id
    if fit.group_key is not None:
        appt.group_key = fit.group_key
    tx.session.flush()
    new = {"start": appt.start_at, "end": appt.end_at, "provider_id": appt.provider_id, "room_id": appt.room_id}
    history(tx, appt, "reschedule", old, new, now)
    tx.audit(
        action=A.APPOINTMENT_RESCHEDULE,
        entity="appointment",
        entity_id=appt.id,
        location_id=appt.location_id,
        before=before,
        after=snapshot(appt),
        reason=reason,
    )
    tx.publish(
        AppointmentRescheduled(appointment_id=appt.id, before=state, after=AppointmentState.of(appt), actor=tx.actor,
                               at=now)
    )  # fmt: skip
    return appt


def cancel_in(tx: Tx, appt: Appointment, *, now: datetime, reason: str, by_customer: bool = True) -> Appointment:
    """Cancel an open appointment (late when inside its type's cancellation window). With
    `by_customer=False` (the desk declined a booking request, or it lapsed) it is never late:
    the customer did not cancel, so it is no late cancel in the KPIs."""
    if transitions.status_refusal(A.APPOINTMENT_CANCEL, appt.status):
        raise InvalidTransition(
            f"The appointment {when_text(appt)} is already {transitions.STATUS_WORDS[Status(appt.status)]}."
        )
    before, state = snapshot(appt), AppointmentState.of(appt)
    late = by_customer and appt.start_at - now < timedelta(hours=appt.type.cancellation_window_hours)
    old = appt.status
    appt.status, appt.cancelled_at, appt.cancel_reason, appt.late_cancel = (
        Status.CANCELLED.value,
        now,
        reason[:255],
        late,
    )
    tx.session.flush()
    history(
        tx, appt, "status", {"status": old}, {"status": Status.CANCELLED.value, "reason": reason, "late": late}, now
    )
    tx.audit(
        action=A.APPOINTMENT_CANCEL,
        entity="appointment",
        entity_id=appt.id,
        location_id=appt.location_id,
        before=before,
        after=snapshot(appt) | {"late_cancel": late},
        reason=reason,
    )
    tx.publish(
        AppointmentCancelled(appointment_id=appt.id, before=state, after=AppointmentState.of(appt), actor=tx.actor,
                             at=now, late=late)
    )  # fmt: skip
    if appt.start_at > now:
        tx.publish(freed_slot(appt, appt.start_at, appt.end_at, appt.provider_id, now))
    return appt

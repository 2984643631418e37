"""Moving an appointment to a new time, provider or room."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.base import limits
from core.base.clock import require_aware, resolve_now
from core.base.errors import InvalidTransition, ValidationError
from core.base.models import Appointment
from core.base.tz import to_local
from core.scheduling import transitions
from core.scheduling.availability import Engine
from core.scheduling.booking.records import (
    freed_slot,
    history,
    loaded,
    lock_for_capacity,
    locked_appointment,
    refuse_customer_clash,
    snapshot,
    when_text,
)
from core.scheduling.conflicts import Attempt, run_booking
from core.scheduling.events import (
    AppointmentRescheduled,
    AppointmentState,
)
from core.security.access import A, Actor
from core.security.service import service

# -- reschedule ------------------------------------------------------------------------------


def reschedule(
    actor: Actor | None,
    appointment_id: int,
    *,
    new_start: datetime,
    provider_id: int | None = None,
    room_id: int | None = None,
    now: datetime | None = None,
    override_reason: str | None = None,
) -> Appointment:
    """Move a booked or confirmed appointment: same appointment, new time (and optionally a
    new provider or room; by default the same provider, and the same room when it is free).
    Refused inside the type's reschedule notice. The old slot is published as freed."""
    now = resolve_now(now)
    new_start = limits.instant(require_aware(new_start, "The new start time"), "new start time")
    attempt = Attempt(appointment_id=appointment_id)

    def run() -> Appointment:
        with service(actor, A.APPOINTMENT_RESCHEDULE, entity="appointment") as tx:
            appt = locked_appointment(tx, appointment_id)
            if refusal := transitions.status_refusal(A.APPOINTMENT_RESCHEDULE, appt.status):
                raise InvalidTransition(refusal)
            atype = appt.type
            if now >= appt.start_at:
                raise InvalidTransition(f"This appointment started {when_text(appt)}; it can no longer be rescheduled.")
            notice = atype.reschedule_notice_hours
            if notice and appt.start_at - now < timedelta(hours=notice):
                raise ValidationError(
                    f"{atype.name} can be rescheduled only up to {notice} hours before its start; "
                    f"this one starts {when_text(appt)}."
                )
            target = provider_id if provider_id is not None else appt.provider_id
            engine = Engine(tx.session, appt.type_id, appt.location_id, provider_id=target, room_id=room_id)
            lock_for_capacity(tx.session, engine, [target])
            engine.check_time_rules(new_start, now)
            day = to_local(new_start, engine.tz).date()
            engine.load(day, day, exclude_appointment_id=appt.id)
            fit = engine.check(target, new_start, now, prefer_room_id=appt.room_id)
            if fit.start == appt.start_at and fit.provider_id == appt.provider_id and fit.room_id == appt.room_id:
                raise ValidationError(f"The appointment is already at {when_text(appt)}.")
            overridden = refuse_customer_clash(
                tx, appt.customer_id, fit.start, fit.end, group_key=fit.group_key, exclude_id=appt.id,
                override_reason=limits.text(override_reason, "override reason", limits.REASON_MAX),
            )  # fmt: skip
            before, state = snapshot(appt), AppointmentState.of(appt)
            old = {"start": appt.start_at, "end": appt.end_at, "provider_id": appt.provider_id, "room_id": appt.room_id}
            appt.start_at, appt.end_at = fit.start, fit.end
            appt.block_start, appt.block_end = fit.block_start, fit.block_end
            appt.provider_id, appt.room_id = fit.provider_id, fit.room_id
            if fit.group_key is not None:
                appt.group_key = fit.group_key
            appt.reschedule_count = (appt.reschedule_count or 0) + 1
            attempt.holds(appt)
            tx.session.flush()
            new = {"start": appt.start_at, "end": appt.end_at, "provider_id": appt.provider_id, "room_id": appt.room_id}
            history(tx, appt, "reschedule", old, new, now)
            tx.audit(
                before=before, after=snapshot(appt) | {"reschedule_count": appt.reschedule_count}, reason=overridden
            )
            tx.publish(
                AppointmentRescheduled(
                    appointment_id=appt.id, before=state, after=AppointmentState.of(appt), actor=actor, at=now
                )
            )
            if state.start > now:
                tx.publish(freed_slot(appt, state.start, state.end, state.provider_id, now))
            tx.session.expire(appt, ["provider", "room"])
            loaded(appt)
        return appt

    return run_booking(run, attempt)

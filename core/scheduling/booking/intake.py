"""Recording that an appointment's intake has been received (the answers came on paper, by
phone or by mail): one edit, with its history row, audit row and AppointmentEdited event."""

from __future__ import annotations

from datetime import datetime

from core.base.errors import ValidationError
from core.base.models import Appointment
from core.scheduling.availability import resolve_now
from core.scheduling.booking.records import NOTE_MAX, history, loaded, locked_appointment
from core.scheduling.events import AppointmentEdited, AppointmentState
from core.security.access import A, Actor
from core.security.service import service


def mark_intake_received(
    actor: Actor | None, appointment_id: int, *, note: str | None = None, now: datetime | None = None
) -> Appointment:
    """Mark the intake complete (providers: their own appointments only); `note` says how it came."""
    now = resolve_now(now)
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        raise ValidationError(f"A note can be at most {NOTE_MAX} characters (this one has {len(note)}).")
    with service(actor, A.APPOINTMENT_NOTE, entity="appointment") as tx:
        appt = locked_appointment(tx, appointment_id)
        if appt.intake_complete:
            raise ValidationError("The intake of this appointment is already complete.")
        appt.intake_complete = True
        tx.session.flush()
        new = {"intake_complete": True} | ({"note": note} if note else {})
        history(tx, appt, "edit", {"intake_complete": False}, new, now)
        tx.audit(before={"intake_complete": False}, after=new, reason="intake received")
        state = AppointmentState.of(appt)
        tx.publish(
            AppointmentEdited(
                appointment_id=appt.id, before=state, after=state, actor=actor, at=now, fields=("intake_complete",)
            )
        )
        loaded(appt)
    return appt

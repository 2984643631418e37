"""An intake already complete when booked (the booking gave every answer its form requires) is
announced like one completed later: IntakeCompleted, how "booking", in the booking's transaction.

Its own module because of where it must run: after the booking's own webhook is written, so a
receiver sees appointment.booked before intake.completed (deliveries to one endpoint about one
appointment go out in the order they were written). core.intake.events settles the intake first,
among the AppointmentBooked handlers; the webhooks write on AppointmentChanged, which runs after
them; this handler is on AppointmentChanged too, and listed after core.webhooks.enqueue in
core.bootstrap.HANDLERS."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.base.bus import subscribe
from core.base.models import Appointment, IntakeAnswers
from core.intake.answers import completed_in, form_of
from core.scheduling.events import AppointmentBooked, AppointmentChanged


@subscribe(AppointmentChanged)
def _on_booked(session: Session, event: AppointmentChanged) -> None:
    if not isinstance(event, AppointmentBooked):
        return
    row = session.get(IntakeAnswers, event.appointment_id)
    if row is None or row.completed_at != event.at:  # no form, not complete, or complete before this booking
        return
    appt = session.get(Appointment, event.appointment_id)
    completed_in(session, event.actor, appt, row, form_of(session, appt, row)[0], "booking", event.at)

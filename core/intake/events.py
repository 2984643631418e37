"""Booking an appointment of a type with an intake form pins it to the form's current version
and says whether its intake is complete (usually not: the customer has the link to fill it in),
in the booking's own transaction, before the exceptions queue looks at it (core.bootstrap.HANDLERS)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.base.bus import subscribe
from core.base.models import Appointment
from core.intake.answers import refresh_in, row_in
from core.scheduling.events import AppointmentBooked


@subscribe(AppointmentBooked)
def _on_booked(session: Session, event: AppointmentBooked) -> None:
    appt = session.get(Appointment, event.appointment_id)
    if appt is None:
        return
    row = row_in(session, appt, event.at)
    if row is not None:
        refresh_in(session, appt, row, event.at)

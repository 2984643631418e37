"""The "intake missing" item's "Mark received on paper": the form's intake (core.intake.answers),
or the flat booking questions' for a type without a form (core.scheduling.booking.intake)."""

from __future__ import annotations

from datetime import datetime

from core.base.db import read_session
from core.base.models import Appointment, IntakeAnswers
from core.intake import answers, forms
from core.queue import kinds
from core.queue.actions import fixing_action
from core.queue.reads import ItemView
from core.scheduling.booking.intake import mark_intake_received
from core.security.access import A, Actor

NOTE = "received on paper (from the exceptions queue)"


def has_form(appointment_id: int) -> bool:
    with read_session() as session:
        appt = session.get(Appointment, appointment_id)
        return appt is not None and (
            session.get(IntakeAnswers, appt.id) is not None
            or (appt.type_id is not None and forms.current_form(session, appt.type_id) is not None)
        )


@fixing_action(kinds.INTAKE_MISSING, "intake_received", "Mark received on paper", permission=A.APPOINTMENT_NOTE)
def _on_paper(actor: Actor, item: ItemView, *, now: datetime | None = None) -> object:
    if has_form(item.appointment_id):
        return answers.mark_received_on_paper(actor, item.appointment_id, note=NOTE, now=now)
    return mark_intake_received(actor, item.appointment_id, note=NOTE, now=now)

"""The queue's "send the link again" on an "intake missing" item: the confirmation once more (it
carries the intake link and the pre-visit instructions while the intake misses something), on
every channel the type has not switched it off, due now, through the outbox like every other
message. Each resend is its own row, numbered in its `offset_min` (part of the idempotency key:
a17.confirmation1.email...), so the log shows every one sent; a move of the appointment
supersedes a pending one like any confirmation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from core.base.clock import resolve_now
from core.base.errors import ValidationError
from core.base.models import Appointment, IntakeAnswers
from core.notifications.enqueue import idempotency_key
from core.notifications.models import CHANNELS, NotificationOutbox
from core.notifications.store import disabled_of
from core.queue import kinds
from core.queue.actions import fixing_action
from core.queue.reads import ItemView
from core.scheduling.booking.records import locked_appointment
from core.security.access import A, Actor
from core.security.service import service

KIND = "confirmation"


def send_intake_link(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> int:
    """Queue the intake link to the customer again (appointment.note); returns how many messages."""
    now = resolve_now(now)
    with service(actor, A.APPOINTMENT_NOTE, entity="appointment") as tx:
        appt: Appointment = locked_appointment(tx, appointment_id)
        if appt.intake_complete:
            raise ValidationError("This intake is already complete: there is no link to send.")
        if tx.session.get(IntakeAnswers, appt.id) is None:
            raise ValidationError("This appointment's type has no intake form: there is no link to send.")
        if appt.start_at <= now or appt.status not in ("booked", "confirmed"):
            raise ValidationError("This appointment is no longer ahead: the link would not help.")
        sent = tx.session.scalar(
            select(func.max(NotificationOutbox.offset_min)).where(
                NotificationOutbox.appointment_id == appt.id, NotificationOutbox.kind == KIND
            )
        )
        number = (sent or 0) + 1
        off = disabled_of(tx.session, appt.type_id)
        channels = [c for c in CHANNELS if (KIND, c) not in off]
        if not channels:
            raise ValidationError(
                "The intake link message is switched off for this type: switch it on in Notifications."
            )
        for channel in channels:
            tx.session.add(NotificationOutbox(
                idempotency_key=idempotency_key(appt.id, KIND, channel, appt.start_at, number),
                appointment_id=appt.id, location_id=appt.location_id, customer_id=appt.customer_id, channel=channel,
                kind=KIND, offset_min=number, written_for=appt.start_at, payload={}, due_at=now, next_attempt_at=now,
                status="pending", attempts=0, created_at=now, updated_at=now,
            ))  # fmt: skip
        tx.audit(after={"intake_link_sent": number, "channels": channels}, reason="intake link sent again")
        return len(channels)


@fixing_action(kinds.INTAKE_MISSING, "send_intake_link", "Send the link again", permission=A.APPOINTMENT_NOTE,
                resolves=False)  # fmt: skip
def _send_again(actor: Actor, item: ItemView, *, now: datetime | None = None) -> object:
    return send_intake_link(actor, item.appointment_id, now=now)

"""Writing the outbox as appointments change, inside the booking's own transaction.

    booked       -> confirmation now, a reminder at each of the type's offsets before the start
    rescheduled  -> what was pending for the old start is superseded; a "moved" notice now and
                    reminders for the new start
    cancelled    -> everything pending is cancelled; a cancellation notice if it was still ahead
    checked in   -> pending confirmations and reminders are cancelled (the customer is here)
    no-show      -> pending ones cancelled; a rebooking message now
    completed    -> a follow-up after the type's delay

Rows are marked, never deleted. The idempotency key (appointment, kind with the reminder's
offset, channel, the start written for) is unique: a message is queued once however often an
event is replayed, and rescheduling back to an old time revives the superseded rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.base.bus import subscribe
from core.base.models import Status
from core.notifications.models import CHANNELS, NotificationOutbox
from core.notifications.store import disabled_of, schedule_of
from core.scheduling.events import (
    AppointmentBooked,
    AppointmentChanged,
    AppointmentRescheduled,
    AppointmentState,
    AppointmentStatusChanged,
)

TIME_BOUND = ("confirmation", "reminder", "rescheduled")  # only true for the start they name
REVIVABLE = ("superseded", "cancelled")


def idempotency_key(appointment_id: int, kind: str, channel: str, written_for: datetime, offset_min: int | None) -> str:
    """e.g. a17.reminder120.email.20260309T1400Z: also the email's Message-ID (left of the @)."""
    offset = "" if offset_min is None else str(offset_min)
    return f"a{appointment_id}.{kind}{offset}.{channel}.{written_for:%Y%m%dT%H%MZ}"


class _Writer:
    def __init__(self, session: Session, event: AppointmentChanged):
        self.session, self.event, self.state = session, event, event.after
        self._disabled: set[tuple[str, str]] | None = None
        self.existing: dict[str, NotificationOutbox] | None = None  # loaded when it can matter

    @property
    def disabled(self) -> set[tuple[str, str]]:
        if self._disabled is None:
            self._disabled = disabled_of(self.session, self.state.type_id)
        return self._disabled

    def close_pending(self, status: str, reason: str, kinds: tuple[str, ...] | None = None) -> int:
        q = update(NotificationOutbox).where(
            NotificationOutbox.appointment_id == self.event.appointment_id, NotificationOutbox.status == "pending"
        )
        if kinds is not None:
            q = q.where(NotificationOutbox.kind.in_(kinds))
        values = {"status": status, "last_error": reason, "lease_until": None, "updated_at": self.event.at}
        return self.session.execute(q.values(**values).execution_options(synchronize_session=False)).rowcount

    def queue(self, kind: str, due: datetime, *, offset_min: int | None = None, payload: dict | None = None) -> None:
        if self.existing is None:
            rows = self.session.scalars(
                select(NotificationOutbox).where(NotificationOutbox.appointment_id == self.event.appointment_id)
            )
            self.existing = {r.idempotency_key: r for r in rows}
        s = self.state
        for channel in CHANNELS:
            if (kind, channel) in self.disabled:
                continue
            key = idempotency_key(self.event.appointment_id, kind, channel, s.start, offset_min)
            row = self.existing.get(key)
            if row is not None:
                if row.status in REVIVABLE:  # e.g. moved back to a time it had before
                    row.status, row.due_at, row.next_attempt_at, row.attempts = "pending", due, due, 0
                    row.last_error = row.lease_until = row.claimed_by = row.sending_at = None
                    row.payload = payload or {}
                continue
            row = NotificationOutbox(
                idempotency_key=key,
                appointment_id=self.event.appointment_id,
                location_id=s.location_id,
                customer_id=s.customer_id,
                channel=channel,
                kind=kind,
                offset_min=offset_min,
                written_for=s.start,
                payload=payload or {},
                due_at=due,
                next_attempt_at=due,
                status="pending",
                attempts=0,
                created_at=self.event.at,
                updated_at=self.event.at,
            )
            self.session.add(row)
            self.existing[key] = row

    def queue_reminders(self) -> None:
        for offset in schedule_of(self.session, self.state.type_id).reminder_offsets_min:
            due = self.state.start - timedelta(minutes=offset)
            if due > self.event.at:  # a reminder whose time has passed would only repeat the confirmation
                self.queue("reminder", due, offset_min=offset)


def _booked(w: _Writer) -> None:
    w.existing = {}  # a new appointment has no messages yet
    if w.state.start > w.event.at:
        w.queue("confirmation", w.event.at)
        w.queue_reminders()


def _rescheduled(w: _Writer, before: AppointmentState | None) -> None:
    if before is not None and before.start == w.state.start:
        return  # another provider or room, same time: what the customer was told still holds
    w.close_pending("superseded", "superseded: the appointment moved to a new time", TIME_BOUND)
    payload = {"previous_start": before.start.isoformat()} if before is not None else {}
    w.queue("rescheduled", w.event.at, payload=payload)
    w.queue_reminders()


def _status_changed(w: _Writer) -> None:
    status, at = w.state.status, w.event.at
    before = w.event.before.status if w.event.before is not None else None
    if before in (Status.NO_SHOW, Status.COMPLETED) and status != before:  # undone: take back what it sent
        w.close_pending("cancelled", "cancelled: the status change was undone", ("no_show", "follow_up"))
    if status in (Status.BOOKED, Status.CONFIRMED) and before in (Status.NO_SHOW, Status.CHECKED_IN):
        w.queue_reminders()  # an undone check-in or no-show: reminders still ahead come back
    if status == Status.CANCELLED:
        w.close_pending("cancelled", "cancelled: the appointment was cancelled")
        if w.state.start > at:
            w.queue("cancellation", at)
    elif status == Status.CHECKED_IN:
        w.close_pending("cancelled", "cancelled: the customer checked in", TIME_BOUND)
    elif status == Status.NO_SHOW:
        w.close_pending("cancelled", "cancelled: the customer did not come")
        w.queue("no_show", at)
    elif status == Status.COMPLETED:
        w.close_pending("cancelled", "cancelled: the appointment is over", TIME_BOUND)
        w.queue("follow_up", at + timedelta(minutes=schedule_of(w.session, w.state.type_id).follow_up_delay_min))


@subscribe(AppointmentChanged)
def on_appointment_changed(session: Session, event: AppointmentChanged) -> None:
    if isinstance(event, AppointmentBooked):
        _booked(_Writer(session, event))
    elif isinstance(event, AppointmentRescheduled):
        _rescheduled(_Writer(session, event), event.before)
    elif isinstance(event, AppointmentStatusChanged) and (
        event.before is None or event.before.status != event.after.status
    ):
        _status_changed(_Writer(session, event))

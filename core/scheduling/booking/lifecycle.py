"""Status changes along the transition table (and undoing the last one), cancellation and notes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from core.base import limits
from core.base.clock import resolve_now
from core.base.errors import InvalidTransition, NotFound, ValidationError
from core.base.models import Appointment, AppointmentHistory, Status
from core.base.tz import to_local
from core.scheduling import transitions
from core.scheduling.booking.records import (
    NOTE_MAX,
    CancelPreview,
    freed_slot,
    history,
    loaded,
    locked_appointment,
    snapshot,
    when_text,
)
from core.scheduling.events import (
    AppointmentCancelled,
    AppointmentEdited,
    AppointmentState,
    AppointmentStatusChanged,
)
from core.security.access import A, Actor
from core.security.service import check, reading, service

# -- status changes --------------------------------------------------------------------------


def _refuse_unless_applies(appt: Appointment, action: str, now: datetime) -> None:
    if refusal := transitions.status_refusal(action, appt.status):
        raise InvalidTransition(refusal)
    if refusal := transitions.time_refusal(action, to_local(appt.start_at, appt.location.timezone), now):
        raise InvalidTransition(refusal)


def _change_status(actor: Actor | None, appointment_id: int, action: str, now: datetime | None) -> Appointment:
    now = resolve_now(now)
    t = transitions.BY_ACTION[action]
    with service(actor, action, entity="appointment") as tx:
        appt = locked_appointment(tx, appointment_id)
        _refuse_unless_applies(appt, action, now)
        before, state = snapshot(appt), AppointmentState.of(appt)
        old = appt.status
        appt.status = t.target.value
        if t.stamp:
            setattr(appt, t.stamp, now)
        tx.session.flush()
        history(tx, appt, "status", {"status": old}, {"status": t.target.value}, now)
        tx.audit(before=before, after=snapshot(appt))
        tx.publish(
            AppointmentStatusChanged(
                appointment_id=appt.id, before=state, after=AppointmentState.of(appt), actor=actor, at=now
            )
        )
        loaded(appt)
    return appt


def confirm(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> Appointment:
    return _change_status(actor, appointment_id, A.APPOINTMENT_CONFIRM, now)


def check_in(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> Appointment:
    """Booked or confirmed -> checked in (a customer who never confirmed can still arrive)."""
    return _change_status(actor, appointment_id, A.APPOINTMENT_CHECK_IN, now)


def complete(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> Appointment:
    return _change_status(actor, appointment_id, A.APPOINTMENT_COMPLETE, now)


def mark_no_show(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> Appointment:
    return _change_status(actor, appointment_id, A.APPOINTMENT_NO_SHOW, now)


# -- undo ------------------------------------------------------------------------------------

UNDO = "appointment.undo"  # the audit action and history kind; the permission is the undone action's
UNDO_WINDOW = timedelta(minutes=5)
UNDOABLE = {t.target.value: t for t in transitions.TRANSITIONS if t.action in (
    A.APPOINTMENT_CONFIRM, A.APPOINTMENT_CHECK_IN, A.APPOINTMENT_COMPLETE, A.APPOINTMENT_NO_SHOW)}  # fmt: skip


def _undo_refusal(last: AppointmentHistory | None, appt: Appointment, now: datetime) -> str | None:
    """Why the appointment's last change cannot be undone now, or None when it can."""
    status = (last.new or {}).get("status") if last else None
    if last is None or last.kind == "created":
        return "There is no status change to undo on this appointment."
    if last.kind == "undo":
        return "The last status change of this appointment was already undone."
    if status == Status.CANCELLED.value:
        return "A cancellation cannot be undone: book the customer again."
    if status not in UNDOABLE:
        what = {"note": "a note", "edit": "an intake edit", "reschedule": "a reschedule"}.get(last.kind, last.kind)
        return f"Only the last change can be undone, and the last change to this appointment was {what}."
    if appt.status != last.new["status"]:  # defensive: the history and the row disagree
        return "This appointment changed since; it can no longer be undone."
    if now - last.at > UNDO_WINDOW:
        local = to_local(last.at, appt.location.timezone)
        minutes = int(UNDO_WINDOW.total_seconds() // 60)
        return f"It was {transitions.STATUS_WORDS[Status(appt.status)]} at {local:%H:%M}: a change can be undone only within {minutes} minutes."
    return None


def last_change(session, appointment_id: int) -> AppointmentHistory | None:
    return session.scalar(
        select(AppointmentHistory)
        .where(AppointmentHistory.appointment_id == appointment_id)
        .order_by(AppointmentHistory.at.desc(), AppointmentHistory.id.desc())
        .limit(1)
    )


def undo_status(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> Appointment:
    """Put back the status before the appointment's last confirmation, check-in, completion or
    no-show, within UNDO_WINDOW and only when nothing else changed since. Allowed to whoever may
    take the undone action; the undo is a history and audit entry of its own (the undone one stays)."""
    now = resolve_now(now)
    with service(actor, UNDO, entity="appointment") as tx:
        appt = tx.get(Appointment, appointment_id, what="appointment")  # locked; "Unknown appointment #7."
        last = last_change(tx.session, appt.id)
        undone = UNDOABLE.get(((last.new or {}) if last else {}).get("status"))
        tx.require(
            appt.location_id, provider_id=appt.provider_id, entity_id=appt.id,
            action=undone.action if undone else A.APPOINTMENT_VIEW, unknown=f"Unknown appointment #{appointment_id}.",
        )  # fmt: skip
        if refusal := _undo_refusal(last, appt, now):
            raise InvalidTransition(refusal)
        before, state = snapshot(appt), AppointmentState.of(appt)
        old, back = appt.status, last.old["status"]
        appt.status = back
        if undone.stamp:
            setattr(appt, undone.stamp, None)
        tx.session.flush()
        history(tx, appt, "undo", {"status": old}, {"status": back, "undoes": last.id}, now)
        tx.audit(before=before, after=snapshot(appt), reason=f"undid: {undone.label.lower()}")
        tx.publish(
            AppointmentStatusChanged(
                appointment_id=appt.id, before=state, after=AppointmentState.of(appt), actor=actor, at=now
            )
        )
        loaded(appt)
    return appt


# -- cancel ----------------------------------------------------------------------------------


def _is_late(appt: Appointment, now: datetime) -> bool:
    return appt.start_at - now < timedelta(hours=appt.type.cancellation_window_hours)


def _not_cancellable(appt: Appointment) -> str:
    return (
        f"This appointment is already {transitions.STATUS_WORDS[Status(appt.status)]}; only booked, confirmed "
        "or checked-in appointments can be cancelled."
    )


def cancel_preview(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> CancelPreview:
    """Whether cancelling now would be late, with a sentence for the confirmation dialog."""
    now = resolve_now(now)
    with reading(actor, A.APPOINTMENT_CANCEL, entity="appointment", entity_id=appointment_id) as session:
        appt = session.get(Appointment, appointment_id)
        unknown = f"Unknown appointment #{appointment_id}."
        if appt is None:
            raise NotFound(unknown)
        check(actor, A.APPOINTMENT_CANCEL, appt.location_id, provider_id=appt.provider_id, entity="appointment",
              entity_id=appt.id, unknown=unknown)  # fmt: skip
        if transitions.status_refusal(A.APPOINTMENT_CANCEL, appt.status):
            raise InvalidTransition(_not_cancellable(appt))
        hours = appt.type.cancellation_window_hours
        late = _is_late(appt, now)
        when = when_text(appt)
        if late:
            message = (
                f"This is a late cancellation: the appointment starts {when}, within the "
                f"{hours}-hour cancellation window of {appt.type.name}."
            )
        else:
            message = f"Not a late cancellation: the appointment starts {when}, more than {hours} hours from now."
    return CancelPreview(late=late, window_hours=hours, message=message)


def cancel(actor: Actor | None, appointment_id: int, *, reason: str, now: datetime | None = None) -> Appointment:
    """Cancel an open appointment (late when inside the type's cancellation window). A freed
    future slot is published (the waitlist offers it in the same transaction)."""
    now = resolve_now(now)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give a reason for the cancellation.")
    reason = limits.text(reason, "cancellation reason", limits.REASON_MAX)
    with service(actor, A.APPOINTMENT_CANCEL, entity="appointment") as tx:
        appt = locked_appointment(tx, appointment_id)
        if transitions.status_refusal(A.APPOINTMENT_CANCEL, appt.status):
            raise InvalidTransition(_not_cancellable(appt))
        before, state = snapshot(appt), AppointmentState.of(appt)
        late = _is_late(appt, now)
        old = appt.status
        appt.status = Status.CANCELLED.value
        appt.cancelled_at = now
        appt.cancel_reason = reason[:255]
        appt.late_cancel = late
        tx.session.flush()
        new = {"status": Status.CANCELLED.value, "reason": reason, "late": late}
        history(tx, appt, "status", {"status": old}, new, now)
        tx.audit(before=before, after=snapshot(appt) | {"late_cancel": late}, reason=reason)
        tx.publish(
            AppointmentCancelled(
                appointment_id=appt.id, before=state, after=AppointmentState.of(appt), actor=actor, at=now, late=late
            )
        )
        if appt.start_at > now:
            tx.publish(freed_slot(appt, appt.start_at, appt.end_at, appt.provider_id, now))
        loaded(appt)
    return appt


# -- notes -----------------------------------------------------------------------------------


def add_note(actor: Actor | None, appointment_id: int, *, note: str, now: datetime | None = None) -> Appointment:
    """Append a note to the appointment (providers: their own appointments only)."""
    now = resolve_now(now)
    note = (note or "").strip()
    if not note:
        raise ValidationError("The note is empty.")
    note = limits.text(note, "note", limits.NOTE_MAX)
    if len(note) > NOTE_MAX:
        raise ValidationError(f"A note can be at most {NOTE_MAX} characters (this one has {len(note)}).")
    with service(actor, A.APPOINTMENT_NOTE, entity="appointment") as tx:
        appt = locked_appointment(tx, appointment_id)
        old = appt.notes
        appt.notes = f"{old}\n{note}" if old else note
        tx.session.flush()
        history(tx, appt, "note", {"notes": old}, {"note": note}, now)
        tx.audit(before={"notes": old}, after={"notes": appt.notes})
        state = AppointmentState.of(appt)
        tx.publish(
            AppointmentEdited(appointment_id=appt.id, before=state, after=state, actor=actor, at=now, fields=("notes",))
        )
        loaded(appt)
    return appt

"""An appointment's intake: the answers its type asks for, checked when the desk books
(`answers`), edited later when they come by phone or mail (`edit_intake`), or marked received
when they came on paper (`mark_intake_received`). Each edit is one service call with its
history row, audit row and AppointmentEdited event."""

from __future__ import annotations

from datetime import datetime

from core.base import limits
from core.base.clock import resolve_now
from core.base.errors import ValidationError
from core.base.models import Appointment
from core.scheduling.booking.records import NOTE_MAX, history, loaded, locked_appointment
from core.scheduling.events import AppointmentEdited, AppointmentState
from core.security.access import A, Actor
from core.security.service import Tx, service


def _label(field: dict) -> str:
    return field.get("label") or field.get("name") or "?"


def answers(atype, intake: dict | None, *, required: bool) -> tuple[dict, bool]:
    """The cleaned answers and whether every required field has one. With `required`, a missing
    answer is refused, naming the field ("Reason for visit is required for Consultation: fill it in.")."""
    if intake is None:
        intake = {}
    if not isinstance(intake, dict):
        raise ValidationError("Intake answers must be a mapping of field name to answer.")
    labels = {f.get("name"): _label(f) for f in atype.intake_fields or []}  # refusals name the field as asked
    cleaned = {
        str(k): (
            limits.text(v.strip(), f"answer to '{labels.get(k, k)}'", limits.NOTE_MAX) if isinstance(v, str) else v
        )
        for k, v in intake.items()
    }
    cleaned = {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    missing = [_label(f) for f in (atype.intake_fields or []) if f.get("required") and f.get("name") not in cleaned]
    if missing and required:
        fields = " and ".join(missing) if len(missing) <= 2 else ", ".join(missing[:-1]) + f" and {missing[-1]}"
        verb = "is" if len(missing) == 1 else "are"
        raise ValidationError(f"{fields} {verb} required for {atype.name}: fill {'it' if verb == 'is' else 'them'} in.")
    return cleaned, not missing


def edited_in(tx: Tx, appt: Appointment, before: dict, after: dict, now: datetime, reason: str) -> None:
    """The edit's history row, audit row and AppointmentEdited event (core.intake's answers too)."""
    history(tx, appt, "edit", before, after, now)
    tx.audit(before=before, after=after, reason=reason)
    state = AppointmentState.of(appt)
    tx.publish(
        AppointmentEdited(
            appointment_id=appt.id, before=state, after=state, actor=tx.actor, at=now,
            fields=tuple(k for k in ("intake_answers", "intake_complete") if before.get(k) != after.get(k)),
        )
    )  # fmt: skip


def edit_intake(actor: Actor | None, appointment_id: int, intake: dict, *, now: datetime | None = None) -> Appointment:
    """Replace the appointment's intake answers (providers: their own appointments only). Every
    required field needs an answer; the intake is then complete."""
    now = resolve_now(now)
    with service(actor, A.APPOINTMENT_NOTE, entity="appointment") as tx:
        appt = locked_appointment(tx, appointment_id)
        cleaned, _ = answers(appt.type, intake, required=True)
        before = {"intake_answers": appt.intake_answers or {}, "intake_complete": bool(appt.intake_complete)}
        after = {"intake_answers": cleaned, "intake_complete": True}
        if before == after:
            raise ValidationError("These are already the intake answers: nothing to save.")
        appt.intake_answers, appt.intake_complete = cleaned, True
        tx.session.flush()
        edited_in(tx, appt, before, after, now, "intake edited")
        loaded(appt)
    return appt


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
        edited_in(tx, appt, {"intake_complete": False}, new, now, "intake received")
        loaded(appt)
    return appt

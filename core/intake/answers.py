"""One appointment's intake answers against its form version: saved in part, corrected by the
desk, completed, received on paper. Every write is one service call with its audit row (the
client address for a customer at the door) and, when completion changes, the appointment's
`intake_complete` flag and an AppointmentEdited event (the queue's "intake missing" item
resolves itself on it), and on becoming complete an IntakeCompleted event (webhooks send it as
intake.completed).

How it relates to the flat intake (core.scheduling.booking.intake): a type without a published
form keeps its flat fields, answered by the desk when booking, as before. A type with a form is
governed by the form: its appointments get an intake row pinned to the form version current at
booking (`row_in`), flat answers the desk typed whose names match a question's key pre-fill it,
and `intake_complete` is true once every required visible question is answered, every required
file uploaded and every required consent validly signed (or the intake came on paper)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base import bus
from core.base.clock import resolve_now
from core.base.errors import InvalidTransition, ValidationError
from core.base.models import Appointment, IntakeAnswers, IntakeFile, Status
from core.intake import consent, forms, uploads
from core.intake import definition as d
from core.scheduling.booking.intake import edited_in
from core.scheduling.booking.records import NOTE_MAX, locked_appointment
from core.scheduling.events import AppointmentState, IntakeCompleted
from core.security.access import PUBLIC, A, Actor
from core.security.links import EXPIRED, LinkError
from core.security.service import Tx, service

OPEN = (Status.BOOKED.value, Status.CONFIRMED.value, Status.CHECKED_IN.value)
NO_FORM = "This appointment's type has no intake form: its intake is the booking's own questions."


@dataclass(frozen=True)
class Upload:
    key: str  # the file question's key
    name: str
    data: bytes


@dataclass(frozen=True)
class Progress:
    complete: bool
    missing: list[str] = field(default_factory=list)


def form_of(session: Session, appt: Appointment, row: IntakeAnswers) -> tuple[int, dict]:
    """(version, definition) the intake answers: its own version's questions, with each consent's
    text (and validity) as the type's newest version words it, so a changed consent text asks
    customers with appointments ahead to sign it again while their answers keep their version."""
    _, version, definition = forms.form_by_id(session, row.form_id)
    current = forms.current_form(session, appt.type_id) if appt.type_id is not None else None
    if current is None or current[0] == row.form_id:
        return version, definition
    newest = {q["key"]: q for q in current[2]["questions"] if q["kind"] == "consent"}
    questions = [
        {**q, **{k: newest[q["key"]][k] for k in ("consent_text", "valid_for") if k in newest[q["key"]]}}
        if q["kind"] == "consent" and q["key"] in newest else q
        for q in definition["questions"]
    ]  # fmt: skip
    return version, {**definition, "questions": questions}


def refresh_type_in(session: Session, type_id: int, now: datetime) -> int:
    """After a new version of a type's form: what the intakes of its appointments ahead miss (a
    changed consent text is to be signed again); returns how many changed completion. The
    queue's next pass (core.queue.subscribers, every few minutes) opens or resolves their items."""
    query = (
        select(Appointment, IntakeAnswers)
        .join(IntakeAnswers, IntakeAnswers.appointment_id == Appointment.id)
        .where(Appointment.type_id == type_id, Appointment.start_at > now, Appointment.status.in_(OPEN))
    )
    return sum(refresh_in(session, appt, row, now) for appt, row in session.execute(query).all())


def row_in(session: Session, appt: Appointment, now: datetime, *, keep: bool = True) -> IntakeAnswers | None:
    """The appointment's intake row; made, pinned to the type's current form version, when the type
    has a form and the appointment has none yet (`keep=False`: not added to the session, for a
    read). None: the type has no form."""
    row = session.get(IntakeAnswers, appt.id)
    if row is not None or appt.type_id is None:
        return row
    current = forms.current_form(session, appt.type_id)
    if current is None:
        return None
    form_id, _, definition = current
    keys = {q["key"] for q in definition["questions"]}
    flat = {k: v for k, v in (appt.intake_answers or {}).items() if k in keys}
    try:
        seeded = d.clean_answers(definition, flat)
    except ValidationError:
        seeded = {}
    row = IntakeAnswers(appointment_id=appt.id, form_id=form_id, answers=seeded, missing=[], updated_at=now)
    if keep:
        session.add(row)
    return row


def latest_files(session: Session, appointment_id: int) -> dict[str, IntakeFile]:
    """Each file question's latest upload."""
    rows = session.scalars(
        select(IntakeFile).where(IntakeFile.appointment_id == appointment_id).order_by(IntakeFile.id)
    )
    return {r.question_key: r for r in rows}


def missing_in(session: Session, appt: Appointment, row: IntakeAnswers) -> list[dict]:
    _, definition = form_of(session, appt, row)
    files = set(latest_files(session, appt.id))
    return d.missing(definition, row.answers or {}, files, consent.signed(session, appt, definition))


def refresh_in(session: Session, appt: Appointment, row: IntakeAnswers, now: datetime) -> bool:
    """Recompute what is missing and the appointment's completion; True when completion changed."""
    session.flush()
    row.missing = [m["label"] for m in missing_in(session, appt, row)]
    complete = not row.missing or row.received_on_paper_at is not None
    if complete and row.completed_at is None:
        row.completed_at = now
    if not complete:
        row.completed_at = None
    changed = bool(appt.intake_complete) != complete
    appt.intake_complete = complete
    return changed


def completed_in(session: Session, actor: Actor | None, appt: Appointment, row: IntakeAnswers, version: int,
                 how: str, now: datetime) -> None:  # fmt: skip
    """Publish IntakeCompleted once the intake just became complete (called after `refresh_in`)."""
    bus.publish(
        session,
        IntakeCompleted(
            appointment_id=appt.id, state=AppointmentState.of(appt), form_id=row.form_id, form_version=version,
            completed_at=row.completed_at or now, how=how, actor=actor, at=now,
        ),
    )  # fmt: skip


def _question(definition: dict, key: str, kind: str) -> dict:
    q = next((q for q in definition["questions"] if q["key"] == key and q["kind"] == kind), None)
    if q is None:
        raise ValidationError(f"This form has no {kind} question '{key}'.")
    return q


def _open(tx: Tx, appointment_id: int, now: datetime) -> tuple[Appointment, IntakeAnswers]:
    if tx.actor is not None and tx.actor.role == PUBLIC:
        appt = tx.get(Appointment, appointment_id, what="appointment")
        tx.require(appt.location_id, entity_id=appt.id)
        if appt.end_at is None or now >= appt.end_at:  # moved earlier since the link was made
            raise LinkError(EXPIRED)
    else:
        appt = locked_appointment(tx, appointment_id)
    if appt.status not in OPEN:
        raise InvalidTransition(
            f"This appointment is {appt.status.replace('_', ' ')}: its intake can no longer change."
        )
    row = row_in(tx.session, appt, now)
    if row is None:
        raise ValidationError(NO_FORM)
    return appt, row


def submit(
    actor: Actor | None,
    appointment_id: int,
    *,
    answers: dict | None = None,
    uploads_: list[Upload] = (),
    signatures: dict[str, str] | None = None,
    user_agent: str | None = None,
    finish: bool = False,
    now: datetime | None = None,
) -> Progress:
    """Save answers (merged over what was saved), uploads and signatures in one transaction: a
    customer by their link (core.intake.public), or the desk correcting (appointment.note). With
    `finish`, anything still missing is refused by name and nothing is written. Wrong types, bad
    files and unsigned names are refused in one sentence, nothing written."""
    now = resolve_now(now)
    action = A.INTAKE_ANSWER if actor is not None and actor.role == PUBLIC else A.APPOINTMENT_NOTE
    with service(actor, action, entity="appointment", entity_id=appointment_id) as tx:
        appt, row = _open(tx, appointment_id, now)
        fresh = row in tx.session.new  # made just now: a write, audited below
        version, definition = form_of(tx.session, appt, row)
        before = {"intake_complete": bool(appt.intake_complete), "answers": dict(row.answers or {})}
        given = {**(row.answers or {}), **(answers or {})}
        merged = d.clean_answers(definition, {k: v for k, v in given.items() if v not in (None, "", [])})
        visible = {q["key"] for q in d.visible_questions(definition, merged)}
        checked = []
        for up in uploads_:
            q = _question(definition, up.key, "file")
            if up.key not in visible:
                raise ValidationError(f"'{q['label']}' is not asked with these answers: leave it out.")
            checked.append((up, uploads.check(up.name, up.data, q["label"])))
        signs = {k: v for k, v in (signatures or {}).items() if v is not None}
        questions = {k: _question(definition, k, "consent") for k in signs}
        if before["answers"] == merged and not checked and not signs and not fresh:
            if finish and row.missing and row.received_on_paper_at is None:
                raise ValidationError(f"Still missing: {', '.join(row.missing)}. Fill these in to finish.")
            return Progress(bool(appt.intake_complete), list(row.missing))
        row.answers, row.updated_at = merged, now
        row.updated_by = actor.user_id if actor else None
        for up, c in checked:
            tx.session.add(IntakeFile(appointment_id=appt.id, question_key=up.key, name=c.name, content_type=c.content_type,
                                      size=c.size, sha256=c.sha256, uploaded_at=now, uploaded_by=row.updated_by))  # fmt: skip
        for key, name in signs.items():
            consent.sign_in(tx, appt, row.form_id, questions[key], name, user_agent=user_agent, now=now)
        refresh_in(tx.session, appt, row, now)
        if finish and row.missing and row.received_on_paper_at is None:
            raise ValidationError(f"Still missing: {', '.join(row.missing)}. Fill these in to finish.")
        after = {
            "intake_complete": bool(appt.intake_complete), "answers": merged, "form_id": row.form_id,
            "files": [{"key": u.key, "name": c.name, "sha256": c.sha256, "size": c.size} for u, c in checked],
            "signed": sorted(signs), "missing": row.missing,
        }  # fmt: skip
        who = "by the customer" if action == A.INTAKE_ANSWER else "by staff"
        edited_in(
            tx, appt, before, after, now, f"intake answered {who}" + (" (complete)" if appt.intake_complete else "")
        )
        if appt.intake_complete and not before["intake_complete"]:
            how = "customer_link" if action == A.INTAKE_ANSWER else "desk"
            completed_in(tx.session, tx.actor, appt, row, version, how, now)
        for up, c in checked:  # last, so a refusal above leaves no file behind
            uploads.store(c, up.data)
        return Progress(bool(appt.intake_complete), list(row.missing))


def mark_received_on_paper(actor: Actor | None, appointment_id: int, *, note: str | None = None,
                           now: datetime | None = None) -> Progress:  # fmt: skip
    """The intake came on paper: complete whatever the form still misses (appointment.note)."""
    now = resolve_now(now)
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        raise ValidationError(f"A note can be at most {NOTE_MAX} characters (this one has {len(note)}).")
    with service(actor, A.APPOINTMENT_NOTE, entity="appointment", entity_id=appointment_id) as tx:
        appt, row = _open(tx, appointment_id, now)
        if appt.intake_complete:
            raise ValidationError("The intake of this appointment is already complete.")
        row.received_on_paper_at, row.received_on_paper_by = now, actor.user_id if actor else None
        refresh_in(tx.session, appt, row, now)
        after = {"intake_complete": True, "received_on_paper": True, "missing": row.missing} | (
            {"note": note} if note else {}
        )
        edited_in(tx, appt, {"intake_complete": False}, after, now, "intake received on paper")
        completed_in(tx.session, tx.actor, appt, row, forms.form_by_id(tx.session, row.form_id)[1], "paper", now)
        return Progress(True, list(row.missing))

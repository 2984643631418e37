"""One appointment's intake as staff see it (the appointment dialog, the printout), and the
audited downloads. Analysts (no contacts.view) never see files or the answers of questions
marked "sensitive"; providers see their own appointments only (the reading door's provider rule)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.base.clock import resolve_now
from core.base.db import read_session
from core.base.errors import NotFound
from core.base.models import Appointment, ConsentRecord, IntakeFile, User
from core.base.tz import to_local
from core.intake import answers as intake_answers
from core.intake import consent, printout, uploads
from core.intake import definition as d
from core.intake.models import IntakeForm
from core.security import access
from core.security.access import A, Actor
from core.security.service import check, reading, service

HIDDEN = "(hidden: sensitive)"


def _local(at: datetime, tz: str) -> str:
    local = to_local(at, tz)
    return f"{local:%a} {local.day} {local:%b %Y} {local:%H:%M} {local.tzname()}"


def answer_text(question: dict, value) -> str:
    if value is None or value in ("", []):
        return ""
    if question["kind"] == "yes_no":
        return "Yes" if value is True or value == "yes" else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def form_types() -> set[int]:
    """The appointment types that have a published intake form (which types, nothing personal)."""
    with read_session() as session:
        return set(session.scalars(select(IntakeForm.appointment_type_id).distinct()))


def _appointment(session, appointment_id: int) -> Appointment:
    appt = session.get(Appointment, appointment_id)
    if appt is None:
        raise NotFound(f"Unknown appointment #{appointment_id}.")
    return appt


def record(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> dict | None:
    """The intake as core.intake.printout renders it (and the dialog shows it); None when the
    appointment's type has no form."""
    now = resolve_now(now)
    unknown = f"Unknown appointment #{appointment_id}."
    with reading(actor, A.APPOINTMENT_VIEW, entity="appointment", entity_id=appointment_id) as session:
        appt = _appointment(session, appointment_id)
        location_id = appt.location_id
        check(actor, A.APPOINTMENT_VIEW, location_id, provider_id=appt.provider_id, entity="appointment",
              entity_id=appt.id, unknown=unknown)  # fmt: skip
        row = intake_answers.row_in(session, appt, now, keep=False)
        if row is None:
            return None
        tz = appt.location.timezone
        private = access.can(actor, A.CONTACTS_VIEW, location_id)
        version, definition = intake_answers.form_of(session, appt, row)
        given = row.answers or {}
        items = [
            {"key": q["key"], "label": q["label"], "kind": q["kind"],
             "answer": answer_text(q, given.get(q["key"])) if private or not q.get("sensitive") else HIDDEN}
            for q in d.visible_questions(definition, given) if q["kind"] not in ("file", "consent")
        ]  # fmt: skip
        files = intake_answers.latest_files(session, appt.id)
        valid = consent.signed(session, appt, definition)
        shas = {
            q["key"]: d.consent_sha256(q.get("consent_text", ""))
            for q in definition["questions"]
            if q["kind"] == "consent"
        }
        signed_rows = session.scalars(
            select(ConsentRecord).where(ConsentRecord.customer_id == appt.customer_id,
                                        ConsentRecord.question_key.in_(list(valid))).order_by(ConsentRecord.id)
        ).all()  # fmt: skip
        consents = []
        for q in (q for q in definition["questions"] if q["key"] in valid):
            r = next(r for r in reversed(signed_rows) if r.question_key == q["key"] and r.text_sha256 == shas[q["key"]])
            staff = session.get(User, r.signed_by_user_id) if r.signed_by_user_id else None
            consents.append({
                "label": q["label"], "text": q.get("consent_text", ""), "text_sha256": r.text_sha256,
                "signed_name": r.signed_name, "signed_by": f"staff: {staff.name or staff.username}" if staff else "customer",
                "signed_at_local": _local(r.signed_at, tz), "client_address": r.client_address or "",
                "user_agent": r.user_agent or "",
            })  # fmt: skip
        missing = [m["label"] for m in intake_answers.missing_in(session, appt, row)]
        complete = not missing or row.received_on_paper_at is not None
        return {
            "appointment": {
                "id": appt.id, "customer": appt.customer.name, "type": appt.type.name if appt.type else "",
                "location": appt.location.name, "provider": appt.provider.name if appt.provider else "",
                "starts_local": _local(appt.start_at, tz),
            },
            "form_version": version,
            "items": items,
            "files": [
                {"id": f.id, "key": f.question_key, "name": f.name, "content_type": f.content_type, "size": f.size,
                 "sha256": f.sha256} for f in files.values()
            ] if private else [],
            "consents": consents,
            "signed": sorted(valid),
            "state": "complete" if complete else "incomplete",
            "missing": missing,
            "received_on_paper": row.received_on_paper_at is not None,
            "definition": definition,
            "answers": dict(given) if private else {k: v for k, v in given.items() if k not in d.sensitive_keys(definition)},
        }  # fmt: skip


def download(actor: Actor | None, file_id: int) -> tuple[str, str, bytes]:
    """(name, content type, bytes) of an uploaded file, audited (contacts.view: never analysts)."""
    with service(actor, A.CONTACTS_VIEW, entity="intake_file", entity_id=file_id) as tx:
        f = tx.session.get(IntakeFile, file_id)
        appt = tx.session.get(Appointment, f.appointment_id) if f is not None else None
        if f is None or appt is None:
            raise NotFound(f"Unknown file #{file_id}.")
        tx.require(
            appt.location_id, provider_id=appt.provider_id, entity_id=file_id, unknown=f"Unknown file #{file_id}."
        )
        data = uploads.load(f.sha256)
        tx.audit(after={"appointment_id": appt.id, "name": f.name, "sha256": f.sha256}, reason="intake file downloaded",
                 location_id=appt.location_id)  # fmt: skip
        return f.name, f.content_type, data


def printout_file(actor: Actor | None, appointment_id: int, fmt: str) -> bytes:
    """The intake to print, as PDF or HTML (core.intake.printout), audited: it carries personal answers."""
    rec = record(actor, appointment_id)
    if rec is None:
        raise NotFound("This appointment's type has no intake form to print.")
    data = printout.render_pdf(rec) if fmt == "pdf" else printout.render_html(rec).encode("utf-8")
    with service(actor, A.APPOINTMENT_VIEW, entity="appointment", entity_id=appointment_id) as tx:
        appt = tx.get_in_scope(Appointment, appointment_id, what="appointment", provider=True)
        tx.audit(after={"format": fmt, "state": rec["state"]}, reason="intake printed", location_id=appt.location_id)
    return data

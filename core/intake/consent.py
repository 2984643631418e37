"""Consent: which of a form's consents a customer has validly signed for an appointment, and the
signature itself, an append-only row (core.base.models.ConsentRecord).

A signature counts for the exact text it was shown (its SHA-256): when a new form version
changes a consent's text, customers with appointments ahead are asked to sign the new text.
Per question, `valid_for` says how long a signature lasts: "visit" (this appointment only, the
default), "once" (any earlier signature of that text) or {"months": N} (signed at most N months
before the appointment's start)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.errors import ValidationError
from core.base.models import Appointment, ConsentRecord
from core.intake import definition as d
from core.security.service import Tx

NAME_MAX = 200
AGENT_MAX = 500


def months_before(at: datetime, months: int) -> datetime:
    """The same wall-clock instant `months` calendar months earlier (the day clipped to the month's end)."""
    year, month = divmod(at.year * 12 + at.month - 1 - months, 12)
    month += 1
    days = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return at.replace(year=year, month=month, day=min(at.day, days[month - 1]))


def _counts(record: ConsentRecord, appt: Appointment, valid_for) -> bool:
    if valid_for == "once":
        return True
    if isinstance(valid_for, dict) and isinstance(valid_for.get("months"), int):
        return months_before(appt.start_at, valid_for["months"]) <= record.signed_at <= appt.end_at
    return record.appointment_id == appt.id  # "visit"


def signed(session: Session, appt: Appointment, definition: dict) -> set[str]:
    """The keys of the consent questions validly signed for `appt`, by its customer."""
    questions = [q for q in definition.get("questions", []) if q.get("kind") == "consent"]
    if not questions:
        return set()
    rows = session.scalars(
        select(ConsentRecord).where(
            ConsentRecord.customer_id == appt.customer_id,
            ConsentRecord.question_key.in_([q["key"] for q in questions]),
        )
    ).all()
    out = set()
    for q in questions:
        sha = d.consent_sha256(q.get("consent_text", ""))
        valid_for = q.get("valid_for", "visit")
        if any(r.question_key == q["key"] and r.text_sha256 == sha and _counts(r, appt, valid_for) for r in rows):
            out.add(q["key"])
    return out


def sign_in(tx: Tx, appt: Appointment, form_id: int, question: dict, signed_name: str, *, user_agent: str | None,
            now: datetime) -> ConsentRecord:  # fmt: skip
    """Record a signature of `question`'s text (the customer, or the staff member acting for them)."""
    name = " ".join((signed_name or "").split())
    if not name:
        raise ValidationError(f"Type your full name to sign '{question['label']}'.")
    if len(name) > NAME_MAX:
        raise ValidationError(f"A signature can be at most {NAME_MAX} characters (this one has {len(name)}).")
    actor = tx.actor
    record = ConsentRecord(
        appointment_id=appt.id, customer_id=appt.customer_id, form_id=form_id, question_key=question["key"],
        text_sha256=d.consent_sha256(question.get("consent_text", "")), signed_name=name,
        signed_by_user_id=actor.user_id if actor else None, signed_at=now,
        client_address=actor.client_address if actor else None, user_agent=(user_agent or None) and user_agent[:AGENT_MAX],
    )  # fmt: skip
    tx.session.add(record)
    return record


def records(session: Session, appointment_id: int) -> list[ConsentRecord]:
    """The signatures made for this appointment, oldest first."""
    query = select(ConsentRecord).where(ConsentRecord.appointment_id == appointment_id).order_by(ConsentRecord.id)
    return list(session.scalars(query))

"""The demo's intakes: on `DemoSeeded` (in the seeding transaction, after the demo's forms are
published and before the outbox's story is told, so confirmations carry the link), the coming
two weeks' appointments of types with a form get an intake in every state: not started, saved
in part, completed by the customer (answers, an insurance card, the consent signed from their
phone), completed by the desk on their behalf, and received on paper. Answers are made up from
each question's kind and key; the card is a small generated PNG stored like any upload."""

from __future__ import annotations

import random
import struct
import zlib
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.bus import subscribe
from core.base.models import Appointment, ConsentRecord, Customer, IntakeFile, Status, User
from core.intake import answers as intake_answers
from core.intake import definition as d
from core.intake import uploads
from core.scheduling.events import DemoSeeded

AHEAD = timedelta(days=14)
MAX_INTAKES = 400  # a 10M-appointment demo does not need more to show every state
STATES = ("not_started", "part", "customer", "staff", "paper")
TEXT = {
    "full_name": None, "name": None, "referral_from": ["Dr. Okafor", "Dr. Lindqvist", "City Hospital"],
    "allergies": ["None known", "Penicillin", "Latex", "Pollen"], "medications": ["None", "Ibuprofen as needed"],
    "reason": ["Back pain for two weeks", "Annual check-up", "Knee injury from running"],
    "guardian": ["Pat Rivera", "Sam Chen"], "emergency_contact": ["Jordan Lee, +1 212 555 0147"],
}  # fmt: skip
PHONE_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def card_png(seed: int) -> bytes:
    """A small, valid PNG (a coloured card) so demo files open and pass the content check."""
    w, h = 86, 54
    colour = bytes(((seed * 37) % 200 + 30, (seed * 91) % 200 + 30, 180))
    raw = b"".join(b"\x00" + colour * w for _ in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _value(q: dict, customer: str, rng: random.Random):
    kind, key = q["kind"], q["key"]
    if kind in ("short_text", "long_text"):
        options = TEXT.get(key) or ["See notes"]
        return customer if options is None else rng.choice(options)
    if kind == "number":
        return rng.randint(19, 78)
    if kind == "date":
        return date(rng.randint(1948, 2006), rng.randint(1, 12), rng.randint(1, 28)).isoformat()
    if kind == "yes_no":
        return rng.random() < 0.4
    if kind == "single_choice":
        return rng.choice(q["choices"])
    if kind == "multiple_choice":
        return rng.sample(q["choices"], k=rng.randint(1, len(q["choices"])))
    return None


def fill(definition: dict, customer: str, rng: random.Random, *, share: float = 1.0) -> dict:
    """Answers for the visible questions, in form order (the first `share` of them)."""
    given: dict = {}
    questions = [q for q in definition["questions"] if q["kind"] not in ("file", "consent")]
    for q in questions[: max(1, round(len(questions) * share))]:
        if q in d.visible_questions(definition, given) and (value := _value(q, customer, rng)) is not None:
            given[q["key"]] = value
    return d.clean_answers(definition, given)


def _complete(session: Session, appt: Appointment, row, definition: dict, name: str, at: datetime,
              staff: User | None) -> None:  # fmt: skip
    for q in d.visible_questions(definition, row.answers):
        if q["kind"] == "file":
            data = card_png(appt.id)
            checked = uploads.check(f"{q['key']}.png", data, q["label"])
            uploads.store(checked, data)
            session.add(IntakeFile(appointment_id=appt.id, question_key=q["key"], name=checked.name,
                                   content_type=checked.content_type, size=checked.size, sha256=checked.sha256,
                                   uploaded_at=at, uploaded_by=staff.id if staff else None))  # fmt: skip
        elif q["kind"] == "consent":
            session.add(ConsentRecord(appointment_id=appt.id, customer_id=appt.customer_id, form_id=row.form_id,
                                      question_key=q["key"], text_sha256=d.consent_sha256(q.get("consent_text", "")),
                                      signed_name=name, signed_by_user_id=staff.id if staff else None, signed_at=at,
                                      client_address=None if staff else "198.51.100.23",
                                      user_agent=None if staff else PHONE_AGENT))  # fmt: skip


@subscribe(DemoSeeded)
def on_demo_seeded(session: Session, event: DemoSeeded) -> None:
    now, rng = event.at, random.Random(27)
    staff = session.scalar(select(User).where(User.role == "front_desk").order_by(User.id).limit(1))
    query = (
        select(Appointment, Customer.name)
        .join(Customer, Customer.id == Appointment.customer_id)
        .where(Appointment.start_at > now, Appointment.start_at <= now + AHEAD, Appointment.type_id.is_not(None),
               Appointment.status.in_((Status.BOOKED.value, Status.CONFIRMED.value)))
        .order_by(Appointment.start_at, Appointment.id)  # ties in one order on every database
    )  # fmt: skip
    made = 0
    for appt, name in session.execute(query):
        if made >= MAX_INTAKES:
            break
        row = intake_answers.row_in(session, appt, now)
        if row is None:
            continue
        state = STATES[made % len(STATES)]
        made += 1
        _, definition = intake_answers.form_of(session, appt, row)
        at = min(now, appt.booked_at + timedelta(hours=rng.randint(1, 30)))
        row.updated_at = at
        if state == "part":
            row.answers = fill(definition, name, rng, share=0.5)
        elif state in ("customer", "staff"):
            row.answers = fill(definition, name, rng)
            row.updated_by = staff.id if state == "staff" and staff else None
            _complete(session, appt, row, definition, name, at, staff if state == "staff" else None)
        elif state == "paper":
            row.received_on_paper_at, row.received_on_paper_by = at, staff.id if staff else None
        intake_answers.refresh_in(session, appt, row, at)
        appt.updated_at = at  # the demo's clock, not the seeding's: the same seed gives the same rows

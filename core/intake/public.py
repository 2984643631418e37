"""The intake link's side of the door: what the customer's page shows (only that appointment's
time, place, provider, instructions and form, with what they saved so far) and what it sends.
Every submission passes the door (`door.enter`: the switch, the rate limit per client address,
the honeypot) and the link (`links.intake_appointment`: that appointment only, until its end);
an expired or tampered link is one sentence and nothing is written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.base.clock import resolve_now
from core.base.db import read_session
from core.base.errors import NotFound
from core.base.models import Appointment
from core.base.tz import to_local
from core.intake import answers as intake_answers
from core.intake import consent
from core.intake.answers import Progress, Upload
from core.security import door, links

GONE = "This appointment is no longer booked: there is nothing to fill in. Call us if this is a mistake."


@dataclass(frozen=True)
class IntakePage:
    appointment_id: int
    type_name: str
    when: str  # local day, date, time and zone
    location: str
    address: str
    provider: str
    instructions: str
    version: int | None  # None: the type has no form
    definition: dict
    answers: dict
    files: dict[str, str]  # question key -> file name uploaded
    signed: set[str]
    missing: list[str]
    complete: bool


def page(token: str | None, *, now: datetime | None = None) -> IntakePage:
    """What the customer's page shows; LinkError when the link is bad, NotFound when the
    appointment is gone or no longer open."""
    now = resolve_now(now)
    appointment_id = links.intake_appointment(token, now=now)
    with read_session() as session:
        appt = session.get(Appointment, appointment_id)
        if appt is None or appt.status not in intake_answers.OPEN:
            raise NotFound(GONE)
        if appt.end_at is None or now >= appt.end_at:  # moved earlier since the link was made
            raise links.LinkError(links.EXPIRED)
        local = to_local(appt.start_at, appt.location.timezone)
        base = dict(
            appointment_id=appt.id, type_name=appt.type.name if appt.type else "Appointment",
            when=f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} {local.tzname()}",
            location=appt.location.name, address=appt.location.address or "",
            provider=appt.provider.name if appt.provider else "",
            instructions=(getattr(appt.type, "pre_visit_instructions", None) or "") if appt.type else "",
        )  # fmt: skip
        row = intake_answers.row_in(session, appt, now, keep=False)
        if row is None:
            return IntakePage(**base, version=None, definition={"questions": []}, answers={}, files={}, signed=set(),
                              missing=[], complete=bool(appt.intake_complete))  # fmt: skip
        version, definition = intake_answers.form_of(session, appt, row)
        missing = [m["label"] for m in intake_answers.missing_in(session, appt, row)]
        files = {k: f.name for k, f in intake_answers.latest_files(session, appt.id).items()}
        out = IntakePage(**base, version=version, definition=definition, answers=dict(row.answers or {}), files=files,
                         signed=consent.signed(session, appt, definition), missing=missing,
                         complete=not missing or row.received_on_paper_at is not None)  # fmt: skip
        return out


def submit(token: str | None, client: str, *, answers: dict | None = None, uploads: list[Upload] = (),
           signatures: dict[str, str] | None = None, user_agent: str | None = None, finish: bool = False,
           honeypot: str | None = None, now: datetime | None = None) -> Progress:  # fmt: skip
    """One submission of the customer's form (save part, or finish)."""
    actor = door.enter(client, honeypot=honeypot, now=now)
    appointment_id = links.intake_appointment(token, now=now)
    return intake_answers.submit(actor, appointment_id, answers=answers, uploads_=uploads, signatures=signatures,
                                 user_agent=user_agent, finish=finish, now=now)  # fmt: skip

"""Step 1 of a send, for a whole batch at once: is each claimed message still true, who gets
it, what it says. The appointments, customers and opt-outs of a batch are read in one query
each (the appointments share-locked, so a cancellation in progress finishes first and cancels
its messages); what rarely changes (locations, providers, types, wording) once per pass.

Every email carries its unsubscribe link: visible at the foot of the body, and as the
List-Unsubscribe and List-Unsubscribe-Post headers (RFC 8058 one-click), signed for the
customer and the channel (core.notifications.preferences reads it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.models import Appointment, AppointmentType, Customer, IntakeAnswers, Location, Provider, Status
from core.notifications import channels
from core.notifications.models import NotificationOptOut, NotificationOutbox
from core.notifications.preferences import unsubscribe_url
from core.notifications.store import wording_of
from core.notifications.templates import context, explain, render
from core.security.cookies import cookie_config
from core.security.links import intake_url

WAITING = (Status.BOOKED.value, Status.CONFIRMED.value)
# What the appointment's status must be for each kind to still make sense.
VALID_STATUS = {
    "confirmation": WAITING,
    "reminder": WAITING,
    "rescheduled": WAITING,
    "cancellation": (Status.CANCELLED.value,),
    "no_show": (Status.NO_SHOW.value,),
    "follow_up": (Status.COMPLETED.value,),
    "intake_link": WAITING,
}
BEFORE_START = ("confirmation", "reminder", "rescheduled", "cancellation", "intake_link")
UNSUBSCRIBE_FOOT = "\n\n--\nTo stop these emails: {url}"


@dataclass(frozen=True)
class Ready:
    outbox_id: int
    channel: str
    recipient: str
    subject: str | None
    body: str
    key: str
    headers: dict[str, str] = field(default_factory=dict)


class Lookups:
    """What rarely changes, read once per pass: locations, providers, types, their wording."""

    def __init__(self):
        self.rows: dict[tuple, object] = {}
        self.unconfigured = {c: channels.not_configured(c) for c in ("email", "sms")}
        self.link_key: str | None = None

    def links_key(self) -> str:
        if self.link_key is None:
            self.link_key = cookie_config().key  # StartupError, with its sentence, when none is set
        return self.link_key

    def get(self, s: Session, model, ident):
        key = (model, ident)
        if key not in self.rows:
            row = s.get(model, ident)
            self.rows[key] = row
            if row is not None:
                s.expunge(row)
        return self.rows[key]

    def wording(self, s: Session, type_id: int | None, kind: str, channel: str):
        key = ("wording", type_id, kind, channel)
        if key not in self.rows:
            self.rows[key] = wording_of(s, type_id, kind, channel)
        return self.rows[key]


def still_true(row: NotificationOutbox, appt: Appointment | None, now: datetime) -> tuple[str, str] | None:
    """(status, reason) when the message no longer fits the appointment; None when it does."""
    if appt is None:
        return "cancelled", "cancelled: the appointment no longer exists"
    if appt.status not in VALID_STATUS[row.kind]:
        return "cancelled", f"cancelled: the appointment is now {appt.status.replace('_', ' ')}"
    if row.written_for is not None and appt.start_at != row.written_for and row.kind in BEFORE_START:
        return "superseded", "superseded: the appointment has moved to another time"
    if row.kind in ("confirmation", "reminder", "rescheduled", "intake_link") and now >= appt.start_at:
        return "skipped", "skipped: the appointment had already started when this was due to go out"
    return None


def prepare_all(s: Session, rows: list[NotificationOutbox], sender: str, now: datetime, cache: Lookups):
    """(row, outcome) for each claimed row: a Ready marked `sending`, or the status it was given
    ("failed" leaves the caller to fail it with the reason in `last_error`)."""
    appt_ids = {r.appointment_id for r in rows if r.appointment_id is not None}
    appts, customers, opted = {}, {}, set()
    if appt_ids:
        locked = select(Appointment).where(Appointment.id.in_(appt_ids)).with_for_update(read=True)
        appts = {a.id: a for a in s.scalars(locked)}
    if cust_ids := {a.customer_id for a in appts.values()}:
        customers = {c.id: c for c in s.scalars(select(Customer).where(Customer.id.in_(cust_ids)))}
        pairs = select(NotificationOptOut.customer_id, NotificationOptOut.channel)
        opted = {(c, ch) for c, ch in s.execute(pairs.where(NotificationOptOut.customer_id.in_(cust_ids)))}
    for row in rows:
        yield row, _prepare(s, row, appts.get(row.appointment_id), customers, opted, sender, now, cache)


def intake_link(s: Session, appt: Appointment, cache: Lookups) -> str:
    """The customer's intake link while their appointment's form still misses something (core.intake
    pins the form to the appointment at booking); empty otherwise."""
    if appt.intake_complete or appt.end_at is None or s.get(IntakeAnswers, appt.id) is None:
        return ""
    return intake_url(appt.id, appt.end_at, key=cache.links_key())


def compose(s: Session, row: NotificationOutbox, appt: Appointment, customer: Customer, opted: set, now: datetime,
            cache: Lookups) -> tuple[str, str] | Ready:  # fmt: skip
    """What `row` says to `customer` (a Ready with no id yet), or ("skipped" | "failed", why not)."""
    location = cache.get(s, Location, appt.location_id)
    atype = cache.get(s, AppointmentType, appt.type_id) if appt.type_id is not None else None
    provider = cache.get(s, Provider, appt.provider_id) if appt.provider_id is not None else None
    recipient = (customer.email if row.channel == "email" else customer.phone) or ""
    what = "email address" if row.channel == "email" else "phone number"
    wording = cache.wording(s, appt.type_id, row.kind, row.channel)
    skip = (
        f"skipped: {customer.name} has no {what}" if not recipient.strip()
        else f"skipped: {customer.name} opted out of {row.channel} messages" if (customer.id, row.channel) in opted
        else f"skipped: this message is switched off for {atype.name}" if not wording.enabled
        else None
    )  # fmt: skip
    if skip:
        return "skipped", skip
    previous = (row.payload or {}).get("previous_start")
    values = context(
        customer_name=customer.name, type_name=atype.name if atype else "appointment",
        provider_name=provider.name if provider else "us", location_name=location.name,
        address=location.address, tz=location.timezone, start=appt.start_at, end=appt.end_at,
        offset_min=row.offset_min if row.kind == "reminder" else None,
        previous_start=datetime.fromisoformat(previous) if previous else None,
        intake_link=intake_link(s, appt, cache), pre_visit_instructions=atype.pre_visit_instructions if atype else None,
    )  # fmt: skip
    try:
        subject, body = render(wording, values)
    except Exception as exc:  # noqa: BLE001 - a broken template fails this message, not the pass
        return "failed", explain("template", exc)
    headers: dict[str, str] = {}
    if row.channel == "email":
        link = unsubscribe_url(customer.id, "email", now=now, key=cache.links_key())
        body += UNSUBSCRIBE_FOOT.format(url=link)
        headers = {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return Ready(row.id, row.channel, recipient.strip(), subject, body, row.idempotency_key, headers)


def _prepare(s, row, appt, customers, opted, sender, now, cache) -> Ready | str:
    if verdict := still_true(row, appt, now):
        row.status, row.last_error, row.lease_until = verdict[0], verdict[1], None
        return verdict[0]
    msg = compose(s, row, appt, customers[appt.customer_id], opted, now, cache)
    if not isinstance(msg, Ready):
        if msg[0] == "failed":
            row.attempts, row.last_error = row.attempts + 1, msg[1]
        else:
            row.status, row.last_error, row.lease_until = msg[0], msg[1], None
        return msg[0]
    row.recipient, row.subject, row.body = msg.recipient, msg.subject, msg.body
    if reason := cache.unconfigured.get(row.channel):
        row.status, row.last_error, row.lease_until = "not_sent", reason, None
        return "not_sent"
    row.status, row.sending_at, row.attempts, row.lease_until = "sending", now, row.attempts + 1, None
    row.claimed_by = sender
    return msg

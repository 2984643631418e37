"""The demo's outbox: what a clinic that has sent its messages for weeks would show.

On `DemoSeeded` (in the seeding transaction): for the last two weeks, every confirmation,
reminder, cancellation notice, no-show and follow-up message booking's events would have
queued, composed by the sender's own `compose` (templates, the customer's contacts, the
unsubscribe foot) and recorded as it went: mostly sent; skipped where the customer has no email
address or phone; about one in a hundred refused by the server (failed, with its exceptions-queue
item, as the sender leaves it); reminders of appointments cancelled before their time
cancelled. Then the reminders of the last six hours and those ahead, planned by `reconcile` as
of six hours before the seeding's "now" (as if the sender had been off since), so the first send
pass has some due at once (and skips those whose appointment has started), and the rest come
over the next hours and days. A chain too big to narrate in a few seconds (more than MAX_STORY
appointments in that span) gets the story of the two weeks behind and two days ahead only."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from core.base.bus import subscribe
from core.base.models import Appointment, Customer, Status
from core.notifications import reconcile
from core.notifications.enqueue import idempotency_key
from core.notifications.models import NotificationOutbox
from core.notifications.prepare import WAITING, Lookups, Ready, compose
from core.notifications.sender import failure_key
from core.notifications.store import schedule_of
from core.queue.items import raise_item
from core.scheduling.events import DemoSeeded
from core.security.cookies import StartupError

HISTORY = timedelta(days=14)
MAX_STORY = 12_000  # appointments narrated at most (a 25,000-appointment demo has about 6,000)
LOOKBACK = timedelta(hours=6)  # reminders due since then wait for the first send pass (the sender was off)
BLANK = dict.fromkeys(("recipient", "subject", "body", "sending_at", "sent_at", "last_error", "lease_until",
                      "claimed_by"), None) | {"payload": {}, "attempts": 0}  # fmt: skip
REFUSED = {
    "email": "the SMTP server refused {to}: 550 5.1.1 <{to}>: mailbox unavailable",
    "sms": "the SMS webhook answered 400 Bad Request: {to} cannot receive text messages",
}


def _story(a: Appointment, schedule, since: datetime, now: datetime):
    """(kind, offset, when, state) for each message the appointment's life queued since `since`:
    state "history" (the sender has dealt with it), "cancelled" or "pending"."""
    out = []
    if since <= a.booked_at < min(now, a.start_at):
        out.append(("confirmation", None, a.booked_at, "history"))
    for m in schedule.reminder_offsets_min:
        due = a.start_at - timedelta(minutes=m)
        if due < since or due <= a.booked_at:
            continue
        if a.cancelled_at is not None and a.cancelled_at <= due:
            out.append(("reminder", m, due, "cancelled"))
        elif due < now - LOOKBACK:
            out.append(("reminder", m, due, "history"))
        elif a.booked_at >= since and a.status in WAITING:  # queued when it was booked, still to go
            out.append(("reminder", m, due, "pending"))
    if a.status == Status.CANCELLED and a.cancelled_at and since <= a.cancelled_at < min(now, a.start_at):
        out.append(("cancellation", None, a.cancelled_at, "history"))
    end = a.end_at or a.start_at + timedelta(minutes=30)
    if a.status == Status.NO_SHOW and since <= end < now:
        out.append(("no_show", None, end, "history"))
    if a.status == Status.COMPLETED:
        at = (a.completed_at or end) + timedelta(minutes=schedule.follow_up_delay_min)
        if since <= at < now:
            out.append(("follow_up", None, at, "history"))
    return out


def _record(s: Session, row: dict, a: Appointment, customer: Customer, cache: Lookups) -> bool:
    """Fill in what the sender would have recorded; True when the message failed."""
    at = row["due_at"]
    msg = compose(s, SimpleNamespace(id=None, **row), a, customer, set(), at, cache)
    if not isinstance(msg, Ready):
        row["status"], row["last_error"] = msg
        return msg[0] == "failed"
    row.update(recipient=msg.recipient, subject=msg.subject, body=msg.body, attempts=1, sending_at=at)
    if (a.id * 31 + (row["offset_min"] or 0) + len(row["kind"]) + len(row["channel"])) % 97 == 0:
        row["status"], row["last_error"] = "failed", REFUSED[row["channel"]].format(to=msg.recipient)
        return True
    row.update(status="sent", sent_at=at + timedelta(seconds=2), payload={"message_id": row["idempotency_key"]})
    return False


@subscribe(DemoSeeded)
def on_demo_seeded(s: Session, event: DemoSeeded) -> None:
    now, since = event.at, event.at - HISTORY
    cache = Lookups()
    try:
        cache.links_key()
    except StartupError:  # no key yet (not a demo installation): the history's links need not open
        cache.link_key = secrets.token_urlsafe(32)
    story = or_(Appointment.start_at >= since, Appointment.booked_at >= since)
    if s.scalar(select(func.count()).where(story)) > MAX_STORY:  # a big chain: the story of the days around now
        story = Appointment.start_at.between(since, now + timedelta(days=2))
    appts = s.scalars(select(Appointment).where(story).order_by(Appointment.start_at.desc()).limit(MAX_STORY)).all()
    customers = {c.id: c for c in s.scalars(select(Customer).where(Customer.id.in_({a.customer_id for a in appts})))}
    schedules = {t: schedule_of(s, t) for t in {a.type_id for a in appts}}
    failed, rows = [], []
    for a in appts:
        for kind, offset, at, state in _story(a, schedules[a.type_id], since, now):
            for channel in ("email", "sms"):
                row = dict(BLANK,
                    idempotency_key=idempotency_key(a.id, kind, channel, a.start_at, offset),
                    appointment_id=a.id, location_id=a.location_id, customer_id=a.customer_id, channel=channel,
                    kind=kind, offset_min=offset, written_for=a.start_at, due_at=at, next_attempt_at=at,
                    status="pending" if state == "history" else state, created_at=at, updated_at=at,
                    last_error="cancelled: the appointment was cancelled" if state == "cancelled" else None,
                )  # fmt: skip
                if state == "history" and _record(s, row, a, customers[a.customer_id], cache):
                    failed.append(row["idempotency_key"])
                rows.append(row)
    for i in range(0, len(rows), 1000):
        s.execute(insert(NotificationOutbox.__table__), rows[i : i + 1000])  # Core: one executemany
    ids = s.execute(select(NotificationOutbox).where(NotificationOutbox.idempotency_key.in_(failed))).scalars()
    for row in ids:
        raise_item(s, kind="notification_failed", dedupe_key=failure_key(row.id), now=row.due_at,
                   location_id=row.location_id, appointment_id=row.appointment_id,
                   details={"outbox_id": row.id, "kind": row.kind, "channel": row.channel, "reason": row.last_error})  # fmt: skip
    reconcile.insert_missing(s, reconcile.missing_rows(s, now - LOOKBACK))

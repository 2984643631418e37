"""Sending what is due, once.

A pass: flag rows left `sending` by a sender that never confirmed them (a crash between send
and mark-sent: the message may or may not have gone, so a person decides; it is never sent
again blindly), then claim due rows in batches (FOR UPDATE SKIP LOCKED on PostgreSQL, plus a
short lease, so several senders never claim the same row), and for each one:

1. in one transaction: re-check that the appointment is still as the message assumes (status,
   and the start it was written for), find the recipient (skip with the reason when there is
   no address or the customer opted out), render the template, and mark the row `sending`;
2. send, outside any transaction;
3. in another transaction: mark it `sent`; or, on failure, back to `pending` with a backoff,
   or `failed` after the last attempt (or at once when the failure is permanent), which opens an
   exceptions-queue item.

With no channel configured the message is rendered and recorded as `not_sent` with the reason.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from core.base.clock import resolve_now
from core.base.db import unit_of_work
from core.base.jobs import job
from core.base.models import Appointment, AppointmentType, Customer, Location, Provider, Status
from core.notifications import channels
from core.notifications.models import NotificationOptOut, NotificationOutbox
from core.notifications.store import wording_of
from core.notifications.templates import context, explain, render
from core.queue.items import clear_item, raise_item

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
STALE_AFTER = timedelta(minutes=10)  # far longer than any one send may take (timeouts: 30 s)
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
MAX_ATTEMPTS = len(BACKOFF) + 1
BATCH = 50
WAITING = (Status.BOOKED.value, Status.CONFIRMED.value)
# What the appointment's status must be for each kind to still make sense.
VALID_STATUS = {
    "confirmation": WAITING,
    "reminder": WAITING,
    "rescheduled": WAITING,
    "cancellation": (Status.CANCELLED.value,),
    "no_show": (Status.NO_SHOW.value,),
    "follow_up": (Status.COMPLETED.value,),
}
BEFORE_START = ("confirmation", "reminder", "rescheduled", "cancellation")


def failure_key(outbox_id: int) -> str:
    return f"notification_failed:{outbox_id}"


def new_sender_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class PassSummary:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def get(self, outcome: str) -> int:
        return self.counts.get(outcome, 0)

    def line(self) -> str:
        if not self.counts:
            return "nothing due"
        return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(self.counts.items()))


@dataclass(frozen=True)
class Ready:
    outbox_id: int
    channel: str
    recipient: str
    subject: str | None
    body: str
    key: str


def flag_stale(now: datetime) -> int:
    """Rows left `sending` for longer than any send takes: flagged for a person to review."""
    with unit_of_work() as s:
        rows = s.scalars(
            select(NotificationOutbox)
            .where(NotificationOutbox.status == "sending", NotificationOutbox.sending_at < now - STALE_AFTER)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.status = "flagged"
            row.lease_until = None
            row.last_error = (
                f"flagged: sending started {row.sending_at:%Y-%m-%d %H:%M} UTC and was never confirmed; it may or "
                "may not have arrived. Check with the customer before resending."
            )
        return len(rows)


def claim(now: datetime, sender: str, batch: int, skip_channels: Iterable[str] = ()) -> list[tuple[int, str]]:
    """Due pending rows for this sender: row-locked while claimed (others skip them), then
    leased so the claim outlives this transaction."""
    with unit_of_work() as s:
        q = (
            select(NotificationOutbox.id, NotificationOutbox.channel)
            .where(
                NotificationOutbox.status == "pending",
                NotificationOutbox.next_attempt_at <= now,
                or_(NotificationOutbox.lease_until.is_(None), NotificationOutbox.lease_until < now),
            )
            .order_by(NotificationOutbox.next_attempt_at, NotificationOutbox.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        if skip := tuple(skip_channels):
            q = q.where(NotificationOutbox.channel.notin_(skip))
        rows = [(i, c) for i, c in s.execute(q)]
        if rows:
            s.execute(
                update(NotificationOutbox)
                .where(NotificationOutbox.id.in_([i for i, _ in rows]))
                .values(lease_until=now + LEASE, claimed_by=sender)
            )
        return rows


def _release(outbox_id: int, sender: str) -> None:
    with unit_of_work() as s:
        s.execute(
            update(NotificationOutbox)
            .where(NotificationOutbox.id == outbox_id, NotificationOutbox.claimed_by == sender,
                   NotificationOutbox.status == "pending")
            .values(lease_until=None, claimed_by=None)
        )  # fmt: skip


def _still_true(row: NotificationOutbox, appt: Appointment | None, now: datetime) -> tuple[str, str] | None:
    """(status, reason) when the message no longer fits the appointment; None when it does."""
    if appt is None:
        return "cancelled", "cancelled: the appointment no longer exists"
    if appt.status not in VALID_STATUS[row.kind]:
        return "cancelled", f"cancelled: the appointment is now {appt.status.replace('_', ' ')}"
    if row.written_for is not None and appt.start_at != row.written_for and row.kind in BEFORE_START:
        return "superseded", "superseded: the appointment has moved to another time"
    if row.kind in ("confirmation", "reminder", "rescheduled") and now >= appt.start_at:
        return "skipped", "skipped: the appointment had already started when this was due to go out"
    return None


def _fail(s, row: NotificationOutbox, message: str, now: datetime, *, permanent: bool) -> str:
    row.lease_until, row.claimed_by, row.sending_at = None, None, None
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
        row.last_error = message if permanent else f"gave up after {row.attempts} attempts: {message}"
        raise_item(
            s,
            kind="notification_failed",
            dedupe_key=failure_key(row.id),
            now=now,
            location_id=row.location_id,
            appointment_id=row.appointment_id,
            details={"outbox_id": row.id, "kind": row.kind, "channel": row.channel, "reason": row.last_error},
        )
        return "failed"
    wait = BACKOFF[min(row.attempts, len(BACKOFF)) - 1] if row.attempts else BACKOFF[0]
    row.status, row.next_attempt_at = "pending", now + wait
    row.last_error = f"attempt {row.attempts} failed: {message}; trying again at {row.next_attempt_at:%H:%M} UTC"
    return "retried"


class _Lookups:
    """What rarely changes, read once per pass: locations, providers, types, their wording."""

    def __init__(self):
        self.rows: dict[tuple, object] = {}

    def get(self, s, model, ident):
        key = (model, ident)
        if key not in self.rows:
            row = s.get(model, ident)
            self.rows[key] = row
            s.expunge(row)
        return self.rows[key]

    def wording(self, s, type_id: int, kind: str, channel: str):
        key = ("wording", type_id, kind, channel)
        if key not in self.rows:
            self.rows[key] = wording_of(s, type_id, kind, channel)
        return self.rows[key]


def _prepare(outbox_id: int, sender: str, now: datetime, down: set[str], cache: _Lookups) -> Ready | str:
    """Step 1: check, render and mark `sending` (committed before anything is sent)."""
    with unit_of_work() as s:
        row = s.get(NotificationOutbox, outbox_id, with_for_update=True)
        if row is None or row.status != "pending" or row.claimed_by != sender:
            return "lost"  # cancelled or superseded since it was claimed
        appt = None
        if row.appointment_id is not None:
            # A shared lock: a cancellation in progress finishes first (and cancels this row).
            appt = s.scalar(select(Appointment).where(Appointment.id == row.appointment_id).with_for_update(read=True))
        if verdict := _still_true(row, appt, now):
            row.status, row.last_error, row.lease_until = verdict[0], verdict[1], None
            return verdict[0]
        customer = s.get(Customer, appt.customer_id)
        location = cache.get(s, Location, appt.location_id)
        atype = cache.get(s, AppointmentType, appt.type_id)
        provider = cache.get(s, Provider, appt.provider_id)
        recipient = customer.email if row.channel == "email" else customer.phone
        what = "email address" if row.channel == "email" else "phone number"
        opted_out = s.get(NotificationOptOut, (customer.id, row.channel)) is not None
        wording = cache.wording(s, appt.type_id, row.kind, row.channel)
        skip = (
            f"skipped: {customer.name} has no {what}" if not (recipient or "").strip()
            else f"skipped: {customer.name} opted out of {row.channel} messages" if opted_out
            else f"skipped: this message is switched off for {atype.name}" if not wording.enabled
            else None
        )  # fmt: skip
        if skip:
            row.status, row.last_error, row.lease_until = "skipped", skip, None
            return "skipped"
        previous = row.payload.get("previous_start")
        values = context(
            customer_name=customer.name, type_name=atype.name, provider_name=provider.name,
            location_name=location.name, address=location.address, tz=location.timezone,
            start=appt.start_at, end=appt.end_at, offset_min=row.offset_min,
            previous_start=datetime.fromisoformat(previous) if previous else None,
        )  # fmt: skip
        try:
            subject, body = render(wording, values)
        except Exception as exc:  # noqa: BLE001 - a broken template fails this message, not the pass
            return _fail(s, row, explain("template", exc), now, permanent=True)
        row.recipient, row.subject, row.body = recipient.strip(), subject, body
        if reason := channels.not_configured(row.channel):
            row.status, row.last_error, row.lease_until = "not_sent", reason, None
            return "not_sent"
        if row.channel in down:
            row.lease_until = row.claimed_by = None
            return "deferred"
        row.status, row.sending_at, row.attempts, row.lease_until = "sending", now, row.attempts + 1, None
        return Ready(row.id, row.channel, row.recipient, subject, body, row.idempotency_key)


def _finish(outbox_id: int, now: datetime, *, ref: str | None = None, error: channels.SendError | None = None) -> str:
    """Step 3: record what happened to a message in `sending`."""
    with unit_of_work() as s:
        row = s.get(NotificationOutbox, outbox_id, with_for_update=True)
        if row is None or row.status not in ("sending", "pending"):
            return "lost"
        if error is not None:
            return _fail(s, row, str(error), now, permanent=isinstance(error, channels.Permanent))
        row.status, row.sent_at, row.lease_until, row.claimed_by = "sent", now, None, None
        row.payload = {**(row.payload or {}), "message_id": ref}
        if row.last_error:  # it had failed or been flagged before: its queue item, if any, is done
            clear_item(s, failure_key(row.id), now=now)
            row.last_error = None
        return "sent"


def _connect_failed(outbox_id: int, error: channels.Transient, now: datetime) -> str:
    with unit_of_work() as s:
        row = s.get(NotificationOutbox, outbox_id, with_for_update=True)
        if row is None or row.status != "pending":
            return "lost"
        row.attempts += 1
        return _fail(s, row, str(error), now, permanent=False)


def send_due(now: datetime | None = None, *, sender: str | None = None, batch: int = BATCH,
             limit: int | None = None) -> PassSummary:  # fmt: skip
    """One pass over what is due at `now`; returns what happened, counted by outcome."""
    now = resolve_now(now)
    sender = sender or new_sender_id()
    summary = PassSummary()
    if flagged := flag_stale(now):
        summary.counts["flagged"] = flagged
    transports = channels.transports()
    down: set[str] = set()
    cache = _Lookups()
    done = 0
    try:
        while limit is None or done < limit:
            claimed = claim(now, sender, batch if limit is None else min(batch, limit - done), down)
            if not claimed:
                break
            for outbox_id, channel in claimed:
                done += 1
                if channel in down:
                    _release(outbox_id, sender)
                    summary.add("deferred")
                    continue
                transport = transports[channel]
                if channels.not_configured(channel) is None:
                    try:
                        transport.open()
                    except channels.Transient as exc:
                        down.add(channel)
                        summary.add(_connect_failed(outbox_id, exc, now))
                        continue
                ready = _prepare(outbox_id, sender, now, down, cache)
                if not isinstance(ready, Ready):
                    summary.add(ready)
                    continue
                try:
                    ref = transport.send(ready.recipient, ready.subject, ready.body, ready.key)
                except channels.SendError as exc:
                    if isinstance(exc, channels.Transient) and exc.channel_down:
                        down.add(channel)
                    summary.add(_finish(outbox_id, now, error=exc))
                    continue
                summary.add(_finish(outbox_id, now, ref=ref))
    finally:
        for transport in transports.values():
            transport.close()
    return summary


@job("send-notifications", every=timedelta(minutes=1))
def run(now: datetime) -> str:
    return send_due(now).line()

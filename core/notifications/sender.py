"""Sending what is due, once, as fast as the channel takes it.

A pass: flag rows left `sending` by a sender that never confirmed them (a crash between send
and mark-sent: the message may or may not have gone, so a person decides; it is never sent
again blindly), schedule the reminders upcoming appointments lack (`reconcile`), then work in
batches, three steps each:

1. one transaction: claim due rows (FOR UPDATE SKIP LOCKED on PostgreSQL, so several senders
   never claim the same row), re-check that each appointment is still as its message assumes
   (status, and the start it was written for), find the recipient (skip with the reason when
   there is no address or the customer opted out), render the template, and mark it `sending`;
2. send the batch over one open connection, outside any transaction;
3. one transaction: mark each `sent`; or, on failure, back to `pending` with a backoff, or
   `failed` after the last attempt (or at once when the failure is permanent), which opens an
   exceptions-queue item. A message never handed to the channel (it went down first) goes back
   to `pending` with its attempt not counted.

Two commits per batch instead of four per message: what a crash between 2 and 3 leaves is a
batch of `sending` rows, flagged like one. With no channel configured the message is rendered
and recorded as `not_sent` with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from core.base.clock import resolve_now
from core.base.db import unit_of_work
from core.base.jobs import PassSummary, job, new_sender_id
from core.notifications import channels, reconcile
from core.notifications.models import NotificationOutbox
from core.notifications.prepare import Lookups, Ready, prepare_all
from core.queue.items import clear_item, raise_item

STALE_AFTER = timedelta(minutes=10)  # far longer than any one batch may take (timeouts: 30 s a send)
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
MAX_ATTEMPTS = len(BACKOFF) + 1
BATCH = 50
NEVER_SENT = "never sent"  # the channel went down before this message's turn


def failure_key(outbox_id: int) -> str:
    return f"notification_failed:{outbox_id}"


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


def claim_and_prepare(now: datetime, sender: str, batch: int, skip_channels: Iterable[str],
                      cache: Lookups, summary: PassSummary) -> tuple[int, list[Ready]]:  # fmt: skip
    """Step 1 for one batch: (rows claimed, the messages now `sending`), committed before any goes out."""
    with unit_of_work() as s:
        q = (
            select(NotificationOutbox)
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
        rows = list(s.scalars(q))
        ready = []
        for row, outcome in prepare_all(s, rows, sender, now, cache):
            if isinstance(outcome, Ready):
                ready.append(outcome)
            elif outcome == "failed":
                summary.add(_fail(s, row, row.last_error or "", now, permanent=True))
            else:
                summary.add(outcome)
        return len(rows), ready


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


def finish_all(results: list[tuple[int, str | channels.SendError]], now: datetime) -> list[str]:
    """Step 3: record, in one transaction, what happened to each message of a batch (a
    Message-ID, a SendError, or NEVER_SENT)."""
    if not results:
        return []
    outcomes = []
    with unit_of_work() as s:
        ids = [i for i, _ in results]
        rows = {r.id: r for r in s.scalars(select(NotificationOutbox).where(NotificationOutbox.id.in_(ids))
                                           .with_for_update())}  # fmt: skip
        for outbox_id, result in results:
            row = rows.get(outbox_id)
            if row is None or row.status != "sending":
                outcomes.append("lost")
            elif result == NEVER_SENT:
                row.status, row.attempts, row.sending_at, row.claimed_by = "pending", row.attempts - 1, None, None
                outcomes.append("deferred")
            elif isinstance(result, channels.SendError):
                outcomes.append(_fail(s, row, str(result), now, permanent=isinstance(result, channels.Permanent)))
            else:
                row.status, row.sent_at, row.lease_until, row.claimed_by = "sent", now, None, None
                row.payload = {**(row.payload or {}), "message_id": result}
                if row.last_error:  # it had failed or been flagged before: its queue item, if any, is done
                    clear_item(s, failure_key(row.id), now=now)
                    row.last_error = None
                outcomes.append("sent")
    return outcomes


def _send_batch(ready: list[Ready], transports: dict, down: set[str]) -> list[tuple[int, str | channels.SendError]]:
    """Step 2: hand each message to its channel; a channel that goes down takes no more this pass."""
    results: list[tuple[int, str | channels.SendError]] = []
    for msg in ready:
        if msg.channel in down:
            results.append((msg.outbox_id, NEVER_SENT))
            continue
        transport = transports[msg.channel]
        try:
            transport.open()
            results.append((msg.outbox_id, transport.send(msg.recipient, msg.subject, msg.body, msg.key, msg.headers)))
        except channels.SendError as exc:
            if isinstance(exc, channels.Transient) and exc.channel_down:
                down.add(msg.channel)
            results.append((msg.outbox_id, exc))
    return results


def send_due(now: datetime | None = None, *, sender: str | None = None, batch: int = BATCH,
             limit: int | None = None) -> PassSummary:  # fmt: skip
    """One pass over what is due at `now`; returns what happened, counted by outcome."""
    now = resolve_now(now)
    sender = sender or new_sender_id()
    summary = PassSummary()
    summary.add("flagged", flag_stale(now))
    summary.add("scheduled", reconcile.schedule_missing(now))
    transports = channels.transports()
    down: set[str] = set()
    cache = Lookups()
    done = 0
    try:
        while limit is None or done < limit:
            claimed, ready = claim_and_prepare(now, sender, batch if limit is None else min(batch, limit - done),
                                               down, cache, summary)  # fmt: skip
            if not claimed:
                break
            done += claimed
            for outcome in finish_all(_send_batch(ready, transports, down), now):
                summary.add(outcome)
    finally:
        for transport in transports.values():
            transport.close()
    return summary


@job("send-notifications", every=timedelta(minutes=1))
def run(now: datetime) -> str:
    return send_due(now).line()

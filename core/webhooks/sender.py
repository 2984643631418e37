"""Sending what is due, like the notifications outbox.

A pass: first, deliveries left `sending` by a sender that never recorded the answer (it was
killed between the POST and the mark) are flagged: an attempt with outcome "unknown" is logged and
they go back to pending. They are sent again with the same webhook-id, which the receiver dedupes
(the Standard Webhooks contract), so a crash resends at most what it had not marked. Then, in
batches: claim due deliveries (FOR UPDATE SKIP LOCKED on PostgreSQL: several senders never
claim one delivery) and mark them `sending` in the claim's own transaction; post them outside any
transaction (`_send_batch`: one by one in this thread to an endpoint that answers within a few
milliseconds, several at once in threads to a slower one); record the answers in one transaction
per batch.

Order: a delivery waits while an earlier one to the same endpoint about the same appointment is
unfinished, so a receiver sees booked before cancelled. An endpoint that did not answer (timeout,
connection error, 429, 5xx) is not tried again in the same pass: one slow receiver costs a pass
one timeout, and never holds up another endpoint's deliveries for longer.

Retries back off (BACKOFF, with jitter; a Retry-After answer wins) over more than 72 hours; after
the last one the delivery is `exhausted` and can be replayed. 410 Gone switches the endpoint off.
An endpoint failing for FAILING_ALERT raises a queue item, cleared by its next success."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, insert, select, update
from sqlalchemy.orm import aliased

from core.base.clock import resolve_now, utcnow
from core.base.config import get_settings
from core.base.db import unit_of_work
from core.base.jobs import PassSummary, job, new_sender_id
from core.queue import kinds as queue_kinds
from core.queue.items import clear_item, raise_item
from core.security import audit
from core.security.access import SYSTEM, A
from core.webhooks import keys, net
from core.webhooks.endpoints import ENTITY, signing_secrets
from core.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

BACKOFF = tuple(
    timedelta(seconds=s) for s in (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600)
)  # 75.6 hours in all
MAX_ATTEMPTS = len(BACKOFF) + 1
JITTER = 0.1  # each wait is stretched by up to 10 %, never shrunk: the retries span 72 hours or more
RETRY_AFTER_CAP = timedelta(hours=24)
FAILING_ALERT = timedelta(hours=24)
BATCH = 50  # claimed and recorded in one transaction each
SENDS_AT_ONCE = 8  # POSTs in flight at once in a pass (threads)
PER_ENDPOINT = 4  # ... and to one endpoint, once it has answered in this pass
INLINE_UNDER_MS = 2  # an endpoint answering faster is sent to one by one in the pass's own thread
LATENCY_WEIGHT = 0.2  # of the newest answer in an endpoint's smoothed latency
STALE_AFTER = timedelta(minutes=15)  # longer than a batch takes: BATCH / PER_ENDPOINT x 15 s answers at worst, 3 min
UNFINISHED = ("pending", "sending")
NO_ANSWER_AGAIN = {429}  # with no answer at all, and 5xx: the endpoint rests for the pass


def failing_key(endpoint_id: int) -> str:
    return queue_kinds.key(queue_kinds.WEBHOOK_FAILING, endpoint_id)


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    endpoint_id: int
    url: str
    webhook_id: str
    body: str
    secrets: list[str]
    attempt: int


def flag_stale(now: datetime) -> int:
    with unit_of_work() as s:
        rows = s.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "sending", WebhookDelivery.sending_at < now - STALE_AFTER)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            s.add(
                WebhookAttempt(
                    delivery_id=row.id, number=row.attempts, started_at=row.sending_at, outcome="unknown",
                    error="the sender stopped before it recorded the answer; sent again with the same webhook-id",
                )
            )  # fmt: skip
            row.status, row.next_attempt_at, row.claimed_by, row.sending_at = "pending", now, None, None
            row.last_error = "flagged: a sender stopped mid-send; resent with the same webhook-id"
        return len(rows)


def claim(now: datetime, sender: str, batch: int, resting: set[int]) -> list[Claimed]:
    """Due deliveries, marked `sending` by this sender in the same transaction."""
    earlier = aliased(WebhookDelivery)
    with unit_of_work() as s:
        d = WebhookDelivery
        q = (
            select(d.id, d.endpoint_id, d.webhook_id, d.body, d.attempts)
            .join(WebhookEndpoint, WebhookEndpoint.id == d.endpoint_id)
            .where(
                d.status == "pending",
                d.next_attempt_at <= now,
                WebhookEndpoint.enabled,
                ~exists().where(
                    and_(
                        earlier.endpoint_id == d.endpoint_id,
                        earlier.subject == d.subject,
                        earlier.id < d.id,
                        earlier.status.in_(UNFINISHED),
                    )
                ),
            )
            .order_by(d.next_attempt_at, d.id)
            .limit(batch)
            .with_for_update(skip_locked=True, of=d)
        )
        if resting:
            q = q.where(d.endpoint_id.notin_(resting))
        rows = s.execute(q).all()
        if not rows:
            return []
        s.execute(  # one statement marks the whole batch
            update(d)
            .where(d.id.in_([r.id for r in rows]))
            .values(status="sending", sending_at=now, claimed_by=sender, attempts=d.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        ends = s.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id.in_({r.endpoint_id for r in rows})))
        signing = {e.id: (e.url, signing_secrets(e, now)) for e in ends}  # decrypted once per endpoint
        return [
            Claimed(r.id, r.endpoint_id, signing[r.endpoint_id][0], r.webhook_id, r.body, signing[r.endpoint_id][1],
                    r.attempts + 1)
            for r in rows
        ]  # fmt: skip


def _wait(attempts: int, answer: net.Answer) -> timedelta:
    if answer.retry_after is not None:
        return min(answer.retry_after, RETRY_AFTER_CAP)
    base = BACKOFF[min(attempts, len(BACKOFF)) - 1]
    return base * (1 + random.uniform(0, JITTER))


def _disable_gone(s, endpoint: WebhookEndpoint, now: datetime) -> None:
    before = {"enabled": True}
    endpoint.enabled, endpoint.updated_at = False, now
    endpoint.disabled_reason = f"switched off: the receiver answered 410 Gone at {now:%Y-%m-%d %H:%M} UTC"
    audit.record(
        s, SYSTEM, A.WEBHOOKS_MANAGE, entity=ENTITY, entity_id=endpoint.id, before=before,
        after={"enabled": False}, reason="switched off: the receiver answered 410 Gone",
    )  # fmt: skip


def _record(s, c: Claimed, answer: net.Answer, now: datetime, row: WebhookDelivery | None,
            endpoint: WebhookEndpoint, attempts: list[dict]) -> str:  # fmt: skip
    """Mark one answered delivery; its attempt row goes into `attempts` (inserted in one statement)."""
    if row is None or row.status != "sending":
        return "lost"
    outcome = "delivered" if answer.ok else "refused" if answer.refused else "failed"
    attempts.append(
        dict(
            delivery_id=row.id, number=c.attempt, started_at=now, outcome=outcome, status_code=answer.status_code,
            latency_ms=answer.latency_ms, response_excerpt=answer.excerpt, error=answer.error,
        )
    )  # fmt: skip
    row.sending_at, row.claimed_by, row.last_status_code = None, None, answer.status_code
    if answer.ok:
        row.status, row.delivered_at, row.last_error = "delivered", now, None
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            clear_item(s, failing_key(endpoint.id), now=now)
        return "delivered"
    row.last_error = answer.error
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    elif now - endpoint.failing_since >= FAILING_ALERT:
        raise_item(
            s, kind=queue_kinds.WEBHOOK_FAILING, dedupe_key=failing_key(endpoint.id), now=now,
            details={"endpoint_id": endpoint.id, "url": endpoint.url, "since": endpoint.failing_since.isoformat(),
                     "reason": answer.error},
        )  # fmt: skip
    if answer.status_code == 410:
        if endpoint.enabled:
            _disable_gone(s, endpoint, now)
        row.status = "exhausted"
        return "gone"
    if answer.refused or row.attempts >= MAX_ATTEMPTS:
        row.status = "exhausted"
        return "refused" if answer.refused else "exhausted"
    row.status, row.next_attempt_at = "pending", now + _wait(row.attempts, answer)
    return "retried"


def _locked_rows(s, answers: list[tuple[Claimed, net.Answer]]):
    if not answers:
        return {}, {}
    ids = [c.delivery_id for c, _ in answers]
    rows = s.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(ids)).with_for_update())
    ends = s.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.id.in_({c.endpoint_id for c, _ in answers}))
        .order_by(WebhookEndpoint.id)
        .with_for_update()
    )
    return {r.id: r for r in rows}, {e.id: e for e in ends}


def _put_back(s, ids: list[int]) -> None:
    s.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == "sending")
        .values(status="pending", sending_at=None, claimed_by=None, attempts=WebhookDelivery.attempts - 1)
    )


def headers(c: Claimed) -> dict[str, str]:
    stamp = utcnow()  # the real time: receivers check it against their own clock
    return {
        "webhook-id": c.webhook_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": keys.signature(c.secrets, c.webhook_id, stamp, c.body),
    }


def _no_answer(answer: net.Answer) -> bool:
    """Whether the endpoint should rest for the rest of the pass."""
    code = answer.status_code
    return not answer.refused and (code is None or code >= 500 or code in NO_ANSWER_AGAIN)


def _send_batch(pool: ThreadPoolExecutor, http, claimed: list[Claimed], now: datetime, resting: set[int],
                latency: dict[int, float]) -> tuple[list[tuple[Claimed, net.Answer]], list[int]]:  # fmt: skip
    """POST a claimed batch. `latency` holds, for each endpoint that has answered in this pass,
    its smoothed answer time. To one answering within INLINE_UNDER_MS: one after another in this
    thread, as a thread's hand-offs cost more than such an answer takes. To the others several at
    once: at most SENDS_AT_ONCE in all and PER_ENDPOINT to one endpoint, and only one to an
    endpoint until it has answered (a dead receiver costs one timeout and one attempt, as when
    sends went one by one). The claim never holds two unfinished deliveries about one subject to
    one endpoint, so sending a batch in any order keeps the order per appointment. What is left
    for a resting endpoint is deferred (put back)."""
    waiting, running = list(claimed), {}
    in_flight: Counter[int] = Counter()
    answers: list[tuple[Claimed, net.Answer]] = []
    deferred: list[int] = []

    def answered(c: Claimed, answer: net.Answer) -> None:
        answers.append((c, answer))
        if _no_answer(answer):
            resting.add(c.endpoint_id)
        else:
            before = latency.get(c.endpoint_id, answer.latency_ms)
            latency[c.endpoint_id] = before + LATENCY_WEIGHT * (answer.latency_ms - before)

    while waiting or running:
        inline = None
        for c in list(waiting):
            if c.endpoint_id in resting:
                waiting.remove(c)
                deferred.append(c.delivery_id)
            elif latency.get(c.endpoint_id, INLINE_UNDER_MS) < INLINE_UNDER_MS:
                inline = inline or c
            elif len(running) < SENDS_AT_ONCE and in_flight[c.endpoint_id] < (
                PER_ENDPOINT if c.endpoint_id in latency else 1
            ):
                waiting.remove(c)
                in_flight[c.endpoint_id] += 1
                running[pool.submit(lambda c=c: net.post(http, c.url, headers(c), c.body, now))] = c
        if inline is not None:
            waiting.remove(inline)
            answered(inline, net.post(http, inline.url, headers(inline), inline.body, now))
            finished = [f for f in running if f.done()]
        elif running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
        else:
            finished = []
        for future in finished:
            c = running.pop(future)
            in_flight[c.endpoint_id] -= 1
            answered(c, future.result())  # net.post turns every failure into an Answer
    answers.sort(key=lambda pair: pair[0].delivery_id)
    return answers, deferred


def deliver_due(
    now: datetime | None = None, *, sender: str | None = None, batch: int = BATCH, limit: int | None = None
) -> PassSummary:
    """One pass over what is due at `now`; what happened, counted by outcome."""
    now = resolve_now(now)
    sender = sender or new_sender_id()
    summary = PassSummary()
    summary.add("flagged", flag_stale(now))
    resting: set[int] = set()  # endpoints that did not answer: not tried again this pass
    latency: dict[int, float] = {}  # endpoints that answered this pass: their smoothed answer time (ms)
    done = 0
    with net.client() as http, ThreadPoolExecutor(SENDS_AT_ONCE, thread_name_prefix="webhook-send") as pool:
        while limit is None or done < limit:
            claimed = claim(now, sender, batch if limit is None else min(batch, limit - done), resting)
            if not claimed:
                break
            done += len(claimed)
            answers, deferred = _send_batch(pool, http, claimed, now, resting, latency)
            with unit_of_work() as s, s.no_autoflush:  # the batch's rows, locked, read in two queries
                rows, ends = _locked_rows(s, answers)
                attempts: list[dict] = []
                for c, answer in answers:
                    summary.add(_record(s, c, answer, now, rows.get(c.delivery_id), ends[c.endpoint_id], attempts))
                if attempts:
                    s.execute(insert(WebhookAttempt), attempts)
                if deferred:
                    _put_back(s, deferred)
                    summary.add("deferred", len(deferred))
    return summary


def purge_log(now: datetime, days: int) -> int:
    """Finished deliveries (and their attempts) older than `days`."""
    with unit_of_work() as s:
        old = select(WebhookDelivery.id).where(
            WebhookDelivery.created_at < now - timedelta(days=days), WebhookDelivery.status.notin_(UNFINISHED)
        )
        ids = list(s.scalars(old))
        if ids:
            s.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
            s.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
        return len(ids)


@job("deliver-webhooks", every=timedelta(seconds=2))
def run(now: datetime) -> str:
    return deliver_due(now).line()


@job("purge-webhook-log", every=timedelta(hours=1))
def purge(now: datetime) -> str:
    return f"purged {purge_log(now, get_settings().webhook_log_days)} deliveries"

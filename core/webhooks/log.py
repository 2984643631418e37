"""The delivery log (admins): deliveries with filters, one delivery with its body and attempts,
and replays. A replay sends the same delivery again, same webhook-id and body, from its first
retry step: a receiver that had processed it dedupes, one that had not gets it now."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.base.clock import resolve_now
from core.base.errors import InvalidTransition, NotFound, ValidationError
from core.security.access import A, Actor
from core.security.service import reading, service
from core.webhooks.models import DELIVERY_STATUSES, WebhookAttempt, WebhookDelivery, WebhookEndpoint

REPLAYABLE = ("delivered", "exhausted")
FAILED = ("exhausted",)
LIMIT = 500


@dataclass(frozen=True)
class DeliveryView:
    id: int
    endpoint_id: int
    webhook_id: str
    event_type: str
    appointment_id: int | None
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class AttemptView:
    number: int
    started_at: datetime
    outcome: str
    status_code: int | None
    latency_ms: int | None
    response_excerpt: str | None
    error: str | None


@dataclass(frozen=True)
class DeliveryDetail:
    delivery: DeliveryView
    url: str
    body: str
    attempts: tuple[AttemptView, ...]


def _view(d: WebhookDelivery) -> DeliveryView:
    return DeliveryView(
        d.id, d.endpoint_id, d.webhook_id, d.event_type, d.appointment_id, d.status, d.attempts, d.last_status_code,
        d.last_error, d.created_at, d.next_attempt_at, d.delivered_at,
    )  # fmt: skip


def deliveries(
    actor: Actor | None,
    *,
    endpoint_id: int | None = None,
    status: str | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = LIMIT,
) -> list[DeliveryView]:
    """Newest first."""
    if status is not None and status not in DELIVERY_STATUSES:
        raise ValidationError(f"Unknown delivery status '{status}'; known ones: {', '.join(DELIVERY_STATUSES)}.")
    q = select(WebhookDelivery).order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit)
    for column, value in (
        (WebhookDelivery.endpoint_id, endpoint_id), (WebhookDelivery.status, status),
        (WebhookDelivery.event_type, event_type),
    ):  # fmt: skip
        if value is not None:
            q = q.where(column == value)
    if since is not None:
        q = q.where(WebhookDelivery.created_at >= since)
    if until is not None:
        q = q.where(WebhookDelivery.created_at < until)
    with reading(actor, A.WEBHOOKS_MANAGE, entity="webhook_delivery") as s:
        return [_view(d) for d in s.scalars(q)]


def delivery(actor: Actor | None, delivery_id: int) -> DeliveryDetail:
    with reading(actor, A.WEBHOOKS_MANAGE, entity="webhook_delivery", entity_id=delivery_id) as s:
        d = s.get(WebhookDelivery, delivery_id)
        if d is None:
            raise NotFound(f"Unknown webhook delivery #{delivery_id}.")
        attempts = s.scalars(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id == d.id).order_by(WebhookAttempt.id)
        )
        url = s.get(WebhookEndpoint, d.endpoint_id).url
        return DeliveryDetail(
            _view(d), url, d.body,
            tuple(AttemptView(a.number, a.started_at, a.outcome, a.status_code, a.latency_ms, a.response_excerpt,
                              a.error) for a in attempts),
        )  # fmt: skip


def _reset(d: WebhookDelivery, now: datetime) -> None:
    d.status, d.attempts, d.next_attempt_at, d.updated_at = "pending", 0, now, now
    d.last_error, d.delivered_at = f"replayed at {now:%Y-%m-%d %H:%M} UTC", None


def replay(actor: Actor | None, delivery_id: int, *, now: datetime | None = None) -> DeliveryView:
    """Send one finished delivery again (delivered or exhausted)."""
    now = resolve_now(now)
    with service(actor, A.WEBHOOKS_MANAGE, entity="webhook_delivery", entity_id=delivery_id, location_id=None) as tx:
        d = tx.get(WebhookDelivery, delivery_id, what="webhook delivery")
        if d.status not in REPLAYABLE:
            raise InvalidTransition(f"Delivery #{d.id} is still {d.status}: it will be sent without a replay.")
        before = {"status": d.status, "attempts": d.attempts}
        _reset(d, now)
        tx.audit(before=before, after={"status": d.status, "webhook_id": d.webhook_id}, reason="replayed")
        return _view(d)


def replay_failed(
    actor: Actor | None,
    endpoint_id: int,
    since: datetime,
    until: datetime | None = None,
    *,
    now: datetime | None = None,
) -> int:
    """Send again every exhausted delivery of an endpoint created in [since, until); how many."""
    now = resolve_now(now)
    with service(actor, A.WEBHOOKS_MANAGE, entity="webhook_endpoint", entity_id=endpoint_id, location_id=None) as tx:
        tx.get(WebhookEndpoint, endpoint_id, what="webhook endpoint", lock=False)
        q = select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status.in_(FAILED),
            WebhookDelivery.created_at >= since,
        )
        if until is not None:
            q = q.where(WebhookDelivery.created_at < until)
        rows = tx.session.scalars(q.order_by(WebhookDelivery.id).with_for_update()).all()
        for d in rows:
            _reset(d, now)
        if rows:
            tx.audit(
                after={
                    "replayed": len(rows),
                    "since": since.isoformat(),
                    "until": until.isoformat() if until else None,
                },
                reason=f"replayed {len(rows)} failed deliveries",
            )
        return len(rows)


def deliveries_csv(rows: list[DeliveryView]) -> str:
    """The log as CSV (no bodies: they may hold personal data)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["id", "endpoint", "webhook_id", "event", "appointment", "status", "attempts", "last_status",
                "created_utc", "delivered_utc", "last_error"])  # fmt: skip
    for d in rows:
        w.writerow([d.id, d.endpoint_id, d.webhook_id, d.event_type, d.appointment_id, d.status, d.attempts,
                    d.last_status_code, d.created_at.isoformat(), d.delivered_at.isoformat() if d.delivered_at else "",
                    d.last_error or ""])  # fmt: skip
    return out.getvalue()

"""Webhook endpoints, their deliveries (the outbox) and each delivery's attempts (the log)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.base.clock import utcnow
from core.base.models import Base

PERSONAL_DATA = ("none", "names", "contacts")  # what a payload may say about the customer
DELIVERY_STATUSES = ("pending", "sending", "delivered", "exhausted")


def _sql_in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class WebhookEndpoint(Base):
    """A receiver: its URL, the event types it wants, and its signing secret, encrypted at rest
    (`core.webhooks.keys`). After a rotation the previous secret still signs until
    `previous_valid_until`, so the receiver can switch without losing a message."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (CheckConstraint(f"personal_data IN ({_sql_in(PERSONAL_DATA)})", name="personal_data_valid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(255), default="")
    event_types: Mapped[list] = mapped_column(default=list)
    personal_data: Mapped[str] = mapped_column(String(10), default="none")
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    secret_enc: Mapped[str] = mapped_column(Text)
    previous_secret_enc: Mapped[str | None] = mapped_column(Text)
    previous_valid_until: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]  # the first failure since the last success
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """One event for one endpoint. `webhook_id` (the webhook-id header) is unique and the same on
    every retry and replay; `body` is the exact JSON sent (signed afresh on each attempt).
    `subject` ("appointment:17") keeps an endpoint's events about one thing in order."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(f"status IN ({_sql_in(DELIVERY_STATUSES)})", name="status_valid"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
        Index("ix_webhook_deliveries_endpoint_subject", "endpoint_id", "subject", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(80), unique=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(60))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id", ondelete="SET NULL"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    sending_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    delivered_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookAttempt(Base):
    """One try: when, the answer's status code, how long it took, the first 2 KB of what came back.
    outcome: delivered | failed | refused (the address is not allowed) | unknown (the sender
    stopped before it recorded the answer)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    number: Mapped[int]
    started_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(20))
    status_code: Mapped[int | None]
    latency_ms: Mapped[int | None]
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)

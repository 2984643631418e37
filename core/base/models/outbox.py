"""The notifications outbox (written by core.notifications): in the shared schema because the
exceptions queue reads it too (a message that finally failed is an item)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.base.clock import utcnow
from core.base.models.common import Base

CHANNELS = ("email", "sms")
KINDS = ("confirmation", "reminder", "rescheduled", "cancellation", "no_show", "follow_up")
STATUSES = ("pending", "sending", "sent", "failed", "cancelled", "superseded", "skipped", "flagged", "not_sent")


def sql_in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class NotificationOutbox(Base):
    """One message to one customer on one channel. `idempotency_key` names the appointment,
    the kind (with the reminder's offset), the channel and the start the message was written
    for: the same message can never be queued twice, and it is the email's Message-ID and the
    webhook's Idempotency-Key."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_in(STATUSES)})", name="status_valid"),
        CheckConstraint(f"channel IN ({sql_in(CHANNELS)})", name="channel_valid"),
        CheckConstraint(f"kind IN ({sql_in(KINDS)})", name="kind_valid"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_outbox_appointment_kind", "appointment_id", "kind", "status"),
        Index("ix_outbox_location_due", "location_id", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id", ondelete="SET NULL"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(30))
    offset_min: Mapped[int | None]  # reminders: minutes before the start
    written_for: Mapped[datetime | None]  # the appointment's start when the message was queued
    recipient: Mapped[str | None] = mapped_column(String(255))  # filled in when sent
    subject: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(default=dict)
    due_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]  # a sender has claimed it until then
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    sending_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

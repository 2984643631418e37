"""The outbox, per-type templates and schedules, and customers' opt-outs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.base.db import utcnow
from core.base.models import Base

CHANNELS = ("email", "sms")
KINDS = ("confirmation", "reminder", "rescheduled", "cancellation", "no_show", "follow_up")
STATUSES = ("pending", "sending", "sent", "failed", "cancelled", "superseded", "skipped", "flagged", "not_sent")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class NotificationOutbox(Base):
    """One message to one customer on one channel. `idempotency_key` names the appointment,
    the kind (with the reminder's offset), the channel and the start the message was written
    for: the same message can never be queued twice, and it is the email's Message-ID and the
    webhook's Idempotency-Key."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(STATUSES)})", name="status_valid"),
        CheckConstraint(f"channel IN ({_in(CHANNELS)})", name="channel_valid"),
        CheckConstraint(f"kind IN ({_in(KINDS)})", name="kind_valid"),
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


class NotificationTemplate(Base):
    """An appointment type's own wording for one kind on one channel (the built-in default
    applies where there is none); `enabled` False stops that message for the type."""

    __tablename__ = "notification_templates"
    __table_args__ = (
        UniqueConstraint("type_id", "kind", "channel"),
        CheckConstraint(f"channel IN ({_in(CHANNELS)})", name="channel_valid"),
        CheckConstraint(f"kind IN ({_in(KINDS)})", name="kind_valid"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("appointment_types.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class NotificationSchedule(Base):
    """When an appointment type's reminders and follow-up go out (defaults where none)."""

    __tablename__ = "notification_schedules"
    __table_args__ = (CheckConstraint("follow_up_delay_min >= 0", name="follow_up_delay_non_negative"),)
    type_id: Mapped[int] = mapped_column(ForeignKey("appointment_types.id", ondelete="CASCADE"), primary_key=True)
    reminder_offsets_min: Mapped[list] = mapped_column(default=list)  # e.g. [2880, 120]: 48 h and 2 h before
    follow_up_delay_min: Mapped[int] = mapped_column(default=180)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationOptOut(Base):
    """A customer who asked not to be contacted on a channel."""

    __tablename__ = "notification_opt_outs"
    __table_args__ = (CheckConstraint(f"channel IN ({_in(CHANNELS)})", name="channel_valid"),)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

"""The outbox, per-type templates and schedules, and customers' opt-outs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.base.clock import utcnow
from core.base.models import Base
from core.base.models.outbox import CHANNELS, KINDS, STATUSES, NotificationOutbox, sql_in

__all__ = [
    "CHANNELS",
    "ContactPreferenceChange",
    "KINDS",
    "STATUSES",
    "NotificationOutbox",
    "NotificationOptOut",
    "NotificationSchedule",
    "NotificationTemplate",
]


class NotificationTemplate(Base):
    """An appointment type's own wording for one kind on one channel (the built-in default
    applies where there is none); `enabled` False stops that message for the type."""

    __tablename__ = "notification_templates"
    __table_args__ = (
        UniqueConstraint("type_id", "kind", "channel"),
        CheckConstraint(f"channel IN ({sql_in(CHANNELS)})", name="channel_valid"),
        CheckConstraint(f"kind IN ({sql_in(KINDS)})", name="kind_valid"),
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
    __table_args__ = (CheckConstraint(f"channel IN ({sql_in(CHANNELS)})", name="channel_valid"),)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ContactPreferenceChange(Base):
    """One change of a customer's contact preference on a channel: who made it (a staff user,
    or "public" with the client address for an unsubscribe link), when, and which way."""

    __tablename__ = "contact_preference_changes"
    __table_args__ = (
        CheckConstraint(f"channel IN ({sql_in(CHANNELS)})", name="channel_valid"),
        Index("ix_contact_preference_changes_customer", "customer_id", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    allowed: Mapped[bool]  # False: opted out from here on
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_username: Mapped[str] = mapped_column(String(80))
    client_address: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)

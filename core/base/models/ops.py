"""Operations: the exceptions queue, Google Calendar sync state and busy blocks, the notifications outbox."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.base.clock import utcnow
from core.base.models.common import Base


class ExceptionItem(Base):
    """An item of the exceptions queue; `dedupe_key` makes detection idempotent."""

    __tablename__ = "exceptions"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'assigned', 'snoozed', 'resolved')", name="status_valid"),
        Index("ix_exceptions_location_status", "location_id", "status"),
        Index("ix_exceptions_kind_status", "kind", "status"),
        Index("ix_exceptions_appointment", "appointment_id"),
        Index("ix_exceptions_status_due", "status", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    snoozed_until: Mapped[datetime | None]
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(default=dict)
    # Revision 0005 (core.queue.items): resolver's note, due = start (urgency), cause still there.
    note: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    cause_active: Mapped[bool] = mapped_column(default=True)
    reopen_count: Mapped[int] = mapped_column(default=0)


class CalendarSyncState(Base):
    __tablename__ = "calendar_sync_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), unique=True)
    calendar_id: Mapped[str] = mapped_column(String(255))
    sync_token: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="ok")  # ok | error | disconnected
    last_synced_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(120))


class BusyBlock(Base):
    """Time a provider is busy in Google Calendar outside this app. All-day blocks cover the
    local day(s) [all_day_start, all_day_end) with the exclusive end date Google uses."""

    __tablename__ = "busy_blocks"
    __table_args__ = (
        UniqueConstraint("calendar_id", "google_event_id"),
        CheckConstraint("end_at > start_at", name="end_after_start"),
        Index("ix_busy_blocks_provider_start", "provider_id", "start_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    calendar_id: Mapped[str] = mapped_column(String(255))
    google_event_id: Mapped[str] = mapped_column(String(255))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    all_day_start: Mapped[date | None] = mapped_column(Date)
    all_day_end: Mapped[date | None] = mapped_column(Date)
    summary: Mapped[str | None] = mapped_column(String(255))
    etag: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

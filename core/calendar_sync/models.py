"""Tables of the Google Calendar sync (migration 0007).

- `CalendarLink`: which Google event stands for an appointment, on which calendar, with the
  ETag of the version we last wrote or accepted and what we pushed. `etag` None means "not
  inserted yet". `state` is `synced`, `changed` (Google moved or edited it: a conflict waits in
  the queue and nothing is pushed over it) or `deleted` (deleted in Google: likewise).
  `generation` is part of the event id: a new event (after a deletion in Google, or on another
  calendar) gets the next one, so the id of a deleted event is never reused.
- `CalendarPush`: the outbox. One row per appointment whose event must be brought in line with
  it, written in the same transaction as the appointment change; `version` tells the sender
  whether the row changed again while it was pushing.
- `CalendarSyncHealth`: per provider, consecutive failed passes and the last pass's figures.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.base.clock import utcnow
from core.base.models import Base

LINK_STATES = ("synced", "changed", "deleted")


class CalendarLink(Base):
    __tablename__ = "calendar_links"
    __table_args__ = (
        UniqueConstraint("calendar_id", "event_id"),
        CheckConstraint("state IN ('synced', 'changed', 'deleted')", name="state_valid"),
        CheckConstraint("generation >= 0", name="generation_non_negative"),
        Index("ix_calendar_links_provider_state", "provider_id", "state"),
    )
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    calendar_id: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str] = mapped_column(String(255))
    generation: Mapped[int] = mapped_column(default=0)
    etag: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(20), default="synced")
    pushed_start: Mapped[datetime | None]
    pushed_end: Mapped[datetime | None]
    pushed_summary: Mapped[str | None] = mapped_column(String(255))
    google_etag: Mapped[str | None] = mapped_column(String(255))
    google_start: Mapped[datetime | None]
    google_end: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CalendarPush(Base):
    __tablename__ = "calendar_push_outbox"
    __table_args__ = (Index("ix_calendar_push_outbox_provider", "provider_id", "queued_at"),)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    version: Mapped[int] = mapped_column(default=1)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Queued by "keep ours": the conflict's queue item resolves itself when this push lands.
    resolves_conflict: Mapped[bool] = mapped_column(default=False)


class CalendarSyncHealth(Base):
    __tablename__ = "calendar_sync_health"
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[datetime | None]
    last_summary: Mapped[dict] = mapped_column(default=dict)

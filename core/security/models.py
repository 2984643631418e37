"""Tables of the security capability (on the shared `Base`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.base.models import Base


class SignInThrottle(Base):
    """Consecutive failed sign-ins for one client address or one typed username (whether or not
    such a user exists, so the answer never tells), the time before which the next attempt is
    refused unchecked, and how many audit rows this client has written in the current minute."""

    __tablename__ = "sign_in_throttle"
    __table_args__ = (
        UniqueConstraint("scope", "key"),
        CheckConstraint("scope IN ('account', 'client')", name="scope"),
        CheckConstraint("failures >= 0", name="failures_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))  # "account" (typed username) or "client"
    key: Mapped[str] = mapped_column(String(200))
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    audit_minute: Mapped[datetime | None]
    audit_rows: Mapped[int] = mapped_column(default=0)
    audit_skipped: Mapped[int] = mapped_column(default=0)


class DoorSetting(Base):
    """A switch of the customer-facing door an admin sets on a page (`core.security.door`)."""

    __tablename__ = "door_settings"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DoorRate(Base):
    """Requests one client address made through the door at one instant; the limit counts the
    last 60 seconds of them (a sliding window: a burst across a minute's edge is still one burst)."""

    __tablename__ = "door_rate"
    client: Mapped[str] = mapped_column(String(200), primary_key=True)
    at: Mapped[datetime] = mapped_column(primary_key=True)
    hits: Mapped[int]

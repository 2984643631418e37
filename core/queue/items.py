"""Raising and clearing queue items, inside the caller's transaction. Detection rules and other
capabilities (calendar sync, notifications, settings) call these; they never write the
exceptions table themselves.

One row per cause: `dedupe_key` is unique, so raising the same cause twice changes nothing, and a
cause that comes back after its item was resolved reopens that item.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.models import ExceptionItem

OPEN_STATES = ("open", "assigned", "snoozed")
RESOLVED_BY_ITSELF = "resolved by itself"


def raise_item(
    session: Session,
    *,
    kind: str,
    dedupe_key: str,
    now: datetime,
    location_id: int | None = None,
    appointment_id: int | None = None,
    provider_id: int | None = None,
    details: dict | None = None,
) -> tuple[ExceptionItem, bool]:
    """The open item for this cause, opened (or reopened) if need be; True when it is new."""
    item = session.scalar(select(ExceptionItem).where(ExceptionItem.dedupe_key == dedupe_key).with_for_update())
    if item is not None and item.status in OPEN_STATES:
        if details is not None and item.details != details:
            item.details = details
        return item, False
    if item is None:
        item = ExceptionItem(kind=kind, dedupe_key=dedupe_key)
        session.add(item)
    item.status, item.detected_at = "open", now
    item.resolved_at = item.resolved_by = item.resolution = item.assigned_to = item.snoozed_until = None
    item.location_id, item.appointment_id, item.provider_id = location_id, appointment_id, provider_id
    item.details = details or {}
    session.flush()
    return item, True


def clear_item(session: Session, dedupe_key: str, *, now: datetime) -> bool:
    """The cause is gone: its open item resolves itself (not an admin touch). True if one did."""
    item = session.scalar(select(ExceptionItem).where(ExceptionItem.dedupe_key == dedupe_key).with_for_update())
    if item is None or item.status not in OPEN_STATES:
        return False
    item.status, item.resolved_at, item.resolved_by, item.resolution = "resolved", now, None, RESOLVED_BY_ITSELF
    session.flush()
    return True

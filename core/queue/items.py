"""Raising and clearing queue items, inside the caller's transaction. Detection rules and other
capabilities (calendar sync, notifications, settings) call these; they never write the
exceptions table themselves. Kinds and keys: core.queue.kinds.

One row per cause: `dedupe_key` is unique and the row is created with INSERT ... ON CONFLICT DO
NOTHING, so raising the same cause twice (even from two transactions at once) changes nothing.
An item that resolved itself reopens when its cause comes back. An item resolved by hand stays
resolved while its cause lasts (`cause_active`); it reopens only once the cause went away
(`clear_item`) and came back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.base.models import Appointment, ExceptionItem

OPEN_STATES = ("open", "assigned", "snoozed")
RESOLVED_BY_ITSELF = "resolved by itself"


def _locked(session: Session, dedupe_key: str) -> ExceptionItem | None:
    return session.scalar(
        select(ExceptionItem)
        .where(ExceptionItem.dedupe_key == dedupe_key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


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
    due_at: datetime | None = None,
) -> tuple[ExceptionItem, bool]:
    """The item for this cause, opened (or reopened) if need be; True when it was (re)opened.
    `due_at` (for sorting by urgency) defaults to the appointment's start."""
    if due_at is None and appointment_id is not None:
        appt = session.get(Appointment, appointment_id)
        due_at = appt.start_at if appt is not None else None
    values = new_item(kind, dedupe_key, now, location_id, appointment_id, provider_id, details, due_at)
    inserted = insert_new(session, [values])
    item = _locked(session, dedupe_key)
    if inserted:
        return item, True
    if item.status in OPEN_STATES:
        if details is not None and item.details != details:
            item.details = details
        if due_at is not None and item.due_at != due_at:
            item.due_at = due_at
            if item.status == "snoozed" and item.snoozed_until is not None and item.snoozed_until > due_at:
                # moved earlier than the snooze: it was chosen against a start that no longer holds
                item.status, item.snoozed_until = ("assigned" if item.assigned_to else "open"), None
        item.cause_active = True
        session.flush()
        return item, False
    if item.resolution != RESOLVED_BY_ITSELF and item.cause_active:
        return item, False  # resolved by hand while the cause lasts: it stays resolved
    item.status, item.detected_at, item.reopen_count = "open", now, item.reopen_count + 1
    item.resolved_at = item.resolved_by = item.resolution = item.note = None
    item.assigned_to = item.snoozed_until = None
    item.location_id, item.appointment_id, item.provider_id = location_id, appointment_id, provider_id
    item.details, item.due_at, item.cause_active = details or {}, due_at, True
    session.flush()
    return item, True


def new_item(
    kind: str,
    dedupe_key: str,
    now: datetime,
    location_id: int | None = None,
    appointment_id: int | None = None,
    provider_id: int | None = None,
    details: dict | None = None,
    due_at: datetime | None = None,
) -> dict:
    """The row of a newly opened item, for `insert_new`."""
    return {
        "kind": kind, "dedupe_key": dedupe_key, "status": "open", "detected_at": now, "location_id": location_id,
        "appointment_id": appointment_id, "provider_id": provider_id, "details": details or {}, "due_at": due_at,
        "cause_active": True, "reopen_count": 0,
    }  # fmt: skip


def insert_new(session: Session, rows: list[dict], chunk: int = 500) -> set[str]:
    """Insert the items whose key is not there yet (INSERT ... ON CONFLICT DO NOTHING, many rows
    a statement); the keys actually inserted. A key already there (an item resolved earlier) is
    left for `raise_item` to reopen or not."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    inserted: set[str] = set()
    for start in range(0, len(rows), chunk):
        stmt = insert(ExceptionItem).values(rows[start : start + chunk])
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(ExceptionItem.dedupe_key)
        inserted.update(session.execute(stmt).scalars())
    return inserted


def clear_item(session: Session, dedupe_key: str, *, now: datetime) -> bool:
    """The cause is gone: its open item resolves itself (not an admin touch). True if one did."""
    item = _locked(session, dedupe_key)
    if item is None:
        return False
    if item.status not in OPEN_STATES:
        if item.cause_active:
            item.cause_active = False  # a later return of the cause reopens it
            session.flush()
        return False
    item.status, item.resolved_at, item.resolved_by, item.resolution = "resolved", now, None, RESOLVED_BY_ITSELF
    item.cause_active = False
    session.flush()
    return True

"""Bulk-load plumbing: the column orders of the raw inserts, epoch-second conversions, and on
SQLite the fast instant text and the rules suspended for the load."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

OVERLAP_TRIGGERS = ("appointments_no_overlap_insert", "appointments_no_overlap_update")
BULK_TABLES = ("customers", "appointments", "appointment_history", "inquiries")


def suspend_sqlite_rules(conn: Connection) -> list[str]:
    """Drop the overlap triggers and the bulk tables' secondary indexes for the load; returns
    their SQL exactly as the database holds it, for `restore_sqlite_rules` in the same
    transaction. (Rows are overlap-free by construction; building an index once is far faster
    than keeping five up to date row by row.)"""
    tables = ", ".join(f"'{t}'" for t in BULK_TABLES)
    triggers = ", ".join(f"'{t}'" for t in OVERLAP_TRIGGERS)
    saved = conn.exec_driver_sql(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND "
        f"((type = 'index' AND tbl_name IN ({tables})) OR (type = 'trigger' AND name IN ({triggers}))) "
        "ORDER BY type, name"
    ).all()
    for kind, name, _ in saved:
        conn.exec_driver_sql(f'DROP {kind.upper()} "{name}"')
    return [sql for _, _, sql in saved]


def restore_sqlite_rules(conn: Connection, saved: list[str]) -> None:
    for sql in saved:
        conn.exec_driver_sql(sql)


def sqlite_instants() -> Callable[[int | None], str | None]:
    """Epoch seconds -> the text SQLAlchemy stores for a UTC instant on SQLite (fast: two lookups)."""
    clock_times = [f"{h:02d}:{m:02d}:{s:02d}.000000" for h in range(24) for m in range(60) for s in range(60)]
    days: dict[int, str] = {}

    def instant(epoch: int | None) -> str | None:
        if epoch is None:
            return None
        day, sec = divmod(epoch, 86400)
        prefix = days.get(day)
        if prefix is None:
            prefix = days[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d ")
        return prefix + clock_times[sec]

    return instant


def aware(epoch: int | None) -> datetime | None:
    return None if epoch is None else _EPOCH + timedelta(seconds=epoch)


def iso(epoch: int) -> str:
    return (_EPOCH + timedelta(seconds=epoch)).isoformat()


def to_epoch(instant: datetime) -> int:
    return int((instant - _EPOCH).total_seconds())


APPT_COLS = (
    "id", "external_id", "location_id", "provider_id", "room_id", "type_id", "customer_id", "start_at",
    "end_at", "block_start", "block_end", "group_key", "status", "booked_at", "booked_by", "source",
    "intake_answers", "intake_complete", "notes", "confirmed_at", "checked_in_at", "completed_at",
    "cancelled_at", "cancel_reason", "late_cancel", "reschedule_count", "calendar_event_id", "calendar_etag",
    "updated_at",
)  # fmt: skip
HIST_COLS = ("appointment_id", "at", "actor_id", "kind", "old", "new", "manual")
INQ_COLS = ("location_id", "type_id", "customer_id", "channel", "received_at", "appointment_id", "notes")
CUST_COLS = ("id", "name", "email", "phone", "home_location_id", "created_at")

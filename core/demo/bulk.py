"""Bulk-load plumbing: the column orders of the raw inserts, epoch-second conversions, the fast
instant text of each dialect, COPY on PostgreSQL, and the rules suspended for the load."""

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


# What the PostgreSQL load suspends: secondary indexes ("i") and constraints by pg_constraint.contype
# ("u" unique, "f" foreign key; "x" would be the overlap exclusion constraints). Measured with
# 300,000 appointments: the whole seeding took 53 s with every rule on and 32 s with these off
# (re-created in about a second). With 1,000,000 the two exclusion constraints cost about as much
# to keep up to date during the load (60 s) as to rebuild after it (53 s), so they stay on, and
# an overlap is refused at its row. Primary keys and checks stay too.
PG_SUSPENDED = ("i", "u", "f")


def suspend_pg_rules(conn: Connection, kinds: tuple[str, ...] = PG_SUSPENDED) -> list[str]:
    """Drop the bulk tables' secondary indexes and constraints of `kinds` for the load; returns
    the SQL that re-creates them exactly as the catalog defines them (pg_get_indexdef,
    pg_get_constraintdef), for `restore_pg_rules` in the same transaction. Rows are valid by
    construction; the database checks them again, once per rule, when each comes back."""
    tables = "ARRAY[" + ", ".join(f"'{t}'::regclass" for t in BULK_TABLES) + "]"
    constraints = conn.exec_driver_sql(
        "SELECT conrelid::regclass::text, quote_ident(conname), contype::text, pg_get_constraintdef(oid) "
        f"FROM pg_constraint WHERE conrelid = ANY({tables}) AND contype::text = ANY(%(kinds)s) "
        "ORDER BY contype = 'f' DESC, conrelid::regclass::text, conname",
        {"kinds": list(kinds)},
    ).all()
    indexes = []
    if "i" in kinds:
        indexes = conn.exec_driver_sql(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i "
            f"WHERE indrelid = ANY({tables}) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
            "ORDER BY indexrelid::regclass::text"
        ).all()
    for table, name, _, _ in constraints:  # foreign keys first: they may lean on a unique constraint
        conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for name, _ in indexes:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    restore = [sql for _, sql in indexes]
    restore += [f"ALTER TABLE {t} ADD CONSTRAINT {n} {d}" for t, n, _, d in reversed(constraints)]
    return restore


def restore_pg_rules(conn: Connection, saved: list[str]) -> None:
    # Room to sort in memory: the btree builds otherwise spill to disk at millions of rows.
    conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
    for sql in saved:
        conn.exec_driver_sql(sql)


def pg_copy(conn: Connection, table: str, cols: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY rows into a PostgreSQL table through the connection's own driver connection, so
    they land in the transaction the rest of the seeding is in. Values are text the server
    parses by the column's type (instants with their offset, JSON as written) or ints, bools
    and None."""
    driver = conn.connection.driver_connection
    with driver.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def sqlite_instants() -> Callable[[int | None], str | None]:
    """Epoch seconds -> the text SQLAlchemy stores for a UTC instant on SQLite (fast: two lookups)."""
    return _instants(".000000")


def pg_instants() -> Callable[[int | None], str | None]:
    """Epoch seconds -> a `timestamp with time zone` literal of that UTC instant, for COPY."""
    return _instants("+00")


def _instants(suffix: str) -> Callable[[int | None], str | None]:
    clock_times = [f"{h:02d}:{m:02d}:{s:02d}{suffix}" for h in range(24) for m in range(60) for s in range(60)]
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
CUST_COLS = ("id", "name", "email", "phone", "home_location_id", "created_at")

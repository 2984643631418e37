"""database-enforced rules: no overlapping appointments, append-only audit log

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A held block (appointment plus buffers) is at most one day long; SQLite's trigger relies on it
# to bound its index scan.
PG = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """ALTER TABLE appointments ADD CONSTRAINT ck_appointments_block_max_one_day
       CHECK (block_end - block_start <= interval '1 day')""",
    """ALTER TABLE appointments ADD CONSTRAINT ex_appointments_provider_overlap
       EXCLUDE USING gist (provider_id WITH =, tstzrange(block_start, block_end, '[)') WITH &&,
                           group_key WITH <>)
       WHERE (status <> 'cancelled')""",
    """ALTER TABLE appointments ADD CONSTRAINT ex_appointments_room_overlap
       EXCLUDE USING gist (room_id WITH =, tstzrange(block_start, block_end, '[)') WITH &&,
                           group_key WITH <>)
       WHERE (status <> 'cancelled' AND room_id IS NOT NULL)""",
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP; END $$""",
    """CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
]

_SQLITE_CLASH = """
    SELECT RAISE(ABORT, 'ex_appointments_{what}_overlap') WHERE {guard} EXISTS (
        SELECT 1 FROM appointments a
        WHERE a.{col} = NEW.{col} AND a.status <> 'cancelled' AND a.group_key <> NEW.group_key
          AND a.block_start < NEW.block_end AND a.block_end > NEW.block_start
          AND a.block_start > datetime(NEW.block_start, '-1 day') {not_self});"""


def _sqlite_trigger(event: str) -> str:
    not_self = "AND a.id <> NEW.id" if event == "UPDATE" else ""
    cols = " OF provider_id, room_id, block_start, block_end, status, group_key" if event == "UPDATE" else ""
    body = _SQLITE_CLASH.format(what="provider", col="provider_id", guard="", not_self=not_self)
    body += _SQLITE_CLASH.format(
        what="room",
        col="room_id",
        guard="NEW.room_id IS NOT NULL AND",
        not_self=not_self,
    )
    checks = """
    SELECT RAISE(ABORT, 'ck_appointments_block_max_one_day')
        WHERE julianday(NEW.block_end) - julianday(NEW.block_start) > 1;"""
    return (
        f"CREATE TRIGGER appointments_no_overlap_{event.lower()} BEFORE {event}{cols} ON appointments "
        f"WHEN NEW.status <> 'cancelled' BEGIN {checks} {body} END"
    )


SQLITE = [
    _sqlite_trigger("INSERT"),
    _sqlite_trigger("UPDATE"),
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END""",
]


def upgrade() -> None:
    for statement in PG if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_no_update_delete ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
        for name in (
            "ex_appointments_room_overlap",
            "ex_appointments_provider_overlap",
            "ck_appointments_block_max_one_day",
        ):
            op.execute(f"ALTER TABLE appointments DROP CONSTRAINT {name}")
    else:
        for name in (
            "appointments_no_overlap_insert",
            "appointments_no_overlap_update",
            "audit_log_no_update",
            "audit_log_no_delete",
        ):
            op.execute(f"DROP TRIGGER {name}")

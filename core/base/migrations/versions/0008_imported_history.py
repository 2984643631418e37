"""imported history: appointments without provider, type or duration; customers.external_id

History brought in from another tool is not the schedule: its provider, appointment type and
duration may be unknown. Such rows have NULL provider_id / type_id, and NULL end_at, block_start
and block_end when the duration is unknown. The overlap rules only ever compare rows that have
a provider (or room) and a held block, so history without them never clashes with anything.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.base.migrations.columns import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NULLABLE = {
    "provider_id": sa.Integer(),
    "type_id": sa.Integer(),
    "end_at": UTCDateTime(timezone=True),
    "block_start": UTCDateTime(timezone=True),
    "block_end": UTCDateTime(timezone=True),
}

_PG_EXCLUDE = """ALTER TABLE appointments ADD CONSTRAINT ex_appointments_{what}_overlap
   EXCLUDE USING gist ({col} WITH =, tstzrange(block_start, block_end, '[)') WITH &&, group_key WITH <>)
   WHERE (status <> 'cancelled' AND {col} IS NOT NULL{held})"""

_SQLITE_CLASH = """
    SELECT RAISE(ABORT, 'ex_appointments_{what}_overlap') WHERE NEW.{col} IS NOT NULL AND EXISTS (
        SELECT 1 FROM appointments a
        WHERE a.{col} = NEW.{col} AND a.status <> 'cancelled' AND a.group_key <> NEW.group_key
          AND a.block_start < NEW.block_end AND a.block_end > NEW.block_start
          AND a.block_start > datetime(NEW.block_start, '-1 day') {not_self});"""


def _sqlite_trigger(event: str, *, held_only: bool) -> str:
    not_self = "AND a.id <> NEW.id" if event == "UPDATE" else ""
    cols = " OF provider_id, room_id, block_start, block_end, status, group_key" if event == "UPDATE" else ""
    body = "".join(
        _SQLITE_CLASH.format(what=what, col=col, not_self=not_self)
        for what, col in (("provider", "provider_id"), ("room", "room_id"))
    )
    checks = """
    SELECT RAISE(ABORT, 'ck_appointments_block_max_one_day')
        WHERE julianday(NEW.block_end) - julianday(NEW.block_start) > 1;"""
    held = " AND NEW.block_start IS NOT NULL AND NEW.block_end IS NOT NULL" if held_only else ""
    return (
        f"CREATE TRIGGER appointments_no_overlap_{event.lower()} BEFORE {event}{cols} ON appointments "
        f"WHEN NEW.status <> 'cancelled'{held} BEGIN {checks} {body} END"
    )


def _alter(nullable: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in ("provider", "room"):
            op.execute(f"ALTER TABLE appointments DROP CONSTRAINT ex_appointments_{name}_overlap")
        for column in NULLABLE:
            op.execute(f"ALTER TABLE appointments ALTER COLUMN {column} {'DROP' if nullable else 'SET'} NOT NULL")
        held = " AND block_end IS NOT NULL" if nullable else ""
        op.execute(_PG_EXCLUDE.format(what="provider", col="provider_id", held=held))
        op.execute(_PG_EXCLUDE.format(what="room", col="room_id", held=held))
        return
    # SQLite: dropping NOT NULL changes no stored data, so the table's recorded definition is
    # edited in place (sqlite.org/lang_altertable.html, "making other kinds of table schema
    # changes"), inside this transaction. Rebuilding the table instead would drop the old one,
    # and with foreign keys on that cascades to appointment_history and the outbox.
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS appointments_no_overlap_{event}")
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'appointments'").scalar()
    for column in NULLABLE:
        strict, loose = f"\t{column} INTEGER NOT NULL,", f"\t{column} INTEGER,"
        if column not in ("provider_id", "type_id"):
            strict, loose = f"\t{column} DATETIME NOT NULL,", f"\t{column} DATETIME,"
        old, new = (strict, loose) if nullable else (loose, strict)
        if old not in sql:
            raise RuntimeError(f"appointments.{column}: unexpected definition in {sql!r}")
        sql = sql.replace(old, new)
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'appointments'", (sql,))
    bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    op.execute(_sqlite_trigger("INSERT", held_only=nullable))
    op.execute(_sqlite_trigger("UPDATE", held_only=nullable))


def upgrade() -> None:
    _alter(nullable=True)
    op.add_column("customers", sa.Column("external_id", sa.String(length=120), nullable=True))
    op.create_index("uq_customers_external_id", "customers", ["external_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_customers_external_id", table_name="customers")
    op.execute("ALTER TABLE customers DROP COLUMN external_id")  # SQLite 3.35+: no table rebuild
    n = (
        op.get_bind()
        .exec_driver_sql(
            "SELECT count(*) FROM appointments WHERE provider_id IS NULL OR type_id IS NULL OR end_at IS NULL"
        )
        .scalar()
    )
    if n:
        raise RuntimeError(f"{n} imported appointments have no provider, type or duration: delete them first")
    _alter(nullable=False)

"""exceptions queue and worker: item note, due time, cause state; per-type rule windows; job leases

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.base.migrations.columns import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exceptions") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("due_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("cause_active", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("reopen_count", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index("ix_exceptions_kind_status", ["kind", "status"])
        batch.create_index("ix_exceptions_appointment", ["appointment_id"])
        batch.create_index("ix_exceptions_status_due", ["status", "due_at"])
    op.create_table(
        "queue_type_windows",
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("intake_hours", sa.Integer(), nullable=False),
        sa.Column("confirm_hours", sa.Integer(), nullable=False),
        sa.CheckConstraint("intake_hours BETWEEN 1 AND 720", name="ck_queue_type_windows_intake_hours_range"),
        sa.CheckConstraint("confirm_hours BETWEEN 1 AND 720", name="ck_queue_type_windows_confirm_hours_range"),
        sa.ForeignKeyConstraint(
            ["type_id"],
            ["appointment_types.id"],
            name="fk_queue_type_windows_type_id_appointment_types",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("type_id", name="pk_queue_type_windows"),
    )
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("owner", sa.String(120), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_started_at", UTCDateTime(), nullable=True),
        sa.Column("last_finished_at", UTCDateTime(), nullable=True),
        sa.Column("last_summary", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("name", name="pk_job_leases"),
    )


def downgrade() -> None:
    op.drop_table("job_leases")
    op.drop_table("queue_type_windows")
    with op.batch_alter_table("exceptions") as batch:
        batch.drop_index("ix_exceptions_status_due")
        batch.drop_index("ix_exceptions_appointment")
        batch.drop_index("ix_exceptions_kind_status")
        batch.drop_column("reopen_count")
        batch.drop_column("cause_active")
        batch.drop_column("due_at")
        batch.drop_column("note")

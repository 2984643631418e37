"""Google Calendar sync: event links, the push outbox, per-provider health

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.base.migrations.columns import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_links",
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(255), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("pushed_start", UTCDateTime(timezone=True), nullable=True),
        sa.Column("pushed_end", UTCDateTime(timezone=True), nullable=True),
        sa.Column("pushed_summary", sa.String(255), nullable=True),
        sa.Column("google_etag", sa.String(255), nullable=True),
        sa.Column("google_start", UTCDateTime(timezone=True), nullable=True),
        sa.Column("google_end", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("appointment_id", name="pk_calendar_links"),
        sa.ForeignKeyConstraint(
            ["appointment_id"], ["appointments.id"], name="fk_calendar_links_appointment_id_appointments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"], name="fk_calendar_links_provider_id_providers"),
        sa.UniqueConstraint("calendar_id", "event_id", name="uq_calendar_links_calendar_id"),
        sa.CheckConstraint("state IN ('synced', 'changed', 'deleted')", name="ck_calendar_links_state_valid"),
        sa.CheckConstraint("generation >= 0", name="ck_calendar_links_generation_non_negative"),
    )  # fmt: skip
    op.create_index("ix_calendar_links_provider_state", "calendar_links", ["provider_id", "state"])
    op.create_table(
        "calendar_push_outbox",
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("queued_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("resolves_conflict", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("appointment_id", name="pk_calendar_push_outbox"),
        sa.ForeignKeyConstraint(
            ["appointment_id"], ["appointments.id"], name="fk_calendar_push_outbox_appointment_id_appointments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"], name="fk_calendar_push_outbox_provider_id_providers"),
    )  # fmt: skip
    op.create_index("ix_calendar_push_outbox_provider", "calendar_push_outbox", ["provider_id", "queued_at"])
    op.create_table(
        "calendar_sync_health",
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("provider_id", name="pk_calendar_sync_health"),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name="fk_calendar_sync_health_provider_id_providers", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    op.drop_table("calendar_sync_health")
    op.drop_index("ix_calendar_push_outbox_provider", "calendar_push_outbox")
    op.drop_table("calendar_push_outbox")
    op.drop_index("ix_calendar_links_provider_state", "calendar_links")
    op.drop_table("calendar_links")

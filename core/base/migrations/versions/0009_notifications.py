"""notifications: the outbox reshaped (idempotency key, statuses, retries, claims), per-type
templates and schedules, customers' opt-outs

Revision ID: 0009
Revises: 0008

Nothing wrote the old outbox table; any rows it holds are carried over with a legacy key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.base.migrations.columns import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "'pending', 'sending', 'sent', 'failed', 'cancelled', 'superseded', 'skipped', 'flagged', 'not_sent'"
CHANNELS = "'email', 'sms'"
KINDS = "'confirmation', 'reminder', 'rescheduled', 'cancellation', 'no_show', 'follow_up'"
OLD_COLUMNS = ("id", "appointment_id", "channel", "kind", "recipient", "payload", "due_at", "status", "attempts",
               "sent_at", "last_error", "created_at")  # fmt: skip


def _old_outbox() -> sa.Table:
    return sa.Table(
        "notification_outbox",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("appointment_id", sa.Integer),
        sa.Column("channel", sa.String(20)),
        sa.Column("kind", sa.String(30)),
        sa.Column("recipient", sa.String(255)),
        sa.Column("payload", sa.JSON),
        sa.Column("due_at", UTCDateTime()),
        sa.Column("status", sa.String(20)),
        sa.Column("attempts", sa.Integer),
        sa.Column("sent_at", UTCDateTime()),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime()),
    )


def upgrade() -> None:
    bind = op.get_bind()
    old_rows = [dict(r._mapping) for r in bind.execute(sa.select(_old_outbox()))]
    with op.batch_alter_table("notification_outbox") as batch:
        batch.drop_index("ix_outbox_status_due")
    op.drop_table("notification_outbox")
    outbox = op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(160), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("offset_min", sa.Integer(), nullable=True),
        sa.Column("written_for", UTCDateTime(), nullable=True),
        sa.Column("recipient", sa.String(255), nullable=True),
        sa.Column("subject", sa.String(255), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(120), nullable=True),
        sa.Column("sending_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notification_outbox"),
        sa.UniqueConstraint("idempotency_key", name="uq_notification_outbox_idempotency_key"),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"], ondelete="SET NULL",
                                name="fk_notification_outbox_appointment_id_appointments"),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name="fk_notification_outbox_location_id_locations"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_notification_outbox_customer_id_customers"),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_notification_outbox_status_valid"),
        sa.CheckConstraint(f"channel IN ({CHANNELS})", name="ck_notification_outbox_channel_valid"),
        sa.CheckConstraint(f"kind IN ({KINDS})", name="ck_notification_outbox_kind_valid"),
        sa.CheckConstraint("attempts >= 0", name="ck_notification_outbox_attempts_non_negative"),
    )  # fmt: skip
    op.create_index("ix_outbox_status_next", "notification_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_appointment_kind", "notification_outbox", ["appointment_id", "kind", "status"])
    op.create_index("ix_outbox_location_due", "notification_outbox", ["location_id", "due_at"])
    if old_rows:
        kinds = KINDS.replace("'", "").split(", ")
        op.bulk_insert(
            outbox,
            [
                r
                | {
                    "idempotency_key": f"legacy-{r['id']}",
                    "kind": r["kind"] if r["kind"] in kinds else "confirmation",
                    "next_attempt_at": r["due_at"],
                    "updated_at": r["created_at"],
                    "payload": r["payload"] or {},
                }
                for r in old_rows
            ],
        )

    op.create_table(
        "notification_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(255), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notification_templates"),
        sa.UniqueConstraint("type_id", "kind", "channel", name="uq_notification_templates_type_id"),
        sa.ForeignKeyConstraint(["type_id"], ["appointment_types.id"], ondelete="CASCADE",
                                name="fk_notification_templates_type_id_appointment_types"),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name="fk_notification_templates_updated_by_users"),
        sa.CheckConstraint(f"channel IN ({CHANNELS})", name="ck_notification_templates_channel_valid"),
        sa.CheckConstraint(f"kind IN ({KINDS})", name="ck_notification_templates_kind_valid"),
    )  # fmt: skip
    op.create_table(
        "notification_schedules",
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("reminder_offsets_min", sa.JSON(), nullable=False),
        sa.Column("follow_up_delay_min", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("type_id", name="pk_notification_schedules"),
        sa.ForeignKeyConstraint(["type_id"], ["appointment_types.id"], ondelete="CASCADE",
                                name="fk_notification_schedules_type_id_appointment_types"),
        sa.CheckConstraint("follow_up_delay_min >= 0", name="ck_notification_schedules_follow_up_delay_non_negative"),
    )  # fmt: skip
    op.create_table(
        "notification_opt_outs",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("customer_id", "channel", name="pk_notification_opt_outs"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE",
                                name="fk_notification_opt_outs_customer_id_customers"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="fk_notification_opt_outs_created_by_users"),
        sa.CheckConstraint(f"channel IN ({CHANNELS})", name="ck_notification_opt_outs_channel_valid"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("notification_opt_outs")
    op.drop_table("notification_schedules")
    op.drop_table("notification_templates")
    op.drop_index("ix_outbox_location_due", "notification_outbox")
    op.drop_index("ix_outbox_appointment_kind", "notification_outbox")
    op.drop_index("ix_outbox_status_next", "notification_outbox")
    op.drop_table("notification_outbox")
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("recipient", sa.String(255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"], ondelete="SET NULL",
                                name="fk_notification_outbox_appointment_id_appointments"),
        sa.PrimaryKeyConstraint("id", name="pk_notification_outbox"),
    )  # fmt: skip
    op.create_index("ix_outbox_status_due", "notification_outbox", ["status", "due_at"])

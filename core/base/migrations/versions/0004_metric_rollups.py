"""metric_daily and metric_lead: the daily KPI rollup and its lead-time histogram

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTS = (
    "appointments", "completed", "no_show", "cancelled", "late_cancel", "rescheduled", "touches", "held",
    "booked_min", "attended_min", "no_show_min", "late_cancel_min",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "metric_daily",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("provider_key", sa.Integer(), nullable=False),
        sa.Column("type_key", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False, server_default="0") for name in _COUNTS),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name="fk_metric_daily_location_id_locations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_metric_daily"),
        sa.UniqueConstraint("location_id", "day", "provider_key", "type_key", name="uq_metric_daily_bucket"),
    )
    op.create_index("ix_metric_daily_day", "metric_daily", ["day"])
    op.create_index("ix_metric_daily_provider_day", "metric_daily", ["provider_key", "day"])
    op.create_index("ix_metric_daily_updated_at", "metric_daily", ["updated_at"])
    op.create_table(
        "metric_lead",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("provider_key", sa.Integer(), nullable=False),
        sa.Column("type_key", sa.Integer(), nullable=False),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name="fk_metric_lead_location_id_locations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("location_id", "day", "provider_key", "type_key", "lead_days", name="pk_metric_lead"),
    )
    op.create_index("ix_metric_lead_day", "metric_lead", ["day", "location_id"])


def downgrade() -> None:
    op.drop_index("ix_metric_lead_day", table_name="metric_lead")
    op.drop_table("metric_lead")
    op.drop_index("ix_metric_daily_updated_at", table_name="metric_daily")
    op.drop_index("ix_metric_daily_provider_day", table_name="metric_daily")
    op.drop_index("ix_metric_daily_day", table_name="metric_daily")
    op.drop_table("metric_daily")

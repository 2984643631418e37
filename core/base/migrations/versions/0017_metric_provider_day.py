"""metric_provider_day: the daily rollup summed over appointment types

A window without a type filter (the KPI page's default, its trend, the location and provider
breakdowns) summed metric_daily's rows of every type: about 2.5 rows per provider-day. This
table holds one per provider-day, with the weekday for the working-hours split; metric_daily
stays for type filters and the type breakdown. Filled here from metric_daily.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "appointments", "completed", "no_show", "cancelled", "late_cancel", "rescheduled", "touches", "held",
    "booked_min", "attended_min", "no_show_min", "late_cancel_min",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "metric_provider_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("provider_key", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in COUNTS),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name="fk_metric_provider_day_location_id_locations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_metric_provider_day"),
        sa.UniqueConstraint("location_id", "day", "provider_key", name="uq_metric_provider_day_bucket"),
    )
    sums = ", ".join(f"sum({name})" for name in COUNTS)
    op.execute(
        f"INSERT INTO metric_provider_day (location_id, day, weekday, provider_key, {', '.join(COUNTS)}) "
        f"SELECT location_id, day, min(weekday), provider_key, {sums} FROM metric_daily "
        "GROUP BY location_id, day, provider_key"
    )
    op.create_index(
        "ix_metric_provider_day_counts",
        "metric_provider_day",
        ["day", "location_id", "provider_key", "weekday", *COUNTS],
    )


def downgrade() -> None:
    op.drop_index("ix_metric_provider_day_counts", table_name="metric_provider_day")
    op.drop_table("metric_provider_day")

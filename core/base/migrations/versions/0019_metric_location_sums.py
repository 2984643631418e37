"""metric_location_day, metric_location_month, metric_provider_weekday: a window's totals by
location, and the few provider-weekdays its minutes outside working hours are looked up by

A window without a provider or type filter summed every provider-day of its days, and joined
each to the working hours to split the minutes inside them from those outside: at a thousand
providers, a pass over a thousand rows a day. Its totals are now summed by location (by month
for whole months), and the minutes outside hours are read only from the provider-days whose
(location, provider, weekday) has no hours, found through metric_provider_weekday. Filled here
from metric_provider_day.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "appointments", "completed", "no_show", "cancelled", "late_cancel", "rescheduled", "touches", "held",
    "booked_min", "attended_min", "no_show_min", "late_cancel_min",
)  # fmt: skip


def _sums_table(name: str, period: str) -> None:
    op.create_table(
        name,
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column(period, sa.Date(), nullable=False),
        *(sa.Column(column, sa.Integer(), server_default="0", nullable=False) for column in COUNTS),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=f"fk_{name}_location_id_locations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("location_id", period, name=f"pk_{name}"),
    )


def upgrade() -> None:
    _sums_table("metric_location_day", "day")
    _sums_table("metric_location_month", "month")
    op.create_table(
        "metric_provider_weekday",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("provider_key", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name="fk_metric_provider_weekday_location_id_locations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("location_id", "provider_key", "weekday", name="pk_metric_provider_weekday"),
    )  # fmt: skip
    columns, sums = ", ".join(COUNTS), ", ".join(f"sum({name})" for name in COUNTS)
    month = (
        "CAST(date_trunc('month', day) AS DATE)"
        if op.get_bind().dialect.name == "postgresql"
        else "date(day, 'start of month')"
    )
    op.execute(
        f"INSERT INTO metric_location_day (location_id, day, {columns}) "
        f"SELECT location_id, day, {sums} FROM metric_provider_day GROUP BY location_id, day"
    )
    op.execute(
        f"INSERT INTO metric_location_month (location_id, month, {columns}) "
        f"SELECT location_id, {month}, {sums} FROM metric_location_day GROUP BY location_id, {month}"
    )
    op.execute(
        "INSERT INTO metric_provider_weekday (location_id, provider_key, weekday) "
        "SELECT DISTINCT location_id, provider_key, weekday FROM metric_provider_day WHERE provider_key <> 0"
    )
    op.create_index("ix_metric_location_day_counts", "metric_location_day", ["day", "location_id", *COUNTS])
    op.create_index("ix_metric_location_month_counts", "metric_location_month", ["month", "location_id", *COUNTS])
    op.create_index(
        "ix_metric_provider_day_provider", "metric_provider_day", ["location_id", "provider_key", "day", "weekday"]
    )


def downgrade() -> None:
    op.drop_index("ix_metric_provider_day_provider", table_name="metric_provider_day")
    op.drop_index("ix_metric_location_month_counts", table_name="metric_location_month")
    op.drop_index("ix_metric_location_day_counts", table_name="metric_location_day")
    op.drop_table("metric_provider_weekday")
    op.drop_table("metric_location_month")
    op.drop_table("metric_location_day")

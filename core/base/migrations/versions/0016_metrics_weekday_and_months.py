"""metric_daily carries its day's weekday; metric_lead_month, the lead-time histogram per month

Utilization splits a window's minutes by whether the provider works on that weekday: a
working_hours row for (location, provider, weekday). The weekday was computed from `day` by a
function on every rollup row a window read, before the lookup. A date's weekday never changes,
so it is stored once (0 = Monday) and the covering index carries it: the rows outside hours are
then found from the index alone. Filled here from `day`, so an existing rollup needs no rebuild.

A year's median and p90 read the weekly histogram (118 locations x about 40 lead values a week).
Windows without a provider or type filter now read their whole calendar months from a monthly
one, their whole ISO weeks from the weekly one and the days left from the daily one: percentiles
stay exact (nearest-rank). Filled here from metric_lead.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUCKET = ("day", "location_id", "provider_key", "type_key")
COUNTS = (
    "appointments", "completed", "no_show", "cancelled", "late_cancel", "rescheduled", "touches", "held",
    "booked_min", "attended_min", "no_show_min", "late_cancel_min",
)  # fmt: skip


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_metric_daily_day_counts", table_name="metric_daily")
    op.add_column("metric_daily", sa.Column("weekday", sa.SmallInteger(), nullable=True))
    weekday = (
        "(extract(isodow from day)::int - 1)" if postgresql else "((CAST(strftime('%w', day) AS INTEGER) + 6) % 7)"
    )
    op.execute(f"UPDATE metric_daily SET weekday = {weekday}")
    with op.batch_alter_table("metric_daily") as batch:
        batch.alter_column("weekday", existing_type=sa.SmallInteger(), nullable=False)
    op.create_index("ix_metric_daily_day_counts", "metric_daily", [*BUCKET, "weekday", *COUNTS])

    op.create_table(
        "metric_lead_month",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name="fk_metric_lead_month_location_id_locations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("location_id", "month", "lead_days", name="pk_metric_lead_month"),
    )
    op.create_index("ix_metric_lead_month_counts", "metric_lead_month", ["month", "lead_days", "location_id", "n"])
    month = "date_trunc('month', day)::date" if postgresql else "date(day, 'start of month')"
    op.execute(
        "INSERT INTO metric_lead_month (location_id, month, lead_days, n) "
        f"SELECT location_id, {month}, lead_days, sum(n) FROM metric_lead GROUP BY location_id, {month}, lead_days"
    )


def downgrade() -> None:
    op.drop_index("ix_metric_lead_month_counts", table_name="metric_lead_month")
    op.drop_table("metric_lead_month")
    op.drop_index("ix_metric_daily_day_counts", table_name="metric_daily")
    with op.batch_alter_table("metric_daily") as batch:
        batch.drop_column("weekday")
    op.create_index("ix_metric_daily_day_counts", "metric_daily", [*BUCKET, *COUNTS])

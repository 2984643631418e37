"""the rollup's day indexes carry the counts they are read for

A window's KPIs sum metric_daily's counters and metric_lead's histogram over a range of days.
With an index on the day alone, each of those rows was then fetched from the table, one random
read per row: tens of thousands for a 12-week trend. Indexes that hold the counted columns too
answer those reads from the index alone, in day order (the histogram's in day and lead order,
the order it is summed in, so that needs no sort either).

Revision ID: 0014
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUCKET = ("day", "location_id", "provider_key", "type_key")
COUNTS = (
    "appointments", "completed", "no_show", "cancelled", "late_cancel", "rescheduled", "touches", "held",
    "booked_min", "attended_min", "no_show_min", "late_cancel_min",
)  # fmt: skip


def upgrade() -> None:
    op.drop_index("ix_metric_daily_day", table_name="metric_daily")
    op.create_index("ix_metric_daily_day_counts", "metric_daily", [*BUCKET, *COUNTS])
    op.drop_index("ix_metric_lead_day", table_name="metric_lead")
    # Day, then lead: a histogram summed per day and lead reads the index in its own order.
    op.create_index("ix_metric_lead_day_counts", "metric_lead", ["day", "lead_days", *BUCKET[1:], "n"])


def downgrade() -> None:
    op.drop_index("ix_metric_lead_day_counts", table_name="metric_lead")
    op.create_index("ix_metric_lead_day", "metric_lead", ["day", "location_id"])
    op.drop_index("ix_metric_daily_day_counts", table_name="metric_daily")
    op.create_index("ix_metric_daily_day", "metric_daily", ["day"])

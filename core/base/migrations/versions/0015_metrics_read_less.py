"""metric_lead_week, the lead-time histogram per location and ISO week; inquiries counted from an index

metric_lead has a row per (location, provider, type, local day, lead): for a million
appointments it barely compresses (about 0.9 rows per appointment), so the median and p90 of a
12-week trend or a year read hundreds of thousands of rows. Windows not filtered by provider or
type read this weekly sum instead for their whole weeks, and metric_lead only for the days at
their edges. Filled here from metric_lead, so an existing rollup needs no rebuild.

Conversion counts a window's inquiries and those with an appointment, per location and time of
receipt: the index on (location, received_at) then fetched every row from the table for its
appointment_id (and type_id under a type filter). The index now carries both.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_lead_week",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name="fk_metric_lead_week_location_id_locations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("location_id", "week", "lead_days", name="pk_metric_lead_week"),
    )
    op.create_index("ix_metric_lead_week_counts", "metric_lead_week", ["week", "lead_days", "location_id", "n"])
    if op.get_bind().dialect.name == "postgresql":
        week = "date_trunc('week', day)::date"
    else:
        week = "date(day, 'weekday 0', '-6 days')"  # the Sunday on or after the day, less six days
    op.execute(
        "INSERT INTO metric_lead_week (location_id, week, lead_days, n) "
        f"SELECT location_id, {week}, lead_days, sum(n) FROM metric_lead GROUP BY location_id, {week}, lead_days"
    )
    op.create_index(
        "ix_inquiries_location_received_counts",
        "inquiries",
        ["location_id", "received_at", "appointment_id", "type_id"],
    )
    op.drop_index("ix_inquiries_location_received", table_name="inquiries")


def downgrade() -> None:
    op.drop_index("ix_metric_lead_week_counts", table_name="metric_lead_week")
    op.drop_table("metric_lead_week")
    op.create_index("ix_inquiries_location_received", "inquiries", ["location_id", "received_at"])
    op.drop_index("ix_inquiries_location_received_counts", table_name="inquiries")

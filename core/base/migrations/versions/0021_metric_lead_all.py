"""metric_lead_week_all and metric_lead_month_all: the weekly and monthly lead-time histograms
summed over every location

The lead-time histogram was a year's dashboard's largest read: about 150,000 (location, week or
month, lead) rows for the two years a year and its previous period span at 1M appointments,
summed per period and lead in the database (35 ms of PostgreSQL's time). A window over every
location (an actor who sees them all, no location filter) now reads these, about 4,000 rows.
Filled here from the per-location tables; kept from their differences from now on.

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (("metric_lead_week_all", "metric_lead_week", "week"), ("metric_lead_month_all", "metric_lead_month", "month"))


def upgrade() -> None:
    for name, source, period in TABLES:
        op.create_table(
            name,
            sa.Column(period, sa.Date(), nullable=False),
            sa.Column("lead_days", sa.Integer(), nullable=False),
            sa.Column("n", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint(period, "lead_days", name=f"pk_{name}"),
        )
        op.execute(
            f"INSERT INTO {name} ({period}, lead_days, n) "
            f"SELECT {period}, lead_days, sum(n) FROM {source} GROUP BY {period}, lead_days"
        )


def downgrade() -> None:
    for name, _, _ in TABLES:
        op.drop_table(name)

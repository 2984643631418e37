"""metric_capacity, metric_capacity_day: available minutes kept from working hours and time off

Every metrics read worked out the available minutes of its window from the working hours and
time off: each provider's shifts merged per weekday, then each day that time off touches, in
Python (about 9,000 such days in two years at 1M appointments, and ten times that at 10M). They
change only when hours, time off or a location's zone change, which publish
ProviderScheduleChanged; the minutes are now kept then, and a read sums stored rows. The tables
are derived data: this migration only creates them, and `python -m core init-db` runs
`rebuild-rollups` when it finds them empty while working hours exist.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _table(name: str, *key: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        *key,
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=f"fk_{name}_location_id_locations", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=f"fk_{name}_provider_id_providers", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("location_id", "provider_id", key[0].name, name=f"pk_{name}"),
    )


def upgrade() -> None:
    _table("metric_capacity", sa.Column("weekday", sa.SmallInteger(), nullable=False))
    _table(
        "metric_capacity_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
    )
    op.create_index(
        "ix_metric_capacity_day_minutes", "metric_capacity_day", ["day", "location_id", "provider_id", "minutes"]
    )


def downgrade() -> None:
    op.drop_index("ix_metric_capacity_day_minutes", table_name="metric_capacity_day")
    op.drop_table("metric_capacity_day")
    op.drop_table("metric_capacity")

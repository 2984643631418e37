"""metric_inquiry_day and metric_inquiry_month: inquiries counted per location and local day or month

Conversion counted a window's inquiries row by row, one query per time zone, with a CASE over
received_at per row: a year's dashboard read every inquiry of two years (about 240,000 on the
1M demo database). It now reads these sums: whole calendar months inside a bin from the monthly
table, the other days from the daily one, so it costs days x locations, not inquiries. A day is
the local date of receipt in the location's zone, which SQLite cannot compute: both tables are
filled here in Python from the existing inquiries, so an existing database needs no rebuild.

Revision ID: 0018
Revises: 0017
"""

from collections import Counter
from collections.abc import Sequence
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 5000


def _table(name: str, period: str) -> sa.Table:
    op.create_table(
        name,
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column(period, sa.Date(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("converted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=f"fk_{name}_location_id_locations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("location_id", period, name=f"pk_{name}"),
    )
    return sa.table(name, *(sa.column(c) for c in ("location_id", period, "received", "converted")))


def _fill(day_table: sa.Table, month_table: sa.Table) -> None:
    """Count the inquiries (streamed) per location and local date of receipt, then the days per
    month."""
    bind = op.get_bind()
    zones = {loc: ZoneInfo(tz) for loc, tz in bind.execute(sa.text("SELECT id, timezone FROM locations"))}
    query = sa.text("SELECT location_id, received_at, appointment_id IS NOT NULL AS converted FROM inquiries").columns(
        location_id=sa.Integer(), received_at=sa.DateTime(timezone=True), converted=sa.Boolean()
    )
    received: Counter = Counter()
    converted: Counter = Counter()
    for loc, at, done in bind.execute(query.execution_options(stream_results=True, yield_per=CHUNK)):
        at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite: naive UTC
        key = (loc, at.astimezone(zones[loc]).date())
        received[key] += 1
        converted[key] += bool(done)
    months: dict = {}
    for (loc, day), n in received.items():
        sums = months.setdefault((loc, day.replace(day=1)), [0, 0])
        sums[0] += n
        sums[1] += converted[(loc, day)]
    days = [{"location_id": loc, "day": day, "received": n, "converted": converted[(loc, day)]}
            for (loc, day), n in sorted(received.items())]  # fmt: skip
    month_rows = [{"location_id": loc, "month": month, "received": r, "converted": c}
                  for (loc, month), (r, c) in sorted(months.items())]  # fmt: skip
    for table, rows in ((day_table, days), (month_table, month_rows)):
        for i in range(0, len(rows), CHUNK):
            bind.execute(sa.insert(table), rows[i : i + CHUNK])


def upgrade() -> None:
    day_table = _table("metric_inquiry_day", "day")
    month_table = _table("metric_inquiry_month", "month")
    _fill(day_table, month_table)
    op.create_index(
        "ix_metric_inquiry_day_counts", "metric_inquiry_day", ["day", "location_id", "received", "converted"]
    )
    op.create_index(
        "ix_metric_inquiry_month_counts", "metric_inquiry_month", ["month", "location_id", "received", "converted"]
    )


def downgrade() -> None:
    op.drop_index("ix_metric_inquiry_month_counts", table_name="metric_inquiry_month")
    op.drop_table("metric_inquiry_month")
    op.drop_index("ix_metric_inquiry_day_counts", table_name="metric_inquiry_day")
    op.drop_table("metric_inquiry_day")

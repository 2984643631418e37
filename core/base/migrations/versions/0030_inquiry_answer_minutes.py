"""locations.inquiry_answer_minutes: how long an inquiry may wait for an answer there

Business minutes of the location's own hours (default 60: one business hour) before the queue's
"inquiry not answered" opens. Between 5 minutes and one day (1,440).

Revision ID: 0030
Revises: 0029
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN with its CHECK inline: locations is referenced by most tables, and
    # SQLite refuses the batch copy's drop of a referenced table.
    op.add_column(
        "locations",
        sa.Column(
            "inquiry_answer_minutes",
            sa.Integer(),
            sa.CheckConstraint(
                "inquiry_answer_minutes BETWEEN 5 AND 1440", name="ck_locations_inquiry_answer_minutes_range"
            ),
            nullable=False,
            server_default="60",
        ),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("ck_locations_inquiry_answer_minutes_range", "locations", type_="check")
    op.drop_column("locations", "inquiry_answer_minutes")

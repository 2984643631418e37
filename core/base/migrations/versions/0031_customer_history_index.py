"""appointments: the customer index also holds status, start and location

The no-show score reads every finished or cancelled appointment of the customers it scores
(their habit). With only customer_id in the index, SQLite fetched each table row to read its
status; with these columns the read is the index alone. It replaces the customer_id index (a
prefix of it), so writes keep the same number of indexes.

Revision ID: 0031
Revises: 0030
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_appointments_customer_history", "appointments",
                    ["customer_id", "status", "start_at", "location_id"])  # fmt: skip
    op.drop_index("ix_appointments_customer", table_name="appointments")


def downgrade() -> None:
    op.create_index("ix_appointments_customer", "appointments", ["customer_id"])
    op.drop_index("ix_appointments_customer_history", table_name="appointments")

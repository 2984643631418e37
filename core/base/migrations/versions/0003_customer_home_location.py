"""customers.home_location_id: scope for finding a customer before their first appointment

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("home_location_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_customers_home_location_id_locations", "locations", ["home_location_id"], ["id"])
        batch.create_index("ix_customers_home_location_id", ["home_location_id"])


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_index("ix_customers_home_location_id")
        batch.drop_constraint("fk_customers_home_location_id_locations", type_="foreignkey")
        batch.drop_column("home_location_id")

"""appointment_type_locations: where an appointment type is offered (none listed: everywhere)

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appointment_type_locations",
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["type_id"],
            ["appointment_types.id"],
            name="fk_appointment_type_locations_type_id_appointment_types",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name="fk_appointment_type_locations_location_id_locations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("type_id", "location_id", name="pk_appointment_type_locations"),
    )


def downgrade() -> None:
    op.drop_table("appointment_type_locations")

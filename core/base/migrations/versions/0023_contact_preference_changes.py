"""contact_preference_changes: who changed a customer's contact preferences, and when

A customer's opt-out stays in notification_opt_outs (what the sender reads); every change of it
(staff in the customer's details, or the customer through an unsubscribe link, as "public" with
the client's address) is one row here, so the details can show its history.

Revision ID: 0023
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_preference_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_username", sa.String(80), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="ck_contact_preference_changes_channel_valid"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], ondelete="CASCADE",
            name="fk_contact_preference_changes_customer_id_customers",
        ),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name="fk_contact_preference_changes_actor_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_contact_preference_changes"),
    )  # fmt: skip
    op.create_index("ix_contact_preference_changes_customer", "contact_preference_changes", ["customer_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_contact_preference_changes_customer", table_name="contact_preference_changes")
    op.drop_table("contact_preference_changes")

"""Inquiries as the desk and the public request page write them, and the customer-facing door

- inquiries gain who recorded them, the customer's preferred times, when they were booked
  (conversion counts a booking within N days of receipt), when and why they were closed without
  one, and a hold (a web request holding its slot until the desk confirms it or it lapses);
  the link is inquiries.appointment_id alone (indexed).
- appointment types gain whether customers may book them online, instantly or as a held request
  (and for how long it is held).
- door_settings: the installation's switches an admin sets on a page (the door is off by default).
- door_rate: requests per client address, counted over the last minute in the database so every
  replica agrees.
- audit_log.client_address: where a public actor's request came from.

Revision ID: 0025
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


REASONS = "('no_suitable_slot', 'price', 'went_elsewhere', 'duplicate', 'spam', 'declined', 'expired')"


def upgrade() -> None:
    # inquiries is referenced by no other table: SQLite's batch copy is safe here.
    with op.batch_alter_table("inquiries") as batch:
        batch.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("preferred_times", sa.String(200), nullable=True))
        batch.add_column(sa.Column("booked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_reason", sa.String(30), nullable=True))
        batch.add_column(sa.Column("held_until", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_inquiries_created_by_users", "users", ["created_by"], ["id"])
        batch.create_check_constraint(
            op.f("ck_inquiries_closed_reason_valid"), f"closed_reason IS NULL OR closed_reason IN {REASONS}"
        )
    op.create_index("ix_inquiries_appointment", "inquiries", ["appointment_id"])
    op.create_index("ix_inquiries_open", "inquiries", ["location_id", "closed_at", "appointment_id", "received_at"])
    op.create_index("ix_inquiries_customer_received", "inquiries", ["customer_id", "received_at"])
    # Inquiries already linked (demo data): booked when their appointment was.
    op.execute(
        "UPDATE inquiries SET booked_at = (SELECT booked_at FROM appointments a WHERE a.id = inquiries.appointment_id)"
        " WHERE appointment_id IS NOT NULL"
    )
    op.add_column(
        "appointment_types", sa.Column("bookable_online", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "appointment_types", sa.Column("online_instant", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "appointment_types", sa.Column("online_hold_minutes", sa.Integer(), nullable=False, server_default="30")
    )
    op.create_table(
        "door_settings",
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name="fk_door_settings_updated_by_users"),
        sa.PrimaryKeyConstraint("key", name="pk_door_settings"),
    )
    op.create_table(
        "door_rate",
        sa.Column("client", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client", "at", name="pk_door_rate"),
    )
    op.add_column("audit_log", sa.Column("client_address", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_log", "client_address")
    op.drop_table("door_rate")
    op.drop_table("door_settings")
    for column in ("online_hold_minutes", "online_instant", "bookable_online"):
        op.drop_column("appointment_types", column)
    op.drop_index("ix_inquiries_customer_received", table_name="inquiries")
    op.drop_index("ix_inquiries_open", table_name="inquiries")
    op.drop_index("ix_inquiries_appointment", table_name="inquiries")
    with op.batch_alter_table("inquiries") as batch:
        batch.drop_constraint(op.f("ck_inquiries_closed_reason_valid"), type_="check")
        batch.drop_constraint("fk_inquiries_created_by_users", type_="foreignkey")
        for column in ("held_until", "closed_reason", "closed_at", "booked_at", "preferred_times", "created_by"):
            batch.drop_column(column)

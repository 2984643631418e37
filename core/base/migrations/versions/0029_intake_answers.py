"""intake answers per appointment (with the form version they answer), their uploaded files, and
the append-only consent records (no UPDATE, DELETE or TRUNCATE, as audit_log)

Revision ID: 0029
Revises: 0028
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.base.migrations.columns import UTCDateTime

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_APPEND_ONLY = [
    """CREATE FUNCTION consent_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'consent_records is append-only: % refused', TG_OP; END $$""",
    """CREATE TRIGGER consent_records_no_update_delete BEFORE UPDATE OR DELETE ON consent_records
       FOR EACH ROW EXECUTE FUNCTION consent_records_append_only()""",
    """CREATE TRIGGER consent_records_no_truncate BEFORE TRUNCATE ON consent_records
       FOR EACH STATEMENT EXECUTE FUNCTION consent_records_append_only()""",
]
SQLITE_APPEND_ONLY = [
    f"""CREATE TRIGGER consent_records_no_{verb.lower()} BEFORE {verb} ON consent_records
        BEGIN SELECT RAISE(ABORT, 'consent_records is append-only: {verb} refused'); END"""
    for verb in ("UPDATE", "DELETE")
]


def upgrade() -> None:
    op.create_table(
        "intake_answers",
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("received_on_paper_at", UTCDateTime(), nullable=True),
        sa.Column("received_on_paper_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"], ["appointments.id"], name="fk_intake_answers_appointment_id_appointments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["form_id"], ["intake_forms.id"], name="fk_intake_answers_form_id_intake_forms"),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name="fk_intake_answers_updated_by_users"),
        sa.ForeignKeyConstraint(
            ["received_on_paper_by"], ["users.id"], name="fk_intake_answers_received_on_paper_by_users"
        ),
        sa.PrimaryKeyConstraint("appointment_id", name="pk_intake_answers"),
    )  # fmt: skip
    op.create_table(
        "intake_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("question_key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("size > 0", name="ck_intake_files_size_positive"),
        sa.ForeignKeyConstraint(
            ["appointment_id"], ["appointments.id"], name="fk_intake_files_appointment_id_appointments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["uploaded_by"], ["users.id"], name="fk_intake_files_uploaded_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_intake_files"),
    )  # fmt: skip
    op.create_index("ix_intake_files_appointment", "intake_files", ["appointment_id", "question_key"])
    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("question_key", sa.String(64), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("signed_name", sa.String(200), nullable=False),
        sa.Column("signed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.Column("client_address", sa.String(200), nullable=True),
        sa.Column("user_agent", sa.String(500), nullable=True),
        sa.CheckConstraint("length(trim(signed_name)) > 0", name="ck_consent_records_signed_name_given"),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"], name="fk_consent_records_appointment_id_appointments"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_consent_records_customer_id_customers"),
        sa.ForeignKeyConstraint(["form_id"], ["intake_forms.id"], name="fk_consent_records_form_id_intake_forms"),
        sa.ForeignKeyConstraint(["signed_by_user_id"], ["users.id"], name="fk_consent_records_signed_by_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_consent_records"),
    )  # fmt: skip
    op.create_index("ix_consent_records_customer", "consent_records", ["customer_id", "question_key"])
    op.create_index("ix_consent_records_appointment", "consent_records", ["appointment_id"])
    pg = op.get_bind().dialect.name == "postgresql"
    for statement in PG_APPEND_ONLY if pg else SQLITE_APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("consent_records")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION consent_records_append_only()")
    op.drop_index("ix_intake_files_appointment", table_name="intake_files")
    op.drop_table("intake_files")
    op.drop_table("intake_answers")

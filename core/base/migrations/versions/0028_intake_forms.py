"""intake_forms (published versions, immutable), intake_form_drafts (one per type) and
appointment_types.pre_visit_instructions

Revision ID: 0028
Revises: 0027
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.base.migrations.columns import UTCDateTime

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG = [
    """CREATE FUNCTION intake_forms_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'intake_forms is immutable once published: % refused', TG_OP; END $$""",
    """CREATE TRIGGER intake_forms_no_update_delete BEFORE UPDATE OR DELETE ON intake_forms
       FOR EACH ROW EXECUTE FUNCTION intake_forms_immutable()""",
]
SQLITE = [
    """CREATE TRIGGER intake_forms_no_update BEFORE UPDATE ON intake_forms
       BEGIN SELECT RAISE(ABORT, 'intake_forms is immutable once published: UPDATE refused'); END""",
    """CREATE TRIGGER intake_forms_no_delete BEFORE DELETE ON intake_forms
       BEGIN SELECT RAISE(ABORT, 'intake_forms is immutable once published: DELETE refused'); END""",
]


def upgrade() -> None:
    op.add_column("appointment_types", sa.Column("pre_visit_instructions", sa.Text(), nullable=True))
    op.create_table(
        "intake_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_type_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("version >= 1", name="ck_intake_forms_version_positive"),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_types.id"],
            name="fk_intake_forms_appointment_type_id_appointment_types",
        ),
        sa.ForeignKeyConstraint(["published_by"], ["users.id"], name="fk_intake_forms_published_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_intake_forms"),
        sa.UniqueConstraint("appointment_type_id", "version", name="uq_intake_forms_appointment_type_id"),
    )
    op.create_table(
        "intake_form_drafts",
        sa.Column("appointment_type_id", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_types.id"],
            name="fk_intake_form_drafts_appointment_type_id_appointment_types",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name="fk_intake_form_drafts_updated_by_users"),
        sa.PrimaryKeyConstraint("appointment_type_id", name="pk_intake_form_drafts"),
    )
    for statement in PG if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER intake_forms_no_update_delete ON intake_forms")
        op.execute("DROP FUNCTION intake_forms_immutable()")
    op.drop_table("intake_form_drafts")
    op.drop_table("intake_forms")
    # Not a batch copy: appointments reference appointment_types, and SQLite refuses to drop a
    # referenced table; its own ALTER TABLE ... DROP COLUMN needs none.
    op.drop_column("appointment_types", "pre_visit_instructions")

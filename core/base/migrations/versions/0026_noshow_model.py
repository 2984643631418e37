"""noshow_models and noshow_scores: the installation's own no-show model (version, training and
calibration windows, features, validation figures, the fitted scikit-learn bundle) and the
latest risk of each upcoming appointment

Revision ID: 0026
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "noshow_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fit_from", sa.Date(), nullable=True),
        sa.Column("fit_to", sa.Date(), nullable=True),
        sa.Column("calib_from", sa.Date(), nullable=True),
        sa.Column("calib_to", sa.Date(), nullable=True),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("fitted", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("status IN ('ready', 'too_little_history')", name="ck_noshow_models_status_valid"),
        sa.PrimaryKeyConstraint("id", name="pk_noshow_models"),
    )
    op.create_index("ix_noshow_models_trained", "noshow_models", ["trained_at"])
    op.create_table(
        "noshow_scores",
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("risk >= 0 AND risk <= 1", name="ck_noshow_scores_risk_range"),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name="fk_noshow_scores_appointment_id_appointments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name="fk_noshow_scores_location_id_locations"),
        sa.ForeignKeyConstraint(
            ["model_id"], ["noshow_models.id"], name="fk_noshow_scores_model_id_noshow_models", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("appointment_id", name="pk_noshow_scores"),
    )
    op.create_index("ix_noshow_scores_location_risk", "noshow_scores", ["location_id", "risk"])


def downgrade() -> None:
    op.drop_index("ix_noshow_scores_location_risk", table_name="noshow_scores")
    op.drop_table("noshow_scores")
    op.drop_index("ix_noshow_models_trained", table_name="noshow_models")
    op.drop_table("noshow_models")

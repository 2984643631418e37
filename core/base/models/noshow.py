"""The no-show model and its scores (written by core.noshow): in the shared schema because the
exceptions queue, the today page and the export read the stored scores without the model code."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.base.clock import utcnow
from core.base.models.common import Base


class NoShowModel(Base):
    """One training run. `status` is `ready` (a fitted, calibrated model in `fitted`) or
    `too_little_history` (no model; `reason` says why, in words a manager can read)."""

    __tablename__ = "noshow_models"
    __table_args__ = (
        CheckConstraint("status IN ('ready', 'too_little_history')", name="status_valid"),
        Index("ix_noshow_models_trained", "trained_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(40))  # feature set and estimator, e.g. "hgb-1"
    status: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Local dates of appointment start: fitted on [fit_from, fit_to], calibrated on [calib_from, calib_to].
    fit_from: Mapped[date | None] = mapped_column(Date)
    fit_to: Mapped[date | None] = mapped_column(Date)
    calib_from: Mapped[date | None] = mapped_column(Date)
    calib_to: Mapped[date | None] = mapped_column(Date)
    features: Mapped[list] = mapped_column(default=list)
    figures: Mapped[dict] = mapped_column(default=dict)  # finished, no-shows, AUC, Brier, base-rate Brier
    fitted: Mapped[bytes | None] = mapped_column(LargeBinary)  # the scikit-learn bundle, pickled


class NoShowScore(Base):
    """The latest risk of one upcoming appointment, as the stored model scored it."""

    __tablename__ = "noshow_scores"
    __table_args__ = (
        CheckConstraint("risk >= 0 AND risk <= 1", name="risk_range"),
        Index("ix_noshow_scores_location_risk", "location_id", "risk"),
    )
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    model_id: Mapped[int] = mapped_column(ForeignKey("noshow_models.id", ondelete="CASCADE"))
    risk: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(default=list)  # sentences, strongest first
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)

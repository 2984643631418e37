"""What the pages read: the stored risk of some appointments, in bands and words, and why there is
none. No scikit-learn here: a page that shows a badge never loads the model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.base.config import get_settings
from core.base.db import read_session
from core.base.models import Appointment, NoShowModel, NoShowScore
from core.security import access
from core.security.access import A, Actor
from core.security.service import reading

MEDIUM_RISK = 0.08  # below: low


@dataclass(frozen=True)
class Risk:
    risk: float
    reasons: tuple[str, ...]
    scored_at: datetime

    @property
    def band(self) -> str:
        if self.risk >= get_settings().no_show_high_risk:
            return "high"
        return "medium" if self.risk >= MEDIUM_RISK else "low"

    @property
    def label(self) -> str:
        return f"{self.band.capitalize()} risk"

    @property
    def hover(self) -> str:
        why = f": {'; '.join(self.reasons)}" if self.reasons else ""
        return f"{self.risk:.0%} chance of a no-show{why}."


def risks(actor: Actor | None, location_id: int, appointment_ids: Sequence[int]) -> dict[int, Risk]:
    """The stored risk of these appointments at this location (those the actor may see)."""
    with reading(actor, A.APPOINTMENT_VIEW, location_id, entity="appointment") as s:
        if not appointment_ids:
            return {}
        rows = s.execute(
            select(NoShowScore.appointment_id, NoShowScore.risk, NoShowScore.reasons, NoShowScore.scored_at)
            .join(Appointment, Appointment.id == NoShowScore.appointment_id)
            .where(
                NoShowScore.appointment_id.in_(list(appointment_ids)),
                Appointment.location_id == location_id,
                access.location_filter(actor, Appointment.location_id),
            )
        ).all()
    return {i: Risk(r, tuple(reasons or ()), at) for i, r, reasons, at in rows}


def why_none() -> str | None:
    """Why there are no risk scores (no model yet, or too little history), or None when there is a model."""
    with read_session() as s:
        row = s.execute(select(NoShowModel.status, NoShowModel.reason).order_by(NoShowModel.id.desc()).limit(1)).first()
    if row is None:
        return "No no-show risk yet: the model has not been trained (the worker does it weekly)."
    return None if row.status == "ready" else row.reason

"""Scoring the upcoming appointments with the latest stored model (the worker's hourly job and
`python -m core score-no-show`). The scores are stored (noshow_scores); pages only read them.
A score stays on its appointment after the visit: it is what was expected, for the KPI panel
"expected no-shows against what happened"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select

from core.base.clock import resolve_now
from core.base.db import get_engine, read_session, unit_of_work
from core.base.models import Appointment, NoShowModel, NoShowScore
from core.noshow import data, features, model
from core.noshow.reads import MEDIUM_RISK

HORIZON_DAYS = 14
CHUNK = 5000


@dataclass(frozen=True)
class ScoreResult:
    scored: int
    model_id: int | None
    reason: str | None = None

    def describe(self) -> str:
        if self.model_id is None:
            return f"No scores: {self.reason}"
        return f"Scored {self.scored:,} upcoming appointments with model {self.model_id}."


def latest_model() -> NoShowModel | None:
    with read_session() as session:
        row = session.scalar(select(NoShowModel).order_by(NoShowModel.id.desc()).limit(1))
        if row is not None:
            session.expunge(row)  # kept loaded past the read's rollback
        return row


def score_upcoming(now: datetime | None = None, *, days: int = HORIZON_DAYS) -> ScoreResult:
    """Score every booked or confirmed appointment starting in the next `days` days."""
    now = resolve_now(now)
    row = latest_model()
    if row is None:
        return ScoreResult(0, None, "no model has been trained yet (python -m core train-no-show).")
    if row.status != "ready" or row.fitted is None:
        return ScoreResult(0, None, row.reason)
    bundle = model.loads(row.fitted)
    a = Appointment
    upcoming = (a.status.in_(data.UPCOMING), a.start_at >= now, a.start_at < now + timedelta(days=days))
    with get_engine().connect() as conn:
        zones = data.zones(conn)
        targets = data.appointments(conn, *upcoming)
        history = data.history_of(conn, select(a.customer_id).where(*upcoming))
        sent = data.reminders(conn, select(a.id).where(*upcoming))
    customers = features.record(targets, history, zones)
    frame = features.build(targets, customers, sent, zones, now_e=int(now.timestamp()))
    risk = bundle.predict(frame)
    # Reasons in words where the badge is not "low" (the rest say nothing worth a call).
    worded = risk >= MEDIUM_RISK
    said = dict(zip(frame.index[worded], map(features.reasons, frame[worded].to_dict("records")), strict=True))
    # Plain Python numbers from whole columns (tolist), not one numpy scalar at a time.
    rows = [
        {"appointment_id": i, "location_id": loc, "model_id": row.id, "risk": r, "reasons": said.get(k, []),
         "scored_at": now}
        for k, i, loc, r in zip(frame.index.tolist(), targets["id"].tolist(), targets["location_id"].tolist(),
                                risk.tolist(), strict=True)
    ]  # fmt: skip
    with unit_of_work() as session:
        ids = [r["appointment_id"] for r in rows]
        for k in range(0, len(ids), CHUNK):
            session.execute(delete(NoShowScore).where(NoShowScore.appointment_id.in_(ids[k : k + CHUNK])))
        if rows:
            session.execute(insert(NoShowScore.__table__), rows)  # Core: no ORM bookkeeping per row
    return ScoreResult(len(rows), row.id)

"""Training the installation's no-show model and storing it (the worker's weekly job and
`python -m core train-no-show`).

The finished appointments (completed or no-show) before today are split by local day into three
consecutive periods: the earliest 70 % fits the model, the next 15 % calibrates it, the latest
15 % judges it (the stored figures). Nothing from a later period reaches an earlier one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from core.base.clock import resolve_now
from core.base.db import get_engine, unit_of_work
from core.base.errors import ValidationError
from core.base.models import Appointment, NoShowModel
from core.noshow import data, features, model
from core.security import audit
from core.security.access import SYSTEM

FIT_SHARE, CALIB_SHARE = 0.70, 0.15
# The fit uses at most the latest MAX_FIT of its period: beyond that more rows add little to a
# no-show model but time (a 1M history trains within a minute), and recent habits count most.
MAX_FIT = 300_000


@dataclass
class Dataset:
    frame: pd.DataFrame  # features, one row per finished appointment, with `day`
    y: np.ndarray  # 1 = no-show
    ids: np.ndarray
    external_ids: np.ndarray


def load_finished(before: datetime | None = None) -> Dataset:
    """Every finished appointment (starting before `before`), with its features as of its day."""
    with get_engine().connect() as conn:
        zones = data.zones(conn)
        where = [Appointment.status.in_((*data.FINISHED, "cancelled"))]
        if before is not None:
            where.append(Appointment.start_at < before)
        history = data.appointments(conn, *where)
        sent = data.reminders(conn)
    finished = history[history["status"].isin(data.FINISHED)]
    frame = features.build(finished, features.record(finished, history, zones), sent, zones)
    return Dataset(
        frame=frame,
        y=(finished["status"] == "no_show").to_numpy(dtype="int64"),
        ids=finished["id"].to_numpy(),
        external_ids=finished["external_id"].to_numpy(),
    )


def day_cut(days: np.ndarray, share: float) -> int:
    """The first local day of the later part, so that about `share` of rows fall before it."""
    ordered = np.sort(days)
    return int(ordered[min(len(ordered) - 1, int(len(ordered) * share))])


def as_date(day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=int(day))


def latest(mask: np.ndarray, days: np.ndarray) -> np.ndarray:
    """`mask` narrowed to about its latest MAX_FIT rows (whole days)."""
    if mask.sum() <= MAX_FIT:
        return mask
    return mask & (days >= np.sort(days[mask])[-MAX_FIT])


def fit_periods(ds: Dataset) -> tuple[model.Bundle, dict, tuple[int, int, int, int]]:
    """Fit, calibrate and judge on three consecutive periods of `ds`."""
    days = ds.frame["day"].to_numpy()
    c1, c2 = day_cut(days, FIT_SHARE), day_cut(days, FIT_SHARE + CALIB_SHARE)
    if not (days.min() < c1 < c2 <= days.max()):
        raise ValidationError("The finished appointments span too few days to fit, calibrate and judge a model.")
    fit_m, cal_m, val_m = days < c1, (days >= c1) & (days < c2), days >= c2
    fit_m = latest(fit_m, days)
    bundle = model.fit(ds.frame[fit_m], ds.y[fit_m], ds.frame[cal_m], ds.y[cal_m])
    judged = model.figures(ds.y[val_m], bundle.predict(ds.frame[val_m]), float(ds.y[fit_m | cal_m].mean()))
    return bundle, judged, (int(days[fit_m].min()), c1, c2, int(days.max()))


def train(now: datetime | None = None) -> NoShowModel:
    """Train on every finished appointment before today; store the model, or the reason there is none."""
    now = resolve_now(now)
    ds = load_finished(before=now)
    finished, no_shows = len(ds.y), int(ds.y.sum())
    row = NoShowModel(version=model.VERSION, trained_at=now, features=list(features.FEATURES),
                      figures={"finished": finished, "no_shows": no_shows})  # fmt: skip
    reason = model.shortfall(finished, no_shows)
    if reason is None:
        try:
            bundle, judged, (first, c1, c2, last) = fit_periods(ds)
        except ValidationError as exc:
            reason = str(exc)
        else:
            row.status, row.fitted = "ready", bundle.dumps()
            row.fit_from, row.fit_to = as_date(first), as_date(c1 - 1)
            row.calib_from, row.calib_to = as_date(c1), as_date(c2 - 1)
            judged.update(validated_from=str(as_date(c2)), validated_to=str(as_date(last)))
            row.figures = {**row.figures, "validation": judged}
    if reason is not None:
        row.status, row.reason = "too_little_history", reason
    with unit_of_work() as session:
        session.add(row)
        session.flush()
        audit.record(session, SYSTEM, "noshow.train", entity="noshow_model", entity_id=row.id,
                     after={"status": row.status, "finished": finished, "no_shows": no_shows},
                     reason="no-show model trained")  # fmt: skip
    return row


def describe(row: NoShowModel) -> str:
    if row.status != "ready":
        return row.reason or "No model."
    f = row.figures["validation"]
    return (
        f"No-show model {row.id} ({row.version}): fitted on {row.fit_from}..{row.fit_to}, calibrated on "
        f"{row.calib_from}..{row.calib_to}; judged on {f['validated_from']}..{f['validated_to']} "
        f"({f['n']:,} appointments, {f['no_shows']:,} no-shows): ROC AUC {f['auc']:.3f}, "
        f"Brier {f['brier']:.4f} against {f['base_brier']:.4f} for the base rate."
    )

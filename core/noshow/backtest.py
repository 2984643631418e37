"""`python -m core backtest-no-show --split YYYY-MM-DD [--scores FILE.csv]`: an honest check of
the model on this installation's own history. Fits (and calibrates, on the latest 20 % of the
fitting period) only on finished appointments whose local day is before the split; scores every
finished appointment on or after it as it would have been scored the day before (features use
no outcome from its day or later); prints ROC AUC, Brier, the base-rate Brier and a calibration
table by decile. The base rate is the no-show rate before the split."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date

import numpy as np

from core.base.errors import ValidationError
from core.noshow import model, training

CALIB_SHARE = 0.20


@dataclass
class Backtest:
    split: date
    fit_n: int
    fit_no_shows: int
    figures: dict
    ids: np.ndarray
    external_ids: np.ndarray
    risk: np.ndarray


def parse_split(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"'{value}' is not a date like 2026-01-31: give the split as YYYY-MM-DD.") from None


def run(split: date) -> Backtest:
    ds = training.load_finished()
    if not len(ds.y):
        raise ValidationError("There are no finished (completed or no-show) appointments in this database.")
    split_day = (split - date(1970, 1, 1)).days
    days = ds.frame["day"].to_numpy()
    before, after = days < split_day, days >= split_day
    if not before.any():
        raise ValidationError(f"No finished appointment starts before {split}: choose a later split.")
    if not after.any():
        raise ValidationError(f"No finished appointment starts on or after {split}: choose an earlier split.")
    reason = model.shortfall(int(before.sum()), int(ds.y[before].sum()))
    if reason:
        raise ValidationError(f"Before {split}: {reason[0].lower()}{reason[1:]}")
    cut = training.day_cut(days[before], 1 - CALIB_SHARE)
    fit_m, cal_m = training.latest(before & (days < cut), days), before & (days >= cut)
    if not fit_m.any() or not cal_m.any():
        raise ValidationError(f"The finished appointments before {split} span too few days to fit and calibrate.")
    bundle = model.fit(ds.frame[fit_m], ds.y[fit_m], ds.frame[cal_m], ds.y[cal_m])
    risk = bundle.predict(ds.frame[after])
    return Backtest(
        split=split, fit_n=int(before.sum()), fit_no_shows=int(ds.y[before].sum()),
        figures=model.figures(ds.y[after], risk, float(ds.y[before].mean())),
        ids=ds.ids[after], external_ids=ds.external_ids[after], risk=risk,
    )  # fmt: skip


def report(bt: Backtest) -> str:
    f = bt.figures
    auc = "n/a (one outcome only)" if f["auc"] is None else f"{f['auc']:.3f}"
    lines = [
        f"Fitted on {bt.fit_n:,} finished appointments before {bt.split} ({bt.fit_no_shows:,} no-shows).",
        f"Scored {f['n']:,} finished appointments on or after {bt.split} ({f['no_shows']:,} no-shows).",
        f"ROC AUC {auc}",
        f"Brier score {f['brier']:.4f}; base-rate Brier {f['base_brier']:.4f} (always {f['base_rate']:.1%})",
        "decile  appointments  mean risk  no-show rate  difference",
    ]
    for d in f["deciles"]:
        gap = (d["no_show_rate"] - d["mean_risk"]) * 100
        lines.append(
            f"{d['decile']:>6}  {d['n']:>12,}  {d['mean_risk']:>9.1%}  {d['no_show_rate']:>12.1%}  {gap:>+7.1f} pt"
        )
    return "\n".join(lines)


def write_scores(bt: Backtest, path: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["appointment_id", "external_id", "risk"])
        for i, ext, r in zip(bt.ids, bt.external_ids, bt.risk, strict=True):
            out.writerow([int(i), ext if isinstance(ext, str) else "", f"{r:.4f}"])

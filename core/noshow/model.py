"""Fitting and applying the no-show model (scikit-learn, imported here and only here, lazily).

Why HistGradientBoostingClassifier: it handles missing values natively (imported history without
provider or type; customers without a record), takes location, type, provider and channel as
categories, finds the interactions that matter (lead time matters more for some types) without
hand-made crosses, and fits a million rows in seconds on two cores. Type and channel, a handful
of values each, are the trees' own categories; provider and location (a hundred or more in a
group) enter as their no-show rate in the fitting period (scikit-learn's TargetEncoder, cross-fitted
so that no row sees its own outcome): as categories the trees split them into arbitrary subsets
and learn noise (on the 200,000-appointment demo: ROC AUC 0.714 as categories, 0.733 as rates). Its raw scores are not
probabilities one can read as "23 % chance": they are calibrated with isotonic regression on a
later period than the one fitted on (CalibratedClassifierCV over the frozen fitted model), and
judged on a period later still.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.noshow.features import FEATURES

VERSION = "hgb-2"
NATIVE = ("type_id", "source")  # the trees' own categories
ENCODED = ("provider_id", "location_id")  # as their no-show rate (TargetEncoder)
MIN_FINISHED = 1000
MIN_NO_SHOWS = 50
MAX_CATEGORIES = 250  # below the estimator's 255 bins; rarer values count as missing


@dataclass
class Bundle:
    """What is stored: the calibrated estimator, the category codes and the rate encoder it was
    fitted with."""

    estimator: object
    categories: dict[str, list]
    encoder: object
    features: tuple[str, ...] = FEATURES

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        return _matrix(frame, self.categories, self.encoder.transform(_encoded(frame)))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """On one thread: the trees' OpenMP threads cost more than they save here (scoring the
        1M database's next 14 days, 30k rows: 1.1 s of CPU on two threads, 0.3 s on one)."""
        from threadpoolctl import threadpool_limits

        if not len(frame):
            return np.zeros(0)
        with threadpool_limits(1):
            return np.clip(self.estimator.predict_proba(self.matrix(frame))[:, 1], 0.0, 1.0)

    def dumps(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)


def loads(blob: bytes) -> Bundle:
    # The blob is written only by this module into the installation's own database.
    return pickle.loads(blob)  # noqa: S301


def shortfall(finished: int, no_shows: int) -> str | None:
    """Why there can be no model yet, or None when there is enough history."""
    if finished >= MIN_FINISHED and no_shows >= MIN_NO_SHOWS:
        return None
    return (
        f"Not enough history for a no-show risk yet: {finished:,} finished appointments "
        f"({MIN_FINISHED:,} needed) and {no_shows:,} no-shows ({MIN_NO_SHOWS} needed)."
    )


def _categories(frame: pd.DataFrame) -> dict[str, list]:
    return {c: frame[c].dropna().value_counts().index[:MAX_CATEGORIES].tolist() for c in NATIVE}


def _encoded(frame: pd.DataFrame) -> np.ndarray:
    return frame[list(ENCODED)].to_numpy(dtype="float64")


def _matrix(frame: pd.DataFrame, categories: dict[str, list], rates: np.ndarray) -> np.ndarray:
    """The columns in FEATURES order: codes for NATIVE, `rates` (the encoder's) for ENCODED."""
    cols = []
    for name in FEATURES:
        if name in categories:
            codes = {v: i for i, v in enumerate(categories[name])}
            cols.append(frame[name].map(codes).to_numpy(dtype="float64"))
        elif name in ENCODED:
            cols.append(rates[:, ENCODED.index(name)])
        else:
            cols.append(frame[name].to_numpy(dtype="float64"))
    return np.column_stack(cols)


def _estimator(n: int):
    """Small trees, many rows per leaf, and as many rounds as keep helping on a held-out tenth of
    the fitting period: no-shows are a weak, noisy signal, and bigger trees learn the noise."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    mask = [name in NATIVE for name in FEATURES]
    return HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=400, max_leaf_nodes=7, min_samples_leaf=max(20, min(200, n // 100)),
        l2_regularization=1.0, categorical_features=mask, early_stopping=True, validation_fraction=0.15,
        n_iter_no_change=20, random_state=0,
    )  # fmt: skip


def fit(fit_frame: pd.DataFrame, fit_y: np.ndarray, calib_frame: pd.DataFrame, calib_y: np.ndarray) -> Bundle:
    """Fit on one period, calibrate (isotonic) on a later one."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import TargetEncoder

    categories = _categories(fit_frame)
    encoder = TargetEncoder(target_type="binary", cv=StratifiedKFold(5, shuffle=True, random_state=0))
    rates = encoder.fit_transform(_encoded(fit_frame), fit_y)  # cross-fitted: no row sees its own outcome
    raw = _estimator(len(fit_frame)).fit(_matrix(fit_frame, categories, rates), fit_y)
    calibrated = CalibratedClassifierCV(FrozenEstimator(raw), method="isotonic")
    calibrated.fit(_matrix(calib_frame, categories, encoder.transform(_encoded(calib_frame))), calib_y)
    return Bundle(calibrated, categories, encoder)


def figures(y: np.ndarray, risk: np.ndarray, base_rate: float) -> dict:
    """ROC AUC, Brier score, the Brier score of always saying `base_rate`, and a calibration
    table by decile of risk (mean risk against the share that did not come)."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    y = np.asarray(y, dtype="int64")
    auc = float(roc_auc_score(y, risk)) if 0 < y.sum() < len(y) else None
    deciles = []
    if len(y):
        order = np.argsort(risk, kind="stable")
        for k, part in enumerate(np.array_split(order, min(10, len(y)))):
            if len(part):
                deciles.append({"decile": k + 1, "n": int(len(part)), "mean_risk": float(risk[part].mean()),
                                "no_show_rate": float(y[part].mean())})  # fmt: skip
    return {
        "n": int(len(y)),
        "no_shows": int(y.sum()),
        "auc": auc,
        "brier": float(brier_score_loss(y, risk)) if len(y) else None,
        "base_rate": float(base_rate),
        "base_brier": float(np.mean((base_rate - y) ** 2)) if len(y) else None,
        "deciles": deciles,
    }

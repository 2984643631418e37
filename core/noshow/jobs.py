"""The worker's no-show jobs: retrain weekly, rescore the next two weeks hourly."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.base.jobs import job


@job("train-no-show", every=timedelta(days=7))
def train_weekly(now: datetime) -> str:
    from core.noshow import scoring, training

    row = training.train(now)
    return training.describe(row) + (f" {scoring.score_upcoming(now).describe()}" if row.status == "ready" else "")


@job("score-no-show", every=timedelta(hours=1))
def score_hourly(now: datetime) -> str:
    from core.noshow import scoring

    return scoring.score_upcoming(now).describe()

"""The no-show model on a real database: trained on the installation's history and stored with
its windows, features and figures; no model (and no score) with too little history, saying why;
the backtest command's figures, its CSV, and its refusals (exit 1, one sentence, nothing written)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from core import cli, demo
from core.base.db import read_session
from core.base.models import Appointment, NoShowModel, NoShowScore
from core.noshow import features, model, scoring, training
from tests.factories import NOW as WORLD_NOW
from tests.factories import at, book, world

NOW = datetime(2026, 3, 20, 14, 30, tzinfo=UTC)


def seeded(n: int = 4000) -> None:
    demo.seed_demo(n, seed=5, now=NOW, password_rounds=4)


def test_the_model_is_stored_with_its_windows_features_and_figures_and_scores_what_is_upcoming(db):
    seeded()
    row = training.train(NOW)
    assert row.status == "ready" and row.version == model.VERSION and row.features == list(features.FEATURES)
    assert row.fit_from < row.fit_to < row.calib_from < row.calib_to <= NOW.date()
    f = row.figures
    assert f["finished"] >= model.MIN_FINISHED and f["no_shows"] >= model.MIN_NO_SHOWS
    v = f["validation"]
    assert 0.55 < v["auc"] < 0.9 and v["brier"] < v["base_brier"] and len(v["deciles"]) == 10
    assert row.calib_to.isoformat() < v["validated_from"] <= v["validated_to"] <= NOW.date().isoformat()
    result = scoring.score_upcoming(NOW)
    assert result.model_id == row.id and result.scored > 0
    with read_session() as s:
        upcoming = s.scalar(
            select(func.count()).where(
                Appointment.status.in_(("booked", "confirmed")),
                Appointment.start_at >= NOW,
                Appointment.start_at < NOW + timedelta(days=14),
            )
        )
        scores = s.execute(select(NoShowScore.risk, NoShowScore.model_id, NoShowScore.reasons)).all()
    assert len(scores) == upcoming == result.scored
    assert all(0 <= sc.risk <= 1 and sc.model_id == row.id for sc in scores)
    assert any(sc.reasons for sc in scores)
    assert scoring.score_upcoming(NOW).scored == result.scored  # rescoring replaces, never duplicates


def test_too_little_history_stores_no_model_and_no_score_and_says_why(db):
    w = world()
    book(w, at(10))
    row = training.train(WORLD_NOW)
    assert row.status == "too_little_history" and row.fitted is None
    assert row.reason == (
        "Not enough history for a no-show risk yet: 0 finished appointments (1,000 needed) and 0 no-shows (50 needed)."
    )
    result = scoring.score_upcoming(WORLD_NOW)
    assert result.model_id is None and result.describe() == f"No scores: {row.reason}"
    with read_session() as s:
        assert s.scalar(select(func.count()).select_from(NoShowScore)) == 0
        assert s.scalar(select(func.count()).select_from(NoShowModel)) == 1


def test_the_backtest_prints_its_figures_and_writes_one_row_per_judged_appointment(db, capsys, tmp_path):
    seeded()
    out = tmp_path / "scores.csv"
    assert cli.main(["backtest-no-show", "--split", "2026-01-15", "--scores", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ROC AUC 0." in printed and "base-rate Brier" in printed
    assert sum(1 for line in printed.splitlines() if line.strip()[:2].strip().isdigit()) == 10  # ten deciles
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    with read_session() as s:
        judged = s.scalar(
            select(func.count()).where(
                Appointment.status.in_(("completed", "no_show")),
                Appointment.start_at >= datetime(2026, 1, 15, tzinfo=UTC),
            )
        )
    assert abs(len(rows) - judged) <= 30  # local days: the split is each location's own midnight
    assert set(rows[0]) == {"appointment_id", "external_id", "risk"} and 0 <= float(rows[0]["risk"]) <= 1
    assert any(r["external_id"].startswith("EHR-") for r in rows) or all(r["external_id"] == "" for r in rows)


def test_the_backtest_refuses_bad_input_with_one_sentence_and_writes_nothing(db, capsys, tmp_path):
    out = tmp_path / "scores.csv"
    assert cli.main(["backtest-no-show", "--split", "2026-02-30", "--scores", str(out)]) == 1
    assert (
        capsys.readouterr().err == "error: '2026-02-30' is not a date like 2026-01-31: give the split as YYYY-MM-DD.\n"
    )
    assert cli.main(["backtest-no-show", "--split", "2026-02-01", "--scores", str(out)]) == 1
    assert capsys.readouterr().err == (
        "error: There are no finished (completed or no-show) appointments in this database.\n"
    )
    seeded(1500)
    for split, sentence in (
        ("2020-01-01", "No finished appointment starts before 2020-01-01: choose a later split."),
        ("2030-01-01", "No finished appointment starts on or after 2030-01-01: choose an earlier split."),
    ):
        assert cli.main(["backtest-no-show", "--split", split, "--scores", str(out)]) == 1
        assert capsys.readouterr().err == f"error: {sentence}\n"
    assert not out.exists()

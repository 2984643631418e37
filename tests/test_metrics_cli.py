"""`python -m core metrics` and `rebuild-rollups`: the JSON the issue names (fractions, null
without a denominator, the previous period), the table, running as a user with their scope,
and one line on stderr for what an operator can get wrong."""

from __future__ import annotations

import json

from sqlalchemy import delete, func, select

from core.base.db import read_session, unit_of_work
from core.base.models import AuditLog
from core.cli import main
from core.metrics.models import ROLLUP_MODELS
from tests.metrics_fixtures import hand_week

KEYS = {
    "appointments", "no_show_rate", "late_cancel_rate", "reschedule_rate", "lead_time_median_days",
    "lead_time_p90_days", "utilization", "capacity_leak", "conversion_rate", "admin_touch_per_100",
}  # fmt: skip
WEEK = ["--from", "2030-01-07", "--to", "2030-01-13"]


def _json(capsys, *argv) -> dict:
    assert main(["metrics", *WEEK, "--format", "json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_metrics_json_has_every_key_as_fractions_with_the_previous_period(db, capsys):
    hand_week()
    out = _json(capsys, "--location", "Downtown")
    assert set(out) >= KEYS and set(out["previous"]) >= KEYS
    assert set(out["capacity_leak"]) == {"unbooked", "no_show", "late_cancel"}
    assert out["appointments"] == 7 and out["no_show_rate"] == 0.25
    assert 0 < out["utilization"] < 1
    assert out["previous"]["no_show_rate"] is None and out["previous"]["lead_time_median_days"] is None
    assert (out["previous"]["from"], out["previous"]["to"]) == ("2029-12-31", "2030-01-06")


def test_metrics_as_a_manager_sees_only_their_location_and_is_refused_another(db, capsys):
    hand_week()
    assert _json(capsys, "--as", "manager")["appointments"] == 7
    assert _json(capsys)["appointments"] == 8  # the system actor: every location
    assert main(["metrics", *WEEK, "--as", "manager", "--location", "Harbor"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: You may not see metrics here") and err.count("\n") == 1
    with read_session() as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.outcome == "denied")) == 1


def test_metrics_table_and_operator_mistakes(db, capsys):
    hand_week()
    assert main(["metrics", *WEEK, "--provider", "dr. rao"]) == 0
    table = capsys.readouterr().out
    assert "no-show rate" in table and "2030-01-07 .. 2030-01-13" in table
    for argv, message in (
        (["--location", "Atlantis"], "No location is called 'Atlantis'."),
        (["--as", "nobody"], "No active user is called 'nobody'."),
        (["--as", "frontdesk"], "the front desk role does not allow it"),
    ):
        assert main(["metrics", *WEEK, *argv]) == 1
        assert message in capsys.readouterr().err
    assert main(["metrics", "--from", "2030-01-13", "--to", "2030-01-07"]) == 1
    assert "ends (2030-01-07) before it starts" in capsys.readouterr().err


def test_rebuild_rollups_restores_the_rollup_and_is_audited(db, capsys):
    hand_week()
    before = _json(capsys)
    with unit_of_work() as s:
        for model in ROLLUP_MODELS:
            s.execute(delete(model))
    assert _json(capsys)["appointments"] == 0
    assert main(["rebuild-rollups", "--from", "2030-01-01", "--to", "2030-01-31", "--location", "Downtown"]) == 0
    assert "Rebuilt the daily rollup from 7 appointments" in capsys.readouterr().out
    assert main(["rebuild-rollups"]) == 0
    capsys.readouterr()
    assert _json(capsys) == before
    with read_session() as s:
        assert s.scalar(select(func.count()).where(AuditLog.action == "metrics.rebuild_rollups")) == 2
    assert main(["rebuild-rollups", "--from", "2030-01-01"]) == 1
    assert "Give both --from and --to" in capsys.readouterr().err

"""Export files (issue 9, item 8): formulas neutralised in CSV and Excel, an existing file left as
it was when the export fails, years outside 1900-2200 refused in one line, the audit row written
before any data leaves, and a read-only database refusing the export cleanly."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.base.config import reset_settings
from core.base.db import dispose_engines, read_session, unit_of_work
from core.base.models import Appointment, AuditLog, Customer
from core.cli import main
from tests.factories import world

HOSTILE = '=HYPERLINK("https://attacker.example","Click")'


@pytest.fixture
def w(db):
    w = world()
    start = datetime(2030, 1, 7, 15, tzinfo=UTC)
    with unit_of_work() as s:
        s.get(Customer, w.customers["ada"].id).name = HOSTILE
        for i, who in enumerate(("ada", "alan")):
            at = start + timedelta(hours=i)
            s.add(Appointment(location_id=w.locations["downtown"].id, provider_id=w.providers["rao"].id,
                              type_id=w.types["consult"].id, customer_id=w.customers[who].id, start_at=at,
                              end_at=at + timedelta(minutes=30), block_start=at, block_end=at + timedelta(minutes=30),
                              booked_at=at - timedelta(days=2)))  # fmt: skip
    return w


def _exports() -> int:
    with read_session() as s:
        return s.scalar(select(func.count()).where(AuditLog.action == "export.appointments"))


def test_csv_and_excel_neutralise_formulas_and_keep_the_columns(w, tmp_path):
    assert main(["export-appointments", "-o", str(tmp_path / "a.csv")]) == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "a.csv").read_text())))
    assert {r["customer"] for r in rows} == {"'" + HOSTILE, "Alan Turing"}
    assert {r["customer_phone"] for r in rows} == {"'+12125550100", "'+442079460000"}
    assert main(["export-appointments", "--format", "xlsx", "-o", str(tmp_path / "a.xlsx")]) == 0
    sheet = load_workbook(tmp_path / "a.xlsx").active
    values = list(sheet.values)
    assert list(values[0]) == list(rows[0].keys()) and len(values) == 3
    assert {v[6] for v in values[1:]} == {"'" + HOSTILE, "Alan Turing"}
    assert _exports() == 2


def test_a_failed_export_leaves_an_existing_file_as_it_was(w, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "existing.csv"
    target.write_text("keep me\n")
    assert main(["export-appointments", "--location", "Typo", "-o", str(target)]) == 1
    assert target.read_text() == "keep me\n"
    assert list(target.parent.iterdir()) == [target]  # no temporary file left behind
    assert "Typo" in capsys.readouterr().err and _exports() == 0


def test_years_outside_1900_2200_are_one_line(w, capsys):
    assert main(["export-appointments", "--from", "0001-01-01"]) == 1
    err = capsys.readouterr().err
    assert err == "error: The date 0001-01-01 is outside the years 1900-2200.\n"
    assert main(["export-appointments", "--to", "9999-12-31", "--format", "xlsx"]) == 1
    assert "outside the years 1900-2200" in capsys.readouterr().err


def test_a_read_only_database_refuses_the_export_before_any_data_leaves(w, db, tmp_path, monkeypatch, capsys):
    if db.kind != "sqlite":
        pytest.skip("read-only mode is a SQLite connection option here")
    dispose_engines()
    path = db.url.removeprefix("sqlite:///")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///file:{path}?mode=ro&uri=true")
    reset_settings()
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "out.csv"
    assert main(["export-appointments", "-o", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: The export cannot be recorded in the audit log") and len(err.splitlines()) == 1
    assert not target.exists() and list(target.parent.iterdir()) == []
    assert main(["export-appointments"]) == 1  # standard output: nothing printed either
    out, err = capsys.readouterr()
    assert out == "" and "nothing was exported" in err

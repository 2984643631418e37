"""Files the commands write to a place that cannot take them (a folder, a place where no file
may be created): one sentence naming the person's own path, the database as it was, and no
audit row claiming an import or an export that did not happen."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.base import files
from core.base.db import read_session, unit_of_work
from core.base.models import Appointment, AuditLog
from core.cli import main
from tests.factories import world

UNWRITABLE = "/proc/no-files-here.csv"  # a folder that exists and refuses new files, even for root
MAPPING = {"columns": {"external_id": "Visit", "customer_name": "Patient", "location": "Clinic", "start": "Start",
                       "status": "Outcome"}, "values": {"status": {"Seen": "completed"}}}  # fmt: skip


@pytest.fixture
def w(db):
    w = world()
    at = datetime(2030, 1, 7, 15, tzinfo=UTC)
    with unit_of_work() as s:
        s.add(Appointment(location_id=w.locations["downtown"].id, provider_id=w.providers["rao"].id,
                          type_id=w.types["consult"].id, customer_id=w.customers["ada"].id, start_at=at,
                          end_at=at + timedelta(minutes=30), block_start=at, block_end=at + timedelta(minutes=30),
                          booked_at=at - timedelta(days=2)))  # fmt: skip
    return w


def _state() -> tuple[int, list[tuple[str, str]]]:
    """The appointments and the audit trail's (action, outcome) rows."""
    with read_session() as s:
        appointments = s.scalar(select(func.count()).select_from(Appointment))
        return appointments, [
            tuple(r) for r in s.execute(select(AuditLog.action, AuditLog.outcome).order_by(AuditLog.id))
        ]


@pytest.fixture
def history(tmp_path):
    out = io.StringIO()
    rows = [["Visit", "Patient", "Clinic", "Start", "Outcome"], ["V1", "Jane Roe", "Downtown", "2016-04-28T09:00", "Seen"],
            ["V2", "John Doe", "Downtown", "2016-04-28T10:00", "Maybe"]]  # fmt: skip
    csv.writer(out, lineterminator="\n").writerows(rows)
    (tmp_path / "h.csv").write_text(out.getvalue())
    (tmp_path / "m.json").write_text(json.dumps(MAPPING))
    return ["import-appointments", str(tmp_path / "h.csv"), "--mapping", str(tmp_path / "m.json")]


def _one_line(capsys) -> str:
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("place", ["folder", "unwritable", "missing folder"])
def test_a_rejects_file_that_cannot_be_written_imports_nothing(w, history, tmp_path, capsys, place):
    path = {"folder": str(tmp_path), "unwritable": UNWRITABLE, "missing folder": str(tmp_path / "no" / "r.csv")}[place]
    before = _state()
    assert main([*history, "--rejects", path]) == 1
    err = _one_line(capsys)
    assert err.startswith(f"error: Cannot write the rejects file {path}: ") and ".part" not in err
    assert _state() == before
    assert not list(tmp_path.rglob("*.part"))  # no temporary file left


def test_rejects_that_fail_while_written_leave_the_import_undone(w, history, tmp_path, capsys, monkeypatch):
    """The rejected rows are written inside the import's transaction: a disk that fills up
    then leaves nothing imported, and says so."""

    def full(self, text):
        raise self.error(OSError(28, "No space left on device"))

    monkeypatch.setattr(files.Target, "write_text", full)
    before = _state()
    assert main([*history, "--rejects", str(tmp_path / "r.csv")]) == 1
    assert "no space left on device" in _one_line(capsys) and _state() == before
    assert not (tmp_path / "r.csv").exists()


def test_an_import_with_a_good_rejects_path_commits_and_writes_it(w, history, tmp_path, capsys):
    assert main([*history, "--rejects", str(tmp_path / "r.csv")]) == 0
    assert "rejected rows written to" in capsys.readouterr().out
    assert (tmp_path / "r.csv").read_text().splitlines()[1].startswith("V2,")
    assert _state()[0] == 2 and _state()[1][-1] == ("import.appointments", "ok")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("place", ["folder", "unwritable"])
def test_an_export_to_a_place_that_cannot_take_it_says_so_and_records_nothing(w, tmp_path, capsys, fmt, place):
    (tmp_path / "out").mkdir()
    path = str(tmp_path / "out") if place == "folder" else UNWRITABLE
    before = _state()
    assert main(["export-appointments", "--format", fmt, "-o", path]) == 1
    err = _one_line(capsys)
    assert err.startswith(f"error: Cannot write the export {path}: ") and ".part" not in err and "Errno" not in err
    assert _state() == before  # no "export.appointments ok"
    assert list((tmp_path / "out").iterdir()) == []


def test_an_export_whose_file_cannot_be_moved_into_place_has_no_audit_row(w, tmp_path, capsys, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.os, "replace", refuse)
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "a.csv"
    before = _state()
    assert main(["export-appointments", "-o", str(target)]) == 1
    assert _one_line(capsys) == f"error: Cannot write the export {target}: permission denied.\n"
    assert _state() == before and list(target.parent.iterdir()) == []
    monkeypatch.undo()
    assert main(["export-appointments", "-o", str(target)]) == 0
    assert _state()[1][-1] == ("export.appointments", "ok")

"""The configuration as one YAML file: export -> apply on an empty database -> export is the same
file; apply shows the differences and changes only what differs (audited); --dry-run changes nothing."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime

import pytest
import yaml
from sqlalchemy import func, select

from core import cli
from core.base.config import reset_settings
from core.base.db import dispose_engines, read_session
from core.base.models import AuditLog, Location
from core.security.access import SYSTEM
from core.settings import config_file, working_time
from tests.factories import world

NOW = datetime(2030, 1, 7, 13, 0, tzinfo=UTC)


def _use_fresh_sqlite(tmp_path, monkeypatch, template) -> None:
    path = tmp_path / "empty.db"
    shutil.copyfile(template, path)
    dispose_engines()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    reset_settings()


def _audit_count() -> int:
    with read_session() as s:
        return s.scalar(select(func.count(AuditLog.id)).where(AuditLog.outcome == "ok"))


def test_export_apply_on_an_empty_database_export_gives_the_same_file(db, tmp_path, monkeypatch, _sqlite_template,
                                                                       capsys):  # fmt: skip
    w = world()
    working_time.add_time_off(w.actors["admin"], w.providers["rao"].id, first_day=date(2030, 1, 8), reason="Course",
                              now=NOW)  # fmt: skip
    first = tmp_path / "first.yaml"
    assert cli.main(["settings", "export", str(first)]) == 0
    doc = yaml.safe_load(first.read_text())
    assert [loc["name"] for loc in doc["locations"]] == ["Downtown", "Harbor"]
    assert doc["providers"][0]["hours"] == {
        "Downtown": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    }

    _use_fresh_sqlite(tmp_path, monkeypatch, _sqlite_template)
    assert cli.main(["settings", "apply", str(first), "--dry-run"]) == 0
    with read_session() as s:
        assert s.scalar(select(func.count(Location.id))) == 0  # a dry run changes nothing
    assert cli.main(["settings", "apply", str(first)]) == 0
    out = capsys.readouterr().out
    assert "+ add location Downtown" in out and "+ add appointment type Group class" in out
    second = tmp_path / "second.yaml"
    assert cli.main(["settings", "export", str(second)]) == 0
    assert second.read_text() == first.read_text()

    audits = _audit_count()
    assert config_file.apply_config(SYSTEM, first.read_text()) == []  # nothing differs: nothing changes
    assert _audit_count() == audits


def test_apply_changes_only_what_differs_and_refuses_bad_files_whole(db):
    world()
    doc = yaml.safe_load(config_file.export_config(SYSTEM))
    doc["locations"][0]["address"] = "3 Main St"
    doc["providers"][0]["hours"]["Downtown"]["sat"] = ["10:00-14:00"]
    before = _audit_count()
    lines = config_file.apply_config(SYSTEM, yaml.safe_dump(doc), now=NOW)
    assert lines == [
        "~ change location Downtown: address: '1 Main St' -> '3 Main St'",
        "~ hours of Dr. Kim at Downtown: Mon 09:00-17:00; Tue 09:00-17:00; Wed 09:00-17:00; Thu 09:00-17:00; "
        "Fri 09:00-17:00 -> Mon 09:00-17:00; Tue 09:00-17:00; Wed 09:00-17:00; Thu 09:00-17:00; Fri 09:00-17:00; "
        "Sat 10:00-14:00",
    ]
    assert _audit_count() == before + 2
    doc["locations"][0]["address"] = "4 Main St"
    doc["locations"][1]["timezone"] = "Mars/Olympus"
    with pytest.raises(Exception, match="'Mars/Olympus' is not a time zone"):
        config_file.apply_config(SYSTEM, yaml.safe_dump(doc), now=NOW)
    with read_session() as s:
        assert s.scalar(select(Location.address).where(Location.name == "Downtown")) == "3 Main St"
    assert cli.main(["settings", "apply", "/nonexistent/settings.yaml"]) == 1

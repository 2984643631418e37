"""Appointment export: the CSV columns, a window of each location's local dates, scope and masking,
clear errors, and an audit row for every export; through core.reports.export and `python -m core`."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from core import demo
from core.base.db import read_session, unit_of_work
from core.base.errors import NotFound, PermissionDenied, ValidationError
from core.base.models import Appointment, AppointmentType, Customer, Location, Provider
from core.cli import main
from core.reports import export
from core.reports.tabular import safe_cell
from core.security.access import SYSTEM
from tests.factories import MONDAY, audit_dicts, world

REQUIRED = [
    "appointment_id", "external_id", "location", "provider", "provider_email", "appointment_type", "customer",
    "start_utc", "end_utc", "status", "booked_at_utc", "cancelled_at_utc", "reschedule_count", "calendar_event_id",
]  # fmt: skip
NY, LONDON = ZoneInfo("America/New_York"), ZoneInfo("Europe/London")
DAY = MONDAY  # New York is UTC-5, London UTC+0


def _at(zone, day, hour, minute=0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


def _book(w, start, location="downtown", provider="rao", customer="ada", **kw) -> int:
    with unit_of_work() as s:
        appt = Appointment(
            location_id=w.locations[location].id,
            provider_id=w.providers[provider].id,
            type_id=w.types["consult"].id,
            customer_id=w.customers[customer].id,
            start_at=start,
            end_at=start + timedelta(minutes=30),
            block_start=start,
            block_end=start + timedelta(minutes=30),
            booked_at=start - timedelta(days=3),
            **kw,
        )
        s.add(appt)
        s.flush()
        return appt.id


@pytest.fixture
def booked(db):
    """Appointments on both sides of local midnight in New York and London."""
    w = world()
    ids = {
        "ny_early": _book(w, _at(NY, DAY, 0, 15)),  # 05:15 UTC on the 7th
        "ny_late": _book(w, _at(NY, DAY, 23, 30), external_id="EXT-1"),  # 04:30 UTC on the 8th
        "ny_day_before": _book(w, _at(NY, DAY - timedelta(days=1), 22, 0)),  # 03:00 UTC on the 7th
        "london_late": _book(w, _at(LONDON, DAY, 23, 45), location="harbor", provider="lee", customer="alan"),
        "london_next": _book(w, _at(LONDON, DAY + timedelta(days=1), 0, 30), location="harbor", provider="lee"),
    }
    return w, ids


def _csv(text: str) -> tuple[list[str], list[dict]]:
    reader = csv.DictReader(io.StringIO(text))
    return reader.fieldnames, list(reader)


def _exports() -> list[dict]:
    return audit_dicts(action="export.appointments")


def test_the_cli_writes_csv_with_the_agreed_columns(booked, capsys):
    _, ids = booked
    code = main(["export-appointments", "--from", str(DAY), "--to", str(DAY), "--format", "csv"])
    out, err = capsys.readouterr()
    assert code == 0
    columns, rows = _csv(out)
    assert set(REQUIRED) <= set(columns)
    late = next(r for r in rows if r["appointment_id"] == str(ids["ny_late"]))
    assert late["external_id"] == "EXT-1"
    assert late["location"] == "Downtown" and late["provider"] == "Dr. Rao"
    assert late["provider_email"] == "rao@example.test" and late["appointment_type"] == "Consultation"
    assert late["customer"] == "Ada Lovelace" and late["status"] == "booked"
    assert datetime.fromisoformat(late["start_utc"]) == _at(NY, DAY, 23, 30)
    assert datetime.fromisoformat(late["end_utc"]) == _at(NY, DAY, 23, 30) + timedelta(minutes=30)
    assert datetime.fromisoformat(late["booked_at_utc"]) == _at(NY, DAY, 23, 30) - timedelta(days=3)
    assert late["cancelled_at_utc"] == "" and late["reschedule_count"] == "0" and late["calendar_event_id"] == ""
    assert err.strip() == f"Exported {len(rows)} appointments."


def test_the_window_is_each_locations_own_local_dates(booked, capsys):
    _, ids = booked
    assert main(["export-appointments", "--from", str(DAY), "--to", str(DAY)]) == 0
    _, rows = _csv(capsys.readouterr().out)
    assert {int(r["appointment_id"]) for r in rows} == {ids["ny_early"], ids["ny_late"], ids["london_late"]}

    assert main(["export-appointments", "--from", str(DAY + timedelta(days=1))]) == 0
    _, rows = _csv(capsys.readouterr().out)
    assert {int(r["appointment_id"]) for r in rows} == {ids["london_next"]}


def test_a_location_narrows_the_export(booked, capsys):
    _, ids = booked
    assert main(["export-appointments", "--location", "Harbor"]) == 0
    _, rows = _csv(capsys.readouterr().out)
    assert {int(r["appointment_id"]) for r in rows} == {ids["london_late"], ids["london_next"]}
    assert {r["location"] for r in rows} == {"Harbor"}


def test_an_unknown_location_is_a_one_line_error_naming_the_known_ones(booked, capsys):
    assert main(["export-appointments", "--location", "Atlantis"]) == 1
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1
    assert "Atlantis" in err and "Downtown" in err and "Harbor" in err
    assert "Traceback" not in err
    assert _exports() == []
    with read_session() as s, pytest.raises(NotFound):
        list(export.iter_rows(s, SYSTEM, location="Atlantis"))


def test_an_end_date_before_the_start_date_is_refused(booked, capsys):
    assert main(["export-appointments", "--from", "2030-01-08", "--to", "2030-01-07"]) == 1
    _, err = capsys.readouterr()
    assert err.startswith("error: ") and "before the start date" in err
    assert len(err.strip().splitlines()) == 1
    with read_session() as s, pytest.raises(ValidationError):
        list(export.iter_rows(s, SYSTEM, date_from=date(2030, 1, 8), date_to=date(2030, 1, 7)))


def test_a_malformed_date_is_a_usage_error(booked, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["export-appointments", "--from", "07/01/2030"])
    assert exit_.value.code == 2
    assert "is not a date like" in capsys.readouterr().err


def test_every_export_writes_an_audit_row(booked, tmp_path, capsys):
    target = tmp_path / "out.csv"
    assert main(["export-appointments", "--from", str(DAY), "--to", str(DAY), "-o", str(target)]) == 0
    _, rows = _csv(target.read_text())
    assert len(rows) == 3
    (row,) = _exports()
    assert row["actor_username"] == "system" and row["entity"] == "appointment" and row["outcome"] == "ok"
    assert row["after"]["rows"] == 3 and row["after"]["date_from"] == str(DAY) and row["after"]["location"] is None

    w, _ = booked
    with read_session() as s:
        text, n = export.export_csv(s, w.actors["manager"], date_from=DAY, date_to=DAY)
    assert n == 2 and len(_csv(text)[1]) == 2  # the manager's location only
    assert [r["actor_username"] for r in _exports()] == ["system", "manager"]


def test_analysts_get_masked_contacts_and_managers_only_their_locations(booked):
    w, ids = booked
    with read_session() as s:
        analyst = list(export.iter_rows(s, w.actors["analyst"]))
        manager = list(export.iter_rows(s, w.actors["manager"]))
    assert len(analyst) == 5
    ada = next(r for r in analyst if r["appointment_id"] == ids["ny_late"])
    assert ada["customer_email"] == "a***@example.test" and ada["customer_phone"] == "***-00"
    assert {r["location"] for r in manager} == {"Downtown"}
    assert next(r for r in manager if r["appointment_id"] == ids["ny_late"])["customer_email"] == "ada@example.test"


def test_a_role_without_export_is_refused_and_the_attempt_audited(booked):
    w, _ = booked
    with read_session() as s, pytest.raises(PermissionDenied):
        list(export.iter_rows(s, w.actors["frontdesk"]))
    denied = audit_dicts(outcome="denied")
    assert [(d["actor_username"], d["action"]) for d in denied] == [("frontdesk", "export.appointments")]


def test_a_month_of_demo_data_exports_exactly_its_local_dates(db, tmp_path):
    now = datetime(2026, 3, 20, 14, 30, tzinfo=UTC)
    demo.seed_demo(1500, seed=2, now=now, password_rounds=4)
    first, last = date(2025, 11, 1), date(2025, 11, 30)  # DST ends on 2 November in both zones
    target = tmp_path / "november.csv"
    assert main(["export-appointments", "--from", str(first), "--to", str(last), "-o", str(target)]) == 0
    _, rows = _csv(target.read_text())
    with read_session() as s:
        zones = {loc.name: ZoneInfo(loc.timezone) for loc in s.scalars(select(Location))}
        expected = {
            a.id
            for a, tz in s.execute(select(Appointment, Location.timezone).join(Location))
            if first <= a.start_at.astimezone(ZoneInfo(tz)).date() <= last
        }
    assert {int(r["appointment_id"]) for r in rows} == expected and len(expected) > 50
    for r in rows:
        local = datetime.fromisoformat(r["start_utc"]).astimezone(zones[r["location"]])
        assert first <= local.date() <= last


HOSTILE = ['=HYPERLINK("http://x","a, b")', "-1+2", "@SUM(A1)", "line\nbreak", 'say "hi"', "a\rb", "\ttab", "x,y"]


@given(st.text())
def test_a_csv_cell_reads_back_as_the_neutralised_text(text):
    line = export._CsvLines().fields(text, "end")
    assert next(csv.reader(io.StringIO(line, newline=""))) == [safe_cell(text) if text else "", "end"]


def test_the_csv_holds_exactly_the_rows_as_values_even_with_hostile_text(booked):
    """The CSV is written line by line without csv.writer; read back, it is the export's values
    (formulas neutralised), also for text with quotes, commas, line breaks and formula starts,
    for history without a provider or type, and with contacts masked."""
    w, ids = booked
    with unit_of_work() as s:
        s.execute(update(Customer).values(name=HOSTILE[0], email=HOSTILE[1] + "@x.test", phone=HOSTILE[2]))
        s.execute(
            update(Provider).where(Provider.id == w.providers["rao"].id).values(name=HOSTILE[3], email=HOSTILE[4])
        )
        s.execute(update(AppointmentType).where(AppointmentType.id == w.types["consult"].id).values(name=HOSTILE[5]))
        s.execute(update(Location).where(Location.id == w.locations["harbor"].id).values(name=HOSTILE[6]))
        s.execute(update(Appointment).where(Appointment.id == ids["ny_late"])
                  .values(external_id=HOSTILE[7], source="=cmd", calendar_event_id=HOSTILE[0]))  # fmt: skip
        s.execute(update(Appointment).where(Appointment.id == ids["ny_early"]).values(provider_id=None, type_id=None))
    for who in ("admin", "analyst"):
        with read_session() as s:
            text, n = export.export_csv(s, w.actors[who])
            values = [
                ["" if v is None else str(v) for v in row] for row in export.iter_values(s, w.actors[who], safe=True)
            ]
        header, *rows = list(csv.reader(io.StringIO(text, newline="")))
        assert header == export.COLUMNS and n == len(rows) == 5
        assert rows == values
    by_id = {r["appointment_id"]: r for r in _csv(text)[1]}  # the analyst's
    assert by_id[str(ids["ny_late"])]["external_id"] == "x,y" and by_id[str(ids["ny_late"])]["source"] == "'=cmd"
    assert by_id[str(ids["ny_late"])]["customer"] == "'" + HOSTILE[0]
    assert by_id[str(ids["ny_late"])]["customer_email"] == "'-***@x.test"
    assert by_id[str(ids["ny_early"])]["provider"] == "" and by_id[str(ids["ny_early"])]["appointment_type"] == ""
    assert by_id[str(ids["london_late"])]["location"] == "'\ttab"

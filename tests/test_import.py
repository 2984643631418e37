"""Importing appointment history from CSV: every kind of bad row gets its line and reason and
nothing partial is written; fatal file problems write nothing; re-imports update by external_id;
export -> import -> export gives the same rows; a hand-made history's counts; the CLI."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select

from core.base import bus
from core.base.db import read_session, unit_of_work
from core.base.errors import PermissionDenied
from core.base.models import Appointment, AuditLog, Customer, Location
from core.cli import main
from core.imports.importer import run_import
from core.imports.mapping import MappingError, load_mapping, parse_mapping
from core.imports.parse import ImportFileError
from core.reports import export
from core.scheduling import schedule
from core.scheduling.availability import find_slots
from core.scheduling.events import AppointmentsImported
from core.security.access import SYSTEM
from tests.factories import world

NY = ZoneInfo("America/New_York")
MAPPING = {
    "columns": {
        "external_id": "Visit", "customer_external_id": "Patient no", "customer_name": "Patient",
        "customer_email": "Email", "location": "Clinic", "provider": "Doctor", "appointment_type": "Service",
        "start": "Start", "duration_minutes": "Minutes", "booked_at": "Booked", "status": "Outcome",
        "cancelled_at": "Cancelled",
    },
    "values": {"status": {"Seen": "completed", "DNA": "no_show", "Cancelled": "cancelled"}},
}  # fmt: skip
HEADER = ["Visit", "Patient no", "Patient", "Email", "Clinic", "Doctor", "Service", "Start", "Minutes", "Booked",
          "Outcome", "Cancelled"]  # fmt: skip
SEEN: list[AppointmentsImported] = []


def _seen(session, event: AppointmentsImported) -> None:
    SEEN.append(event)


@pytest.fixture
def seen():
    """The AppointmentsImported events published during the test."""
    SEEN.clear()
    bus.HANDLERS.add((AppointmentsImported, _seen))
    yield SEEN
    bus.HANDLERS.remove((AppointmentsImported, _seen))


def _csv(*rows: list[str], header=HEADER) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue().encode()


def _row(visit, start="2016-04-28T09:00", *, patient="P1", name="Jane Roe", email="", clinic="Downtown", doctor="",
         service="", minutes="", booked="2016-04-01", outcome="Seen", cancelled="") -> list[str]:  # fmt: skip
    return [visit, patient, name, email, clinic, doctor, service, start, minutes, booked, outcome, cancelled]


def _import(data: bytes, mapping=None, **kw):
    return run_import(SYSTEM, data, parse_mapping(mapping or MAPPING), file_name="history.csv", **kw)


def _count(model=Appointment, *where) -> int:
    with read_session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def w(db):
    return world()


def _book_existing(w) -> int:
    """Dr. Rao's active appointment on 2016-04-28 10:00-10:30 New York time."""
    start = datetime(2016, 4, 28, 10, tzinfo=NY).astimezone(UTC)
    with unit_of_work() as s:
        appt = Appointment(location_id=w.locations["downtown"].id, provider_id=w.providers["rao"].id,
                           type_id=w.types["consult"].id, customer_id=w.customers["ada"].id, start_at=start,
                           end_at=start + timedelta(minutes=30), block_start=start,
                           block_end=start + timedelta(minutes=30), status="completed", booked_at=start)  # fmt: skip
        s.add(appt)
        s.flush()
        return appt.id


def test_every_kind_of_bad_row_gets_its_line_and_reason_and_only_good_rows_are_written(w):
    existing = _book_existing(w)
    data = _csv(
        _row("V1"),  # line 2: good, no provider/type/duration
        _row("V2", "2016-04-28", booked="2016-04-29"),  # 3
        _row("V3", outcome="Maybe"),  # 4
        _row("V4", "28/04/2016"),  # 5
        _row("V5", ""),  # 6: no start
        _row("V1", "2016-05-01"),  # 7: duplicate
        _row("V7", clinic="Uptown"),  # 8
        _row("V8", "2016-04-28T10:15", doctor="Dr. Rao", service="Consultation", minutes="30"),  # 9: overlap
        _row("V9", doctor="Dr. Nobody"),  # 10
        _row("V10", minutes="ninety"),  # 11
        _row("V11", "2016-04-28T11:00", doctor="rao@example.test", service="consultation", minutes="30"),  # 12: good
        _row("V12", "2016-04-28T11:15", doctor="Dr. Rao", service="Consultation", minutes="30"),  # 13: overlaps 12
        _row("V13", "1850-01-01"),  # 14
        _row("V14", outcome="", patient=""),  # 15
    )
    result = _import(data)
    lines = [str(r) for r in result.rejections]
    assert lines == [
        "line 3: appointment date 2016-04-28 is before its booking date 2016-04-29",
        "line 4: unknown status value 'Maybe' (expected booked, confirmed, checked_in, completed, no_show, "
        "cancelled; map the source's words in values.status)",
        "line 5: start '28/04/2016' is not a date in ISO 8601 such as 2016-04-28 or 2016-04-28T09:30",
        "line 6: missing required field start (column 'Start')",
        "line 7: duplicate external id 'V1' (first on line 2)",
        "line 8: unknown location 'Uptown' (import with --create-locations to add it)",
        f"line 9: Dr. Rao is already booked 2016-04-28 10:00-10:30 (appointment #{existing})",
        "line 10: unknown provider 'Dr. Nobody' (no provider has this name or email)",
        "line 11: duration_minutes 'ninety' is not a whole number of minutes from 1 to 1440",
        "line 13: Dr. Rao is already booked 2016-04-28 11:00-11:30 (line 12)",
        "line 14: start '1850-01-01' is outside the years 1900-2200",
        "line 15: missing required field status (column 'Outcome')",
    ]
    assert (result.rows_read, result.imported, result.rejected) == (14, 2, 12)
    assert {kind for kind, _, _ in result.reasons()} >= {
        "unparseable date", "unknown status value", "missing required field", "duplicate external id",
        "unknown location", "overlap with an existing appointment", "appointment before its booking date",
    }  # fmt: skip
    with read_session() as s:
        rows = s.execute(select(Appointment.external_id, Appointment.provider_id, Appointment.end_at)
                         .where(Appointment.source == "import").order_by(Appointment.external_id)).all()  # fmt: skip
    assert [(r.external_id, r.provider_id is None, r.end_at is None) for r in rows] == [
        ("V1", True, True), ("V11", False, False)
    ]  # fmt: skip
    rejects = list(csv.reader(io.StringIO(result.rejects_csv())))
    assert rejects[0] == [*HEADER, "line", "reason"] and len(rejects) == 13
    assert rejects[1][:2] == ["V2", "P1"] and rejects[1][-2:] == ["3", lines[0].split(": ", 1)[1]]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "is empty"),
        (b"Visit,Start\n", "has no column"),
        (_csv(header=HEADER), "has a header but no rows"),
        ("Visit,Patient\nV1,Zoë\n".encode("latin-1"), "is not UTF-8 text"),
    ],
)
def test_a_fatal_problem_with_the_file_writes_nothing(sqlite_db, data, message):
    world()
    with pytest.raises(ImportFileError, match=message):
        _import(data)
    assert _count() == 0 and _count(AuditLog, AuditLog.action == "import.appointments") == 0


def test_a_wrong_mapping_is_one_sentence():
    with pytest.raises(MappingError, match="not valid JSON"):
        load_mapping("{")
    with pytest.raises(MappingError, match="does not say which column holds status"):
        parse_mapping({"columns": {"external_id": "a", "location": "b", "start": "c", "customer_name": "d"}})
    with pytest.raises(MappingError, match="unknown field 'colour'"):
        parse_mapping({"columns": {**MAPPING["columns"], "colour": "x"}})
    with pytest.raises(MappingError, match="Unknown time zone"):
        parse_mapping({**MAPPING, "timezone": "Mars/Olympus"})


def test_reimporting_updates_by_external_id_and_never_duplicates(w):
    data = _csv(_row("V1"), _row("V2", "2016-04-29T09:00", outcome="DNA"), _row("V3", "2016-04-30T09:00"))
    first = _import(data)
    again = _import(data)
    assert (first.imported, first.updated, first.unchanged) == (3, 0, 0)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 3)
    changed = _csv(_row("V1"), _row("V2", "2016-04-29T09:00", outcome="Seen"), _row("V3", "2016-04-30T09:00"))
    third = _import(changed)
    assert (third.imported, third.updated, third.unchanged) == (0, 1, 2)
    assert _count() == 3 and _count(Customer, Customer.external_id == "P1") == 1
    with read_session() as s:
        assert s.scalar(select(Appointment.status).where(Appointment.external_id == "V2")) == "completed"
        audits = s.scalars(
            select(AuditLog.after).where(AuditLog.action == "import.appointments").order_by(AuditLog.id)
        ).all()
    assert [(a["imported"], a["updated"], a["unchanged"]) for a in audits] == [
        (3, 0, 0), (0, 0, 3), (0, 1, 2)
    ]  # fmt: skip
    assert audits[0]["sha256"] == first.sha256 and len(first.sha256) == 64


def test_new_customers_are_linked_to_their_own_appointments_after_the_existing_ones(w):
    rows = [_row(f"V{i}", f"2016-04-{10 + i}T09:00", patient=f"P{i}", name=f"Patient {i}") for i in range(6)]
    before = datetime.now(UTC)
    assert _import(_csv(*rows)).created_customers == 6
    with read_session() as s:
        linked = s.execute(
            select(Appointment.external_id, Customer.name, Customer.external_id, Customer.id, Customer.created_at)
            .join(Customer, Customer.id == Appointment.customer_id)
            .where(Appointment.external_id.is_not(None))
        ).all()
        oldest_new = min(c.id for c in s.scalars(select(Customer).where(Customer.external_id.is_not(None))))
    assert sorted((v, n, p) for v, n, p, _, _ in linked) == [(f"V{i}", f"Patient {i}", f"P{i}") for i in range(6)]
    assert oldest_new > max(c.id for c in w.customers.values())
    assert all(before - timedelta(seconds=1) <= at <= datetime.now(UTC) for *_, at in linked)


def test_a_dry_run_writes_nothing_and_created_locations_take_the_mappings_zone(w, seen):
    data = _csv(_row("V1", "2016-04-28", clinic="Uptown"), _row("V2", "2016-04-28T09:30", clinic="Uptown"))
    mapping = {**MAPPING, "timezone": "Europe/Paris"}
    dry = _import(data, mapping, dry_run=True, create_locations=True)
    assert (dry.imported, dry.created_locations) == (2, ["Uptown"])
    assert _count() == 0 and _count(Location, Location.name == "Uptown") == 0
    seen.clear()  # a dry run's events rolled back with it
    done = _import(data, mapping, create_locations=True)
    assert done.imported == 2
    with read_session() as s:
        loc_id, tz = s.execute(select(Location.id, Location.timezone).where(Location.name == "Uptown")).one()
        starts = s.scalars(select(Appointment.start_at).where(Appointment.location_id == loc_id)).all()
    assert tz == "Europe/Paris"
    paris = ZoneInfo("Europe/Paris")
    assert sorted(starts) == [datetime(2016, 4, 28, tzinfo=paris), datetime(2016, 4, 28, 9, 30, tzinfo=paris)]
    (event,) = seen
    assert event.location_ids == (loc_id,) and event.first_day == event.last_day == date(2016, 4, 28)


def test_a_date_only_start_is_that_local_date_and_a_zoned_time_keeps_its_zone(w):
    data = _csv(_row("V1", "2016-11-06"), _row("V2", "2016-04-28T09:00:00Z"), _row("V3", "2016-04-28T09:00"))
    _import(data, {**MAPPING, "timezone": "UTC"})
    with read_session() as s:
        got = dict(s.execute(select(Appointment.external_id, Appointment.start_at)).all())
    assert got["V1"].astimezone(NY).date() == date(2016, 11, 6) and got["V1"].astimezone(NY).hour == 0
    assert got["V2"] == datetime(2016, 4, 28, 9, tzinfo=UTC)
    assert got["V3"] == datetime(2016, 4, 28, 9, tzinfo=UTC)  # naive: the mapping's zone


def test_a_hand_made_history_counts_as_expected(w):
    """Six completed, two no-shows, two cancellations (one inside the 24 h window), lead times
    0..9 days. With core.metrics merged, the lead asserts the rates through it."""
    rows = []
    for i in range(10):
        start = datetime(2016, 5, 2 + i, 9)
        outcome = ["Seen"] * 6 + ["DNA"] * 2 + ["Cancelled"] * 2
        cancelled = {8: start - timedelta(hours=2), 9: start - timedelta(days=3)}.get(i)
        rows.append(_row(f"H{i}", start.isoformat(), patient=f"P{i % 3}", booked=(start - timedelta(days=i)).date().isoformat(),
                         outcome=outcome[i], cancelled=cancelled.isoformat() if cancelled else ""))  # fmt: skip
    assert _import(_csv(*rows)).imported == 10
    with read_session() as s:
        by_status = dict(s.execute(select(Appointment.status, func.count()).group_by(Appointment.status)).all())
        late = s.scalar(select(func.count()).where(Appointment.late_cancel.is_(True)))
        appts = s.execute(select(Appointment.start_at, Appointment.booked_at)).all()
    assert by_status == {"completed": 6, "no_show": 2, "cancelled": 2} and late == 1
    leads = sorted((a.start_at.astimezone(NY).date() - a.booked_at.astimezone(NY).date()).days for a in appts)
    assert leads == list(range(10))
    assert _count(Customer, Customer.external_id.is_not(None)) == 3


def test_history_without_provider_or_duration_shows_on_the_day_and_stays_out_of_availability(w):
    day = date(2030, 1, 7)
    _import(_csv(_row("V1", "2030-01-07T09:00", booked="2030-01-01", outcome="Seen"),
                 _row("V2", "2030-01-07T10:00", booked="2030-01-01", outcome="Seen", minutes="30")))  # fmt: skip
    rows = schedule.day_schedule(w.actors["admin"], w.locations["downtown"].id, day).rows
    assert {(r.provider_name, r.type_name, r.time_label) for r in rows} == {
        ("—", "—", "09:00"),
        ("—", "—", "10:00–10:30"),
    }
    bars, _ = schedule.timeline_frame(schedule.day_schedule(w.actors["admin"], w.locations["downtown"].id, day))
    assert bars.empty  # no provider: no lane to draw in
    slots = find_slots(w.actors["admin"], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
                       date_from=day, date_to=day, now=datetime(2030, 1, 1, tzinfo=UTC))  # fmt: skip
    assert any(s.start == datetime(2030, 1, 7, 9, tzinfo=NY).astimezone(UTC) for s in slots)


def test_only_admins_may_import_and_a_refusal_is_audited(w):
    with pytest.raises(PermissionDenied):
        run_import(w.actors["manager"], _csv(_row("V1")), parse_mapping(MAPPING))
    assert _count() == 0
    assert _count(AuditLog, AuditLog.outcome == "denied", AuditLog.action == "import.appointments") == 1
    assert run_import(w.actors["admin"], _csv(_row("V1")), parse_mapping(MAPPING)).imported == 1


ROUND_TRIP = {
    "columns": {
        "external_id": "appointment_id", "customer_name": "customer", "customer_email": "customer_email",
        "customer_phone": "customer_phone", "location": "location", "provider": "provider_email",
        "appointment_type": "appointment_type", "start": "start_utc", "end": "end_utc", "booked_at": "booked_at_utc",
        "status": "status", "cancelled_at": "cancelled_at_utc",
    }
}  # fmt: skip


def _export_rows() -> list[dict]:
    buf = io.StringIO()
    with read_session() as s:
        export.write_csv(buf, s, SYSTEM)
    drop = ("appointment_id", "external_id", "source")
    return sorted(({k: v for k, v in r.items() if k not in drop} for r in csv.DictReader(io.StringIO(buf.getvalue()))),
                  key=lambda r: (r["start_utc"], r["customer"]))  # fmt: skip


def test_export_then_import_then_export_gives_the_same_rows(w):
    base = datetime(2030, 1, 7, 14, tzinfo=UTC)
    with unit_of_work() as s:
        for i, (status, who) in enumerate(
            [("completed", "ada"), ("no_show", "alan"), ("cancelled", "ada"), ("booked", "alan")]
        ):
            start = base + timedelta(hours=i)
            s.add(Appointment(location_id=w.locations["downtown"].id, provider_id=w.providers["rao"].id,
                              type_id=w.types["consult"].id, customer_id=w.customers[who].id, start_at=start,
                              end_at=start + timedelta(minutes=30), block_start=start, block_end=start + timedelta(minutes=30),
                              status=status, booked_at=start - timedelta(days=i + 1),
                              cancelled_at=start - timedelta(hours=3) if status == "cancelled" else None,
                              late_cancel=status == "cancelled"))  # fmt: skip
    first = _export_rows()
    buf = io.StringIO()
    with read_session() as s:
        export.write_csv(buf, s, SYSTEM)
    with unit_of_work() as s:
        s.execute(delete(Appointment))
    result = _import(buf.getvalue().encode(), ROUND_TRIP)
    assert (result.imported, result.rejected, result.created_customers) == (4, 0, 0)
    assert _export_rows() == first and len(first) == 4
    assert first[0]["customer_phone"] == "'+12125550100"  # neutralised for spreadsheets


def test_the_cli_prints_the_summary_and_writes_the_rejects_file(w, tmp_path, capsys):
    (tmp_path / "h.csv").write_bytes(_csv(_row("V1"), _row("V2", outcome="Maybe")))
    (tmp_path / "m.json").write_text(json.dumps(MAPPING))
    args = ["import-appointments", str(tmp_path / "h.csv"), "--mapping", str(tmp_path / "m.json")]
    assert main([*args, "--dry-run"]) == 0
    assert "dry run: nothing was written" in capsys.readouterr().out and _count() == 0
    assert main([*args, "--rejects", str(tmp_path / "rejects.csv")]) == 0
    out = capsys.readouterr().out
    assert "imported:  1" in out and "rejected:  1" in out and "line 3: unknown status value 'Maybe'" in out
    assert "rows read in" in out
    assert (tmp_path / "rejects.csv").read_text().splitlines()[1].startswith("V2,")
    (tmp_path / "bad.json").write_text("{")
    assert main(["import-appointments", str(tmp_path / "h.csv"), "--mapping", str(tmp_path / "bad.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: The mapping is not valid JSON") and len(err.strip().splitlines()) == 1


def test_imported_phones_are_stored_as_e164_in_the_locations_country_or_kept_as_given(w):
    mapping = {**MAPPING, "columns": {**MAPPING["columns"], "customer_phone": "Phone"}}
    data = _csv(
        [*_row("V1", patient="P1", name="Jane Roe"), "(212) 555-0147"],
        [*_row("V2", patient="P2", name="John Doe"), "ext. 12"],
        header=[*HEADER, "Phone"],
    )
    assert _import(data, mapping).imported == 2
    with read_session() as s:
        phones = dict(s.execute(select(Customer.name, Customer.phone).where(Customer.external_id.is_not(None))).all())
    assert phones == {"Jane Roe": "+12125550147", "John Doe": "ext. 12"}


def test_a_bulk_import_refreshes_postgresql_s_planner_statistics(w, db, monkeypatch):
    """Without it, a re-import planned its 900-id lookups as if the table were empty (276 s for
    100,000 rows instead of 18 s) until autovacuum came by."""
    from sqlalchemy import text

    from core.imports import importer

    monkeypatch.setattr(importer, "BULK", 3)  # the test's three rows count as a bulk load
    _import(_csv(_row("V1"), _row("V2", "2016-04-29T09:00"), _row("V3", "2016-04-30T09:00")))
    if db.kind == "postgresql":
        with read_session() as s:
            analyzed = s.scalar(text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'appointments'"))
        assert analyzed is not None

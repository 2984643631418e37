"""Every upcoming appointment gets its reminders, whatever wrote it: imported future rows are
reminded (confirmed only with --notify), past, cancelled and opted-out ones never; the send
pass that schedules them is idempotent (run once, run twice: the same outbox)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.base.clock import utcnow
from core.base.db import read_session, unit_of_work
from core.base.errors import ValidationError
from core.base.models import Appointment
from core.cli import main
from core.imports.importer import run_import
from core.imports.mapping import parse_mapping
from core.notifications import sender
from core.notifications.models import NotificationOptOut, NotificationOutbox
from core.security.access import SYSTEM
from tests.factories import world

NY = ZoneInfo("America/New_York")
MAPPING = {
    "columns": {
        "external_id": "Visit", "customer_external_id": "Patient no", "customer_name": "Patient",
        "customer_email": "Email", "location": "Clinic", "provider": "Doctor", "appointment_type": "Service",
        "start": "Start", "duration_minutes": "Minutes",
        "status": "Outcome",
    },
}  # fmt: skip
HEADER = ["Visit", "Patient no", "Patient", "Email", "Clinic", "Doctor", "Service", "Start", "Minutes", "Outcome"]


@pytest.fixture
def no_channels(monkeypatch):
    for name in ("SMTP_HOST", "SMS_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)


def _csv(now, *rows: tuple[str, timedelta, str]) -> bytes:
    """(visit, start from now, status) rows, one patient each, at Downtown in New York time."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEADER)
    for i, (visit, ahead, status) in enumerate(rows):
        start = (now + ahead).astimezone(NY).replace(second=0, microsecond=0)
        w.writerow([visit, f"P{i}", f"Patient {i}", f"p{i}@example.test", "Downtown", "Dr. Rao", "Consultation", f"{start:%Y-%m-%dT%H:%M}", "30",
                    status])  # fmt: skip
    return out.getvalue().encode()


ROWS = (
    ("soon", timedelta(hours=30), "booked"),  # the 48 h reminder has passed; the 2 h one is ahead
    ("later", timedelta(days=2, hours=12), "confirmed"),  # both ahead
    ("far", timedelta(days=20), "booked"),  # past the longest offset: reached on a later pass
    ("gone", timedelta(days=2, hours=14), "cancelled"),
    ("past", -timedelta(days=2), "completed"),
)


def _import(data: bytes, **kw):
    return run_import(SYSTEM, data, parse_mapping(MAPPING), file_name="upcoming.csv", **kw)


def _outbox() -> set[tuple]:
    with read_session() as s:
        return set(
            s.execute(
                select(Appointment.external_id, NotificationOutbox.kind, NotificationOutbox.offset_min,
                       NotificationOutbox.channel, NotificationOutbox.status)
                .join(Appointment, Appointment.id == NotificationOutbox.appointment_id)
            )
        )  # fmt: skip


def _both(visit: str, kind: str, offset: int | None, status: str = "pending") -> set[tuple]:
    return {(visit, kind, offset, channel, status) for channel in ("email", "sms")}


def test_imported_upcoming_appointments_get_their_reminders_once_and_no_confirmation(db, no_channels):
    world()
    now = utcnow()
    _import(_csv(now, *ROWS))
    assert _outbox() == set()  # the import itself writes no messages

    first = sender.send_due(now)
    assert first.get("scheduled") == 6
    expected = _both("soon", "reminder", 120) | _both("later", "reminder", 2880) | _both("later", "reminder", 120)
    assert _outbox() == expected
    assert sender.send_due(now).line() == "nothing due"  # run twice: the same outbox
    assert _outbox() == expected

    with read_session() as s:
        due = s.scalars(select(NotificationOutbox.due_at).where(NotificationOutbox.offset_min == 120)).all()
        starts = dict(s.execute(select(Appointment.external_id, Appointment.start_at)).all())
    assert sorted(due) == sorted([starts["soon"] - timedelta(hours=2)] * 2 + [starts["later"] - timedelta(hours=2)] * 2)

    week_on = sender.send_due(now + timedelta(days=17, hours=12))  # "far" comes within reach of its reminders
    assert week_on.get("scheduled") == 4
    assert {r for r in _outbox() if r[0] == "far"} == _both("far", "reminder", 2880) | _both("far", "reminder", 120)
    assert not {r for r in _outbox() if r[0] in ("gone", "past")}


def test_import_with_notify_confirms_upcoming_rows_only_and_a_dry_run_refuses_it(db, no_channels):
    world()
    now = utcnow()
    data = _csv(now, *ROWS)
    with pytest.raises(ValidationError, match="A dry run writes nothing, so it cannot send confirmations"):
        _import(data, dry_run=True, notify=True)
    with read_session() as s:
        assert s.scalar(select(Appointment.id)) is None

    _import(data, notify=True)
    confirmed = {r[0] for r in _outbox() if r[1] == "confirmation"}
    assert confirmed == {"soon", "later", "far"}
    before = _outbox()
    _import(data, notify=True)  # the same file again: nothing changed, nothing new to confirm
    assert _outbox() == before
    summary = sender.send_due(now + timedelta(seconds=1))
    # Three confirmations: recorded by email (no channel set up); by SMS skipped, the file has no phones.
    assert summary.counts == {"not_sent": 3, "skipped": 3}  # the reminders came with the import: none to add


def test_nothing_is_scheduled_for_a_customer_who_opted_out(db, no_channels):
    world()
    now = utcnow()
    _import(_csv(now, ("later", timedelta(days=3), "booked")))
    with unit_of_work() as s:
        customer_id = s.scalar(select(Appointment.customer_id))
        s.add(NotificationOptOut(customer_id=customer_id, channel="sms"))
    sender.send_due(now)
    assert _outbox() == {("later", "reminder", m, "email", "pending") for m in (2880, 120)}


def test_the_cli_refuses_notify_on_a_dry_run_in_one_sentence(db, tmp_path, capsys):
    world()
    (tmp_path / "a.csv").write_bytes(_csv(utcnow(), ("soon", timedelta(days=1), "booked")))
    (tmp_path / "m.json").write_text(json.dumps(MAPPING))
    code = main(["import-appointments", str(tmp_path / "a.csv"), "--mapping", str(tmp_path / "m.json"),
                 "--dry-run", "--notify"])  # fmt: skip
    assert code != 0
    err = capsys.readouterr().err.strip()
    assert err.endswith("A dry run writes nothing, so it cannot send confirmations: drop --notify or --dry-run.")
    assert len(err.splitlines()) == 1

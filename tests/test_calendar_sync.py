"""Google Calendar two-way sync against the Calendar v3 emulator over real HTTP: the real
google-api-python-client does every request. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from core.base.config import ROOT, reset_settings
from core.base.db import read_session, unit_of_work
from core.base.errors import ConflictError, InvalidTransition, NotFound, PermissionDenied, ValidationError
from core.base.models import Appointment, AuditLog, BusyBlock, CalendarSyncState, ExceptionItem
from core.calendar_sync import client, fixes, status
from core.calendar_sync import summary as titles
from core.calendar_sync.client import event_id_for
from core.calendar_sync.models import CalendarLink, CalendarPush
from core.calendar_sync.sync import LeaseLost, claim, ensure_states, renew, sync_pass
from core.calendar_sync.sync import owner_id as sync_owner
from core.calendar_sync.sync import run as sync_run
from core.scheduling import booking
from tests.calendar_emulator import CalendarEmulator
from tests.factories import world

NOW = datetime(2030, 1, 2, 12, 0, tzinfo=UTC)
MONDAY = date(2030, 1, 7)
RAO, KIM, LEE = "rao@example.test", "kim@example.test", "lee@example.test"


def at(hh: int, mm: int = 0, day: date = MONDAY) -> datetime:
    """New York wall-clock time on `day` as UTC (winter: UTC-5)."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC) + timedelta(hours=5)


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def emu(monkeypatch):
    emulator = CalendarEmulator(seed=11).start()
    monkeypatch.setenv("GOOGLE_CALENDAR_API_ENDPOINT", emulator.endpoint)
    monkeypatch.delenv("GOOGLE_CREDENTIALS_FILE", raising=False)
    monkeypatch.setattr(client, "RETRY_SCALE", 0.001)
    reset_settings()
    yield emulator
    emulator.release.set()
    emulator.stop()


@pytest.fixture
def w(db, emu):
    return world()


def book(w, start, provider="rao", customer="ada", type_="consult"):
    return booking.book(
        w.actors["frontdesk"], type_id=w.types[type_].id, location_id=w.locations["downtown"].id,
        customer_id=w.customers[customer].id, provider_id=w.providers[provider].id, start=start,
        intake={"reason": "checkup"}, now=NOW,
    ).appointment  # fmt: skip


def ours(emu, calendar_id=RAO) -> dict[int, dict]:
    """Live app-owned events by appointment id; fails on a duplicate."""
    found: dict[int, dict] = {}
    for ev in emu.live_events(calendar_id):
        appt_id = client.appointment_id_of(ev)
        if appt_id is not None:
            assert appt_id not in found, f"two events for appointment {appt_id}"
            found[appt_id] = ev
    return found


def google_event(start: datetime, end: datetime, summary="Dentist", **extra) -> dict:
    return {"summary": summary, "start": {"dateTime": iso(start)}, "end": {"dateTime": iso(end)}, **extra}


def items(kind: str | None = None, status_in=("open", "assigned", "snoozed")) -> list[ExceptionItem]:
    with read_session() as s:
        q = select(ExceptionItem).where(ExceptionItem.status.in_(status_in))
        if kind:
            q = q.where(ExceptionItem.kind == kind)
        found = list(s.scalars(q.order_by(ExceptionItem.id)))
        s.expunge_all()
        return found


def busy(calendar_id=RAO) -> dict[str, BusyBlock]:
    with read_session() as s:
        found = {b.google_event_id: b for b in s.scalars(select(BusyBlock).where(BusyBlock.calendar_id == calendar_id))}
        s.expunge_all()
        return found


def get(model, ident):
    with read_session() as s:
        row = s.get(model, ident)
        s.expunge_all()
        return row


def outbox_size() -> int:
    with read_session() as s:
        return s.scalar(select(func.count()).select_from(CalendarPush))


# -- push and pull ------------------------------------------------------------------------------


def test_first_sync_pushes_each_appointment_once_and_pulls_google_events_as_busy_blocks(w, emu):
    a1, a2 = book(w, at(9)), book(w, at(11), customer="alan")
    dentist = emu.put_event(RAO, google_event(at(13), at(14)))
    emu.put_event(RAO, google_event(at(15), at(16), summary="Reminder", transparency="transparent"))
    conference = emu.put_event(
        RAO, {"summary": "Conference", "start": {"date": "2030-01-08"}, "end": {"date": "2030-01-10"}}
    )

    summary = sync_pass(NOW)

    assert (summary.synced, summary.pushed, summary.errors, summary.conflicts) == (3, 2, 0, 0), summary.failures
    events = ours(emu)
    assert set(events) == {a1.id, a2.id}
    assert events[a1.id]["summary"] == "Consultation - Ada" and "Lovelace" not in str(events[a1.id])
    assert events[a1.id]["id"] == event_id_for(a1.id, 0)
    assert events[a1.id]["extendedProperties"]["private"] == {"appointment_id": str(a1.id)}
    assert events[a2.id]["start"]["dateTime"] == iso(at(11))
    blocks = busy()
    assert set(blocks) == {dentist["id"], conference["id"]}  # the transparent event is not busy
    assert (blocks[dentist["id"]].start_at, blocks[dentist["id"]].end_at) == (at(13), at(14))
    all_day = blocks[conference["id"]]  # New York days 8 and 9 January, end date exclusive
    assert (all_day.start_at, all_day.end_at) == (at(0, day=date(2030, 1, 8)), at(0, day=date(2030, 1, 10)))
    assert get(Appointment, a1.id).calendar_event_id == event_id_for(a1.id, 0)
    assert outbox_size() == 0


def test_idle_incremental_pass_costs_one_list_request_per_calendar_and_writes_nothing(w, emu):
    book(w, at(9))
    emu.put_event(KIM, google_event(at(13), at(14)))
    sync_pass(NOW)
    with read_session() as s:
        audit_before = s.scalar(select(func.count()).select_from(AuditLog))
    emu.reset_counts()

    summary = sync_pass(NOW)

    assert emu.count() == 3 == summary.requests
    assert emu.count(method="GET", what="list") == 3
    assert {c for _, c, _ in emu.requests} == {RAO, KIM, LEE}
    assert (summary.pushed, summary.busy_blocks, summary.conflicts) == (0, 0, 0)
    with read_session() as s:
        assert s.scalar(select(func.count()).select_from(AuditLog)) == audit_before


def test_local_reschedule_and_cancellation_update_and_delete_the_event(w, emu):
    a1, a2 = book(w, at(9)), book(w, at(11))
    sync_pass(NOW)
    booking.reschedule(w.actors["frontdesk"], a1.id, new_start=at(10), now=NOW)
    booking.cancel(w.actors["frontdesk"], a2.id, reason="customer asked", now=NOW)
    assert outbox_size() == 2  # queued in the booking's own transactions
    emu.reset_counts()

    summary = sync_pass(NOW)

    assert summary.pushed == 2 and summary.conflicts == 0
    events = ours(emu)
    assert set(events) == {a1.id}
    assert events[a1.id]["start"]["dateTime"] == iso(at(10))
    assert emu.count(method="PATCH") == 1 and emu.count(method="DELETE") == 1 and emu.count(method="POST") == 0
    assert get(CalendarLink, a2.id) is None and outbox_size() == 0


def test_moving_an_appointment_to_another_provider_moves_its_event(w, emu):
    a1 = book(w, at(9))
    sync_pass(NOW)
    booking.reschedule(w.actors["frontdesk"], a1.id, new_start=at(9), provider_id=w.providers["kim"].id, now=NOW)

    sync_pass(NOW)

    assert ours(emu, RAO) == {}
    assert set(ours(emu, KIM)) == {a1.id}
    assert ours(emu, KIM)[a1.id]["id"] == event_id_for(a1.id, 1)


def test_google_side_edits_and_deletions_of_its_own_events_update_busy_blocks(w, emu):
    dentist = emu.put_event(RAO, google_event(at(13), at(14)))
    lunch = emu.put_event(RAO, google_event(at(12), at(13), summary="Lunch"))
    sync_pass(NOW)
    emu.edit_event(RAO, dentist["id"], start={"dateTime": iso(at(15))}, end={"dateTime": iso(at(16))})
    emu.delete_event(RAO, lunch["id"])
    emu.edit_event(RAO, dentist["id"], summary="Dentist (moved)")

    summary = sync_pass(NOW)

    assert summary.busy_blocks == 2
    blocks = busy()
    assert set(blocks) == {dentist["id"]}
    assert (blocks[dentist["id"]].start_at, blocks[dentist["id"]].summary) == (at(15), "Dentist (moved)")


def test_an_expired_sync_token_makes_a_full_resync_that_replaces_the_local_copy(w, emu):
    keep = emu.put_event(RAO, google_event(at(13), at(14)))
    gone = emu.put_event(RAO, google_event(at(15), at(16)))
    sync_pass(NOW)
    with emu.lock:  # the event vanishes without a trace (purged in Google), and the token expires
        del emu.calendars[RAO].events[gone["id"]]
    emu.expire_sync_tokens(RAO)

    sync_pass(NOW)

    assert set(busy()) == {keep["id"]}
    assert emu.count(method="GET", calendar_id=RAO, what="list") == 3  # first, 410, full again
    with read_session() as s:
        state = s.scalar(select(CalendarSyncState).where(CalendarSyncState.calendar_id == RAO))
        assert state.status == "ok" and state.sync_token


# -- conflicts ---------------------------------------------------------------------------------


def test_an_event_moved_in_google_becomes_a_queue_item_and_is_not_overwritten(w, emu):
    a1 = book(w, at(9))
    sync_pass(NOW)
    event_id = event_id_for(a1.id, 0)
    emu.edit_event(RAO, event_id, start={"dateTime": iso(at(14))}, end={"dateTime": iso(at(14, 30))})

    summary = sync_pass(NOW)
    sync_pass(NOW)  # a second pass neither duplicates the item nor pushes over Google

    assert summary.conflicts == 1
    [item] = items("calendar_changed")
    assert item.dedupe_key == f"calendar_changed:{a1.id}" and item.appointment_id == a1.id
    assert item.details["google_start"] == iso(at(14)) and item.details["ours_start"] == iso(at(9))
    assert get(Appointment, a1.id).start_at == at(9)  # ours untouched
    assert ours(emu)[a1.id]["start"]["dateTime"] == iso(at(14))  # Google's untouched

    fixes.accept_google_version(w.actors["frontdesk"], a1.id, now=NOW)

    assert get(Appointment, a1.id).start_at == at(14)
    assert items("calendar_changed") == [] and get(CalendarLink, a1.id).state == "synced"
    emu.reset_counts()
    sync_pass(NOW)
    assert items() == [] and emu.count(method="PATCH") == 0


def test_keep_ours_pushes_the_appointment_back_over_googles_move(w, emu):
    a1 = book(w, at(9))
    sync_pass(NOW)
    emu.edit_event(RAO, event_id_for(a1.id, 0), start={"dateTime": iso(at(14))}, end={"dateTime": iso(at(14, 30))})
    sync_pass(NOW)

    fixes.keep_ours(w.actors["frontdesk"], a1.id, now=NOW)
    sync_pass(NOW)

    assert ours(emu)[a1.id]["start"]["dateTime"] == iso(at(9))
    assert items() == []
    resolved = items("calendar_changed", status_in=("resolved",))
    assert len(resolved) == 1
    with read_session() as s:
        assert s.scalar(select(AuditLog).where(AuditLog.action == "queue.resolve", AuditLog.entity_id == str(a1.id)))


def test_a_local_change_over_a_google_change_gets_412_and_opens_a_conflict(w, emu):
    a1 = book(w, at(9))
    sync_pass(NOW)
    emu.edit_event(RAO, event_id_for(a1.id, 0), start={"dateTime": iso(at(14))}, end={"dateTime": iso(at(14, 30))})
    booking.reschedule(w.actors["frontdesk"], a1.id, new_start=at(10), now=NOW)
    emu.reset_counts()

    summary = sync_pass(NOW)

    assert summary.conflicts == 1 and emu.count(method="PATCH") == 1  # the 412, nothing after it
    assert ours(emu)[a1.id]["start"]["dateTime"] == iso(at(14))
    [item] = items("calendar_changed")
    assert item.details["ours_start"] == iso(at(10)) and item.details["google_start"] == iso(at(14))


def test_an_event_deleted_in_google_is_an_item_and_keep_ours_recreates_it_under_a_new_id(w, emu):
    a1 = book(w, at(9))
    sync_pass(NOW)
    emu.delete_event(RAO, event_id_for(a1.id, 0))

    sync_pass(NOW)

    [item] = items("calendar_deleted")
    assert item.details["deleted_in_google"] is True
    assert get(Appointment, a1.id).status == "booked"  # never cancelled because Google said so
    fixes.keep_ours(w.actors["manager"], a1.id, now=NOW)
    sync_pass(NOW)
    assert ours(emu)[a1.id]["id"] == event_id_for(a1.id, 1)
    assert items() == []


def test_accepting_a_deletion_in_google_cancels_the_appointment(w, emu):
    a1 = book(w, at(9))
    sync_pass(NOW)
    emu.delete_event(RAO, event_id_for(a1.id, 0))
    sync_pass(NOW)

    fixes.accept_google_version(w.actors["frontdesk"], a1.id, now=NOW)

    assert get(Appointment, a1.id).status == "cancelled"
    assert items() == [] and get(CalendarLink, a1.id) is None
    with pytest.raises(InvalidTransition, match="nothing to fix"):
        fixes.keep_ours(w.actors["frontdesk"], a1.id, now=NOW)


def test_fixing_actions_check_permission_and_location(w, emu):
    a1 = book(w, at(9))
    sync_pass(NOW)
    emu.delete_event(RAO, event_id_for(a1.id, 0))
    sync_pass(NOW)
    for actor in ("analyst", "harbordesk", "provider"):
        # a role that may fix the queue elsewhere is told the appointment is unknown, as if missing
        refused = NotFound if actor == "harbordesk" else PermissionDenied
        with pytest.raises(refused):
            fixes.keep_ours(w.actors[actor], a1.id, now=NOW)
        with pytest.raises(refused):
            fixes.accept_google_version(w.actors[actor], a1.id, now=NOW)
    with pytest.raises(PermissionDenied):
        status.set_connected(w.actors["manager"], w.providers["rao"].id, False)
    assert get(Appointment, a1.id).status == "booked" and len(items("calendar_deleted")) == 1


# -- resilience --------------------------------------------------------------------------------


def test_an_auth_failure_marks_the_connection_broken_and_the_other_calendars_still_sync(w, emu):
    book(w, at(9), provider="kim")
    emu.broken.add(RAO)

    summary = sync_pass(NOW)

    assert summary.errors == 1 and summary.synced == 2
    assert set(ours(emu, KIM))
    [broken] = items("calendar_broken")
    assert broken.provider_id == w.providers["rao"].id and broken.details["auth"] is True
    rows = {r.provider: r for r in status.calendar_status(w.actors["admin"], now=NOW)}
    assert rows["Dr. Rao"].status == "error" and "401" in rows["Dr. Rao"].last_error
    emu.broken.clear()
    sync_pass(NOW)
    assert items("calendar_broken") == []


def test_retried_writes_never_duplicate_events(w, emu):
    a1, a2 = book(w, at(9)), book(w, at(11))
    # The server commits the insert and then fails: the client retries into a 409.
    emu.fail_next("commit500", None, None, "commitdrop")
    sync_pass(NOW)
    assert set(ours(emu)) == {a1.id, a2.id}
    assert emu.count(method="POST") >= 4


def test_ten_percent_faults_converge_to_exactly_the_expected_state(w, emu):
    appts = [book(w, at(9 + i), provider=p, customer=c) for i in range(4) for p, c in (("rao", "ada"), ("kim", "alan"))]
    google_only = [emu.put_event(cal, google_event(at(8), at(8, 30), summary=f"{cal} busy")) for cal in (RAO, KIM, LEE)]
    emu.fault_rate = 0.10
    sync_pass(NOW)
    booking.reschedule(w.actors["frontdesk"], appts[0].id, new_start=at(13, 30), now=NOW)
    booking.cancel(w.actors["frontdesk"], appts[1].id, reason="ill", now=NOW)
    for _ in range(6):
        summary = sync_pass(NOW)
        if summary.errors == 0 and outbox_size() == 0:
            break
    emu.fault_rate = 0
    sync_pass(NOW)

    expected = {a.id: a for a in appts if a.id != appts[1].id}
    got = ours(emu, RAO) | ours(emu, KIM)
    assert set(got) == set(expected)
    assert got[appts[0].id]["start"]["dateTime"] == iso(at(13, 30))
    assert {bid for cal in (RAO, KIM, LEE) for bid in busy(cal)} == {e["id"] for e in google_only}
    assert items() == [] and outbox_size() == 0
    assert sum(emu.faults.values()) > 0


def test_a_sync_killed_with_sigkill_mid_pass_converges_when_run_again(w, emu, db):
    appts = [book(w, at(9 + i)) for i in range(5)]
    emu.hold_after_writes = 3  # the third insert is committed by Google, then the process dies
    env = os.environ | {"DATABASE_URL": db.url, "GOOGLE_CALENDAR_API_ENDPOINT": emu.endpoint}
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "sync-calendar", "--quiet"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert emu.holding.wait(60), "the sync never reached its third write"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        emu.hold_after_writes = None
        emu.release.set()
    assert len(ours(emu)) == 3

    summary = sync_pass(NOW)

    assert summary.errors == 0 and summary.skipped == 0  # the dead process's lease is taken over
    assert set(ours(emu)) == {a.id for a in appts}
    assert outbox_size() == 0 and items() == []


def test_dst_days_and_recurring_events_are_in_the_providers_local_time(w, emu):
    spring = date(2030, 3, 10)  # New York springs forward: a 23-hour day
    emu.put_event(
        RAO, {"id": "dstoff0001", "summary": "Off", "start": {"date": "2030-03-10"}, "end": {"date": "2030-03-11"}}
    )
    weekly = {
        "id": "teammeet01", "summary": "Team", "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
        "start": {"dateTime": "2030-03-04T09:00:00-05:00", "timeZone": "America/New_York"},
        "end": {"dateTime": "2030-03-04T10:00:00-05:00", "timeZone": "America/New_York"},
    }  # fmt: skip
    emu.put_event(RAO, weekly)

    sync_pass(NOW)

    blocks = busy()
    day = blocks["dstoff0001"]
    assert (day.all_day_start, day.all_day_end) == (spring, date(2030, 3, 11))
    assert day.end_at - day.start_at == timedelta(hours=23)
    assert day.start_at == datetime(2030, 3, 10, 5, tzinfo=UTC)
    team = sorted((b.start_at for k, b in blocks.items() if k.startswith("teammeet01_")))
    assert team == [
        datetime(2030, 3, 4, 14, tzinfo=UTC),
        datetime(2030, 3, 11, 13, tzinfo=UTC),  # 09:00 New York in summer time
        datetime(2030, 3, 18, 13, tzinfo=UTC),
    ]


def test_two_workers_at_once_on_postgresql_never_sync_one_calendar_twice_at_once(pg_db, emu):
    w = world()
    appts = [book(w, at(9 + i), provider=p, customer=c) for i in range(3) for p, c in (("rao", "ada"), ("kim", "alan"))]
    start = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            start.wait()
            results.append(sync_pass(NOW))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    assert errors == [] and len(results) == 2
    assert all(emu.max_in_flight[c] == 1 for c in (RAO, KIM, LEE))
    assert set(ours(emu, RAO)) | set(ours(emu, KIM)) == {a.id for a in appts}
    assert emu.count(method="POST") == len(appts)  # each event inserted exactly once
    assert sum(r.pushed for r in results) == len(appts)


def test_cli_sync_calendar_prints_a_summary_and_refuses_an_unknown_provider(w, emu, capsys):
    from core.cli import main

    book(w, at(9))
    assert main(["sync-calendar", "--provider", RAO, "--full"]) == 0
    out = capsys.readouterr()
    assert "1/1 calendars synced, pushed 1" in out.out and "1/1" in out.err
    assert main(["sync-calendar", "--provider", "nobody@example.test"]) == 1
    assert "No active provider has the email nobody@example.test" in capsys.readouterr().err


# -- configuration and the outbox ---------------------------------------------------------------


def test_the_event_title_template_is_configurable_and_checked(w, emu, monkeypatch):
    a1 = book(w, at(9))
    monkeypatch.setenv("GOOGLE_CALENDAR_EVENT_SUMMARY", "{type} at {location}")
    sync_pass(NOW)
    assert ours(emu)[a1.id]["summary"] == "Consultation at Downtown"
    monkeypatch.setenv("GOOGLE_CALENDAR_EVENT_SUMMARY", "{type} for {email}")
    with pytest.raises(ValidationError, match="uses email"):
        titles.template()


def test_a_refused_booking_queues_no_push(w, emu):
    book(w, at(9))
    with pytest.raises(ConflictError):
        book(w, at(9), customer="alan")
    assert outbox_size() == 1


def test_credentials_that_are_missing_or_not_a_key_are_named(w, emu, monkeypatch, tmp_path):
    monkeypatch.setenv("GOOGLE_CREDENTIALS_FILE", str(tmp_path / "nope.json"))
    reset_settings()
    with pytest.raises(client.NotConfigured, match="does not exist"):
        client.CalendarApi(RAO, subject=RAO)
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"hello": "world"}')
    monkeypatch.setenv("GOOGLE_CREDENTIALS_FILE", str(bogus))
    reset_settings()
    with pytest.raises(client.NotConfigured, match="neither a service account key nor an OAuth token"):
        client.CalendarApi(RAO, subject=RAO)


def test_without_credentials_or_a_local_endpoint_sync_is_off(db, monkeypatch):
    monkeypatch.delenv("GOOGLE_CALENDAR_API_ENDPOINT", raising=False)
    monkeypatch.delenv("GOOGLE_CREDENTIALS_FILE", raising=False)
    reset_settings()
    with pytest.raises(client.NotConfigured, match="not configured"):
        sync_pass(NOW)
    assert "not configured" in sync_run(NOW)


def test_a_calendar_lease_is_held_by_one_worker_renewed_by_it_and_taken_over_only_from_the_dead(w, emu):
    ensure_states()
    rao = w.providers["rao"].id
    assert claim(rao, "elsewhere:1:aaaa")
    assert not claim(rao, sync_owner())  # held by a live worker on another machine
    summary = sync_pass(NOW, provider_email=RAO)
    assert (summary.skipped, summary.synced) == (1, 0)
    with pytest.raises(LeaseLost):
        renew(rao, sync_owner())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with unit_of_work() as s:
        s.execute(
            update(CalendarSyncState)
            .where(CalendarSyncState.provider_id == rao)
            .values(lease_owner=f"{socket.gethostname()}:{dead.pid}:bbbb")
        )
    assert sync_pass(NOW, provider_email=RAO).synced == 1  # its holder died on this machine

"""Booking storms: many attempts at once, each on its own connection, released together by a
barrier. Exactly one wins, every other gets a ConflictError naming the winner, and the database
holds no overlap afterwards, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from core.base import db as core_db
from core.base.db import unit_of_work
from core.base.errors import ConflictError
from core.base.models import AppointmentType
from core.scheduling import booking
from tests.factories import NOW, OVERLAPS, many_customers, world

# Many PostgreSQL connections at once: one such module at a time (make test groups them on one worker).
pytestmark = pytest.mark.xdist_group("storms")

T10 = datetime(2030, 1, 7, 15, 0, tzinfo=UTC)  # Monday 7 Jan 2030, 10:00 in New York
ATTEMPTS = 50


@pytest.fixture
def wide_pool(db, monkeypatch):
    """Give every thread a PostgreSQL connection of its own (the app's pool keeps 30 at most);
    the `db` fixture disposes of it with the app's engines."""
    if db.kind == "postgresql":
        engine = create_engine(db.url, pool_size=ATTEMPTS + 5, max_overflow=0)
        monkeypatch.setitem(core_db._engines, db.url, engine)
    return db


def storm(calls: list) -> tuple[list, list]:
    """Run the calls in threads released together; return (results, errors)."""
    barrier = threading.Barrier(len(calls))
    results, errors = [], []
    lock = threading.Lock()

    def worker(fn):
        barrier.wait()
        try:
            out = fn()
        except Exception as exc:  # noqa: BLE001 - every outcome is collected and asserted
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(out)

    threads = [threading.Thread(target=worker, args=(fn,)) for fn in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a booking thread hung"
    return results, errors


def count(sql: str | text) -> int:
    with unit_of_work() as s:
        return s.execute(text(sql) if isinstance(sql, str) else sql).scalar_one()


def test_fifty_attempts_at_one_slot_book_it_exactly_once(wide_pool):
    w = world()
    fd = w.actors["frontdesk"]
    kwargs = {
        "type_id": w.types["consult"].id,
        "location_id": w.locations["downtown"].id,
        "provider_id": w.providers["rao"].id,
        "start": T10,
        "intake": {"reason": "check-up"},
        "now": NOW,
    }
    customers = many_customers(w, ATTEMPTS)  # one each: the provider's and room's rules decide, not the customer's
    calls = [(lambda c=c: booking.book(fd, customer_id=c, **kwargs)) for c in customers]
    results, errors = storm(calls)
    assert len(results) == 1
    assert len(errors) == ATTEMPTS - 1
    assert all(isinstance(e, ConflictError) for e in errors), {type(e).__name__ for e in errors}
    for e in errors:
        assert str(e) in {
            "Dr. Rao is already booked 10:00–10:30 at Downtown",
            "Exam 1 is already in use 10:00–10:30 at Downtown",
        }
    assert count("SELECT count(*) FROM appointments") == 1
    assert count(OVERLAPS) == 0


def test_partially_overlapping_attempts_of_different_lengths_leave_one_booking(wide_pool):
    """Every attempt's held block contains 10:20, so any two overlap: exactly one can win."""
    w = world()
    fd = w.actors["frontdesk"]
    with unit_of_work() as s:
        extra = [
            AppointmentType(name=f"Long {m}", duration_min=m, buffer_before_min=b, required_skills=["general"])
            for m, b in ((45, 0), (60, 10), (20, 5))
        ]
        s.add_all(extra)
        s.flush()
        durations = {t.id: (t.duration_min, t.buffer_before_min, 0) for t in extra}
    durations[w.types["consult"].id] = (30, 0, 0)
    durations[w.types["followup"].id] = (15, 5, 10)
    point = T10 + timedelta(minutes=20)
    attempts = []
    for type_id, (minutes, before, after) in sorted(durations.items()):
        # starts whose block [start - before, start + minutes + after) contains `point`
        first = point - timedelta(minutes=minutes + after) + timedelta(minutes=5)
        start = first
        while start - timedelta(minutes=before) <= point:
            attempts.append((type_id, start))
            start += timedelta(minutes=5)
    attempts = (attempts * 5)[:ATTEMPTS]
    assert len(attempts) == ATTEMPTS
    customers = many_customers(w, ATTEMPTS)
    calls = [
        (
            lambda type_id=type_id, start=start, customer=customer: booking.book(
                fd,
                type_id=type_id,
                location_id=w.locations["downtown"].id,
                customer_id=customer,
                provider_id=w.providers["rao"].id,
                start=start,
                now=NOW,
            )
        )
        for (type_id, start), customer in zip(attempts, customers, strict=True)
    ]
    results, errors = storm(calls)
    assert len(results) == 1
    assert all(isinstance(e, ConflictError) for e in errors), {f"{type(e).__name__}: {e}" for e in errors}
    assert len(errors) == ATTEMPTS - 1
    winner = results[0].appointment
    assert all(("Dr. Rao is already booked" in str(e)) or ("is already in use" in str(e)) for e in errors)
    assert all(" at Downtown" in str(e) for e in errors)
    assert winner.provider_id == w.providers["rao"].id
    assert count("SELECT count(*) FROM appointments") == 1
    assert count(OVERLAPS) == 0


def test_a_group_session_never_takes_more_than_its_capacity(wide_pool):
    """Group members share a group_key, so the overlap rule cannot count them: the capacity
    check in the transaction (with a row lock on PostgreSQL) must hold under a storm."""
    w = world()
    desk = w.actors["harbordesk"]
    start = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)  # 10:00 in London
    calls = [
        (
            lambda: booking.book(
                desk,
                type_id=w.types["class"].id,
                location_id=w.locations["harbor"].id,
                customer_id=w.customers["mary"].id,
                provider_id=w.providers["lee"].id,
                start=start,
                now=NOW,
            )
        )
        for _ in range(20)
    ]
    results, errors = storm(calls)
    assert len(results) == 6
    assert len(errors) == 14 and all(isinstance(e, ConflictError) for e in errors)
    assert all("is full (6 of 6 places taken)" in str(e) for e in errors)
    assert count("SELECT count(*) FROM appointments WHERE status <> 'cancelled'") == 6
    assert count(OVERLAPS) == 0


def test_a_routed_storm_fills_every_free_provider_and_room(wide_pool):
    """30 desks leave the provider to routing while Dr. Kim and Dr. Rao (and Exam 1 and 2) are
    free: both are booked, and only the losers of the last free provider are refused."""
    w = world()
    fd = w.actors["frontdesk"]
    customers = many_customers(w, 30)
    calls = [
        (
            lambda c=c: booking.book(
                fd,
                type_id=w.types["consult"].id,
                location_id=w.locations["downtown"].id,
                customer_id=c,
                start=T10,
                intake={"reason": "check-up"},
                now=NOW,
            )  # fmt: skip
        )
        for c in customers
    ]
    results, errors = storm(calls)
    assert sorted(r.appointment.provider.name for r in results) == ["Dr. Kim", "Dr. Rao"]
    assert sorted(r.appointment.room.name for r in results) == ["Exam 1", "Exam 2"]
    assert len(errors) == 28 and all(isinstance(e, ConflictError) for e in errors)
    assert all(str(e).startswith("No provider is free for Consultation at 10:00") for e in errors), {
        str(e) for e in errors
    }
    assert count("SELECT count(*) FROM appointments") == 2
    assert count(OVERLAPS) == 0

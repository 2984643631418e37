"""The demo data obeys the database's rules and the product's, and looks like a real clinic group."""

import json
import os
import shutil
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from core import demo
from core.base import migrate
from core.base.config import reset_settings
from core.base.db import constraint_name, dispose_engines, get_engine, read_session, unit_of_work
from core.base.errors import ValidationError
from core.base.models import (
    Appointment,
    AppointmentHistory,
    AppointmentType,
    Customer,
    Inquiry,
    Location,
    Provider,
    TimeOff,
    User,
    WaitlistEntry,
    WorkingHours,
)
from core.people import phones
from core.security.passwords import verify_password
from tests.factories import use_database

# A Friday in March: the year behind it holds both DST changes of 2025 in New York and London,
# and New York's 2026 spring-forward; London's falls in the weeks ahead.
NOW = datetime(2026, 3, 20, 14, 30, tzinfo=UTC)


def seed(n: int = 1500, seed: int = 11, **kw) -> demo.Summary:
    return demo.seed_demo(n, seed=seed, now=NOW, password_rounds=4, **kw)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def _shared_demos(request, tmp_path_factory, _sqlite_template):
    """Demo databases seeded once per module and database kind, for the tests that only read
    them: `get(n)` seeds `seed(n)` into a database of its own on first use (never the `db`
    fixture's, which each test resets). Torn down with the module, or when xdist runs another
    module's test in between; set up again the same way after that."""
    made: dict[int, tuple[str, demo.Summary]] = {}
    dropped: list[str] = []
    if request.param == "postgresql":
        pg = request.getfixturevalue("_pg_database")
        admin = pg.engine.execution_options(isolation_level="AUTOCOMMIT")
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")

    def get(n: int) -> tuple[str, demo.Summary]:
        if n not in made:
            if request.param == "sqlite":
                path = tmp_path_factory.mktemp("demo") / f"demo{n}.db"
                shutil.copyfile(_sqlite_template, path)
                url = f"sqlite:///{path}"
            else:
                name = f"apptest_demo{n}_{worker}_{os.getpid()}"
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                    conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
                dropped.append(name)
                url = pg.url.rsplit("/", 1)[0] + f"/{name}"
                migrate.upgrade(get_engine(url))
            made[n] = url, seed(n, engine=get_engine(url))
        return made[n]

    yield get
    for url, _ in made.values():
        get_engine(url).dispose()
    for name in dropped:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _read_only_demo(shared, n: int, monkeypatch):
    url, summary = shared(n)
    use_database(url, monkeypatch)
    yield summary
    dispose_engines()
    reset_settings()


@pytest.fixture
def demo_1500(_shared_demos, monkeypatch):
    """The app pointed at `seed()`'s demo (1,500 appointments, seed 11), shared: read it, never write."""
    yield from _read_only_demo(_shared_demos, 1500, monkeypatch)


@pytest.fixture
def demo_2000(_shared_demos, monkeypatch):
    """The app pointed at `seed(2000)`'s demo (seed 11), shared: read it, never write."""
    yield from _read_only_demo(_shared_demos, 2000, monkeypatch)


def _rows(model, engine=None) -> list[dict]:
    table = model.__table__
    with (engine or get_engine()).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]


def _appointments(engine=None) -> list[dict]:
    return _rows(Appointment, engine)


@pytest.mark.parametrize("column", ["provider_id", "room_id"])
def test_active_appointments_never_overlap_for_a_provider_or_a_room(demo_1500, column):
    clash = text(
        f"""SELECT count(*) FROM appointments a JOIN appointments b
              ON a.{column} = b.{column} AND a.id < b.id
           WHERE a.status <> 'cancelled' AND b.status <> 'cancelled' AND a.group_key <> b.group_key
             AND a.block_start < b.block_end AND b.block_start < a.block_end"""
    )
    with get_engine().connect() as conn:
        assert conn.scalar(clash) == 0
        # The self-join has something to look at: busy days with back-to-back blocks.
        assert conn.scalar(text(f"SELECT count(*) FROM appointments WHERE {column} IS NOT NULL")) > 500


def test_blocks_are_the_appointment_plus_its_types_buffers(demo_1500):
    types = {t["id"]: t for t in _rows(AppointmentType)}
    for a in _appointments():
        t = types[a["type_id"]]
        assert a["end_at"] - a["start_at"] == timedelta(minutes=t["duration_min"])
        assert a["start_at"] - a["block_start"] == timedelta(minutes=t["buffer_before_min"])
        assert a["block_end"] - a["end_at"] == timedelta(minutes=t["buffer_after_min"])


def test_every_appointment_is_inside_local_working_hours_and_outside_time_off(demo_1500):
    with read_session() as s:
        zones = {loc.id: ZoneInfo(loc.timezone) for loc in s.scalars(select(Location))}
        hours = defaultdict(list)
        for wh in s.scalars(select(WorkingHours)):
            hours[wh.provider_id, wh.location_id, wh.weekday].append((wh.start_time, wh.end_time))
        time_off = defaultdict(list)
        for off in s.scalars(select(TimeOff)):
            time_off[off.provider_id].append((off.start_at, off.end_at))
    offsets_seen = defaultdict(set)
    for a in _appointments():
        z = zones[a["location_id"]]
        start, end = a["block_start"].astimezone(z), a["block_end"].astimezone(z)
        assert start.date() == end.date()
        shifts = hours[a["provider_id"], a["location_id"], start.weekday()]
        assert any(s <= start.time() and end.time() <= e for s, e in shifts), (a["id"], start, end, shifts)
        for off_start, off_end in time_off[a["provider_id"]]:
            assert not (a["block_start"] < off_end and off_start < a["block_end"]), a["id"]
        offsets_seen[a["location_id"]].add(start.utcoffset())
    # Each location's hours were kept on both sides of its DST changes (UTC offsets differ).
    assert all(len(offsets) == 2 for offsets in offsets_seen.values())


def test_past_appointments_have_outcomes_and_upcoming_ones_are_still_open(demo_1500):
    windows = {t["id"]: timedelta(hours=t["cancellation_window_hours"]) for t in _rows(AppointmentType)}
    rows = _appointments()
    for a in rows:
        assert a["booked_at"] < a["start_at"] and a["booked_at"] <= NOW
        if a["start_at"] > NOW:
            assert a["status"] in {"booked", "confirmed", "cancelled"}
            assert a["checked_in_at"] is None and a["completed_at"] is None
        elif a["end_at"] <= NOW:
            assert a["status"] in {"completed", "no_show", "cancelled"}
        if a["status"] == "completed":
            assert a["booked_at"] < a["checked_in_at"] <= a["completed_at"] <= NOW
        if a["status"] == "no_show":
            assert a["checked_in_at"] is None and a["completed_at"] is None
        if a["status"] == "confirmed":
            assert a["booked_at"] < a["confirmed_at"] <= NOW
        if a["status"] == "cancelled":
            assert a["cancel_reason"]
            assert a["booked_at"] < a["cancelled_at"] <= min(NOW, a["start_at"])
            assert a["late_cancel"] == (a["start_at"] - a["cancelled_at"] < windows[a["type_id"]])
            assert a["completed_at"] is None
        else:
            assert a["cancelled_at"] is None and not a["late_cancel"]
    assert {a["status"] for a in rows if a["start_at"] > NOW} >= {"booked", "confirmed", "cancelled"}
    assert {a["status"] for a in rows if a["end_at"] <= NOW} == {"completed", "no_show", "cancelled"}


def test_the_same_seed_and_clock_give_identical_rows_in_a_fresh_database(db, tmp_path):
    seed(seed=5)
    other = get_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate.upgrade(other)
    seed(seed=5, engine=other)
    assert _appointments() == _appointments(other)
    for model in (Customer, Provider, WorkingHours, TimeOff, Inquiry, AppointmentHistory, WaitlistEntry):
        rows = _rows(model)
        if model is WaitlistEntry:  # created_at is relative to the clock; compare the rest
            assert len(rows) == len(_rows(model, other))
            continue
        assert rows == _rows(model, other) and rows, model.__name__

    third = get_engine(f"sqlite:///{tmp_path / 'third.db'}")
    migrate.upgrade(third)
    seed(seed=6, engine=third)
    assert _appointments(third) != _appointments(other)


def test_the_demo_spans_time_zones_and_prints_one_user_per_role(demo_1500):
    summary = demo_1500
    text_out = summary.describe()
    with read_session() as s:
        locations = s.scalars(select(Location).order_by(Location.id)).all()
        users = {u.username: u for u in s.scalars(select(User))}
        assert len(locations) >= 3
        assert len({loc.timezone for loc in locations}) >= 2
        first = locations[0]
        assert {u.role for u in users.values()} == {"front_desk", "provider", "manager", "analyst", "admin"}
        for username, password, role in demo.DEMO_USERS:
            assert username in text_out and password in text_out
            user = users[username]
            assert user.role == role and verify_password(password, user.password_hash)
        assert [loc.id for loc in users["frontdesk"].locations] == [first.id]
        assert [loc.id for loc in users["manager"].locations] == [first.id]
        assert users["analyst"].all_locations and users["admin"].all_locations
        provider_id = users["provider"].provider_id
        at_first = s.scalar(
            select(func.count()).where(Appointment.provider_id == provider_id, Appointment.location_id == first.id)
        )
        assert at_first > 0


def test_no_shows_rise_with_lead_time(db):
    seed(3000, seed=3)
    short, long_ = [0, 0], [0, 0]  # [no-shows, outcomes]
    for a in _appointments():
        if a["status"] not in ("completed", "no_show"):
            continue
        lead = a["start_at"] - a["booked_at"]
        bucket = short if lead < timedelta(days=2) else long_ if lead > timedelta(days=14) else None
        if bucket is not None:
            bucket[0] += a["status"] == "no_show"
            bucket[1] += 1
    assert short[1] > 200 and long_[1] > 200
    assert long_[0] / long_[1] > 1.5 * short[0] / short[1]


def test_the_demo_has_the_patterns_a_manager_recognises(demo_2000):
    summary = demo_2000
    rows = _appointments()
    assert abs(len(rows) - 2000) <= 100 and summary.appointments == len(rows)
    assert {a["source"] for a in rows} == {"front_desk", "online", "phone", "google"}
    assert any(a["late_cancel"] for a in rows)
    # NOW is a Friday afternoon: the next 48 hours are mostly a weekend, so look to Tuesday.
    soon = [a for a in rows if NOW < a["start_at"] < NOW + timedelta(hours=96)]
    assert any(a["status"] == "booked" for a in soon)  # unconfirmed, days ahead
    assert any(not a["intake_complete"] for a in rows if a["start_at"] > NOW)
    # A freed slot rebooked: a cancelled appointment sharing its time with an active one.
    active = {(a["provider_id"], a["start_at"]) for a in rows if a["status"] != "cancelled"}
    assert any((a["provider_id"], a["start_at"]) in active for a in rows if a["status"] == "cancelled")
    groups = defaultdict(int)
    for a in rows:
        groups[a["group_key"]] += 1
    assert max(groups.values()) > 1
    with read_session() as s:
        capacity = dict(s.execute(select(AppointmentType.id, AppointmentType.capacity)).all())
        assert all(capacity[a["type_id"]] > 1 for a in rows if groups[a["group_key"]] > 1)
        moves = s.scalar(select(func.count()).where(AppointmentHistory.kind == "reschedule"))
        assert moves == sum(a["reschedule_count"] for a in rows) > 0
        assert s.scalar(select(func.count()).where(AppointmentHistory.kind == "status")) > 0
        inquiries = s.scalar(select(func.count()).select_from(Inquiry))
        converted = s.scalar(select(func.count()).where(Inquiry.appointment_id.is_not(None)))
        assert 0.55 <= converted / inquiries <= 0.75
        assert s.scalar(select(func.count()).select_from(WaitlistEntry)) > 0
        assert s.scalar(select(func.count()).where(Customer.home_location_id.is_(None))) == 0


def test_seeding_fills_only_an_empty_database(db):
    assert demo.is_empty()
    seed(200)
    assert not demo.is_empty()
    with pytest.raises(ValidationError, match="empty database"):
        seed(200)


def test_the_database_rules_hold_after_seeding(db):
    seed(300)
    taken = next(a for a in _appointments() if a["status"] == "completed")
    copy = {k: v for k, v in taken.items() if k not in ("id", "external_id")}
    copy["group_key"] = "another-booking"
    with pytest.raises(IntegrityError) as err, unit_of_work() as s:
        s.execute(insert(Appointment), copy)
    assert constraint_name(err.value) == "ex_appointments_provider_overlap"
    # New rows get fresh ids after the bulk load (PostgreSQL's sequences moved past it).
    with unit_of_work() as s:
        s.add(Location(name="New site", timezone="Europe/London"))
        copy.update(status="cancelled", group_key="cancelled-copy")
        s.execute(insert(Appointment), copy)


def test_sqlite_triggers_and_indexes_are_restored_exactly(sqlite_db):
    schema = text("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
    with sqlite_db.engine.connect() as conn:
        before = conn.execute(schema).all()
    seed(300)
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(schema).all() == before


def test_sizing_grows_the_chain_with_the_requested_volume():
    assert demo.sizing(25_000)[:2] == (4, 15)
    assert demo.sizing(2_000)[0] == 3
    locations, providers, customers = demo.sizing(1_000_000)
    assert locations >= 50 and providers >= 400 and customers >= 100_000


def test_upcoming_weeks_fill_up_towards_today(demo_2000):
    rows = [a for a in _appointments() if a["status"] != "cancelled" and a["start_at"] > NOW]
    next_week = sum(1 for a in rows if a["start_at"] < NOW + timedelta(days=7))
    fourth_week = sum(1 for a in rows if a["start_at"] >= NOW + timedelta(days=21))
    assert next_week > fourth_week > 0
    assert max(a["start_at"] for a in rows).date() <= date(2026, 4, 18)


def test_no_customer_is_booked_twice_at_overlapping_times(db):
    seed(25_000)  # the default volume: busy enough that random picks would clash (41 pairs did)
    clash = text(
        """SELECT count(*) FROM appointments a JOIN appointments b
              ON a.customer_id = b.customer_id AND a.id < b.id
           WHERE a.status <> 'cancelled' AND b.status <> 'cancelled' AND a.group_key <> b.group_key
             AND a.start_at < b.end_at AND b.start_at < a.end_at"""
    )
    with db.engine.connect() as conn:
        assert conn.scalar(clash) == 0
        assert conn.scalar(text("SELECT count(DISTINCT customer_id) FROM appointments")) > 100  # customers return


def test_demo_phones_are_e164(demo_1500):
    with read_session() as s:
        numbers = s.scalars(select(Customer.phone).where(Customer.phone.is_not(None))).all()
    assert numbers and all(phones.normalised_or_typed(n, None) == n and n.startswith("+") for n in numbers)


_PG_INDEXES = text(
    "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1, 2"
)
_PG_CONSTRAINTS = text(
    "SELECT conrelid::regclass::text, conname, contype::text, pg_get_constraintdef(oid), convalidated, "
    "condeferrable, condeferred FROM pg_constraint WHERE connamespace = current_schema()::regnamespace "
    "ORDER BY 1, 2"
)


def test_postgresql_seeding_leaves_every_index_and_constraint_of_the_migrated_schema(pg_db):
    with pg_db.engine.connect() as conn:
        indexes, constraints = conn.execute(_PG_INDEXES).all(), conn.execute(_PG_CONSTRAINTS).all()
    assert any(c[2] == "x" for c in constraints) and any(c[2] == "f" for c in constraints)
    seed(300)
    with pg_db.engine.connect() as conn:
        assert conn.execute(_PG_INDEXES).all() == indexes
        assert conn.execute(_PG_CONSTRAINTS).all() == constraints

    # The rules are enforced again, not merely listed: an overlapping booking of the same room
    # (by another provider) and an appointment of a customer who does not exist are refused.
    rows = _appointments()
    taken = next(a for a in rows if a["status"] == "completed" and a["room_id"] is not None)
    other = next(a["provider_id"] for a in rows if a["provider_id"] != taken["provider_id"])
    copy = {k: v for k, v in taken.items() if k not in ("id", "external_id")}
    copy.update(group_key="another-booking", provider_id=other)
    with pytest.raises(IntegrityError) as err, unit_of_work() as s:
        s.execute(insert(Appointment), copy)
    assert constraint_name(err.value) == "ex_appointments_room_overlap"
    copy.update(status="cancelled", customer_id=10**8)
    with pytest.raises(IntegrityError) as err, unit_of_work() as s:
        s.execute(insert(Appointment), copy)
    assert constraint_name(err.value) == "fk_appointments_customer_id_customers"


def test_postgresql_stores_what_sqlite_does_for_the_same_seed_and_clock(pg_db, tmp_path):
    """COPY writes instants, JSON and booleans as text the server parses: they read back as the
    very values the SQLite load (and the ORM) gives."""
    seed(600, seed=4)
    lite = get_engine(f"sqlite:///{tmp_path / 'lite.db'}")
    migrate.upgrade(lite)
    seed(600, seed=4, engine=lite)
    pg_rows = _appointments()
    assert pg_rows == _appointments(lite)
    for model in (Customer, Inquiry, AppointmentHistory):
        rows = _rows(model)
        assert rows == _rows(model, lite) and rows, model.__name__
    assert isinstance(pg_rows[0]["intake_answers"], dict) and isinstance(pg_rows[0]["late_cancel"], bool)
    with pg_db.engine.connect() as conn:
        # The JSON text is json.dumps' (what SQLAlchemy writes).
        for raw in conn.scalars(
            text("SELECT intake_answers::text FROM appointments UNION SELECT new::text FROM appointment_history")
        ):
            assert raw == json.dumps(json.loads(raw))


def test_demo_inquiries_are_recorded_with_the_desks_rules_and_audited(demo_2000):
    from core.base.models import AuditLog
    from core.inquiries.services import CHANNELS, DESK_REASONS
    from core.security import audit_chain

    summary = demo_2000
    rows = _rows(Inquiry)
    assert 1.15 <= summary.appointments / len(rows) <= 1.45  # about one inquiry per 1.3 appointments
    assert {r["channel"] for r in rows} == set(CHANNELS)
    assert all(r["customer_id"] is not None for r in rows)
    closed = [r for r in rows if r["closed_reason"] is not None]
    assert closed and {r["closed_reason"] for r in closed} <= set(DESK_REASONS)
    assert all(r["booked_at"] is not None for r in rows if r["appointment_id"] is not None)
    audits = [r for r in _rows(AuditLog) if r["entity"] == "inquiry"]
    assert sorted(r["location_id"] for r in audits) == sorted({r["location_id"] for r in rows})
    assert sum(r["after"]["recorded"] for r in audits) == len(rows) == summary.counts["inquiries"]
    with get_engine().connect() as conn:
        assert audit_chain.verify(conn).ok

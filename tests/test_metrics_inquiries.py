"""Conversion's inquiry counts read from their rollup (metric_inquiry_day and _month) equal the
count over the inquiries themselves, for random inquiries in four zones (New York and London
on their DST days, Kolkata at +05:30, Lord Howe whose DST moves by half an hour) received near
some zone's local midnight, random bins that split months, and a location filter; a rebuild of
some days leaves the others alone and equals a full rebuild; the migration fills the rollup."""

from __future__ import annotations

import random
from datetime import date, timedelta

from alembic import command
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from core.base import migrate
from core.base.db import read_session, unit_of_work
from core.base.models import Inquiry, Location
from core.base.tz import local_day_bounds, to_local
from core.metrics import inquiries, sources
from core.metrics.models import MetricInquiryDay, MetricInquiryMonth
from core.metrics.rebuild import rebuild_inquiry_rollup, rebuild_rollups
from core.metrics.sources import Filters
from core.security.access import SYSTEM
from tests.factories import world
from tests.metrics_fixtures import put
from tests.test_availability_properties import PROPERTY_SETTINGS

ZONES = {"downtown": "America/New_York", "harbor": "Europe/London", "bay": "Asia/Kolkata",
         "isle": "Australia/Lord_Howe"}  # fmt: skip
DAYS = [
    date(2026, 3, 8),  # New York springs forward
    date(2026, 11, 1),  # New York falls back
    date(2026, 3, 29),  # London springs forward
    date(2026, 10, 25),  # London falls back
    date(2026, 4, 5),  # Lord Howe falls back half an hour
    date(2026, 4, 30),  # a month's last day
    date(2026, 6, 1),  # a month's first day
    date(2026, 7, 15),
]
FIRST, LAST = date(2026, 2, 20), date(2026, 11, 20)
inquiry = st.tuples(
    st.sampled_from(sorted(ZONES)),  # the location
    st.sampled_from(DAYS),
    st.sampled_from(sorted(ZONES)),  # whose local midnight the time is near
    st.integers(-150, 150),  # minutes from that midnight
    st.booleans(),  # converted
)
# Edges on the inquiries' days (and the days after) half the time: a day misplaced by a zone shows.
edge = st.one_of(st.sampled_from(sorted({d + timedelta(days=k) for d in DAYS for k in (0, 1)})), st.dates(FIRST, LAST))
bins = st.lists(edge, min_size=2, max_size=6, unique=True).map(sorted)


def _world():
    w = world()
    with unit_of_work() as s:
        for name in ("bay", "isle"):
            w.locations[name] = Location(name=name.title(), timezone=ZONES[name], address=f"1 {name} Rd")
            s.add(w.locations[name])
        s.flush()
        appointment_id = put(s, w, local_day_bounds(DAYS[0], ZONES["downtown"])[0] + timedelta(hours=15)).id
    return w, {name: w.locations[name].id for name in ZONES}, appointment_id


def _add(inquiries: list[tuple], ids: dict[str, int], appointment_id: int) -> None:
    with unit_of_work() as s:
        for location, day, near, minutes, converted in inquiries:
            s.add(
                Inquiry(
                    location_id=ids[location],
                    received_at=local_day_bounds(day, ZONES[near])[0] + timedelta(minutes=minutes),
                    appointment_id=appointment_id if converted else None,
                )
            )


def _counts(frame) -> dict:
    """{(bin, group?): (received, converted)}, rows of one key summed (the raw read has a row per zone)."""
    keys = [c for c in frame.columns if c not in ("received", "converted")]
    if frame.empty:
        return {}
    summed = frame.astype("int64").groupby(keys)[["received", "converted"]].sum()
    return {k if isinstance(k, tuple) else (k,): (int(r), int(c)) for k, (r, c) in summed.iterrows()}


def _both(edges: list[date], filters: Filters, by: str | None) -> tuple[dict, dict]:
    with read_session() as s:
        zones = sources.scoped_locations(s, SYSTEM, filters)
        rolled = inquiries.inquiry_counts(s, zones, filters, edges, by=by)
        raw = inquiries._raw_inquiry_counts(s, zones, filters, edges, by=by)
    assert list(rolled.columns) == list(raw.columns)
    return _counts(rolled), _counts(raw)


def _by_hand(edges: list[date], location_ids: set[int]) -> int:
    """Inquiries whose local date of receipt lies in [edges[0], edges[-1])."""
    with read_session() as s:
        zones = dict(s.execute(select(Location.id, Location.timezone)).all())
        rows = s.execute(select(Inquiry.location_id, Inquiry.received_at)).all()
    return sum(loc in location_ids and edges[0] <= to_local(at, zones[loc]).date() < edges[-1] for loc, at in rows)


def test_the_rollup_counts_what_the_inquiries_count(db):
    w, ids, appointment_id = _world()

    @settings(PROPERTY_SETTINGS, max_examples=20)
    @given(inquiries=st.lists(inquiry, max_size=40), edges=bins, only=st.sampled_from([None, *sorted(ZONES)]))
    def check(inquiries, edges, only):
        with unit_of_work() as s:
            s.execute(delete(Inquiry))
        _add(inquiries, ids, appointment_id)
        with unit_of_work() as s:
            rebuild_rollups(s)
        filters = Filters(location_id=ids[only] if only else None)
        for by in (None, "location"):
            rolled, raw = _both(edges, filters, by)
            assert rolled == raw, (by, edges)
        scope = {ids[only]} if only else set(ids.values())
        assert sum(r for r, _ in rolled.values()) == _by_hand(edges, scope)

    check()


def test_the_dashboard_edges_read_months_weeks_and_days_alike(db):
    """Bins like a year's dashboard: a year and its previous year (whole months), then twelve
    weeks (days), the weeks crossing month ends."""
    w, ids, appointment_id = _world()
    rng = random.Random(11)
    days = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days)]
    _add([(rng.choice(sorted(ZONES)), rng.choice(days), rng.choice(sorted(ZONES)), rng.randint(-150, 150),
           rng.random() < 0.6) for _ in range(400)], ids, appointment_id)  # fmt: skip
    with unit_of_work() as s:
        rebuild_rollups(s)
    last = date(2026, 11, 15)  # a Sunday
    edges = [last - timedelta(days=364 * 2 - 1), last - timedelta(days=363)]
    edges += [last + timedelta(days=1) - timedelta(weeks=k) for k in range(12, -1, -1)]
    for by in (None, "location"):
        rolled, raw = _both(edges, Filters(), by)
        assert rolled == raw and rolled


def _rollup() -> dict:
    with read_session() as s:
        return {
            "day": {tuple(r[:2]): tuple(r[2:]) for r in s.execute(select(MetricInquiryDay.__table__))},
            "month": {tuple(r[:2]): tuple(r[2:]) for r in s.execute(select(MetricInquiryMonth.__table__))},
        }


def test_a_rebuild_of_some_days_leaves_the_others_and_equals_a_full_rebuild(db):
    w, ids, appointment_id = _world()
    rng = random.Random(5)
    _add([(rng.choice(sorted(ZONES)), rng.choice(DAYS), rng.choice(sorted(ZONES)), rng.randint(-150, 150),
           rng.random() < 0.5) for _ in range(120)], ids, appointment_id)  # fmt: skip
    with unit_of_work() as s:
        rebuild_rollups(s)
    before = _rollup()
    # Tamper with a day outside the rebuilt days' months: a partial rebuild must not touch it.
    july = (ids["harbor"], date(2026, 7, 15))
    assert july in before["day"]
    with unit_of_work() as s:
        s.execute(
            update(MetricInquiryDay)
            .where(MetricInquiryDay.location_id == july[0], MetricInquiryDay.day == july[1])
            .values(received=MetricInquiryDay.received + 100)
        )
    # New inquiries in New York on its DST days, near local midnight (both sides of it).
    rebuilt = [date(2026, 3, 8), date(2026, 3, 9), date(2026, 11, 1)]
    _add([("downtown", day, "downtown", minutes, True) for day in rebuilt[::2] for minutes in (1, 60, 23 * 60 - 1)],
         ids, appointment_id)  # fmt: skip
    with unit_of_work() as s:
        rebuild_inquiry_rollup(s, [ids["downtown"]], rebuilt)
    partial = _rollup()
    for key, (received, converted) in before["day"].items():
        if key[0] != ids["downtown"] or key[1] not in rebuilt:
            assert partial["day"][key] == (received + 100 * (key == july), converted)
    with unit_of_work() as s:
        s.execute(
            update(MetricInquiryDay)
            .where(MetricInquiryDay.location_id == july[0], MetricInquiryDay.day == july[1])
            .values(received=MetricInquiryDay.received - 100)
        )
    assert _rollup() != before
    with unit_of_work() as s:
        rebuild_inquiry_rollup(s)
    assert _rollup() == partial | {"day": {**partial["day"], july: before["day"][july]}}
    # The same through rebuild_rollups (as an import or the CLI call it), for an empty day list too.
    with unit_of_work() as s:
        rebuild_rollups(s, [ids["downtown"]], rebuilt)
        rebuild_rollups(s, None, [])
    assert _rollup() == partial | {"day": {**partial["day"], july: before["day"][july]}}


def test_the_migration_fills_the_rollup_from_the_inquiries(db):
    w, ids, appointment_id = _world()
    rng = random.Random(3)
    _add([(rng.choice(sorted(ZONES)), rng.choice(DAYS), rng.choice(sorted(ZONES)), rng.randint(-150, 150),
           rng.random() < 0.5) for _ in range(60)], ids, appointment_id)  # fmt: skip
    with unit_of_work() as s:
        rebuild_inquiry_rollup(s)
    built = _rollup()
    assert built["day"] and built["month"] and {month.day for _, month in built["month"]} == {1}
    cfg = migrate.alembic_config()
    for step, target in ((command.downgrade, "0017"), (command.upgrade, "head")):
        with db.engine.connect() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, target)
    assert _rollup() == built

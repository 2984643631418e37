"""The rollup kept by booking's events equals a rebuild from the appointments, and the KPIs read
from it equal the raw computation, for random histories of bookings, reschedules across days
and zones (DST Sundays in New York and London, a summer Sunday whose early hours are the day
before in UTC), cancellations (late or not), completions, no-shows and notes; and after a
location changes its zone."""

from __future__ import annotations

import contextlib
import math
from datetime import date, datetime, time, timedelta

import pytest
import yaml
from alembic import command
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from core.base import migrate
from core.base.db import read_session, unit_of_work
from core.base.errors import DomainError, ValidationError
from core.base.models import Appointment
from core.base.tz import local_to_utc, to_local, today_in
from core.metrics.definitions import Window
from core.metrics.kpis import kpis
from core.metrics.models import (
    ROLLUP_MODELS,
    MetricDaily,
    MetricLead,
    MetricLeadMonth,
    MetricLeadMonthAll,
    MetricLeadWeek,
    MetricLeadWeekAll,
    MetricLocationDay,
    MetricLocationMonth,
    MetricProviderDay,
    MetricProviderWeekday,
)
from core.metrics.rebuild import rebuild_rollups
from core.metrics.rollup import COUNTERS
from core.scheduling import booking
from core.security.access import SYSTEM
from core.settings.config_file import apply_config, export_config
from core.settings.locations import save_location
from tests.metrics_fixtures import hand_week
from tests.test_availability_properties import DESK, PROPERTY_SETTINGS, PROVIDERS, TYPES, build, local_start, reset

DAYS = [
    ("downtown", date(2026, 3, 8)),  # New York springs forward
    ("downtown", date(2026, 11, 1)),  # New York falls back
    ("harbor", date(2026, 3, 29)),  # London springs forward
    ("harbor", date(2026, 6, 7)),  # summer: 00:00-01:00 in London is Saturday in UTC
]
WINDOW = Window(date(2026, 3, 1), date(2026, 11, 7))  # whole weeks hold every day in DAYS
SPLIT = Window(date(2026, 3, 8), date(2026, 6, 7))  # its first week is one day: read by the day
operation = st.tuples(
    st.sampled_from(["book", "book", "reschedule", "cancel", "complete", "no_show", "note"]),
    st.integers(0, 63),  # which appointment (modulo how many there are)
    st.sampled_from(DAYS),
    st.integers(0, 12 * 12 - 1),  # a 5-minute mark of the Sunday shifts
    st.integers(0, 7),  # type / provider pick
    st.integers(1, 72),  # hours before the start that the change happens
)


def _rollup() -> dict:
    with read_session() as s:
        rows = s.scalars(select(MetricDaily)).all()
        assert all(r.weekday == r.day.weekday() for r in rows)
        daily = {
            (r.location_id, r.day, r.provider_key, r.type_key): tuple(getattr(r, c) for c in COUNTERS)
            for r in rows
            if r.appointments
        }
        lead = {tuple(r[:5]): r[5] for r in s.execute(select(MetricLead.__table__))}
        weekly = {tuple(r[:3]): r[3] for r in s.execute(select(MetricLeadWeek.__table__))}
        monthly = {tuple(r[:3]): r[3] for r in s.execute(select(MetricLeadMonth.__table__))}
        weekly_all = {tuple(r[:2]): r[2] for r in s.execute(select(MetricLeadWeekAll.__table__))}
        monthly_all = {tuple(r[:2]): r[2] for r in s.execute(select(MetricLeadMonthAll.__table__))}
        provider_days = s.scalars(select(MetricProviderDay)).all()
        assert all(r.weekday == r.day.weekday() for r in provider_days)
        by_provider = {
            (r.location_id, r.day, r.provider_key): tuple(getattr(r, c) for c in COUNTERS)
            for r in provider_days
            if r.appointments
        }
        by_location = {
            (r.location_id, r.day): tuple(getattr(r, c) for c in COUNTERS)
            for r in s.scalars(select(MetricLocationDay))
            if r.appointments
        }
        by_month = {
            (r.location_id, r.month): tuple(getattr(r, c) for c in COUNTERS)
            for r in s.scalars(select(MetricLocationMonth))
            if r.appointments
        }
    return {"daily": daily, "lead": lead, "weekly": weekly, "monthly": monthly, "weekly_all": weekly_all,
            "monthly_all": monthly_all, "by_provider": by_provider, "by_location": by_location,
            "by_month": by_month}  # fmt: skip


def _weekdays() -> set:
    with read_session() as s:
        return set(s.execute(select(MetricProviderWeekday.__table__)).all())


def _summed(rows: dict, key) -> dict:
    """The rows' counts summed by key(row key)."""
    summed: dict = {}
    for k, counts in rows.items():
        before = summed.get(key(k), (0,) * len(counts))
        summed[key(k)] = tuple(a + b for a, b in zip(before, counts, strict=True))
    return summed


def _consistent(rollup: dict) -> None:
    """Each coarser table is the finer one summed."""
    assert rollup["by_provider"] == _summed(rollup["daily"], lambda k: k[:3])
    assert rollup["by_location"] == _summed(rollup["by_provider"], lambda k: k[:2])
    assert rollup["by_month"] == _summed(rollup["by_location"], lambda k: (k[0], k[1].replace(day=1)))
    for coarse in ("weekly", "monthly"):
        every = {k: (n,) for k, n in rollup[f"{coarse}_all"].items()}
        assert every == _summed({k: (n,) for k, n in rollup[coarse].items()}, lambda k: k[1:])


def _raw(w, window: Window) -> dict:
    """The KPIs straight from the appointments, by the definitions, without the rollup."""
    zones = {loc.id: loc.timezone for loc in w.locations.values()}
    with read_session() as s:
        rows = s.execute(select(Appointment)).scalars().all()
        appts = [a for a in rows if to_local(a.start_at, zones[a.location_id]).date() in window]
        s.expunge_all()  # plain values from here on
    n = len(appts)
    completed = sum(a.status == "completed" for a in appts)
    no_show = sum(a.status == "no_show" for a in appts)
    leads = sorted(
        (to_local(a.start_at, zones[a.location_id]).date() - to_local(a.booked_at, zones[a.location_id]).date()).days
        for a in appts
    )

    def pick(share):
        return leads[math.ceil(share * len(leads) - 1e-9) - 1] if leads else None

    return {
        "appointments": n,
        "no_show_rate": no_show / (completed + no_show) if completed + no_show else None,
        "late_cancel_rate": sum(a.status == "cancelled" and a.late_cancel for a in appts) / n if n else None,
        "reschedule_rate": sum(a.reschedule_count > 0 for a in appts) / n if n else None,
        "lead_time_median_days": pick(0.5),
        "lead_time_p90_days": pick(0.9),
        "held_minutes": sum((a.end_at - a.start_at).total_seconds() // 60 for a in appts if a.status != "cancelled"),
    }


def _apply(w, op, ids: list[int]) -> None:
    kind, pick, (location, day), step, choice, hours = op
    start = local_start(location, day, w, step)
    desk = w.actors[DESK[location]]
    with contextlib.suppress(DomainError):
        if kind == "book" or not ids:
            types, providers = TYPES[location], PROVIDERS[location]
            result = booking.book(
                desk,
                type_id=w.types[types[choice % len(types)]].id,
                location_id=w.locations[location].id,
                customer_id=w.customers["ada"].id,
                provider_id=(p := providers[choice % len(providers)]) and w.providers[p].id,
                start=start,
                intake={"reason": "property"},
                now=start - timedelta(days=3),
            )
            ids.append(result.appointment.id)
            return
        appt_id = ids[pick % len(ids)]
        with read_session() as s:
            appt = s.get(Appointment, appt_id)
            appt_start, appt_location = appt.start_at, appt.location_id
        now = appt_start - timedelta(hours=hours)
        admin = w.actors["admin"]
        if kind == "reschedule":
            if w.locations[location].id != appt_location:  # a reschedule keeps the location
                location = next(k for k, v in w.locations.items() if v.id == appt_location)
                day = next(d for loc, d in DAYS if loc == location)
                start = local_start(location, day, w, step)
            booking.reschedule(desk if desk.in_scope(appt_location) else admin, appt_id, new_start=start,
                               now=min(now, start - timedelta(hours=1)))  # fmt: skip
        elif kind == "cancel":
            booking.cancel(admin, appt_id, reason="property", now=now)
        elif kind == "complete":
            booking.complete(admin, appt_id, now=appt_start + timedelta(hours=1))
        elif kind == "no_show":
            booking.mark_no_show(admin, appt_id, now=appt_start + timedelta(hours=1))
        else:
            booking.add_note(admin, appt_id, note="property", now=now)


def test_rollup_kept_by_events_equals_a_rebuild_and_the_raw_kpis(db):
    w = build()

    @settings(PROPERTY_SETTINGS, max_examples=12)
    @given(ops=st.lists(operation, min_size=1, max_size=9))
    def check(ops):
        reset()
        with unit_of_work() as s:
            for model in ROLLUP_MODELS:
                s.execute(delete(model))
        ids: list[int] = []
        for op in ops:
            _apply(w, op, ids)
        kept, seen = _rollup(), _weekdays()
        _consistent(kept)
        with unit_of_work() as s:
            rebuild_rollups(s)
        assert _rollup() == kept
        # Every provider's (location, weekday) with a provider-day is noted (rows since emptied may stay).
        assert {(loc, prov, day.weekday()) for loc, day, prov in kept["by_provider"] if prov} <= _weekdays() <= seen
        for window in (WINDOW, SPLIT):
            got, raw = kpis(SYSTEM, window), _raw(w, window)
            for key in ("appointments", "lead_time_median_days", "lead_time_p90_days"):
                assert got[key] == raw[key], (window, key)
            for key in ("no_show_rate", "late_cancel_rate", "reschedule_rate"):
                assert (got[key] is None and raw[key] is None) or abs(got[key] - raw[key]) < 1e-12, key
            assert got["minutes"]["booked"] + got["outside_hours"]["minutes"] == raw["held_minutes"]

    check()


def test_a_reschedule_to_another_day_moves_the_appointment_between_buckets(db):
    w = build()
    location, day = DAYS[0]
    start = local_start(location, day, w, 12)
    appt = booking.book(
        w.actors["frontdesk"], type_id=w.types["consult"].id, location_id=w.locations[location].id,
        customer_id=w.customers["ada"].id, provider_id=w.providers["rao"].id, start=start,
        intake={"reason": "x"}, now=start - timedelta(days=3),
    ).appointment  # fmt: skip
    later = local_start(location, day + timedelta(days=7), w, 12)
    booking.reschedule(w.actors["frontdesk"], appt.id, new_start=later, now=start - timedelta(days=2))
    rollup = _rollup()["daily"]
    assert [k[1] for k in rollup] == [day + timedelta(days=7)]
    counts = dict(zip(COUNTERS, next(iter(rollup.values())), strict=True))
    assert counts["appointments"] == 1 and counts["rescheduled"] == 1 and counts["touches"] == 1
    assert isinstance(later, datetime)


def test_a_zone_change_moves_past_appointments_to_their_new_local_days(db):
    w = build()
    location, day = DAYS[3]  # London, summer
    harbor = w.locations[location]
    start = local_start(location, day, w, 12)  # 01:00 on Sunday in London: 20:00 on Saturday in New York
    booking.book(
        SYSTEM, type_id=w.types["chat"].id, location_id=harbor.id,
        customer_id=w.customers["ada"].id, provider_id=w.providers["lee"].id, start=start,
        intake={"reason": "x"}, now=start - timedelta(days=3),
    )  # fmt: skip
    assert [k[1] for k in _rollup()["daily"]] == [day]
    save_location(SYSTEM, location_id=harbor.id, name=harbor.name, timezone="America/New_York")
    kept = _rollup()
    assert [k[1] for k in kept["daily"]] == [day - timedelta(days=1)]
    _consistent(kept)
    with unit_of_work() as s:
        rebuild_rollups(s)
    assert _rollup() == kept
    # A settings file may not move a location with appointments ahead (their times would move).
    sunday = today_in("UTC") + timedelta(days=13 - today_in("UTC").weekday())  # next week's
    booking.book(
        SYSTEM, type_id=w.types["chat"].id, location_id=harbor.id,
        customer_id=w.customers["ada"].id, provider_id=w.providers["lee"].id,
        start=local_to_utc(sunday, time(1), "America/New_York"), intake={"reason": "x"},
    )  # fmt: skip
    doc = yaml.safe_load(export_config(SYSTEM))
    for item in doc["locations"]:
        item["timezone"] = "Europe/London" if item["name"] == harbor.name else item["timezone"]
    with pytest.raises(ValidationError, match="upcoming appointments"):
        apply_config(SYSTEM, yaml.safe_dump(doc))
    assert _rollup()["daily"].keys() >= kept["daily"].keys()


def test_the_migrations_fill_the_weekdays_the_provider_days_and_the_coarser_histograms_from_the_daily_rows(db):
    hand_week()
    built, seen = _rollup(), _weekdays()
    _consistent(built)
    assert built["weekly"] and {week.weekday() for _, week, _ in built["weekly"]} == {0}
    assert built["monthly"] and {month.day for _, month, _ in built["monthly"]} == {1}
    cfg = migrate.alembic_config()
    # 0015 adds metric_lead_week; 0016 metric_daily.weekday and metric_lead_month; 0017 metric_provider_day;
    # 0018 the inquiry rollup; 0019 metric_location_day, metric_location_month and metric_provider_weekday;
    # 0021 the histograms summed over every location
    for step, target in ((command.downgrade, "0015-1"), (command.upgrade, "head")):
        with db.engine.connect() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, target)
    assert _rollup() == built  # weekdays checked in _rollup
    assert _weekdays() == seen

"""Every KPI against a hand-computed week: local days in two zones, appointments across local
midnight, imported history without provider or type, a day without hours, a DST week, time off,
the previous period, empty windows (nulls), and each actor's location scope."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from core.base.db import read_session, unit_of_work
from core.base.errors import PermissionDenied, ValidationError
from core.base.models import AuditLog, TimeOff
from core.metrics import capacity
from core.metrics.definitions import Window, last_full_week, nearest_rank
from core.metrics.kpis import breakdown, dashboard, kpis
from core.metrics.rebuild import rebuild_rollups
from core.metrics.sources import Filters
from core.security.access import SYSTEM
from core.settings.working_time import add_time_off, remove_time_off
from tests.metrics_fixtures import MONDAY, add_sunday_shift, hand_week, local, provider_without_hours, put

WEEK = Window(MONDAY, MONDAY + timedelta(days=6))


@pytest.fixture
def w(db):
    return hand_week()


def test_downtown_week_matches_the_hand_computation(w):
    r = kpis(SYSTEM, WEEK, Filters(location_id=w.locations["downtown"].id))
    assert r["appointments"] == 7  # a, b, c, d (Wed 23:30 local), e, f, h (Sun 23:30 local)
    assert r["no_show_rate"] == pytest.approx(1 / 4)  # b / (a, d, e completed + b)
    assert r["late_cancel_rate"] == pytest.approx(1 / 7)  # c
    assert r["reschedule_rate"] == pytest.approx(1 / 7)  # d
    # lead days a 6, b 0, c 4, d 3, e 12, f 8, h 0 -> 0 0 3 4 6 8 12: nearest rank 4 of 7 for the
    # median, ceil(0.9 x 7) = 7 of 7 for p90
    assert (r["lead_time_median_days"], r["lead_time_p90_days"]) == (4, 12)
    # Rao and Kim work Mon-Fri 9-17: 2 x 5 x 480 = 4800 available minutes; booked a + b + d + e = 120
    # (c and f are cancelled, h is on a Sunday without hours)
    assert r["utilization"] == pytest.approx(120 / 4800)
    assert r["outside_hours"] == {"appointments": 1, "minutes": 30}
    assert r["capacity_leak"]["unbooked"] == pytest.approx((4800 - 120 - 15) / 4800)
    assert r["capacity_leak"]["no_show"] == pytest.approx(30 / 4800)
    assert r["capacity_leak"]["late_cancel"] == pytest.approx(15 / 4800)
    m = r["minutes"]
    assert m["attended"] + m["unbooked"] + m["no_show"] + m["late_cancel"] == m["available"] == 4800
    assert r["conversion_rate"] == pytest.approx(2 / 3)  # Mon (a), Tue (none), Sun 23:00 local (h)
    # touches: a's note, d's reschedule, f's exception and Kim's sync exception, both resolved by staff
    assert r["admin_touch_per_100"] == pytest.approx(400 / 7)


def test_previous_period_is_the_week_before_and_never_overlaps(w):
    assert WEEK.previous() == Window(date(2029, 12, 31), date(2030, 1, 6))
    assert Window(MONDAY, MONDAY).previous() == Window(MONDAY - timedelta(days=1), MONDAY - timedelta(days=1))
    r = kpis(SYSTEM, WEEK, Filters(location_id=w.locations["downtown"].id))
    prev = r["previous"]
    assert (prev["from"], prev["to"]) == ("2029-12-31", "2030-01-06")
    assert prev["appointments"] == 0
    assert prev["no_show_rate"] is None and prev["lead_time_median_days"] is None
    assert prev["admin_touch_per_100"] is None
    assert prev["utilization"] == 0.0  # hours but nothing booked: a real zero
    assert prev["conversion_rate"] == 1.0  # Sunday 23:00 in New York is Monday in UTC: last week's
    harbor = kpis(SYSTEM, WEEK, Filters(location_id=w.locations["harbor"].id))
    assert harbor["appointments"] == 1 and harbor["previous"]["appointments"] == 1  # Sunday 23:30 London


def test_all_locations_add_up_and_a_manager_sees_only_their_own(w):
    everyone = kpis(SYSTEM, WEEK)
    assert everyone["appointments"] == 8
    # Harbor's class of 6 places has one member: 60 / 6 seat-minutes (docs/metrics.md)
    assert everyone["utilization"] == pytest.approx((120 + 60 / 6) / (4800 + 2400))
    manager = kpis(w.actors["manager"], WEEK)
    downtown = kpis(SYSTEM, WEEK, Filters(location_id=w.locations["downtown"].id))
    assert manager == downtown
    assert kpis(w.actors["analyst"], WEEK) == everyone


def test_a_manager_asking_for_another_location_is_refused_and_recorded(w):
    with pytest.raises(PermissionDenied):
        kpis(w.actors["manager"], WEEK, Filters(location_id=w.locations["harbor"].id))
    with pytest.raises(PermissionDenied):
        kpis(w.actors["frontdesk"], WEEK)
    with read_session() as s:
        denied = set(s.scalars(select(AuditLog.actor_username).where(AuditLog.outcome == "denied")))
    assert denied == {"manager", "frontdesk"}


def test_filters_by_provider_and_type(w):
    rao = kpis(SYSTEM, WEEK, Filters(provider_id=w.providers["rao"].id))
    assert rao["appointments"] == 4  # a, b, f, h
    assert rao["utilization"] == pytest.approx(60 / 2400)
    assert rao["conversion_rate"] is None  # inquiries are not made to a provider
    followup = kpis(SYSTEM, WEEK, Filters(type_id=w.types["followup"].id))
    assert followup["appointments"] == 1 and followup["late_cancel_rate"] == 1.0
    assert followup["utilization"] == 0.0  # its share of everyone's 7200 minutes


def test_empty_window_gives_nulls_not_zeros(w):
    r = kpis(SYSTEM, Window(date(2031, 6, 2), date(2031, 6, 8)), Filters(provider_id=provider_without_hours(w)))
    assert r["appointments"] == 0
    for key in ("no_show_rate", "late_cancel_rate", "reschedule_rate", "lead_time_median_days", "utilization",
                "conversion_rate", "admin_touch_per_100"):  # fmt: skip
        assert r[key] is None, key
    assert r["capacity_leak"] == {"unbooked": None, "no_show": None, "late_cancel": None}


def test_a_dst_week_has_the_hours_the_clock_really_shows(w):
    # New York springs forward on Sunday 2030-03-10 (23 hours) and falls back on 2030-11-03.
    add_sunday_shift(w)  # Rao: Sundays 00:00-06:00 local
    with read_session() as s:
        dt = w.locations["downtown"].id
        spring = capacity.available_minutes(s, [dt], date(2030, 3, 10), date(2030, 3, 10), w.providers["rao"].id)
        autumn = capacity.available_minutes(s, [dt], date(2030, 11, 3), date(2030, 11, 3), w.providers["rao"].id)
        plain = capacity.available_minutes(s, [dt], date(2030, 3, 17), date(2030, 3, 17), w.providers["rao"].id)
    assert list(spring["available_min"]) == [300]
    assert list(autumn["available_min"]) == [420]
    assert list(plain["available_min"]) == [360]
    r = kpis(SYSTEM, Window(date(2030, 3, 4), date(2030, 3, 10)), Filters(provider_id=w.providers["rao"].id))
    assert r["minutes"]["available"] == 5 * 480 + 300


def test_a_dst_night_whose_only_shift_does_not_exist_has_no_hours(w):
    # Rao's Sunday shift 02:00-03:00 is the hour New York skips on 2030-03-10: that Sunday has no
    # working time, so an appointment on it is outside hours (though Sundays have a shift).
    add_sunday_shift(w, start=time(2), end=time(3))
    spring = date(2030, 3, 10)
    with unit_of_work() as s:
        put(s, w, local(spring, 10), minutes=45, status="booked")
        rebuild_rollups(s)
    r = kpis(SYSTEM, Window(spring, spring), Filters(location_id=w.locations["downtown"].id))
    assert r["minutes"]["available"] == 0
    assert r["outside_hours"] == {"appointments": 1, "minutes": 45}
    assert r["utilization"] is None


def test_time_off_comes_out_of_available_minutes(w):
    rao, downtown = w.providers["rao"].id, w.locations["downtown"].id
    add_time_off(SYSTEM, rao, first_day=MONDAY, start_time=time(12), end_time=time(14), location_id=downtown)
    r = kpis(SYSTEM, WEEK, Filters(provider_id=rao))
    assert r["minutes"]["available"] == 2400 - 120
    with read_session() as s:
        off = s.scalar(select(TimeOff.id).where(TimeOff.provider_id == rao))
    remove_time_off(SYSTEM, off)
    assert kpis(SYSTEM, WEEK, Filters(provider_id=rao))["minutes"]["available"] == 2400


def test_trend_and_breakdowns_agree_with_the_week(w):
    d = dashboard(SYSTEM, WEEK)
    trend = d["trend"]
    assert len(trend) == 12 and trend["week"].iloc[-1] == MONDAY
    assert trend["appointments"].iloc[-1] == 8 and trend["appointments"].iloc[-2] == 1
    by_location = breakdown(SYSTEM, WEEK, "location")
    assert dict(zip(by_location["location"], by_location["appointments"], strict=True)) == {
        w.locations["downtown"].id: 7,
        w.locations["harbor"].id: 1,
    }
    by_type = breakdown(SYSTEM, WEEK, "type")
    assert by_type["appointments"].sum() == 8
    by_provider = breakdown(w.actors["manager"], WEEK, "provider")
    assert w.providers["lee"].id not in set(by_provider["provider"])


def test_windows_and_percentiles_are_checked():
    with pytest.raises(ValidationError):
        Window(date(2030, 1, 8), date(2030, 1, 7))
    assert last_full_week(date(2030, 1, 9)) == Window(date(2029, 12, 31), date(2030, 1, 6))
    assert last_full_week(date(2030, 1, 7)) == Window(date(2029, 12, 31), date(2030, 1, 6))
    assert nearest_rank({1: 1, 2: 1, 3: 1, 4: 1}, 0.5) == 2  # percentile_disc, not the average 2.5
    assert nearest_rank({5: 10}, 0.9) == 5
    assert nearest_rank({}, 0.5) is None


def test_working_hours_on_sunday_make_h_count_as_booked(w):
    add_sunday_shift(w, start=time(9), end=time(17))
    r = kpis(SYSTEM, WEEK, Filters(location_id=w.locations["downtown"].id))
    assert r["outside_hours"] == {"appointments": 0, "minutes": 0}
    assert r["utilization"] == pytest.approx(150 / 5280)


def test_imported_history_without_provider_or_type_counts_in_rates_not_in_utilization(sqlite_db):
    """Rows as a bulk import may bring them (provider_id / type_id NULL; the last value is the
    type's capacity)."""
    from datetime import UTC, datetime

    from core.metrics.rollup import aggregate

    start = datetime(2030, 1, 7, 15, tzinfo=UTC)
    half = timedelta(minutes=30)
    rows = [
        (1, 1, None, None, start, start + half, start - timedelta(days=2), "completed", False, 0, None),
        (2, 1, 5, None, start, start + half, start - timedelta(days=4), "no_show", False, 1, None),
        (3, 1, None, 7, start, start + half, None, "cancelled", True, 0, 1),
        (4, 1, 5, 7, start, start + timedelta(minutes=20), start, "no_show", False, 0, 1),
    ]
    with read_session() as s:
        buckets = aggregate(s, rows, {1: "America/New_York"})
    total = {k: sum(b.counts[k] for b in buckets.values()) for k in ("appointments", "completed", "no_show",
             "late_cancel", "rescheduled", "held", "booked_min", "no_show_min", "late_cancel_min")}  # fmt: skip
    assert total == {"appointments": 4, "completed": 1, "no_show": 2, "late_cancel": 1, "rescheduled": 1,
                     "held": 1, "booked_min": 20, "no_show_min": 20, "late_cancel_min": 0}  # fmt: skip
    lead: dict[int, int] = {}
    for b in buckets.values():
        for k, v in b.lead.items():
            lead[k] = lead.get(k, 0) + v
    assert lead == {2: 1, 4: 1, 0: 1}  # no booking date: no lead time
    assert (1, date(2030, 1, 7), 0, 0) in buckets and (1, date(2030, 1, 7), 5, 7) in buckets


def test_a_day_entirely_on_time_off_counts_its_appointments_as_outside_hours(w):
    add_time_off(SYSTEM, w.providers["rao"].id, first_day=MONDAY, reason="away")  # the whole local day
    r = kpis(SYSTEM, WEEK, Filters(location_id=w.locations["downtown"].id))
    assert r["outside_hours"] == {"appointments": 3, "minutes": 90}  # a and b on Monday, h on Sunday
    assert r["utilization"] == pytest.approx(60 / (4800 - 480))
    by_provider = breakdown(SYSTEM, WEEK, "provider", Filters(location_id=w.locations["downtown"].id))
    rao = by_provider[by_provider["provider"] == w.providers["rao"].id].iloc[0]
    assert rao["utilization"] == 0.0 and rao["available_min"] == 1920

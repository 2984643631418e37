"""The Weekly KPIs and Utilization pages with AppTest on the hand-computed week: defaults, the
figures on the cards, a manager's scope (filters, tables, cache), the empty state, a cache that
clears when an appointment changes, and audited exports of what is on screen."""

from __future__ import annotations

import base64
import json
from datetime import date, time, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.base.db import read_session
from core.base.models import AuditLog
from core.metrics.definitions import Window
from core.metrics.kpis import breakdown
from core.reports import tabular
from core.scheduling import booking
from pages.ui import USER_KEY
from tests.metrics_fixtures import MONDAY, add_sunday_shift, hand_week, local

ROOT = Path(__file__).resolve().parent.parent
KPIS, UTILIZATION = str(ROOT / "pages" / "kpis.py"), str(ROOT / "pages" / "utilization.py")
WEEK = (MONDAY, MONDAY + timedelta(days=6))


@pytest.fixture
def w(sqlite_db):
    AppTest.from_function(lambda: __import__("streamlit").cache_data.clear()).run()
    return hand_week()


def _page(path: str, user_id: int, dates=WEEK, location="first") -> AppTest:
    at = AppTest.from_file(path, default_timeout=60)
    at.session_state[USER_KEY] = user_id
    at.run()
    prefix = "kpi" if path == KPIS else "util"
    at.date_input(key=f"{prefix}_dates").set_value(dates).run()
    if location != "first":
        box = at.selectbox(key=f"{prefix}_location")
        (box.select_index(0) if location is None else box.set_value(location)).run()
    assert not at.exception, at.exception
    return at


def _card(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_kpi_page_defaults_to_the_last_full_week_in_the_first_location(w):
    at = AppTest.from_file(KPIS, default_timeout=60)
    at.session_state[USER_KEY] = w.users["manager"].id
    at.run()
    assert not at.exception
    first, last = at.date_input(key="kpi_dates").value
    assert first.weekday() == 0 and (last - first).days == 6 and last <= date.today()
    assert at.selectbox(key="kpi_location").value == w.locations["downtown"].id
    assert any(
        c.value.startswith(("Showing the last complete week:", "Showing this week, up to today:")) for c in at.caption
    )


def test_the_default_week_on_a_sunday_is_the_week_ending_today_not_the_week_before_last():
    from pages.metrics_view import week_to_show

    sunday, monday = date(2026, 12, 6), date(2026, 12, 7)
    assert week_to_show(sunday) == (Window(date(2026, 11, 30), sunday), "this week, up to today")
    assert week_to_show(monday) == (Window(date(2026, 11, 30), sunday), "the last complete week")
    assert week_to_show(date(2026, 12, 9))[0] == Window(date(2026, 11, 30), sunday)


def test_kpi_cards_explain_admin_touch_lead_time_p90_and_the_capacity_leak(w):
    at = _page(KPIS, w.users["manager"].id)
    helps = {m.label: m.help for m in at.metric}
    assert "per 100 appointments" in helps["Admin touch per 100"]
    assert "90%" in helps["Lead time p90, days"]
    assert any(c.value.startswith("Capacity leak (available minutes that did not become visits)") for c in at.caption)


def test_each_rate_says_n_of_n_and_the_drill_down_has_plain_column_labels(w):
    at = _page(KPIS, w.users["manager"].id)
    captions = [c.value for c in at.caption]
    no_show = next(c for c in captions if c.endswith("completed or no-show"))
    n, total = (int(x) for x in no_show.split(" completed")[0].split(" of "))
    assert n / total == 0.25
    assert "120 of 4,800 available min booked" in captions
    assert any(c.endswith(" of 7 appointments") for c in captions)
    drill = at.dataframe[-1].value
    assert list(drill.columns) == ["Appointment", "Starts", "Location", "Provider", "Type", "Status",
                                   "Late cancellation", "Times rescheduled", "Booked days ahead"]  # fmt: skip
    assert len(drill) == 7


def test_kpi_cards_show_the_hand_computed_week_against_the_previous_one(w):
    at = _page(KPIS, w.users["manager"].id)
    assert _card(at, "Appointments") == "7"
    assert _card(at, "No-show rate") == "25.0%"
    assert _card(at, "Lead time median, days") == "4"
    assert _card(at, "Utilization") == "2.5%"  # 120 / 4800
    assert next(m for m in at.metric if m.label == "Appointments").delta == "+7"
    assert [t.value for t in at.title] == ["Weekly KPIs"]


def test_a_manager_never_sees_another_location_in_filters_tables_or_cache(w):
    analyst = _page(KPIS, w.users["analyst"].id, location=None)  # all locations, cached first
    assert _card(analyst, "Appointments") == "8"
    manager = _page(KPIS, w.users["manager"].id, location=None)  # "all my locations": Downtown only
    assert _card(manager, "Appointments") == "7"
    assert set(manager.selectbox(key="kpi_location").options) == {"All my locations", "Downtown"}
    tables = [df.value for df in manager.dataframe]
    assert all("Harbor" not in df.to_string() for df in tables)
    frame = breakdown(w.actors["manager"], Window(*WEEK), "location")
    assert list(frame["location"]) == [w.locations["downtown"].id]


def test_the_export_of_a_table_is_audited(w):
    frame = breakdown(w.actors["manager"], Window(*WEEK), "provider")
    data = tabular.export_file(w.actors["manager"], frame, "metrics.kpis_by_provider", "csv")
    assert data.decode().splitlines()[0].startswith("provider,appointments")
    with read_session() as s:
        row = s.scalars(select(AuditLog).where(AuditLog.action == "export.table")).one()
        assert row.actor_username == "manager" and row.after["what"] == "metrics.kpis_by_provider"


def test_an_empty_window_shows_an_empty_state(w):
    at = _page(KPIS, w.users["analyst"].id, dates=(date(2031, 6, 7), date(2031, 6, 8)))  # a weekend
    assert any("No appointments and no working hours" in i.value for i in at.info)
    util = _page(UTILIZATION, w.users["analyst"].id, dates=(date(2031, 6, 7), date(2031, 6, 8)))
    assert any("No working hours" in i.value for i in util.info)


def test_a_booking_shows_on_the_next_rerun_despite_the_cache(w):
    at = _page(KPIS, w.users["manager"].id)
    assert _card(at, "Appointments") == "7"
    booking.book(
        w.actors["admin"], type_id=w.types["consult"].id, location_id=w.locations["downtown"].id,
        customer_id=w.customers["alan"].id, provider_id=w.providers["rao"].id, start=local(MONDAY, 15),
        intake={"reason": "x"}, now=local(MONDAY - timedelta(days=2), 9),
    )  # fmt: skip
    at.run()
    assert _card(at, "Appointments") == "8"


def test_utilization_page_draws_the_heatmap_the_trend_and_the_leak(w):
    at = _page(UTILIZATION, w.users["manager"].id)
    assert [t.value for t in at.title] == ["Utilization"]
    charts = at.get("plotly_chart")
    assert len(charts) == 3  # heatmap, over time, capacity leak
    assert set(at.selectbox(key="util_location").options) == {"Downtown"}
    hours = at.dataframe[-1].value
    assert {"Day", "Hour", "Available (min)", "Booked (min)", "Utilization"} <= set(hours.columns)
    assert not any("_" in c for c in hours.columns)


def test_the_kpi_page_splits_conversion_by_channel_and_lists_the_inquiries_behind_it(w):
    at = _page(KPIS, w.users["manager"].id)
    titles = [s.value for s in at.subheader]
    assert "Inquiry conversion by channel" in titles
    tables = [d.value for d in at.dataframe]
    by_channel = next(t for t in tables if "conversion" in t.columns and "channel" in t.columns)
    assert by_channel["inquiries"].sum() >= 1
    behind = next(t for t in tables if "inquiry" in t.columns)
    assert len(behind) == by_channel["inquiries"].sum()


def _cells(z) -> np.ndarray:
    """A heatmap's z as plotly sends it (a typed array: dtype, base64 bytes, shape)."""
    shape = tuple(int(n) for n in z["shape"].split(","))
    return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)


def test_heatmap_cells_resting_on_too_little_time_are_grey_and_the_threshold_is_stated(w):
    """Issue 31 item 13: the darkest cell rested on a sliver of available time. A cell with less
    than THIN_MIN_PER_WEEK a week is drawn grey, not blue, and the caption says where the line is."""
    add_sunday_shift(w, start=time(8), end=time(8, 30))  # Sunday 08:00 has 30 minutes in the week
    at = _page(UTILIZATION, w.users["manager"].id)
    blue, grey = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    sunday, eight = blue["y"].index("Sun"), blue["x"].index("08:00")
    blue_z, grey_z = _cells(blue["z"]), _cells(grey["z"])
    assert grey_z[sunday][eight] == 1 and np.isnan(blue_z[sunday][eight])
    assert np.nansum(grey_z) == 1 and np.count_nonzero(~np.isnan(blue_z)) > 1  # the full hours stay blue
    assert any("Grey cells have less than 60 available minutes a week in these dates (under 1 h in all)" in c.value
               for c in at.caption)  # fmt: skip
    hours = at.dataframe[-1].value
    assert hours[hours["Too little time to read"]][["Day", "Hour", "Available (min)"]].values.tolist() == [
        ["Sun", 8, 30]
    ]

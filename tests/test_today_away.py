"""Time off shows where the desk works: after a provider's time off is added over booked
appointments, the today page flags each one ("Dr. Rao is off: Conference") and the timeline
shades the time off in the provider's lane."""

from __future__ import annotations

import json
from datetime import time, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from core.base.tz import local_to_utc
from core.scheduling import schedule
from core.scheduling.hours import Shift
from core.settings import working_time
from tests.factories import shown, world
from tests.test_today_page import NY, PAGE, _book, _next_monday


@pytest.fixture
def w(sqlite_db):
    return world()


def _conference(w, day) -> None:
    working_time.add_time_off(w.actors["admin"], w.providers["rao"].id, first_day=day, last_day=day,
                              start_time=None, end_time=None, reason="Conference")  # fmt: skip


def test_the_days_appointments_of_a_provider_on_time_off_are_flagged(w):
    day = _next_monday()
    off, kept = _book(w, day, time(10)), _book(w, day, time(11), provider="kim")
    _conference(w, day)
    found = schedule.day_schedule(w.actors["frontdesk"], w.locations["downtown"].id, day)
    flags = {r.appointment_id: r.flags for r in found.rows}
    assert "Dr. Rao is off: Conference" in flags[off]
    assert not any("is off" in f for f in flags[kept])
    (span,) = found.time_off
    assert span.provider_id == w.providers["rao"].id and span.reason == "Conference"
    assert span.start == local_to_utc(day, time(0), NY) and span.end == local_to_utc(
        day + timedelta(days=1), time(0), NY
    )


def test_outside_working_hours_is_flagged_too(w):
    day = _next_monday()
    appt = _book(w, day, time(16, 30))
    downtown = w.locations["downtown"].id
    working_time.set_hours(w.actors["admin"], w.providers["rao"].id, downtown,
                           [Shift(downtown, d, time(9), time(16)) for d in range(5)])  # fmt: skip
    found = schedule.day_schedule(w.actors["frontdesk"], w.locations["downtown"].id, day)
    assert "Dr. Rao is outside working hours" in found.row(appt).flags


def test_the_today_page_shows_the_flag_and_shades_the_time_off(w):
    day = _next_monday()
    appt = _book(w, day, time(10))
    _conference(w, day)
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["user_id"] = w.users["frontdesk"].id
    at.query_params["date"] = day.isoformat()
    at.run()
    assert not at.exception, at.exception
    at.selectbox(key="today_selected").select(appt).run()
    assert any("Dr. Rao is off: Conference" in shown(m.value) for m in at.markdown)
    chart = next(c for c in at.get("plotly_chart"))
    shapes = json.loads(chart.proto.spec)["layout"]["shapes"]
    assert [s["label"]["text"] for s in shapes if s.get("type") == "rect"] == ["Off: Conference"]

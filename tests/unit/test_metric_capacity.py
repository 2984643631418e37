"""A provider-day touched by time off is costed in local wall-clock seconds, all such days at
once, when its zone keeps one UTC offset all day; that must give exactly the minutes worked out
from UTC instants, for any shifts and any time off (starting or ending on other days, across a DST change nearby, in
zones whose offsets are not whole hours)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.metrics import capacity
from core.scheduling.hours import Shift

pytestmark = pytest.mark.unit

ZONES = ["America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Adelaide", "America/St_Johns"]

shift = st.tuples(st.integers(0, 23 * 60), st.integers(1, 12 * 60)).map(lambda t: (t[0], min(t[0] + t[1], 1439)))
absence = st.tuples(st.integers(-36 * 60, 60 * 60), st.integers(1, 72 * 60))


@settings(max_examples=300, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    day=st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    shifts=st.lists(shift, min_size=1, max_size=3),
    offs=st.lists(absence, max_size=3),
)
def test_wall_clock_minutes_equal_the_minutes_from_utc_instants(zone_name, day, shifts, offs):
    assume(day not in capacity._offset_change_days(zone_name, day, day))  # DST days keep the exact path
    tz = ZoneInfo(zone_name)
    weekday = day.weekday()
    items = [Shift(1, weekday, time(lo // 60, lo % 60), time(hi // 60, hi % 60)) for lo, hi in shifts if hi > lo]
    assume(items)
    midnight = datetime.combine(day, time(0), tzinfo=tz)
    instants = [
        ((midnight + timedelta(minutes=a)).astimezone(UTC), (midnight + timedelta(minutes=a + n)).astimezone(UTC))
        for a, n in offs
    ]
    exact = capacity._minutes_on(items, 1, day, zone_name, instants)
    hours = capacity.shift_frame([(1, 7, weekday, s.start, s.end) for s in items])
    offs_frame = pd.DataFrame([(7, lo, hi) for lo, hi in instants], columns=["provider_id", "start_at", "end_at"])
    touched = capacity.touched_days(offs_frame, hours, {1: zone_name}, day, day)
    found = capacity._time_off_days(capacity._merged(hours), touched) if not touched.empty else touched
    # A day no time off touches keeps its weekday's minutes.
    got = int(found["exact_min"].iloc[0]) if len(found) else capacity._minutes_on(items, 1, day, zone_name, [])
    assert got == exact

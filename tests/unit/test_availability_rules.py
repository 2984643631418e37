"""Availability's pure parts: the interval index, epoch seconds, group keys, the sentences of a
refusal, and the service clock. No database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.base.clock import require_aware, resolve_now
from core.base.errors import ConflictError, ValidationError
from core.scheduling.availability import DomainProblem, IntervalIndex, fmt_day, fmt_span, group_key_for
from core.scheduling.availability.index import NO_INTERVALS, epoch_ceil, epoch_floor, from_epoch
from core.scheduling.availability.messages import describe_clash, skills_text, span_text

pytestmark = pytest.mark.unit

NY = "America/New_York"


def index(*intervals) -> IntervalIndex:
    return IntervalIndex([(s, e, key, f"#{n}") for n, (s, e, key) in enumerate(intervals)])


def test_half_open_intervals_that_touch_do_not_clash():
    busy = index((100, 200, None))
    assert busy.clash(200, 300) is None and busy.clash(0, 100) is None
    assert busy.clash(199, 300)[3] == "#0" and busy.clash(0, 101)[3] == "#0"
    assert NO_INTERVALS.clash(0, 10**9) is None


def test_a_long_interval_behind_short_ones_is_still_found():
    busy = index((0, 1000, None), (10, 20, None), (30, 40, None))
    assert busy.clash(500, 600)[3] == "#0"


def test_members_of_the_same_group_session_do_not_clash_with_each_other():
    busy = index((100, 200, "g:1"), (150, 250, "other"))
    assert busy.clash(100, 140, "g:1") is None
    assert busy.clash(100, 200, "g:1")[3] == "#1"
    assert busy.clash(100, 140, "g:2")[3] == "#0"


intervals = st.lists(
    st.tuples(st.integers(0, 500), st.integers(1, 120), st.sampled_from([None, "a", "b"])), max_size=30
)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(intervals, st.integers(0, 600), st.integers(1, 120), st.sampled_from([None, "a", "b"]))
def test_clash_agrees_with_checking_every_interval(raw, s, length, key):
    items = [(a, a + n, k) for a, n, k in raw]
    e = s + length
    found = index(*items).clash(s, e, key)
    overlapping = {f"#{n}" for n, (a, b, k) in enumerate(items) if a < e and b > s and (key is None or k != key)}
    assert (found is None) == (not overlapping)
    if found is not None:
        assert found[3] in overlapping


def test_epoch_seconds_round_outwards_and_come_back_as_utc():
    t = datetime(2030, 1, 7, 14, 0, 0, 500_000, tzinfo=UTC)
    assert epoch_ceil(t) - epoch_floor(t) == 1
    assert from_epoch(epoch_floor(t)) == t.replace(microsecond=0)
    assert from_epoch(epoch_floor(t)).tzinfo == UTC


def test_a_group_key_names_the_instant_whatever_the_zone():
    utc = datetime(2030, 1, 7, 15, 0, tzinfo=UTC)
    local = utc.astimezone(ZoneInfo(NY))
    assert group_key_for(3, 4, local) == group_key_for(3, 4, utc) == "g:3:4:2030-01-07T15:00:00+00:00"


def test_refusals_speak_in_local_time():
    start = datetime(2030, 1, 7, 15, 0, tzinfo=UTC)
    assert fmt_day(date(2030, 1, 7)) == "Mon 7 Jan 2030"
    assert fmt_span(start, start + timedelta(minutes=30), NY) == "10:00–10:30"
    assert span_text(start, start + timedelta(hours=1), NY) == "10:00–11:00 on Mon 7 Jan 2030"
    assert span_text(start, start + timedelta(days=2), NY) == "from Mon 7 Jan 2030 10:00 to Wed 9 Jan 2030 10:00"
    assert skills_text(["group", "general"]) == "'group', 'general'"


def test_time_off_and_calendar_blocks_are_described_without_a_database():
    s, e = datetime(2030, 1, 7, 18, 0, tzinfo=UTC), datetime(2030, 1, 7, 22, 0, tzinfo=UTC)
    off = (0, 1, None, ("time_off", s, e, "Training"))
    busy = (0, 1, None, ("busy", s, e, None))
    all_day = (0, 1, None, ("busy", s, e, date(2030, 1, 7)))
    assert describe_clash(None, NY, "Dr. Rao", off) == "Dr. Rao is off 13:00–17:00 on Mon 7 Jan 2030 (Training)."
    assert (
        describe_clash(None, NY, "Dr. Rao", busy) == "Dr. Rao is busy 13:00–17:00 on Mon 7 Jan 2030 in their calendar."
    )
    assert (
        describe_clash(None, NY, "Dr. Rao", all_day) == "Dr. Rao is busy all day on Mon 7 Jan 2030 in their calendar."
    )


def test_a_problem_becomes_the_error_it_describes():
    err = DomainProblem(ConflictError, "Dr. Rao is already booked").error()
    assert isinstance(err, ConflictError) and str(err) == "Dr. Rao is already booked"


def test_the_service_clock_takes_a_pinned_instant_or_the_real_one():
    pinned = datetime(2030, 1, 2, 7, 0, tzinfo=ZoneInfo(NY))
    assert resolve_now(pinned) == datetime(2030, 1, 2, 12, 0, tzinfo=UTC)
    assert resolve_now(pinned).tzinfo == UTC
    before = datetime.now(UTC)
    real = resolve_now(None)
    assert real.tzinfo == UTC and before <= real <= datetime.now(UTC)


def test_times_without_a_zone_are_refused_with_a_sentence():
    with pytest.raises(ValidationError, match=r"^`now` must carry a time zone \(got 2030-01-02 12:00 without one\)\.$"):
        resolve_now(datetime(2030, 1, 2, 12, 0))
    with pytest.raises(ValidationError, match="^The start time must be a date and time.$"):
        require_aware("10:00")

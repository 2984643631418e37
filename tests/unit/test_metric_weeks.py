"""Which ISO weeks a set of windows reads from the weekly lead histogram: only weeks that lie
whole inside the windows' span and that no window edge splits."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.metrics.definitions import Window
from core.metrics.kpis import edges_of, week_windows
from core.metrics.sources import whole_weeks

pytestmark = pytest.mark.unit

MONDAY = date(2030, 1, 7)


def test_a_week_and_its_trend_are_read_by_the_week():
    week = Window(MONDAY, MONDAY + timedelta(days=6))
    edges = edges_of([week, week.previous(), *week_windows(week.last)])
    assert whole_weeks(edges) == [MONDAY - timedelta(weeks=k) for k in range(11, -1, -1)]


def test_weeks_split_by_an_edge_or_cut_at_the_ends_are_read_by_the_day():
    window = Window(MONDAY - timedelta(days=1), MONDAY + timedelta(days=23))  # Sunday to a Wednesday
    split = MONDAY + timedelta(days=10)  # the Thursday of the second week
    assert whole_weeks(edges_of([window])) == [MONDAY, MONDAY + timedelta(weeks=1), MONDAY + timedelta(weeks=2)]
    assert whole_weeks(sorted([*edges_of([window]), split])) == [MONDAY, MONDAY + timedelta(weeks=2)]
    assert whole_weeks(edges_of([Window(MONDAY + timedelta(days=1), MONDAY + timedelta(days=12))])) == []

"""Which calendar months and ISO weeks a set of windows reads from the monthly and weekly lead
histograms: only months and weeks that lie whole inside one of the windows' bins; the days left
are read by the day, and together they cover every day of the span exactly once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.metrics.definitions import Window, next_month
from core.metrics.kpis import edges_of, week_windows
from core.metrics.sources import lead_spans

pytestmark = pytest.mark.unit

MONDAY = date(2030, 1, 7)


def _weeks(edges):
    return lead_spans(edges)[1]


def _tiles(edges) -> list[tuple[date, date]]:
    months, weeks, days = lead_spans(edges)
    return sorted(
        [(m, next_month(m)) for m in months]
        + [(w, w + timedelta(days=7)) for w in weeks]
        + [(d, d + timedelta(days=1)) for d in days]
    )


def test_a_week_and_its_trend_are_read_by_the_week():
    week = Window(MONDAY, MONDAY + timedelta(days=6))
    edges = edges_of([week, week.previous(), *week_windows(week.last)])
    assert lead_spans(edges) == ([], [MONDAY - timedelta(weeks=k) for k in range(11, -1, -1)], [])


def test_weeks_split_by_an_edge_or_cut_at_the_ends_are_read_by_the_day():
    window = Window(MONDAY - timedelta(days=1), MONDAY + timedelta(days=23))  # Sunday to a Wednesday
    split = MONDAY + timedelta(days=10)  # the Thursday of the second week
    assert _weeks(edges_of([window])) == [MONDAY, MONDAY + timedelta(weeks=1), MONDAY + timedelta(weeks=2)]
    assert _weeks(sorted([*edges_of([window]), split])) == [MONDAY, MONDAY + timedelta(weeks=2)]
    assert _weeks(edges_of([Window(MONDAY + timedelta(days=1), MONDAY + timedelta(days=12))])) == []


def test_a_year_reads_its_whole_months_then_weeks_then_days():
    year = Window(date(2029, 1, 10), date(2030, 1, 9))  # a Wednesday to a Wednesday
    months, weeks, days = lead_spans(edges_of([year]))
    assert months == [date(2029, m, 1) for m in range(2, 13)]  # January 2030 is cut at the 9th
    assert weeks == [date(2029, 1, 15), date(2029, 1, 22)]  # 2030's first Monday week ends after the 9th
    january = [date(2029, 1, d) for d in (10, 11, 12, 13, 14, 29, 30, 31)]
    assert days == january + [date(2030, 1, d) for d in range(1, 10)]


@pytest.mark.parametrize("first,last", [(date(2029, 1, 10), date(2030, 1, 9)), (date(2029, 2, 1), date(2029, 3, 31)),
                                        (date(2028, 2, 27), date(2028, 3, 2))])  # fmt: skip
def test_the_pieces_cover_each_day_once_and_no_edge_splits_one(first, last):
    window = Window(first, last)
    edges = edges_of([window, window.previous(), *week_windows(last)])
    tiles = _tiles(edges)
    assert tiles[0][0] == edges[0] and tiles[-1][1] == edges[-1]
    assert all(a[1] == b[0] for a, b in zip(tiles, tiles[1:], strict=False))  # no gap, no overlap
    assert all(not any(lo < e < hi for e in edges) for lo, hi in tiles)

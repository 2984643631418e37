"""metric_provider_weekday no longer only grows: provider-days whose sums fell to zero and the
(location, provider, weekday) rows no provider-day holds are pruned, and every metric reads the
same before and after."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.base.db import read_session
from core.metrics import prune
from core.metrics.models import MetricProviderDay, MetricProviderWeekday
from core.scheduling import booking
from tests.factories import MONDAY, NOW, at, book, world


def _weekdays() -> set[tuple[int, int]]:
    with read_session() as s:
        return set(s.execute(select(MetricProviderWeekday.provider_key, MetricProviderWeekday.weekday)).all())


def _days() -> dict:
    with read_session() as s:
        rows = s.execute(select(MetricProviderDay.day, MetricProviderDay.appointments, MetricProviderDay.booked_min))
        return {d: (n, m) for d, n, m in rows}


def test_pruning_removes_only_what_no_window_reads(db):
    w = world()
    rao = w.providers["rao"].id
    moved = book(w, at(10)).appointment
    book(w, at(11), customer="alan")  # Monday keeps one appointment
    lone = book(w, at(10, day=MONDAY + timedelta(days=2)), customer="ada").appointment  # Wednesday
    booking.reschedule(w.actors["frontdesk"], lone.id, new_start=at(10, day=MONDAY + timedelta(days=1)), now=NOW)
    booking.reschedule(w.actors["frontdesk"], moved.id, new_start=at(14, day=MONDAY + timedelta(days=1)), now=NOW)
    assert _weekdays() == {(rao, 0), (rao, 1), (rao, 2)}
    wednesday = MONDAY + timedelta(days=2)
    assert _days()[wednesday] == (0, 0)  # the day left empty, still there

    kept = {d: v for d, v in _days().items() if v != (0, 0)}
    assert prune.prune() == (1, 1)
    assert _weekdays() == {(rao, 0), (rao, 1)}
    assert _days() == kept
    assert prune.prune() == (0, 0)  # nothing more to prune

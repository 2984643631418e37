"""The snoozes a queue item offers (issue 31 item 8): counted back from its appointment while it
is ahead, none ending after the start; plain ones once nothing is ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.queue import snoozes

pytestmark = pytest.mark.unit

NOW = datetime(2030, 1, 7, 15, 0, tzinfo=UTC)


def offered(due_at):
    return [(s.label, s.until) for s in snoozes.choices(due_at, NOW)]


def test_an_appointment_days_ahead_offers_snoozes_counted_back_from_its_start():
    start = NOW + timedelta(days=3)
    assert offered(start) == [
        ("For 1 hour", NOW + timedelta(hours=1)),
        ("For 1 day", NOW + timedelta(days=1)),
        ("Until 1 day before", start - timedelta(days=1)),
        ("Until 2 hours before", start - timedelta(hours=2)),
    ]


def test_no_snooze_ends_after_the_appointment_starts():
    for hours in (0.5, 1.5, 3, 20, 25, 30, 100):
        start = NOW + timedelta(hours=hours)
        assert all(until <= start for _, until in offered(start)), hours
    assert offered(NOW + timedelta(hours=3)) == [("Until 2 hours before", NOW + timedelta(hours=1))]  # one, not two
    assert offered(NOW + timedelta(minutes=20)) == []  # too soon to snooze at all


def test_without_a_time_ahead_the_snoozes_are_plain():
    plain = [("For 1 hour", NOW + timedelta(hours=1)), ("For 1 day", NOW + timedelta(days=1))]
    assert offered(None) == plain
    assert offered(NOW - timedelta(hours=2)) == plain  # a no-show follow-up: the visit is over


def test_the_snoozed_until_moment_reads_in_local_time():
    assert snoozes.moment(datetime(2030, 1, 14, 13, 0, tzinfo=UTC), "America/New_York") == "Mon 14 Jan 08:00"

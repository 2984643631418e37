"""The lifecycle table alone: which action applies from which status, before or after the start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.base.config import reset_settings
from core.base.models import Status
from core.scheduling import transitions
from core.scheduling.transitions import BY_ACTION, TRANSITIONS, available, status_refusal, time_refusal
from core.security.access import ACTION_LABELS, ALL_ACTIONS, A

pytestmark = pytest.mark.unit

START = datetime(2030, 1, 7, 15, 0, tzinfo=UTC)
BEFORE, AFTER = START - timedelta(hours=1), START + timedelta(minutes=1)


def labels(status: Status, now: datetime) -> list[str]:
    return [t.label for t in available(status, START, now)]


@pytest.mark.parametrize(
    ("status", "now", "expected"),
    [
        (Status.BOOKED, BEFORE, ["Confirm", "Check in", "Reschedule…", "Cancel…", "Notes…"]),
        (Status.BOOKED, AFTER, ["Check in", "No-show", "Cancel…", "Notes…"]),
        (Status.CONFIRMED, BEFORE, ["Check in", "Reschedule…", "Cancel…", "Notes…"]),
        (Status.CONFIRMED, AFTER, ["Check in", "No-show", "Cancel…", "Notes…"]),
        (Status.CHECKED_IN, AFTER, ["Complete", "Cancel…", "Notes…"]),
        (Status.COMPLETED, AFTER, ["Notes…"]),
        (Status.NO_SHOW, AFTER, ["Notes…"]),
        (Status.CANCELLED, BEFORE, ["Notes…"]),
    ],
)
def test_the_buttons_offered_follow_the_status_and_the_clock(status, now, expected):
    assert labels(status, now) == expected


def test_the_start_itself_counts_as_started():
    assert "No-show" in labels(Status.BOOKED, START)
    assert "Reschedule…" not in labels(Status.BOOKED, START)
    assert "Confirm" not in labels(Status.BOOKED, START)


@pytest.mark.parametrize("action", [t.action for t in TRANSITIONS])
@pytest.mark.parametrize("status", list(Status))
def test_a_refusal_is_given_exactly_when_the_status_is_not_a_source(action, status):
    refusal = status_refusal(action, status.value)
    if status in BY_ACTION[action].sources:
        assert refusal is None
    else:
        assert refusal.endswith(f"; this one is {transitions.STATUS_WORDS[status]}.")
        assert refusal.startswith(BY_ACTION[action].refusal)


def test_every_status_can_be_reached_from_booked_and_the_end_states_are_final():
    reached, frontier = {Status.BOOKED}, [Status.BOOKED]
    while frontier:
        status = frontier.pop()
        for t in TRANSITIONS:
            if status in t.sources and t.target is not None and t.target not in reached:
                reached.add(t.target)
                frontier.append(t.target)
    assert reached == set(Status)
    for final in (Status.COMPLETED, Status.NO_SHOW, Status.CANCELLED):
        assert [t.target for t in TRANSITIONS if final in t.sources] == [None]  # notes only


def test_every_transition_is_a_permission_with_a_label_and_appears_once():
    actions = [t.action for t in TRANSITIONS]
    assert len(actions) == len(set(actions))
    assert set(actions) <= set(ALL_ACTIONS)
    assert all(action in ACTION_LABELS for action in actions)
    assert BY_ACTION[A.APPOINTMENT_NO_SHOW].after_start and BY_ACTION[A.APPOINTMENT_RESCHEDULE].before_start


NY = ZoneInfo("America/New_York")


def local(day: int, hh: int, mm: int = 0) -> datetime:
    """A New York wall-clock time in January 2030, as the pages and services pass a start."""
    return datetime(2030, 1, day, hh, mm, tzinfo=NY)


def checks_in(start: datetime, now: datetime) -> bool:
    return "Check in" in [t.label for t in available(Status.BOOKED, start, now)]


@pytest.mark.parametrize(
    ("now", "offered"),
    [
        (local(2, 10), False),  # days ahead
        (local(7, 8, 59), False),  # 61 minutes before
        (local(7, 9), True),  # the lead (60 minutes) before
        (local(7, 10, 30), True),  # a late arrival
        (local(7, 23, 59), True),  # still the local day
        (local(8, 0), False),  # the next local day: no-show or cancel instead
    ],
)
def test_check_in_is_offered_on_the_local_day_from_the_lead_before_the_start(now, offered):
    assert checks_in(local(7, 10), now.astimezone(UTC)) is offered


def test_check_in_never_opens_on_the_local_day_before_even_within_the_lead():
    start = local(7, 0, 30)
    assert not checks_in(start, local(6, 23, 45).astimezone(UTC))
    assert checks_in(start, local(7, 0, 0).astimezone(UTC))
    assert time_refusal(A.APPOINTMENT_CHECK_IN, start, local(6, 23, 45)) == (
        "Check-in for the appointment Mon 7 Jan 00:30 opens at 00:00 that day."
    )


def test_the_local_day_is_the_locations_not_utcs():
    start = local(7, 20)  # 01:00 UTC on the 8th
    assert checks_in(start, local(7, 19, 30).astimezone(UTC))
    assert checks_in(start, local(7, 23, 30).astimezone(UTC))  # the 8th in UTC, still the 7th here
    assert not checks_in(start, local(8, 0, 1).astimezone(UTC))


def test_the_lead_is_configurable(monkeypatch):
    monkeypatch.setenv("CHECK_IN_LEAD_MINUTES", "15")
    reset_settings()
    try:
        assert not checks_in(local(7, 10), local(7, 9, 44).astimezone(UTC))
        assert checks_in(local(7, 10), local(7, 9, 45).astimezone(UTC))
    finally:
        monkeypatch.undo()
        reset_settings()


def test_complete_follows_check_in_only_and_confirm_stops_at_the_start():
    start = local(7, 10)
    assert "Complete" not in [t.label for t in available(Status.BOOKED, start, local(7, 11))]
    assert "Complete" in [t.label for t in available(Status.CHECKED_IN, start, local(7, 9, 30))]
    assert time_refusal(A.APPOINTMENT_CONFIRM, start, local(7, 10)) == (
        "This appointment started Mon 7 Jan 10:00; it is too late to confirm it."
    )
    assert time_refusal(A.APPOINTMENT_NO_SHOW, start, local(7, 9, 59)) == (
        "A no-show can be marked only once the appointment has started (Mon 7 Jan 10:00)."
    )

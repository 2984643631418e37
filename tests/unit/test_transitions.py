"""The lifecycle table alone: which action applies from which status, before or after the start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.base.models import Status
from core.scheduling import transitions
from core.scheduling.transitions import BY_ACTION, TRANSITIONS, available, status_refusal
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

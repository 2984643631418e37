"""A booking that keeps colliding with other desks' transactions (deadlock, serialization
failure) is tried again, and after the last try answered with a sentence, not a driver error."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from core.base.errors import ConflictError
from core.scheduling.conflicts import BUSY, MAX_ATTEMPTS, Attempt, run_booking

pytestmark = pytest.mark.unit


class _Driver(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _failing(sqlstate: str, times: int):
    calls = []

    def work():
        calls.append(1)
        if len(calls) <= times:
            raise DBAPIError("INSERT ...", {}, _Driver(sqlstate))
        return "booked"

    return work, calls


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_a_collision_is_tried_again(sqlstate):
    work, calls = _failing(sqlstate, MAX_ATTEMPTS - 1)
    assert run_booking(work, Attempt()) == "booked"
    assert len(calls) == MAX_ATTEMPTS


def test_collisions_past_the_last_try_are_a_conflict_in_words():
    work, calls = _failing("40P01", MAX_ATTEMPTS)
    with pytest.raises(ConflictError, match="try again") as caught:
        run_booking(work, Attempt())
    assert str(caught.value) == BUSY and len(calls) == MAX_ATTEMPTS


def test_other_database_errors_are_not_retried():
    work, calls = _failing("53300", 5)  # too many connections: not the booking's to hide
    with pytest.raises(DBAPIError):
        run_booking(work, Attempt())
    assert len(calls) == 1

"""Every text a service takes has a documented maximum and no NUL characters, and every date a
sane range: bad input gets one sentence naming the field, never a database error."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.base import limits
from core.base.errors import ValidationError
from core.people import customers, users
from core.scheduling import booking, schedule
from tests.factories import world

NOW = datetime(2030, 1, 2, 12, 0, tzinfo=UTC)
START = datetime(2030, 1, 7, 15, 0, tzinfo=UTC)


def _book(w, **kw):
    args = {
        "type_id": w.types["followup"].id, "location_id": w.locations["downtown"].id,
        "customer_id": w.customers["ada"].id, "provider_id": w.providers["rao"].id, "start": START, "now": NOW,
    } | kw  # fmt: skip
    return booking.book(w.actors["frontdesk"], **args)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda w: _book(w, start=datetime(9999, 12, 31, tzinfo=UTC)), "out of range"),
        (lambda w: _book(w, notes="x" * 2001), "note can be at most 2000 characters"),
        (lambda w: _book(w, notes="a\x00b"), "NUL character"),
        (lambda w: _book(w, intake={"reason": "y" * 5000}), "answer to 'reason' can be at most 2000"),
        (
            lambda w: booking.reschedule(
                w.actors["frontdesk"], _book(w).appointment.id, new_start=datetime(1, 1, 1, tzinfo=UTC), now=NOW
            ),
            "out of range",
        ),
        (
            lambda w: booking.cancel(w.actors["frontdesk"], _book(w).appointment.id, reason="r" * 501, now=NOW),
            "at most 500",
        ),
        (lambda w: customers.search_customers(w.actors["frontdesk"], "a" * 100_000), "search text can be at most 200"),
        (
            lambda w: customers.create_customer(
                w.actors["frontdesk"], name="Nul\x00Name", location_id=w.locations["downtown"].id
            ),
            "NUL character",
        ),
        (
            lambda w: users.add_user(
                w.actors["admin"],
                username="u" * 5000,
                name="x",
                email=None,
                password=None,
                role=None,
                location_names=[],
                all_locations=False,
            ),
            "username is 2 to 80 characters",
        ),  # fmt: skip
        (
            lambda w: users.add_user(
                w.actors["admin"],
                username="bob",
                name="Bob",
                email="not-an-email",
                password=None,
                role=None,
                location_names=[],
                all_locations=False,
            ),
            "does not look like an email",
        ),  # fmt: skip
        (
            lambda w: schedule.day_schedule(w.actors["frontdesk"], w.locations["downtown"].id, date(9999, 12, 31)),
            "out of range",
        ),
    ],
)
def test_bad_input_gets_one_sentence_naming_the_field(db, call, message):
    w = world()
    with pytest.raises(ValidationError, match=message) as err:
        call(w)
    assert "\n" not in str(err.value)


def test_limits_are_the_documented_ones():
    assert (limits.NAME_MAX, limits.NOTE_MAX, limits.REASON_MAX, limits.SEARCH_MAX) == (200, 2000, 500, 200)
    assert limits.text("  fine  ", "name", 10) == "fine"
    assert limits.text("   ", "name", 10) is None
    with pytest.raises(ValidationError, match="Enter the name"):
        limits.text("", "name", 10, required=True)

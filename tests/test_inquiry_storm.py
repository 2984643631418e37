"""The mixed storm: web requests from the public page and desk bookings for the same slot, all at
once, each on its own connection. Exactly one wins, on SQLite and PostgreSQL; the web losers hear
the slot-gone sentence and leave no inquiry, customer or appointment behind."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.base.db import read_session, unit_of_work
from core.base.errors import ConflictError
from core.base.models import Appointment, AppointmentType, Customer, Inquiry
from core.inquiries import public
from core.scheduling import booking
from core.security import door
from tests.factories import NOW, OVERLAPS, many_customers, world
from tests.test_booking_storm import T10, storm
from tests.test_booking_storm import wide_pool as wide_pool  # the fixture

pytestmark = pytest.mark.xdist_group("storms")
EACH = 12  # web requests, and as many desk bookings


def test_web_requests_and_desk_bookings_for_one_slot_have_exactly_one_winner(wide_pool):
    w = world()
    with unit_of_work() as s:
        t = s.get(AppointmentType, w.types["followup"].id)  # Dr. Rao alone does follow-ups: one slot at 10:00
        t.bookable_online, t.online_instant = True, True
    door.set_open(w.actors["admin"], True, now=NOW)
    customers = many_customers(w, EACH)
    with read_session() as s:
        known = s.scalar(select(func.count()).select_from(Customer))

    def web(n):
        return lambda: public.request_booking(
            "downtown", type_id=w.types["followup"].id, start=T10, name=f"Web {n}", email=f"web{n}@example.test",
            client=f"198.51.100.{n}", now=NOW,
        )  # fmt: skip

    def desk(customer_id):
        return lambda: booking.book(w.actors["frontdesk"], type_id=w.types["followup"].id,
                                    location_id=w.locations["downtown"].id, customer_id=customer_id,
                                    provider_id=w.providers["rao"].id, start=T10, now=NOW)  # fmt: skip

    calls = [f for pair in zip((web(n) for n in range(EACH)), (desk(c) for c in customers), strict=True) for f in pair]
    results, errors = storm(calls)
    assert len(results) == 1, errors
    assert len(errors) == 2 * EACH - 1 and all(isinstance(e, ConflictError) for e in errors)
    web_errors = [e for e in errors if str(e) == public.SLOT_GONE]
    with read_session() as s:
        assert s.scalar(OVERLAPS) == 0
        assert s.scalar(select(func.count()).select_from(Appointment).where(Appointment.status != "cancelled")) == 1
        inquiries = s.scalar(select(func.count()).select_from(Inquiry))
        added = s.scalar(select(func.count()).select_from(Customer)) - known
    won_on_web = isinstance(results[0], public.RequestResult)
    assert len(web_errors) == EACH - won_on_web
    assert (inquiries, added) == (int(won_on_web), int(won_on_web))

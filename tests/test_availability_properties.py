"""Property-based checks of the engine against the database, on ordinary and DST days in two
time zones: whatever is already booked, every offered slot is free (buffers included) and can
be booked, and no sequence of bookings and reschedules ever leaves an overlap behind."""

from __future__ import annotations

import contextlib
from datetime import date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, inspect, select, text

from core.base.db import unit_of_work
from core.base.errors import DomainError
from core.base.models import Appointment, AppointmentHistory, AppointmentType, TimeOff, WaitlistOffer, WorkingHours
from core.base.tz import local_day_bounds, local_to_utc
from core.scheduling import availability, booking
from tests.factories import OVERLAPS, many_customers, world

DAYS = [
    ("downtown", date(2026, 3, 8)),  # New York springs forward (a 23-hour day)
    ("downtown", date(2026, 11, 1)),  # New York falls back (25 hours)
    ("harbor", date(2026, 3, 29)),  # London springs forward
    ("harbor", date(2026, 10, 25)),  # London falls back
    ("downtown", date(2026, 3, 9)),  # an ordinary Monday
]
PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


def build():
    """The factory world, plus Sunday shifts across the 01:00-03:00 DST changes, and two more
    types (one long with a buffer before, one short with buffers and no room)."""
    w = world()
    with unit_of_work() as s:
        for provider, location in (("rao", "downtown"), ("kim", "downtown"), ("lee", "harbor")):
            for st_, et in ((time(0), time(6)), (time(8), time(14))):
                s.add(
                    WorkingHours(
                        provider_id=w.providers[provider].id,
                        location_id=w.locations[location].id,
                        weekday=6,
                        start_time=st_,
                        end_time=et,
                    )
                )
        long_ = AppointmentType(name="Long review", duration_min=45, buffer_before_min=10, required_skills=["general"])
        chat = AppointmentType(
            name="Chat", duration_min=20, buffer_before_min=5, buffer_after_min=5, required_skills=["general"]
        )
        s.add_all([long_, chat])
        s.flush()
        w.types["long"], w.types["chat"] = long_, chat
    return w


TYPES = {"downtown": ["consult", "followup", "long", "chat"], "harbor": ["class", "chat"]}
PROVIDERS = {"downtown": ["rao", "kim", None], "harbor": ["lee", None]}
DESK = {"downtown": "frontdesk", "harbor": "harbordesk"}


def reset() -> None:
    """Clear appointments and everything that refers to them (queue items, outboxes, ...)."""
    with unit_of_work() as s:
        found = inspect(s.connection())
        for table in found.get_table_names():
            if table != "appointment_history" and any(
                fk["referred_table"] == "appointments" for fk in found.get_foreign_keys(table)
            ):
                s.execute(text(f'DELETE FROM "{table}"'))
        for model in (WaitlistOffer, AppointmentHistory, Appointment, TimeOff):
            s.execute(delete(model))


def try_book(w, location, type_, provider, start, now):
    """Book for a new customer each time: availability is about providers and rooms, and a
    customer booked elsewhere at that time is refused by another rule."""
    (customer_id,) = many_customers(w, 1, location)
    try:
        return booking.book(
            w.actors[DESK[location]],
            type_id=w.types[type_].id,
            location_id=w.locations[location].id,
            customer_id=customer_id,
            provider_id=w.providers[provider].id if provider else None,
            start=start,
            intake={"reason": "property"},
            now=now,
        )
    except DomainError:
        return None


def day_start(location, day, w) -> datetime:
    return local_day_bounds(day, w.locations[location].timezone)[0]


def local_start(location, day, w, step: int) -> datetime:
    """The step-th 5-minute mark of the Sunday shifts (00:00-06:00, then 08:00-14:00), as UTC."""
    minutes = 5 * step + (120 if 5 * step >= 360 else 0)
    return local_to_utc(day, time(minutes // 60, minutes % 60), w.locations[location].timezone)


bookings = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 12 * 12 - 1)),  # type, provider, shift mark
    min_size=2,
    max_size=10,
)


def test_every_offered_slot_is_free_and_can_be_booked(db):
    w = build()

    @PROPERTY_SETTINGS
    @given(
        case=st.sampled_from(DAYS),
        existing=bookings,
        time_off=st.none() | st.tuples(st.integers(0, 24 * 4 - 1), st.integers(1, 16)),
        type_pick=st.integers(0, 3),
        data=st.data(),
    )
    def check(case, existing, time_off, type_pick, data):
        reset()
        location, day = case
        types, providers = TYPES[location], PROVIDERS[location]
        base = day_start(location, day, w)
        now = base - timedelta(days=2)
        for t, p, step in existing:
            try_book(
                w,
                location,
                types[t % len(types)],
                providers[p % len(providers)],
                base + timedelta(minutes=5 * step),
                now,
            )
        if time_off is not None:
            first, quarters = time_off
            off_start = base + timedelta(minutes=15 * first)
            with unit_of_work() as s:
                s.add(
                    TimeOff(
                        provider_id=w.providers[providers[0]].id,
                        start_at=off_start,
                        end_at=off_start + timedelta(minutes=15 * quarters),
                    )
                )
        type_ = types[type_pick % len(types)]
        atype = w.types[type_]
        found = availability.find_slots(
            w.actors[DESK[location]],
            type_id=atype.id,
            location_id=w.locations[location].id,
            date_from=day,
            date_to=day,
            now=now,
        )
        with unit_of_work() as s:
            held = s.execute(
                select(
                    Appointment.provider_id,
                    Appointment.room_id,
                    Appointment.block_start,
                    Appointment.block_end,
                    Appointment.group_key,
                ).where(Appointment.status != "cancelled")
            ).all()
            offs = s.execute(select(TimeOff.provider_id, TimeOff.start_at, TimeOff.end_at)).all()
        for slot in found:
            bs = slot.start - timedelta(minutes=atype.buffer_before_min)
            be = slot.end + timedelta(minutes=atype.buffer_after_min)
            key = availability.group_key_for(atype.id, slot.provider_id, slot.start) if atype.capacity > 1 else None
            for pid, rid, hs, he, hkey in held:
                same_holder = pid == slot.provider_id or (slot.room_id is not None and rid == slot.room_id)
                assert not (same_holder and hkey != key and hs < be and bs < he), (slot, hs, he)
            for pid, os_, oe in offs:
                assert not (pid == slot.provider_id and os_ < be and bs < oe), (slot, os_, oe)
        if found:
            for index in data.draw(st.lists(st.integers(0, len(found) - 1), min_size=1, max_size=3, unique=True)):
                slot = found[index]
                provider = next(k for k, v in w.providers.items() if v.id == slot.provider_id)
                routed = data.draw(st.booleans())
                result = try_book(w, location, type_, None if routed else provider, slot.start, now)
                assert result is not None, f"offered slot could not be booked: {slot}"
                if not routed:
                    assert result.appointment.room_id == slot.room_id
                booking.cancel(w.actors[DESK[location]], result.appointment.id, reason="property", now=now)
        with unit_of_work() as s:
            assert s.execute(OVERLAPS).scalar_one() == 0

    check()


def test_bookings_and_reschedules_never_produce_an_overlap(db):
    w = build()

    @PROPERTY_SETTINGS
    @given(
        case=st.sampled_from(DAYS),
        attempts=st.lists(
            st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 12 * 12 - 1), st.booleans()),
            min_size=1,
            max_size=12,
        ),
    )
    def check(case, attempts):
        reset()
        location, day = case
        types, providers = TYPES[location], PROVIDERS[location]
        base = day_start(location, day, w)
        now = base - timedelta(days=2)
        booked = []
        for t, p, step, move in attempts:
            start = local_start(location, day, w, step)
            if move and booked:
                with contextlib.suppress(DomainError):
                    booking.reschedule(w.actors[DESK[location]], booked[step % len(booked)], new_start=start, now=now)
                continue
            result = try_book(w, location, types[t % len(types)], providers[p % len(providers)], start, now)
            if result is not None:
                booked.append(result.appointment.id)
                a = result.appointment
                assert a.block_start <= a.start_at < a.end_at <= a.block_end
                assert a.start_at.tzinfo is not None and a.start_at.utcoffset() == timedelta(0)
        with unit_of_work() as s:
            assert s.execute(OVERLAPS).scalar_one() == 0

    check()


def test_dst_day_slots_step_in_real_minutes(db):
    """On a 23- or 25-hour day the night shift 00:00-06:00 holds 5 or 7 real hours of slots,
    and every slot lasts exactly its duration."""
    w = build()
    expected = {date(2026, 3, 8): 5, date(2026, 11, 1): 7, date(2026, 3, 29): 5, date(2026, 10, 25): 7}
    for location, day in DAYS:
        if day not in expected:
            continue
        provider = "rao" if location == "downtown" else "lee"
        found = availability.find_slots(
            w.actors[DESK[location]],
            type_id=w.types["chat"].id,
            location_id=w.locations[location].id,
            date_from=day,
            date_to=day,
            provider_id=w.providers[provider].id,
            now=day_start(location, day, w) - timedelta(days=1),
        )
        base = day_start(location, day, w)
        night = [s for s in found if s.start < base + timedelta(hours=expected[day])]
        assert len(night) == (expected[day] * 60 - 20) // 15 + 1, (location, day)
        assert all(s.end - s.start == timedelta(minutes=20) for s in found)

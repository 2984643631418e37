"""The free-slot engine: hours in local time, holds, buffers, notice, horizon, capacity, skills,
rooms, busy blocks, DST days, bad input, and routing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from core.base.db import unit_of_work
from core.base.errors import NotFound, PermissionDenied, ValidationError
from core.base.models import AppointmentType, AuditLog, BusyBlock, Provider, TimeOff, WorkingHours
from core.scheduling import availability, booking
from tests.factories import MONDAY, NOW, at, book, desk, world

T9 = datetime(2030, 1, 7, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York


def slots(w, type_="consult", location="downtown", day=MONDAY, last=None, actor=None, now=NOW, **kw):
    return availability.find_slots(
        w.actors[actor or desk(location)],
        type_id=w.types[type_].id,
        location_id=w.locations[location].id,
        date_from=day,
        date_to=last or day,
        now=now,
        **kw,
    )


def starts(found, provider_id=None) -> list[datetime]:
    return [s.start for s in found if provider_id is None or s.provider_id == provider_id]


def add(*rows):
    with unit_of_work() as s:
        s.add_all(rows)


# -- working hours, local time ---------------------------------------------------------------


def test_slots_follow_working_hours_in_the_locations_time_zone(db):
    w = world()
    found = slots(w)
    rao = starts(found, w.providers["rao"].id)
    # 09:00-17:00 New York, 30-minute consultations every 15 minutes: 09:00 ... 16:30
    assert rao[0] == at(9) and rao[-1] == at(16, 30)
    assert len(rao) == 31
    assert {s.provider_name for s in found} == {"Dr. Rao", "Dr. Kim"}
    assert all(s.end - s.start == timedelta(minutes=30) for s in found)
    assert all(s.room_name in {"Exam 1", "Exam 2"} for s in found)
    harbor = slots(w, "class", "harbor")
    assert harbor[0].start == datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # London is on GMT in January


def test_slots_are_sorted_by_start_then_provider(db):
    w = world()
    found = slots(w, last=MONDAY + timedelta(days=1))
    assert found == sorted(found, key=lambda s: (s.start, s.provider_name))
    assert found[0].provider_name == "Dr. Kim" and found[1].provider_name == "Dr. Rao"


def test_back_to_back_shifts_join_and_a_gap_between_shifts_is_not_offered(db):
    w = world()
    kim = w.providers["kim"].id
    with unit_of_work() as s:
        for row in s.scalars(select(WorkingHours).where(WorkingHours.provider_id == kim, WorkingHours.weekday == 0)):
            s.delete(row)
        s.add_all(
            WorkingHours(provider_id=kim, location_id=w.locations["downtown"].id, weekday=0, start_time=a, end_time=b)
            for a, b in ((time(9), time(12)), (time(12), time(13)), (time(14), time(15)))
        )
    found = starts(slots(w), kim)
    assert at(11, 45) in found  # 11:45-12:15 spans the join of 09:00-12:00 and 12:00-13:00
    assert at(12, 30) in found and at(12, 45) not in found  # would end 13:15, inside the gap
    assert at(14) in found and at(14, 30) in found and at(14, 45) not in found


def test_no_slots_on_a_day_off(db):
    w = world()
    assert slots(w, day=date(2030, 1, 5)) == []  # Saturday


def test_limit_caps_the_number_of_slots(db):
    w = world()
    assert len(slots(w, limit=5)) == 5


def test_provider_filter_only_returns_that_provider(db):
    w = world()
    found = slots(w, provider_id=w.providers["kim"].id)
    assert {s.provider_id for s in found} == {w.providers["kim"].id}


# -- what holds time -------------------------------------------------------------------------


def test_a_booked_appointment_removes_its_slots(db):
    w = world()
    book(w, at(10))
    rao = starts(slots(w), w.providers["rao"].id)
    assert at(10) not in rao and at(9, 45) not in rao and at(10, 15) not in rao
    assert at(9, 30) in rao and at(10, 30) in rao
    kim = starts(slots(w), w.providers["kim"].id)
    assert at(10) in kim  # the other exam room is free


def test_buffers_are_held_around_an_appointment(db):
    w = world()
    book(w, at(10), "followup")  # holds 09:55-10:25
    rao = starts(slots(w, "followup"), w.providers["rao"].id)
    assert at(9, 30) in rao  # 09:25-09:55 touches the hold
    assert at(9, 45) not in rao and at(10, 15) not in rao
    assert at(10, 30) in rao  # 10:25-10:55
    consult = starts(slots(w), w.providers["rao"].id)
    assert at(9, 15) in consult and at(9, 30) not in consult  # 09:30-10:00 overlaps 09:55


def test_cancelled_appointments_free_their_time(db):
    w = world()
    appt = book(w, at(10)).appointment
    booking.cancel(w.actors["frontdesk"], appt.id, reason="moved away", now=NOW)
    assert at(10) in starts(slots(w), w.providers["rao"].id)


def test_exclude_appointment_ignores_its_own_hold(db):
    w = world()
    appt = book(w, at(10)).appointment
    found = slots(w, provider_id=w.providers["rao"].id, exclude_appointment_id=appt.id)
    assert at(10) in starts(found) and at(10, 15) in starts(found)


def test_time_off_blocks_slots(db):
    w = world()
    add(TimeOff(provider_id=w.providers["rao"].id, start_at=at(12), end_at=at(14), reason="Training"))
    rao = starts(slots(w), w.providers["rao"].id)
    assert at(11, 30) in rao and at(11, 45) not in rao and at(13, 45) not in rao and at(14) in rao


def test_google_busy_blocks_hold_time(db):
    w = world()
    add(
        BusyBlock(
            provider_id=w.providers["kim"].id,
            calendar_id="kim@example.test",
            google_event_id="evt1",
            start_at=at(9),
            end_at=at(10),
        )
    )
    kim = starts(slots(w), w.providers["kim"].id)
    assert kim[0] == at(10)


def test_an_all_day_busy_block_covers_the_local_day(db):
    w = world()
    # Google's all-day event for Monday, stored at UTC midnight: 19:00 the evening before in New York.
    add(
        BusyBlock(
            provider_id=w.providers["kim"].id,
            calendar_id="kim@example.test",
            google_event_id="allday",
            start_at=datetime(2030, 1, 7, tzinfo=UTC),
            end_at=datetime(2030, 1, 8, tzinfo=UTC),
            all_day_start=MONDAY,
            all_day_end=MONDAY + timedelta(days=1),
        )
    )
    assert starts(slots(w), w.providers["kim"].id) == []
    tuesday = slots(w, day=MONDAY + timedelta(days=1))
    assert starts(tuesday, w.providers["kim"].id)[0] == at(9, day=MONDAY + timedelta(days=1))


# -- notice, horizon, capacity, skills, rooms ------------------------------------------------


def test_minimum_notice_hides_slots_too_soon(db):
    w = world()
    with unit_of_work() as s:
        s.get(AppointmentType, w.types["consult"].id).min_notice_min = 120
    found = starts(slots(w, now=at(10, 5)), w.providers["rao"].id)
    assert found[0] == at(12, 15)  # first step at or after 12:05


def test_nothing_in_the_past_is_offered(db):
    w = world()
    found = starts(slots(w, now=at(13, 1)), w.providers["rao"].id)
    assert found[0] == at(13, 15)


def test_horizon_limits_how_far_ahead(db):
    w = world()
    with unit_of_work() as s:
        s.get(AppointmentType, w.types["consult"].id).horizon_days = 5  # NOW is Wed 2 Jan: up to Mon 7 Jan
    assert slots(w)
    assert slots(w, day=MONDAY + timedelta(days=1)) == []


def test_group_sessions_show_seats_left_and_disappear_when_full(db):
    w = world()
    start = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)  # 10:00 in London
    for _ in range(4):
        book(w, start, "class", provider="lee", location="harbor", customer="mary")
    found = {s.start: s for s in slots(w, "class", "harbor")}
    assert found[start].seats_left == 2
    assert found[start + timedelta(hours=1)].seats_left == 6
    for _ in range(2):
        book(w, start, "class", provider="lee", location="harbor", customer="mary")
    assert start not in {s.start for s in slots(w, "class", "harbor")}


def test_only_providers_with_the_required_skill_are_offered(db):
    w = world()
    assert {s.provider_name for s in slots(w, "followup")} == {"Dr. Rao"}


def test_a_type_needing_a_room_kind_is_not_offered_when_every_such_room_is_taken(db):
    w = world()
    with unit_of_work() as s:
        ng = Provider(
            name="Dr. Ng", email="ng@example.test", skills=["general"], locations=[s.merge(w.locations["downtown"])]
        )
        s.add(ng)
        s.flush()
        s.add(
            WorkingHours(
                provider_id=ng.id,
                location_id=w.locations["downtown"].id,
                weekday=0,
                start_time=time(9),
                end_time=time(17),
            )
        )
        ng_id = ng.id
    book(w, at(10), provider="rao")
    book(w, at(10), provider="kim", customer="alan")
    ng_starts = starts(slots(w), ng_id)
    assert at(10) not in ng_starts  # Dr. Ng is free, but both exam rooms are taken
    assert at(9, 30) in ng_starts and at(10, 30) in ng_starts


def test_asking_for_a_room_only_offers_that_room(db):
    w = world()
    found = slots(w, room_id=w.rooms["dt2"].id)
    assert {s.room_name for s in found} == {"Exam 2"}
    book(w, at(10), provider="rao", room_id=w.rooms["dt2"].id)
    assert at(10) not in starts(slots(w, room_id=w.rooms["dt2"].id))


# -- DST -------------------------------------------------------------------------------------


def _sunday_hours(w, provider: str, location: str, shifts):
    add(
        *[
            WorkingHours(
                provider_id=w.providers[provider].id,
                location_id=w.locations[location].id,
                weekday=6,
                start_time=st,
                end_time=et,
            )
            for st, et in shifts
        ]
    )


@pytest.mark.parametrize(
    ("location", "provider", "type_", "day", "real_hours", "nine_utc"),
    [
        ("downtown", "rao", "followup", date(2026, 3, 8), 5, datetime(2026, 3, 8, 13, 0, tzinfo=UTC)),
        ("downtown", "rao", "followup", date(2026, 11, 1), 7, datetime(2026, 11, 1, 14, 0, tzinfo=UTC)),
        ("harbor", "lee", "class", date(2026, 3, 29), 5, datetime(2026, 3, 29, 8, 0, tzinfo=UTC)),
        ("harbor", "lee", "class", date(2026, 10, 25), 7, datetime(2026, 10, 25, 9, 0, tzinfo=UTC)),
    ],
)
def test_dst_days_have_the_right_number_of_real_hours(db, location, provider, type_, day, real_hours, nine_utc):
    w = world()
    _sunday_hours(w, provider, location, [(time(0), time(6)), (time(9), time(12))])
    now = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=3)
    found = starts(slots(w, type_, location, day=day, now=now), w.providers[provider].id)
    night = [s for s in found if s < nine_utc - timedelta(hours=2)]
    atype = w.types[type_]
    step = 15 if atype.capacity == 1 else atype.duration_min
    assert len(night) == (real_hours * 60 - atype.duration_min) // step + 1
    assert nine_utc in found  # 09:00 local, on the right side of the change
    assert all(b - a == timedelta(minutes=step) for a, b in zip(night, night[1:], strict=False))


# -- bad input and permission ----------------------------------------------------------------


def test_end_date_before_start_date_is_refused(db):
    w = world()
    with pytest.raises(ValidationError, match="is before the start date"):
        slots(w, day=MONDAY, last=MONDAY - timedelta(days=1))


def test_unknown_type_provider_and_room_are_named(db):
    w = world()
    fd, loc = w.actors["frontdesk"], w.locations["downtown"].id
    with pytest.raises(NotFound, match="Unknown appointment type #999"):
        availability.find_slots(fd, type_id=999, location_id=loc, date_from=MONDAY, date_to=MONDAY, now=NOW)
    with pytest.raises(NotFound, match="Unknown provider #999"):
        slots(w, provider_id=999)
    with pytest.raises(NotFound, match="Unknown room #999"):
        slots(w, room_id=999)


def test_a_provider_without_the_skill_is_refused(db):
    w = world()
    with pytest.raises(ValidationError, match="Dr. Kim does not have the skill 'followup' that Follow-up requires"):
        slots(w, "followup", provider_id=w.providers["kim"].id)


def test_a_provider_from_another_location_is_refused(db):
    w = world()
    with pytest.raises(ValidationError, match="Sam Lee does not work at Downtown"):
        slots(w, provider_id=w.providers["lee"].id)


def test_a_room_of_the_wrong_kind_or_place_is_refused(db):
    w = world()
    with pytest.raises(ValidationError, match="Studio is not at Downtown"):
        slots(w, room_id=w.rooms["hb1"].id)
    with pytest.raises(ValidationError, match="Exam 1 is a 'exam' room; Group class needs a 'studio' room"):
        slots(w, "class", "downtown", room_id=w.rooms["dt1"].id)


def test_a_user_without_a_role_sees_no_slots_and_the_attempt_is_audited(db):
    w = world()
    with pytest.raises(PermissionDenied):
        slots(w, actor="norole")
    with pytest.raises(PermissionDenied):
        slots(w, actor="harbordesk")
    with unit_of_work() as s:
        denied = s.scalars(select(AuditLog).where(AuditLog.outcome == "denied")).all()
    assert len(denied) == 2


# -- routing ---------------------------------------------------------------------------------


def test_round_robin_takes_turns(db):
    w = world()
    fd = w.actors["frontdesk"]
    chosen = []
    for i in range(4):
        result = book(w, at(9) + timedelta(hours=i), provider=None)
        chosen.append(result.appointment.provider.name)
        assert "round robin" in result.routing_reason
    assert chosen == ["Dr. Kim", "Dr. Rao", "Dr. Kim", "Dr. Rao"]
    routing = availability.choose_provider(
        fd, type_id=w.types["consult"].id, location_id=w.locations["downtown"].id, start=at(15), now=NOW
    )
    assert routing.provider_name == "Dr. Kim"
    assert routing.reason.startswith("Dr. Kim: round robin, next in turn")
    assert "room Exam 1" in routing.reason


def test_least_booked_picks_the_provider_with_fewest_appointments_this_week(db):
    w = world()
    with unit_of_work() as s:
        s.get(AppointmentType, w.types["consult"].id).routing_policy = "least_booked"
    book(w, at(9), provider="kim")
    book(w, at(10), provider="kim")
    book(w, at(9), provider="rao", customer="alan")
    result = book(w, at(11), provider=None)
    assert result.appointment.provider.name == "Dr. Rao"
    assert result.routing_reason == "Dr. Rao: least booked this week (1 appointment)"
    result = book(w, at(12), provider=None)
    assert result.routing_reason == "Dr. Kim: least booked this week (2 appointments)"


def test_routing_skips_providers_who_are_busy(db):
    w = world()
    book(w, at(10), provider="kim", customer="alan")
    result = book(w, at(10), provider=None)
    assert result.appointment.provider.name == "Dr. Rao"
    assert result.routing_reason == "Dr. Rao: the only eligible provider free at that time"
    assert result.room_reason == "Exam 2: first free exam room"

"""The day's schedule: the location's own calendar day, the actor's scope, the desk's flags."""

from datetime import UTC, date, datetime, timedelta

import pytest

from core.base.db import unit_of_work
from core.base.errors import PermissionDenied
from core.base.models import Appointment, Customer, WaitlistEntry, WaitlistOffer
from core.scheduling import schedule
from tests.factories import MONDAY, world

DAY = MONDAY
T0 = datetime(2030, 1, 7, 15, 0, tzinfo=UTC)  # 10:00 in New York, 15:00 in London


def _appt(w, start, *, provider="rao", room=None, location="downtown", customer="ada", status="booked", minutes=30):
    with unit_of_work() as s:
        a = Appointment(
            location_id=w.locations[location].id,
            provider_id=w.providers[provider].id,
            room_id=w.rooms[room].id if room else None,
            type_id=w.types["consult"].id,
            customer_id=w.customers[customer].id,
            start_at=start,
            end_at=start + timedelta(minutes=minutes),
            block_start=start,
            block_end=start + timedelta(minutes=minutes),
            status=status,
        )
        s.add(a)
        s.flush()
        return a.id


def test_the_day_is_the_locations_local_calendar_day(db):
    w = world()
    dt = w.locations["downtown"].id
    ny_midnight = datetime(2030, 1, 7, 5, 0, tzinfo=UTC)  # 00:00 in New York
    before = _appt(w, ny_midnight - timedelta(minutes=30))  # Sunday 23:30 local
    first = _appt(w, ny_midnight, provider="kim")
    last = _appt(w, ny_midnight + timedelta(hours=23, minutes=30))  # Monday 23:30 local
    after = _appt(w, ny_midnight + timedelta(hours=24), provider="kim")
    day = schedule.day_schedule(w.actors["frontdesk"], dt, DAY)
    ids = [r.appointment_id for r in day.rows]
    assert ids == [first, last]
    assert before not in ids and after not in ids
    assert day.rows[0].local_start.strftime("%H:%M") == "00:00"
    assert day.rows[0].time_label == "00:00–00:30"


def test_a_london_day_uses_london_time(db):
    w = world()
    appt = _appt(w, T0, location="harbor", provider="lee", room="hb1", customer="alan")
    day = schedule.day_schedule(w.actors["harbordesk"], w.locations["harbor"].id, DAY)
    assert [r.appointment_id for r in day.rows] == [appt]
    assert day.rows[0].time_label == "15:00–15:30"
    assert day.rows[0].room_name == "Studio"
    assert day.location.timezone == "Europe/London"


def test_a_spring_forward_day_has_23_hours(db):
    w = world()
    dst = date(2030, 3, 10)  # clocks go forward in New York
    late_evening = datetime(2030, 3, 11, 3, 30, tzinfo=UTC)  # 23:30 EDT on the 10th
    appt = _appt(w, late_evening)
    day = schedule.day_schedule(w.actors["frontdesk"], w.locations["downtown"].id, dst)
    assert [r.time_label for r in day.rows] == ["23:30–00:00"]
    assert day.rows[0].appointment_id == appt


def test_rows_carry_everything_the_list_shows(db):
    w = world()
    _appt(w, T0, room="dt1")
    row = schedule.day_schedule(w.actors["frontdesk"], w.locations["downtown"].id, DAY).rows[0]
    assert (row.customer_name, row.type_name, row.provider_name, row.room_name) == (
        "Ada Lovelace",
        "Consultation",
        "Dr. Rao",
        "Exam 1",
    )
    assert row.customer_email == "ada@example.test" and row.customer_phone == "+12125550100"
    assert row.status_label == "Booked" and row.intake_complete


def test_a_provider_sees_only_their_own_appointments(db):
    w = world()
    mine = _appt(w, T0, provider="rao")
    _appt(w, T0, provider="kim", customer="alan")
    day = schedule.day_schedule(w.actors["provider"], w.locations["downtown"].id, DAY)
    assert [r.appointment_id for r in day.rows] == [mine]
    assert day.providers == [(w.providers["rao"].id, "Dr. Rao")]


def test_an_analyst_sees_contacts_masked(db):
    w = world()
    appt_id = _appt(w, T0)
    with unit_of_work() as s:
        s.get(Appointment, appt_id).notes = "Allergic to latex; call her mother on 555 0199"
    row = schedule.day_schedule(w.actors["analyst"], w.locations["downtown"].id, DAY).rows[0]
    assert row.customer_email == "a***@example.test"
    assert row.customer_phone == "***-00"
    assert row.notes == schedule.NOTES_HIDDEN, "free-text notes can hold what masking hides"
    desk = schedule.day_schedule(w.actors["frontdesk"], w.locations["downtown"].id, DAY).rows[0]
    assert desk.notes.startswith("Allergic")


def test_another_locations_schedule_is_denied(db):
    w = world()
    with pytest.raises(PermissionDenied):
        schedule.day_schedule(w.actors["frontdesk"], w.locations["harbor"].id, DAY)
    with pytest.raises(PermissionDenied):
        schedule.day_schedule(w.actors["norole"], w.locations["downtown"].id, DAY)


def test_flags_unconfirmed_late_and_waitlist_offer(db):
    w = world()
    dt = w.locations["downtown"].id
    unconfirmed = _appt(w, T0)
    late = _appt(w, T0 - timedelta(hours=1), provider="kim", status="confirmed")
    freed = _appt(w, T0 + timedelta(hours=1), status="cancelled")
    checked_in = _appt(w, T0 - timedelta(hours=1), status="checked_in")
    with unit_of_work() as s:
        entry = WaitlistEntry(
            customer_id=w.customers["alan"].id,
            location_id=dt,
            type_id=w.types["consult"].id,
            earliest_date=DAY,
            latest_date=DAY,
            status="offered",
        )
        s.add(entry)
        s.flush()
        s.add(
            WaitlistOffer(
                entry_id=entry.id,
                location_id=dt,
                provider_id=w.providers["rao"].id,
                start_at=T0 + timedelta(hours=1),
                end_at=T0 + timedelta(hours=1, minutes=30),
                freed_by_appointment_id=freed,
            )
        )
    now = T0 - timedelta(minutes=30)  # 09:30: the 09:00 confirmed customer has not come in
    day = schedule.day_schedule(w.actors["frontdesk"], dt, DAY, now=now)
    flags = {r.appointment_id: r.flags for r in day.rows}
    assert flags[unconfirmed] == (schedule.FLAG_UNCONFIRMED,)
    assert flags[late] == (schedule.FLAG_LATE,)
    assert flags[freed] == (schedule.FLAG_WAITLIST,)
    assert flags[checked_in] == ()
    assert day.summary() == "4 appointments: 1 booked · 1 confirmed · 1 checked in · 1 cancelled · 1 not arrived"
    assert (
        schedule.FLAG_LATE
        in schedule.day_schedule(w.actors["frontdesk"], dt, DAY, now=T0 + timedelta(minutes=6)).row(unconfirmed).flags
    )


def test_the_list_frame_has_the_desks_columns_and_can_hide_cancelled(db):
    w = world()
    kept = _appt(w, T0, room="dt1")
    gone = _appt(w, T0, provider="kim", status="cancelled")
    day = schedule.day_schedule(w.actors["frontdesk"], w.locations["downtown"].id, DAY)
    frame = schedule.schedule_frame(day)
    assert list(frame.columns) == ["Time", "Customer", "Type", "Provider", "Room", "Status", "Intake", "Flags"]
    assert list(frame.index) == [gone, kept]  # same time: by provider name
    assert frame.loc[kept, "Room"] == "Exam 1"
    assert list(schedule.schedule_frame(day, include_cancelled=False).index) == [kept]


def test_timeline_lanes_by_provider_and_by_room(db):
    w = world()
    _appt(w, T0, room="dt2")
    _appt(w, T0, provider="kim", customer="alan")  # no room
    _appt(w, T0 + timedelta(hours=2), status="cancelled")
    day = schedule.day_schedule(w.actors["frontdesk"], w.locations["downtown"].id, DAY)
    bars, lanes = schedule.timeline_frame(day, by="provider")
    assert lanes == ["Dr. Kim", "Dr. Rao"]  # every provider at the location, even with a free day
    assert len(bars) == 2  # cancelled appointments leave the timeline
    assert bars.iloc[0]["start"] == datetime(2030, 1, 7, 10, 0)  # local wall-clock time
    bars, lanes = schedule.timeline_frame(day, by="room")
    assert lanes == ["Exam 1", "Exam 2", schedule.NO_ROOM]
    assert sorted(bars["lane"]) == ["Exam 2", schedule.NO_ROOM]


def test_visible_locations_and_the_default(db):
    w = world()
    fd = w.actors["frontdesk"]
    locations = schedule.visible_locations(fd)
    assert [loc.name for loc in locations] == ["Downtown"]
    assert schedule.default_location(fd, locations).name == "Downtown"
    everywhere = schedule.visible_locations(w.actors["analyst"])
    assert [loc.name for loc in everywhere] == ["Downtown", "Harbor"]
    assert schedule.visible_locations(w.actors["norole"]) == []
    assert schedule.default_location(fd, []) is None


def test_day_label_and_default_day_follow_the_locations_zone(db):
    w = world()
    ny = schedule.visible_locations(w.actors["frontdesk"])[0]
    late_utc = datetime(2030, 1, 8, 2, 0, tzinfo=UTC)  # still the 7th in New York
    assert schedule.default_day(ny, late_utc) == DAY
    assert schedule.day_label(DAY) == "Mon 7 Jan"


def test_customer_appointments_across_days_in_scope(db):
    w = world()
    _appt(w, T0)
    _appt(w, T0 + timedelta(days=3))
    _appt(w, T0, location="harbor", provider="lee")
    found = schedule.customer_appointments(w.actors["frontdesk"], w.customers["ada"].id)
    assert [(a["location"], a["day"]) for a in found] == [("Downtown", date(2030, 1, 10)), ("Downtown", DAY)]
    assert found[1]["when"] == "Mon 7 Jan 2030 10:00"
    with pytest.raises(PermissionDenied):
        schedule.customer_appointments(w.actors["analyst"], w.customers["ada"].id)


def test_a_searchs_matches_get_their_latest_appointments_each_in_one_read(db):
    w = world()
    for day in range(4):
        _appt(w, T0 + timedelta(days=day))
    _appt(w, T0 + timedelta(hours=2), customer="alan", provider="kim")
    _appt(w, T0, customer="alan", location="harbor", provider="lee")  # not the desk's location
    ada, alan = w.customers["ada"].id, w.customers["alan"].id
    found = schedule.appointments_by_customer(w.actors["frontdesk"], [ada, alan, 999_999], limit=3)
    assert [a["day"] for a in found[ada]] == [date(2030, 1, 10), date(2030, 1, 9), date(2030, 1, 8)]
    assert [(a["location"], a["when"]) for a in found[alan]] == [("Downtown", "Mon 7 Jan 2030 12:00")]
    assert found[999_999] == []
    assert found[ada] == schedule.customer_appointments(w.actors["frontdesk"], ada, limit=3)


def test_one_query_for_the_day_regardless_of_row_count(sqlite_db):
    from sqlalchemy import event

    w = world()
    with unit_of_work() as s:
        extra = [Customer(name=f"C{i}") for i in range(20)]
        s.add_all(extra)
    for i in range(20):
        _appt(w, T0 + timedelta(minutes=30 * i), provider="rao" if i % 2 else "kim")
    statements = []
    engine = sqlite_db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        day = schedule.day_schedule(w.actors["frontdesk"], w.locations["downtown"].id, DAY)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(day.rows) == 20
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 7  # location, appointments, offers, provider lanes, rooms, hours, time off


def test_one_appointment_read_fresh_with_the_same_scope(db):
    w = world()
    mine = _appt(w, T0, provider="rao")
    theirs = _appt(w, T0, provider="kim", customer="alan")
    row = schedule.appointment_row(w.actors["frontdesk"], theirs)
    assert row.customer_name == "Alan Turing" and row.location_id == w.locations["downtown"].id
    assert row.time_label == "10:00–10:30"
    assert schedule.appointment_row(w.actors["provider"], theirs) is None
    assert schedule.appointment_row(w.actors["provider"], mine).provider_name == "Dr. Rao"
    assert schedule.appointment_row(w.actors["harbordesk"], mine) is None


def test_appointment_types_for_the_booking_dialog(db):
    w = world()
    types = schedule.appointment_types(w.actors["frontdesk"])
    assert [t.name for t in types] == ["Consultation", "Follow-up", "Group class"]
    assert types[0].intake_fields[0]["name"] == "reason"
    assert schedule.appointment_types(w.actors["norole"]) == []

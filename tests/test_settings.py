"""Settings services: who may change what where, the sentences bad input gets, hours on a DST
week, and time off previewed before it is recorded."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from core.base.db import read_session
from core.base.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from core.base.models import AuditLog, Location, Provider, TimeOff
from core.base.tz import local_to_utc
from core.scheduling import booking
from core.scheduling.availability import find_slots
from core.scheduling.hours import Shift
from core.settings import locations, providers, types, working_time
from tests.factories import world

NY = "America/New_York"
NOW = datetime(2030, 1, 7, 13, 0, tzinfo=UTC)  # Monday 08:00 in New York


def _audits(action_like: str = "%") -> list:
    cols = (AuditLog.action, AuditLog.outcome, AuditLog.entity, AuditLog.before, AuditLog.after, AuditLog.reason)
    with read_session() as s:
        return s.execute(select(*cols).where(AuditLog.action.like(action_like)).order_by(AuditLog.id)).all()


# -- permissions and scope, per role -----------------------------------------------------------

ROLES = ["frontdesk", "provider", "manager", "analyst", "admin", "norole"]


@pytest.mark.parametrize("who", ROLES)
def test_only_admins_add_locations(db, who):
    w = world()
    call = lambda: locations.save_location(w.actors[who], name="Uptown", timezone="America/Chicago")  # noqa: E731
    if who == "admin":
        call()
        with read_session() as s:
            assert s.scalar(select(Location.timezone).where(Location.name == "Uptown")) == "America/Chicago"
    else:
        with pytest.raises(PermissionDenied):
            call()
        assert [a.outcome for a in _audits("locations.manage")] == ["denied"]


@pytest.mark.parametrize("who", ROLES)
def test_provider_changes_by_role_and_location(db, who):
    w = world()
    rao, lee = w.providers["rao"], w.providers["lee"]
    allowed = {"manager": {"Dr. Rao"}, "admin": {"Dr. Rao", "Sam Lee"}}.get(who, set())
    for p in (rao, lee):
        call = lambda p=p: providers.save_provider(  # noqa: E731
            w.actors[who], provider_id=p.id, name=p.name + " Jr", email=p.email, skills=p.skills,
            location_ids=[loc.id for loc in p.locations],
        )  # fmt: skip
        if p.name in allowed:
            call()
        else:  # a manager elsewhere is told the provider is unknown, as if missing
            with pytest.raises(NotFound if who == "manager" else PermissionDenied):
                call()
    with read_session() as s:
        renamed = set(s.scalars(select(Provider.name).where(Provider.name.like("% Jr"))))
    assert renamed == {n + " Jr" for n in allowed}


def test_manager_cannot_move_a_provider_to_a_location_outside_their_own(db):
    w = world()
    rao, harbor = w.providers["rao"], w.locations["harbor"]
    with pytest.raises(PermissionDenied, match="outside your locations"):
        providers.save_provider(w.actors["manager"], provider_id=rao.id, name=rao.name, email=rao.email,
                                location_ids=[w.locations["downtown"].id, harbor.id])  # fmt: skip
    assert [p.name for p in providers.list_providers(w.actors["manager"])] == ["Dr. Kim", "Dr. Rao"]
    assert [p.name for p in providers.list_providers(w.actors["admin"])] == ["Dr. Kim", "Dr. Rao", "Sam Lee"]
    with pytest.raises(PermissionDenied):
        providers.list_providers(w.actors["frontdesk"])


def test_manager_changes_types_offered_only_at_their_locations(db):
    w = world()
    dt, hb = w.locations["downtown"].id, w.locations["harbor"].id
    manager = w.actors["manager"]
    new = types.TypeInput(name="Check-up", duration_min=20, required_skills=["general"], location_ids=[dt])
    type_id = types.save_type(manager, new)
    with pytest.raises(PermissionDenied):  # offered everywhere: admins only
        types.save_type(manager, types.TypeInput(name="Anywhere", duration_min=20))
    with pytest.raises(PermissionDenied):
        types.save_type(manager, types.TypeInput(name="Check-up", duration_min=25, location_ids=[dt, hb]),
                        type_id=type_id)  # fmt: skip
    with pytest.raises(PermissionDenied):  # the world's Consultation is offered everywhere
        types.set_type_active(manager, w.types["consult"].id, False)
    types.set_type_active(w.actors["admin"], w.types["consult"].id, False)
    names = [t.data.name for t in types.list_types(manager, include_inactive=True)]
    assert "Check-up" in names and "Consultation" in names


# -- validation sentences ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"buffer_after_min": -5}, "Buffer after cannot be negative."),
        ({"duration_min": 0}, "Duration must be at least 1 minute."),
        ({"capacity": 0}, "Capacity must be at least 1"),
        ({"required_skills": ["dietitian"]}, "No provider at Downtown has the skill 'dietitian' Diet plan requires."),
        ({"room_kind": "studio"}, "Downtown has no 'studio' room, which Diet plan needs."),
        ({"intake_fields": [{"label": "", "kind": "text"}]}, "Intake field 1 has no label"),
        ({"intake_fields": [{"label": "Age", "kind": "colour"}]}, "Intake field 'Age' has kind 'colour'"),
    ],
)
def test_type_validation_messages(db, change, message):
    w = world()
    data = types.TypeInput(name="Diet plan", duration_min=30, location_ids=[w.locations["downtown"].id])
    for k, v in change.items():
        setattr(data, k, v)
    with pytest.raises(ValidationError) as err:
        types.save_type(w.actors["manager"], data)
    assert str(err.value).startswith(message)
    assert _audits("settings.manage") == []


def test_location_and_provider_validation_messages(db):
    w = world()
    admin = w.actors["admin"]
    with pytest.raises(ValidationError, match="'America/Nwe_York' is not a time zone"):
        locations.save_location(admin, name="Uptown", timezone="America/Nwe_York")
    with pytest.raises(ConflictError, match="already a location named Downtown"):
        locations.save_location(admin, name="downtown", timezone=NY)
    with pytest.raises(ValidationError, match="not an email address"):
        providers.save_provider(admin, name="Dr. New", email="nobody", location_ids=[w.locations["downtown"].id])
    with pytest.raises(ConflictError, match="Another provider already uses rao@example.test"):
        providers.save_provider(admin, name="Dr. New", email="RAO@example.test")
    dt = w.locations["downtown"].id
    with pytest.raises(ValidationError, match="Monday 12:00-14:00 overlaps 09:00-13:00 at Downtown"):
        working_time.set_hours(admin, w.providers["rao"].id, dt,
                               [Shift(dt, 0, time(9), time(13)), Shift(dt, 0, time(12), time(14))])  # fmt: skip
    with pytest.raises(ValidationError, match="Tuesday 17:00-09:00 at Downtown ends before it starts"):
        working_time.set_hours(admin, w.providers["rao"].id, dt, [Shift(dt, 1, time(17), time(9))])


def test_deactivated_rows_are_hidden_by_default_and_restorable(db):
    w = world()
    admin = w.actors["admin"]
    room = w.rooms["dt2"]
    locations.set_room_active(admin, room.id, False)
    assert "Exam 2" not in [r.name for r in locations.list_rooms(admin)]
    assert "Exam 2" in [r.name for r in locations.list_rooms(admin, include_inactive=True)]
    locations.set_room_active(admin, room.id, True)
    assert "Exam 2" in [r.name for r in locations.list_rooms(admin)]
    audits = _audits("locations.manage")
    assert [(a.before["active"], a.after["active"]) for a in audits] == [(True, False), (False, True)]


def test_a_provider_with_upcoming_appointments_stays_active(db):
    w = world()
    rao = w.providers["rao"]
    booking.book(w.actors["frontdesk"], type_id=w.types["followup"].id, location_id=w.locations["downtown"].id,
                 customer_id=w.customers["ada"].id, provider_id=rao.id,
                 start=local_to_utc(date(2030, 1, 8), time(10), NY), now=NOW)  # fmt: skip
    with pytest.raises(ValidationError, match="Dr. Rao has 1 upcoming appointments"):
        providers.set_provider_active(w.actors["manager"], rao.id, False, now=NOW)


# -- hours and time off ------------------------------------------------------------------------


def test_a_week_of_hours_across_the_dst_change_stays_at_local_nine(db):
    """New York springs forward on Sunday 2030-03-10: 09:00 local is 14:00 UTC before, 13:00 after."""
    w = world()
    dt = w.locations["downtown"].id
    kim = w.providers["kim"]
    week = [Shift(dt, d, time(9), time(12)) for d in range(7)]
    working_time.set_hours(w.actors["manager"], kim.id, dt, week, now=datetime(2030, 3, 1, tzinfo=UTC))
    slots = find_slots(w.actors["frontdesk"], type_id=w.types["consult"].id, location_id=dt,
                       date_from=date(2030, 3, 8), date_to=date(2030, 3, 12), provider_id=kim.id,
                       now=datetime(2030, 3, 1, tzinfo=UTC))  # fmt: skip
    firsts = {}
    for slot in slots:
        firsts.setdefault(slot.start.date(), slot.start)
    assert firsts[date(2030, 3, 8)] == datetime(2030, 3, 8, 14, tzinfo=UTC)
    assert firsts[date(2030, 3, 9)] == datetime(2030, 3, 9, 14, tzinfo=UTC)
    assert firsts[date(2030, 3, 10)] == datetime(2030, 3, 10, 13, tzinfo=UTC)
    assert firsts[date(2030, 3, 11)] == datetime(2030, 3, 11, 13, tzinfo=UTC)
    (audit,) = _audits("settings.manage")
    assert audit.after == {"hours": "Mon 09:00-12:00; Tue 09:00-12:00; Wed 09:00-12:00; Thu 09:00-12:00; "
                           "Fri 09:00-12:00; Sat 09:00-12:00; Sun 09:00-12:00"}  # fmt: skip


def test_time_off_lists_the_appointments_it_would_leave_before_it_is_recorded(db):
    w = world()
    rao, dt = w.providers["rao"], w.locations["downtown"].id
    appt = booking.book(w.actors["frontdesk"], type_id=w.types["followup"].id, location_id=dt,
                        customer_id=w.customers["ada"].id, provider_id=rao.id,
                        start=local_to_utc(date(2030, 1, 9), time(14), NY), now=NOW).appointment  # fmt: skip
    manager = w.actors["manager"]
    morning = working_time.preview_time_off(manager, rao.id, first_day=date(2030, 1, 9), start_time=time(9),
                                            end_time=time(12), now=NOW)  # fmt: skip
    assert morning == []
    (hit,) = working_time.preview_time_off(manager, rao.id, first_day=date(2030, 1, 8), last_day=date(2030, 1, 10),
                                           now=NOW)  # fmt: skip
    assert (hit.appointment_id, hit.when, hit.customer, hit.reason) == (
        appt.id,
        "Wed 9 Jan 14:00-14:15",
        "Ada Lovelace",
        "on time off (new time off)",
    )
    with read_session() as s:
        assert s.scalar(select(func.count(TimeOff.id))) == 0
    off_id, affected = working_time.add_time_off(manager, rao.id, first_day=date(2030, 1, 8),
                                                 last_day=date(2030, 1, 10), reason="Conference", now=NOW)  # fmt: skip
    assert [a.appointment_id for a in affected] == [appt.id]
    (view,) = working_time.list_time_off(manager, rao.id, now=NOW)
    assert (view.id, view.label, view.reason) == (off_id, "Tue 8 Jan – Thu 10 Jan", "Conference")
    assert view.start == local_to_utc(date(2030, 1, 8), time(0), NY)
    working_time.remove_time_off(manager, off_id, now=NOW)
    assert working_time.list_time_off(manager, rao.id, now=NOW) == []
    assert [a.reason for a in _audits("settings.manage")] == ["time off added", "time off removed"]
    with pytest.raises(PermissionDenied):
        working_time.add_time_off(w.actors["harbordesk"], rao.id, first_day=date(2030, 1, 8), now=NOW)
    with pytest.raises(ValidationError, match="ends before it starts"):
        working_time.add_time_off(manager, rao.id, first_day=date(2030, 1, 9), last_day=date(2030, 1, 8), now=NOW)


def test_types_not_offered_at_a_location_cannot_be_booked_there(db):
    w = world()
    admin = w.actors["admin"]
    hb = w.locations["harbor"].id
    t = next(v for v in types.list_types(admin) if v.data.name == "Follow-up")
    t.data.location_ids = [hb]
    t.data.required_skills = []
    types.save_type(admin, t.data, type_id=t.id)
    with pytest.raises(ValidationError, match="Follow-up is not offered at Downtown"):
        booking.book(w.actors["frontdesk"], type_id=t.id, location_id=w.locations["downtown"].id,
                     customer_id=w.customers["ada"].id, start=NOW + timedelta(days=1, hours=2), now=NOW)  # fmt: skip

"""The whole role x action x location matrix against a table written out by hand (not
recomputed from PERMISSIONS), plus the provider rule, no-role and deactivated users, scope
filters, masking and the audit of refused attempts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.base.db import read_session, unit_of_work
from core.base.errors import PermissionDenied
from core.base.models import Location, User
from core.security import access
from core.security.access import ALL_ACTIONS, A, Actor, can, can_act_on_appointment
from core.security.service import check, service
from tests.factories import audit_rows, world

# Y = allowed. Columns: front desk, provider, manager, analyst, admin. DESIGN.md's role table.
EXPECTED_TABLE = """
action                      fd  pr  mg  an  ad
appointment.view            Y   Y   Y   Y   Y
appointment.book            Y   -   Y   -   Y
appointment.confirm         Y   -   Y   -   Y
appointment.check_in        Y   -   Y   -   Y
appointment.complete        Y   Y   Y   -   Y
appointment.mark_no_show    Y   Y   Y   -   Y
appointment.cancel          Y   -   Y   -   Y
appointment.reschedule      Y   -   Y   -   Y
appointment.note            Y   Y   Y   -   Y
appointment.override        -   -   Y   -   Y
waitlist.manage             Y   -   Y   -   Y
customer.view               Y   Y   Y   -   Y
customer.manage             Y   -   Y   -   Y
contacts.view               Y   Y   Y   -   Y
queue.view                  Y   Y   Y   Y   Y
queue.resolve               Y   -   Y   -   Y
metrics.view                -   -   Y   Y   Y
export.appointments         -   -   Y   Y   Y
export.contacts             -   -   Y   -   Y
settings.manage             -   -   Y   -   Y
users.manage                -   -   -   -   Y
audit.view                  -   -   -   -   Y
calendar.manage             -   -   -   -   Y
locations.manage            -   -   -   -   Y
import.appointments         -   -   -   -   Y
webhooks.manage             -   -   -   -   Y
inquiry.view                Y   Y   Y   Y   Y
inquiry.record              Y   -   Y   -   Y
door.manage                 -   -   -   -   Y
intake.answer               -   -   -   -   Y
"""
ROLE_COLUMNS = {"frontdesk": 0, "provider": 1, "manager": 2, "analyst": 3, "admin": 4}
GLOBAL = {"analyst", "admin"}  # every location, whatever their location list says


def _expected() -> dict[str, dict[str, bool]]:
    lines = [line.split() for line in EXPECTED_TABLE.strip().splitlines()[1:]]
    return {cells[0]: {user: cells[1 + col] == "Y" for user, col in ROLE_COLUMNS.items()} for cells in lines}


EXPECTED = _expected()


@pytest.fixture
def w(sqlite_db):
    return world()


def test_the_expected_table_names_every_action_once():
    assert sorted(EXPECTED) == sorted(ALL_ACTIONS)


@pytest.mark.parametrize("user", list(ROLE_COLUMNS))
def test_role_by_action_by_location_matrix(w, user):
    actor = w.actors[user]
    downtown, harbor = w.locations["downtown"].id, w.locations["harbor"].id  # users work at Downtown
    wrong = []
    for action in ALL_ACTIONS:
        allowed = EXPECTED[action][user]
        cases = {"anywhere": allowed, "own location": allowed, "other location": allowed and user in GLOBAL}
        got = {
            "anywhere": can(actor, action),
            "own location": can(actor, action, downtown),
            "other location": can(actor, action, harbor),
        }
        wrong += [f"{action} at {where}: expected {cases[where]}, got {got[where]}" for where in cases if got[where] != cases[where]]  # fmt: skip
    assert not wrong, f"{user}:\n" + "\n".join(wrong)


def test_harbor_front_desk_is_scoped_to_harbor(w):
    actor = w.actors["harbordesk"]
    assert can(actor, A.APPOINTMENT_BOOK, w.locations["harbor"].id)
    assert not can(actor, A.APPOINTMENT_BOOK, w.locations["downtown"].id)


def test_a_user_with_no_role_can_do_nothing_anywhere(w):
    actor = w.actors["norole"]
    assert actor.role is None
    for action in ALL_ACTIONS:
        for location in (None, w.locations["downtown"].id, w.locations["harbor"].id):
            assert not can(actor, action, location), action
    assert access.allowed_actions(actor) == frozenset()


def test_nobody_signed_in_can_do_nothing():
    assert not any(can(None, action) for action in ALL_ACTIONS)


def test_a_deactivated_user_has_no_actor_and_no_rights(w):
    with unit_of_work() as s:
        s.get(User, w.users["admin"].id).active = False
    with read_session() as s:
        assert access.load_actor(s, w.users["admin"].id) is None
        assert access.actor_for(s.get(User, w.users["admin"].id)).role is None


def test_role_and_scope_come_from_the_database_each_time(w):
    with unit_of_work() as s:
        user = s.get(User, w.users["frontdesk"].id)
        user.role = "analyst"
    with read_session() as s:
        actor = access.load_actor(s, w.users["frontdesk"].id)
    assert actor.role == "analyst" and actor.all_locations
    assert not can(actor, A.APPOINTMENT_BOOK, w.locations["downtown"].id)


def test_an_unknown_role_is_denied_by_default():
    actor = Actor(user_id=1, username="x", role="superuser", location_ids=None)
    assert not any(can(actor, action) for action in ALL_ACTIONS)


def test_a_provider_acts_only_on_their_own_appointments(w):
    provider, downtown = w.actors["provider"], w.locations["downtown"].id
    rao, kim = w.providers["rao"].id, w.providers["kim"].id
    assert can_act_on_appointment(provider, A.APPOINTMENT_COMPLETE, downtown, rao)
    assert not can_act_on_appointment(provider, A.APPOINTMENT_COMPLETE, downtown, kim)
    assert not can_act_on_appointment(provider, A.APPOINTMENT_CANCEL, downtown, rao)  # not a provider action
    assert can_act_on_appointment(w.actors["frontdesk"], A.APPOINTMENT_COMPLETE, downtown, kim)


def test_a_provider_user_without_a_provider_record_sees_no_appointments():
    actor = Actor(user_id=1, username="p", role="provider", location_ids=frozenset({1}), provider_id=None)
    assert not can_act_on_appointment(actor, A.APPOINTMENT_COMPLETE, 1, 5)
    assert str(access.provider_filter(actor, Location.id).compile(compile_kwargs={"literal_binds": True})) == "false"


@pytest.mark.parametrize(
    ("user", "visible"),
    [("frontdesk", ["Downtown"]), ("harbordesk", ["Harbor"]), ("analyst", ["Downtown", "Harbor"]),
     ("admin", ["Downtown", "Harbor"]), ("norole", [])],
)  # fmt: skip
def test_location_filter_pushes_scope_into_the_query(w, user, visible):
    with read_session() as s:
        query = select(Location.name).where(access.location_filter(w.actors[user], Location.id)).order_by(Location.name)
        assert list(s.scalars(query)) == visible


def test_location_filter_shows_nothing_to_nobody(w):
    with read_session() as s:
        assert list(s.scalars(select(Location.name).where(access.location_filter(None, Location.id)))) == []


def test_contact_details_are_masked():
    assert access.mask_email("ada@example.test") == "a***@example.test"
    assert access.mask_phone("+1 555 0100") == "***-00"
    assert access.mask_email(None) is None and access.mask_phone("") == ""


def test_a_refused_attempt_is_audited_with_a_clear_message(db):
    w = world()
    with pytest.raises(PermissionDenied, match="may not manage users: the front desk role does not allow it"):
        check(w.actors["frontdesk"], A.USERS_MANAGE, entity="user", entity_id=3)
    (row,) = audit_rows(outcome="denied")
    assert (row.actor_username, row.role, row.action, row.entity, row.entity_id) == (
        "frontdesk", "front_desk", A.USERS_MANAGE, "user", "3",
    )  # fmt: skip


def test_a_refusal_inside_a_service_is_audited_after_the_rollback(db):
    w = world()
    harbor = w.locations["harbor"].id
    with (
        pytest.raises(PermissionDenied, match="outside your locations"),
        service(w.actors["frontdesk"], A.APPOINTMENT_BOOK, entity="appointment") as tx,
    ):
        tx.session.add(Location(name="Should vanish", timezone="UTC"))
        tx.session.flush()
        tx.require(harbor)
    with read_session() as s:
        assert s.scalar(select(Location).where(Location.name == "Should vanish")) is None
    (row,) = audit_rows(outcome="denied")
    assert (row.action, row.location_id) == (A.APPOINTMENT_BOOK, harbor)


def test_a_user_with_no_role_is_told_to_ask_an_admin(db):
    w = world()
    with pytest.raises(PermissionDenied, match="no role yet"):
        access.require(w.actors["norole"], A.APPOINTMENT_VIEW)

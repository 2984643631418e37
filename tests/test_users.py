"""User administration: create, role and locations, deactivate, reset password. Nobody raises
their own privileges, the last admin stays, and every change leaves exactly one audit row."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.base.db import read_session
from core.base.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from core.base.models import Role, User
from core.people import users
from core.security import access, auth
from core.security.access import PERMISSIONS, A
from tests.factories import PASSWORD, audit_rows, world


@pytest.fixture
def w(db, fast_passwords):
    return world()


def _audit(outcome: str = "ok") -> list[tuple]:
    return audit_rows(outcome=outcome, fields=("action", "actor_username", "entity_id", "before", "after"))


def _user(user_id: int) -> users.UserView:
    return next(u for u in users.list_users(access.SYSTEM) if u.id == user_id)


def _add(w, username="newdesk", **fields):
    spec = dict(username=username, name="New Desk", email=f"{username}@example.test", password="a-good-password",
                role="front_desk", location_names=["Downtown"], all_locations=False)  # fmt: skip
    return users.add_user(w.actors["admin"], **{**spec, **fields})


def test_an_admin_creates_a_user_who_can_sign_in(w):
    view = _add(w)
    assert (view.username, view.role, view.locations) == ("newdesk", "front_desk", ("Downtown",))
    assert auth.authenticate("newdesk", "a-good-password").ok
    ((action, by, entity_id, before, after),) = _audit()[:1]
    assert (action, by, entity_id, before) == ("user.create", "admin", str(view.id), None)
    assert after["role"] == "front_desk" and after["locations"] == ["Downtown"]
    assert "password" not in str(after) and "$2b$" not in str(after)


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"username": "x"}, ValidationError, "A username is 2 to 80 characters"),
        ({"username": "frontdesk"}, ConflictError, "username 'frontdesk' is taken"),
        ({"email": "manager@example.test"}, ConflictError, "already has the email"),
        ({"password": "short"}, ValidationError, "at least 8 characters"),
        ({"password": "newdesk"}, ValidationError, "at least 8 characters"),
        ({"password": "newdesk1", "username": "newdesk1"}, ValidationError, "must not be the username"),
        ({"password": "x" * 73}, ValidationError, "at most 72 bytes"),
        ({"role": "owner"}, ValidationError, "Unknown role 'owner'"),
        ({"location_names": ["Uptown"]}, NotFound, "No location named Uptown. Known locations: Downtown, Harbor."),
    ],
)
def test_bad_input_creates_nothing_and_audits_nothing(w, fields, error, message):
    with pytest.raises(error, match=message):
        _add(w, **fields)
    with read_session() as s:
        assert s.scalar(select(func.count()).select_from(User)) == len(w.users)
    assert _audit() == []


@pytest.mark.parametrize("who", ["frontdesk", "provider", "manager", "analyst", "norole"])
def test_only_admins_manage_users_and_refusals_are_audited(w, who):
    actor, target = w.actors[who], w.users["harbordesk"].id
    attempts = [
        lambda: users.add_user(actor, username="sneaky", name="S", email=None, password="a-good-password",
                                                      role="admin", location_names=[], all_locations=True),
        lambda: users.set_role_and_locations(actor, target, role="admin", location_names=[]),
        lambda: users.deactivate_user(actor, target),
        lambda: users.reset_password(actor, target, "taken-over-1"),
        lambda: users.list_users(actor),
    ]  # fmt: skip
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    denied = _audit("denied")
    assert len(denied) == len(attempts) and {row[1] for row in denied} == {who}
    assert _user(target).role == "front_desk" and _user(target).active
    assert _audit() == []


def test_admin_sets_role_and_locations_with_before_and_after(w):
    target = w.users["frontdesk"].id
    view = users.set_role_and_locations(w.actors["admin"], target, role="manager", location_names=["Downtown", "Harbor"],
                                        reason="promoted")  # fmt: skip
    assert (view.role, view.locations) == ("manager", ("Downtown", "Harbor"))
    ((action, by, entity_id, before, after),) = _audit()
    assert (action, by, entity_id) == ("user.set_role", "admin", str(target))
    assert (before["role"], after["role"], after["locations"]) == ("front_desk", "manager", ["Downtown", "Harbor"])


def test_saving_without_a_change_writes_no_audit_row(w):
    users.set_role_and_locations(w.actors["admin"], w.users["frontdesk"].id, role="front_desk",
                                 location_names=["Downtown"])  # fmt: skip
    assert _audit() == []


def test_a_provider_user_is_linked_to_their_provider_record(w):
    view = users.set_role_and_locations(w.actors["admin"], w.users["norole"].id, role="provider",
                                        location_names=["Downtown"], provider_id=w.providers["kim"].id)  # fmt: skip
    assert (view.role, view.provider_id) == ("provider", w.providers["kim"].id)
    with pytest.raises(NotFound, match="No provider with id 999"):
        users.set_role_and_locations(w.actors["admin"], w.users["norole"].id, role="provider", location_names=[],
                                     provider_id=999)  # fmt: skip


@pytest.fixture
def managers_manage_users(monkeypatch):
    """A permission table where managers manage the users of their own locations: the rules
    below must hold for any role that may manage users, not only for admins."""
    monkeypatch.setitem(PERMISSIONS, Role.MANAGER, PERMISSIONS[Role.MANAGER] | {A.USERS_MANAGE})


def test_nobody_can_raise_their_own_role(w, managers_manage_users):
    manager = w.actors["manager"]
    with pytest.raises(PermissionDenied, match="Nobody can raise their own role"):
        users.set_role_and_locations(manager, manager.user_id, role="admin", location_names=["Downtown"])
    with pytest.raises(PermissionDenied, match="Nobody can raise their own role or add to their own locations"):
        users.set_role_and_locations(manager, manager.user_id, role="manager", location_names=["Downtown", "Harbor"])
    assert _user(manager.user_id).role == "manager"
    assert [row[0] for row in _audit("denied")] == [A.USERS_MANAGE, A.USERS_MANAGE]
    assert _audit() == []


def test_lowering_your_own_role_is_allowed(w, managers_manage_users):
    manager = w.actors["manager"]
    assert users.set_role_and_locations(
        manager, manager.user_id, role="front_desk", location_names=["Downtown"]
    ).role == ("front_desk")


def test_a_manager_cannot_grant_more_than_they_have_or_reach_other_locations(w, managers_manage_users):
    manager = w.actors["manager"]
    with pytest.raises(PermissionDenied, match="every location"):  # admin is an every-location role
        users.set_role_and_locations(manager, w.users["frontdesk"].id, role="admin", location_names=["Downtown"])
    with pytest.raises(PermissionDenied, match="outside your locations"):
        users.set_role_and_locations(manager, w.users["harbordesk"].id, role="front_desk", location_names=["Downtown"])
    with pytest.raises(PermissionDenied, match="every location"):
        users.set_role_and_locations(manager, w.users["frontdesk"].id, role="front_desk", location_names=[],
                                     all_locations=True)  # fmt: skip
    assert users.set_role_and_locations(manager, w.users["frontdesk"].id, role="provider",
                                        location_names=["Downtown"]).role == "provider"  # fmt: skip
    assert [u.username for u in users.list_users(manager)] == ["frontdesk", "manager", "norole", "provider"]


def test_the_last_admin_cannot_be_demoted_or_deactivated(w):
    admin = w.actors["admin"]
    with pytest.raises(ValidationError, match="last active admin"):
        users.set_role_and_locations(admin, admin.user_id, role="manager", location_names=["Downtown"])
    with pytest.raises(ValidationError, match="last active admin"):
        users.deactivate_user(access.SYSTEM, admin.user_id)
    assert _user(admin.user_id).role == "admin" and _user(admin.user_id).active
    assert _audit() == []


def test_with_a_second_admin_one_may_step_down_but_not_both(w):
    admin = w.actors["admin"]
    second = users.set_role_and_locations(admin, w.users["manager"].id, role="admin", location_names=[])
    users.set_role_and_locations(admin, admin.user_id, role="manager", location_names=["Downtown"])
    with read_session() as s:
        second_actor = access.load_actor(s, second.id)
    with pytest.raises(ValidationError, match="last active admin"):
        users.set_role_and_locations(second_actor, second.id, role="analyst", location_names=[])


def test_a_deactivated_admin_does_not_count_as_the_other_admin(w):
    admin = w.actors["admin"]
    second = users.set_role_and_locations(admin, w.users["manager"].id, role="admin", location_names=[])
    users.deactivate_user(admin, second.id)
    with pytest.raises(ValidationError, match="last active admin"):
        users.set_role_and_locations(admin, admin.user_id, role="manager", location_names=["Downtown"])


def test_nobody_deactivates_themselves(w):
    with pytest.raises(ValidationError, match="cannot deactivate your own account"):
        users.deactivate_user(w.actors["admin"], w.users["admin"].id)


def test_deactivate_and_reactivate_are_audited_once_each(w):
    target = w.users["frontdesk"].id
    users.deactivate_user(w.actors["admin"], target, reason="left the company")
    users.deactivate_user(w.actors["admin"], target)  # already inactive: no change, no row
    assert not _user(target).active
    users.reactivate_user(w.actors["admin"], target)
    assert _user(target).active
    assert [(a, b, c) for a, _, _, b, c in _audit()] == [
        ("user.deactivate", {"active": True}, {"active": False}),
        ("user.reactivate", {"active": False}, {"active": True}),
    ]


def test_reset_password_is_audited_without_the_password(w):
    users.reset_password(w.actors["admin"], w.users["frontdesk"].id, "fresh-password-9")
    ((action, _, _, before, after),) = _audit()
    assert action == "user.reset_password" and "fresh-password-9" not in str((before, after))
    assert not auth.authenticate("frontdesk", PASSWORD).ok
    with pytest.raises(ValidationError, match="at least 8"):
        users.reset_password(w.actors["admin"], w.users["frontdesk"].id, "short")


def test_anyone_changes_their_own_password_with_the_current_one(w):
    me = w.actors["frontdesk"]
    with pytest.raises(ValidationError, match="current password is wrong"):
        users.change_own_password(me, "not-it", "my-new-password")
    with pytest.raises(ValidationError, match="is the current one"):
        users.change_own_password(me, PASSWORD, PASSWORD)
    users.change_own_password(me, PASSWORD, "my-new-password")
    assert auth.authenticate("frontdesk", "my-new-password").ok
    assert "user.change_password" in [row[0] for row in _audit()]


def test_unknown_user_ids_are_reported(w):
    with pytest.raises(NotFound, match="No user with id 999"):
        users.deactivate_user(w.actors["admin"], 999)

"""The role x action table on in-memory actors: `can` answers from the role and the location list
alone, with no database (the same table as tests/test_access.py, which checks it on real users)."""

from __future__ import annotations

import pytest

from core.base.models import Role
from core.security import access
from core.security.access import ALL_ACTIONS, GLOBAL_ROLES, PERMISSIONS, Actor, can
from tests.test_access import EXPECTED, GLOBAL, ROLE_COLUMNS

pytestmark = pytest.mark.unit

ROLES = {"frontdesk": Role.FRONT_DESK, "provider": Role.PROVIDER, "manager": Role.MANAGER,
         "analyst": Role.ANALYST, "admin": Role.ADMIN}  # fmt: skip
HERE, ELSEWHERE = 1, 2


def actor(user: str) -> Actor:
    role = ROLES[user]
    return Actor(
        user_id=10,
        username=user,
        role=role,
        location_ids=None if role in GLOBAL_ROLES else frozenset({HERE}),
        provider_id=7 if role == Role.PROVIDER else None,
    )


def test_the_table_covers_every_role_and_every_action():
    assert set(ROLES) == set(ROLE_COLUMNS)
    assert sorted(EXPECTED) == sorted(ALL_ACTIONS)
    assert set(PERMISSIONS) == set(ROLES.values())


@pytest.mark.parametrize("user", list(ROLES))
def test_can_matches_the_table_here_and_elsewhere(user):
    a = actor(user)
    for action in ALL_ACTIONS:
        allowed = EXPECTED[action][user]
        assert can(a, action) is allowed, (user, action)
        assert can(a, action, HERE) is allowed, (user, action, "here")
        assert can(a, action, ELSEWHERE) is (allowed and user in GLOBAL), (user, action, "elsewhere")
    assert access.allowed_actions(a) == frozenset(x for x in ALL_ACTIONS if EXPECTED[x][user])


def test_global_roles_are_exactly_the_tables_global_users():
    assert {user for user, role in ROLES.items() if role in GLOBAL_ROLES} == GLOBAL


def test_an_actor_without_a_role_or_without_locations_may_do_nothing():
    no_role = Actor(user_id=1, username="x", role=None, location_ids=frozenset({HERE}))
    no_place = Actor(user_id=2, username="y", role=Role.FRONT_DESK, location_ids=frozenset())
    for action in ALL_ACTIONS:
        assert not can(no_role, action) and not can(no_role, action, HERE)
        assert not can(no_place, action, HERE)

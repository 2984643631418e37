"""User administration: create, deactivate / reactivate, reset a password, set role and
locations. Each service checks the actor, changes the user and writes the audit row in one
transaction. Two rules beyond the permission table: nobody raises their own privileges (role or
locations), and the last active admin cannot be demoted or deactivated."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from core.base import limits
from core.base.clock import utcnow
from core.base.db import read_session
from core.base.errors import ConflictError, NotFound, ValidationError
from core.base.models import Location, Provider, Role, User
from core.people.customers import EMAIL_RE
from core.security import access, auth, throttle
from core.security.access import GLOBAL_ROLES, PERMISSIONS, A, Actor
from core.security.passwords import MIN_LENGTH, hash_password, verify_password
from core.security.service import Tx, reading, service

PASSWORD_ROUNDS = 12  # tests lower it
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,79}$")
ROLES = tuple(r.value for r in Role)


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    name: str
    email: str | None
    role: str | None
    all_locations: bool
    locations: tuple[str, ...]
    provider_id: int | None
    active: bool
    failed_attempts: int  # failed sign-ins in a row (from the sign-in throttle)
    locked_until: datetime | None  # sign-in attempts wait until then
    last_login_at: datetime | None

    def locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())


def _view(user: User, throttled=None) -> UserView:
    return UserView(
        id=user.id, username=user.username, name=user.name, email=user.email, role=user.role,
        all_locations=user.all_locations, locations=tuple(loc.name for loc in user.locations),
        provider_id=user.provider_id, active=user.active,
        failed_attempts=throttled.failures if throttled else 0,
        locked_until=throttled.next_attempt_at if throttled else None, last_login_at=user.last_login_at,
    )  # fmt: skip


def _state(user: User) -> dict:
    """What the audit row shows of a user (never the password hash)."""
    return {
        "username": user.username, "name": user.name, "email": user.email, "role": user.role,
        "all_locations": user.all_locations, "locations": [loc.name for loc in user.locations],
        "provider_id": user.provider_id, "active": user.active,
    }  # fmt: skip


def _check_password(password: str, username: str) -> None:
    if len(password or "") < MIN_LENGTH:
        raise ValidationError(f"The password must have at least {MIN_LENGTH} characters.")
    if len(password.encode()) > 72:
        raise ValidationError("The password is too long: at most 72 bytes.")
    if password.strip().lower() == username.lower():
        raise ValidationError("The password must not be the username.")
    if password != password.strip():
        # The sign-in form (streamlit-authenticator) trims what is typed: such a password could never sign in.
        raise ValidationError("The password must not start or end with a space.")


def _role(role: str | None) -> str | None:
    if role in (None, "", "none"):
        return None
    if role not in ROLES:
        raise ValidationError(f"Unknown role '{role}'. Roles: {', '.join(ROLES)}.")
    return role


def locations_by_name(session: Session, names: Iterable[str]) -> list[Location]:
    """The named locations, or NotFound naming the unknown ones and listing the known."""
    wanted = sorted({n.strip() for n in names if n and n.strip()})
    found = list(session.scalars(select(Location).where(Location.name.in_(wanted)).order_by(Location.name)))
    missing = set(wanted) - {loc.name for loc in found}
    if missing:
        known = ", ".join(session.scalars(select(Location.name).order_by(Location.name))) or "none yet"
        raise NotFound(f"No location named {', '.join(sorted(missing))}. Known locations: {known}.")
    return found


def _get(session: Session, user_id: int, *, lock: bool = True) -> User:
    query = select(User).where(User.id == user_id).options(selectinload(User.locations))
    user = session.scalar(query.with_for_update() if lock else query)
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


def _require_scope(actor: Actor, everywhere: bool, location_ids: set[int], user_id: int | None) -> None:
    """The actor may manage users at every location the change touches."""
    access.require(actor, A.USERS_MANAGE, entity="user", entity_id=user_id)
    if everywhere and not actor.all_locations:
        access.deny(actor, A.USERS_MANAGE, "Only someone who works at every location may grant every location.",
                    entity="user", entity_id=user_id)  # fmt: skip
    for location_id in sorted(location_ids):
        access.require(actor, A.USERS_MANAGE, location_id, entity="user", entity_id=user_id)


def _privileges(role: str | None, everywhere: bool, location_ids: set[int]) -> tuple[frozenset, bool, set]:
    return PERMISSIONS.get(role, frozenset()) if role else frozenset(), everywhere or role in GLOBAL_ROLES, location_ids


def _raises(old: tuple, new: tuple) -> bool:
    (old_actions, old_all, old_locs), (new_actions, new_all, new_locs) = old, new
    return not new_actions <= old_actions or (new_all and not old_all) or (not old_all and not new_locs <= old_locs)


def _other_active_admins(session: Session, user_id: int) -> int:
    # Lock the admins' rows: two admins demoting each other at once cannot both pass this check.
    ids = session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.active.is_(True), User.id != user_id).with_for_update()
    ).all()
    return len(ids)


def _keep_an_admin(session: Session, user: User, *, new_role: str | None, active: bool) -> None:
    loses_admin = user.role == Role.ADMIN and user.active and (new_role != Role.ADMIN or not active)
    if loses_admin and _other_active_admins(session, user.id) == 0:
        raise ValidationError(
            f"{user.name} is the last active admin: make someone else an admin first, "
            "or nobody could manage users any more."
        )


def create_user(
    tx: Tx,
    *,
    username: str,
    name: str,
    email: str | None,
    password: str | None,
    role: str | None,
    location_names: list[str],
    all_locations: bool,
    provider_id: int | None = None,
) -> User:
    """Create a user inside the caller's service call (`add_user`'s, a bulk set-up's)."""
    session, actor = tx.session, tx.actor
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise ValidationError(
            "A username is 2 to 80 characters: lower-case letters, digits and . _ - @, starting with a letter or digit."
        )
    role = _role(role)
    name = limits.text(name, "name", limits.NAME_MAX)
    email = limits.text(email, "email", limits.EMAIL_MAX)
    if email is not None and not EMAIL_RE.match(email):
        raise ValidationError(f"'{email}' does not look like an email address (like name@example.com).")
    if password is not None:
        _check_password(password, username)
    locations = locations_by_name(session, location_names)
    _require_scope(actor, all_locations or role in GLOBAL_ROLES, {loc.id for loc in locations}, None)
    if not PERMISSIONS.get(role, frozenset()) <= access.allowed_actions(actor):
        access.deny(actor, A.USERS_MANAGE, "You may not grant a role with more rights than your own.", entity="user")
    if session.scalar(select(User.id).where(func.lower(User.username) == username)):
        raise ConflictError(f"The username '{username}' is taken.")
    if email and session.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
        raise ConflictError(f"Another user already has the email {email}.")
    if provider_id is not None and session.get(Provider, provider_id) is None:
        raise NotFound(f"No provider with id {provider_id}.")
    user = User(
        username=username, name=(name or username).strip(), email=email,
        password_hash=hash_password(password, PASSWORD_ROUNDS) if password else None,
        role=role, all_locations=all_locations, locations=locations, provider_id=provider_id,
    )  # fmt: skip
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise ConflictError(f"The username '{username}' or the email is taken.") from None
    tx.audit(action="user.create", entity_id=user.id, after=_state(user))
    return user


def add_user(actor: Actor, **fields) -> UserView:
    """`create_user` in a transaction of its own (the users page)."""
    with service(actor, A.USERS_MANAGE, entity="user") as tx:
        return _view(create_user(tx, **fields))


def set_role_and_locations(
    actor: Actor,
    user_id: int,
    *,
    role: str | None,
    location_names: list[str],
    all_locations: bool = False,
    provider_id: int | None = None,
    reason: str | None = None,
) -> UserView:
    reason = limits.text(reason, "reason", limits.REASON_MAX)
    with service(actor, A.USERS_MANAGE, entity="user", entity_id=user_id) as tx:
        session = tx.session
        user = _get(session, user_id)
        role = _role(role)
        locations = locations_by_name(session, location_names)
        new_ids, old_ids = {loc.id for loc in locations}, {loc.id for loc in user.locations}
        if actor.user_id == user.id and _raises(
            _privileges(user.role, user.all_locations, old_ids), _privileges(role, all_locations, new_ids)
        ):
            access.deny(actor, A.USERS_MANAGE, "Nobody can raise their own role or add to their own locations: "
                        "ask another admin.", entity="user", entity_id=user.id)  # fmt: skip
        _require_scope(actor, user.all_locations or user.role in GLOBAL_ROLES, old_ids, user.id)
        _require_scope(actor, all_locations or role in GLOBAL_ROLES, new_ids, user.id)
        if not PERMISSIONS.get(role, frozenset()) <= access.allowed_actions(actor):
            access.deny(actor, A.USERS_MANAGE, "You may not grant a role with more rights than your own.",
                        entity="user", entity_id=user.id)  # fmt: skip
        if provider_id is not None and session.get(Provider, provider_id) is None:
            raise NotFound(f"No provider with id {provider_id}.")
        _keep_an_admin(session, user, new_role=role, active=user.active)
        before = _state(user)
        user.role, user.all_locations, user.locations, user.provider_id = role, all_locations, locations, provider_id
        session.flush()
        if _state(user) != before:
            auth.bump_session_version(user)  # cookies issued under the old role stop working
            tx.audit(action="user.set_role", before=before, after=_state(user), reason=reason)
        return _view(user)


def _set_active(actor: Actor, user_id: int, active: bool, reason: str | None) -> UserView:
    reason = limits.text(reason, "reason", limits.REASON_MAX)
    with service(actor, A.USERS_MANAGE, entity="user", entity_id=user_id) as tx:
        session = tx.session
        user = _get(session, user_id)
        _require_scope(actor, user.all_locations or user.role in GLOBAL_ROLES, {loc.id for loc in user.locations},
                       user.id)  # fmt: skip
        if not active and actor.user_id == user.id:
            raise ValidationError("You cannot deactivate your own account: ask another admin.")
        _keep_an_admin(session, user, new_role=user.role, active=active)
        if user.active != active:
            before = {"active": user.active}
            user.active = active
            auth.bump_session_version(user)  # reactivating does not revive cookies from before
            tx.audit(action="user.reactivate" if active else "user.deactivate", before=before,
                     after={"active": active}, reason=reason)  # fmt: skip
        return _view(user)


def deactivate_user(actor: Actor, user_id: int, *, reason: str | None = None) -> UserView:
    """The user loses access on their next click, cookie or not. Their history stays."""
    return _set_active(actor, user_id, False, reason)


def reactivate_user(actor: Actor, user_id: int, *, reason: str | None = None) -> UserView:
    return _set_active(actor, user_id, True, reason)


def _managed_user(tx: Tx, user_id: int) -> User:
    user = _get(tx.session, user_id)
    _require_scope(tx.actor, user.all_locations or user.role in GLOBAL_ROLES, {loc.id for loc in user.locations},
                   user.id)  # fmt: skip
    return user


def reset_password(actor: Actor, user_id: int, new_password: str, *, reason: str | None = None) -> UserView:
    """Set a new password and lift any sign-in delay; every earlier session and cookie ends."""
    reason = limits.text(reason, "reason", limits.REASON_MAX)
    with service(actor, A.USERS_MANAGE, entity="user", entity_id=user_id) as tx:
        user = _managed_user(tx, user_id)
        _check_password(new_password, user.username)
        had = throttle.clear_account(tx.session, user.username)
        user.password_hash = hash_password(new_password, PASSWORD_ROUNDS)
        auth.bump_session_version(user)
        tx.audit(action="user.reset_password", before={"failed_attempts": had},
                 after={"password": "changed", "failed_attempts": 0}, reason=reason)  # fmt: skip
        return _view(user)


def unlock_user(actor: Actor, user_id: int, *, reason: str | None = None) -> UserView:
    """Lift a user's sign-in delay at once (the users page, `python -m core unlock-user`)."""
    with service(actor, A.USERS_MANAGE, entity="user", entity_id=user_id) as tx:
        user = _managed_user(tx, user_id)
        had = throttle.clear_account(tx.session, user.username)
        tx.audit(action="user.unlock", before={"failed_attempts": had}, after={"failed_attempts": 0}, reason=reason)
        return _view(user)


def end_sessions(actor: Actor, user_id: int, *, reason: str | None = None) -> UserView:
    """Sign a user out on every device, copied cookies included (their password stays)."""
    with service(actor, A.USERS_MANAGE, entity="user", entity_id=user_id) as tx:
        user = _managed_user(tx, user_id)
        before = {"session_version": user.session_version}
        auth.bump_session_version(user)
        tx.audit(action="user.end_sessions", before=before, after={"session_version": user.session_version},
                 reason=reason)  # fmt: skip
        return _view(user)


def user_id_for_username(username: str) -> int:
    with read_session() as session:
        user_id = session.scalar(select(User.id).where(func.lower(User.username) == throttle.account_key(username)))
    if user_id is None:
        raise NotFound(f"No user named '{username}'.")
    return user_id


def change_own_password(actor: Actor, current_password: str, new_password: str) -> int:
    """Any signed-in user, for themselves; the current password is asked again (throttled and
    audited like a sign-in). Every other session ends; returns the new session version for the
    caller's own session to carry on with."""
    if actor is None or actor.user_id is None:
        raise ValidationError("Sign in first.")
    auth.check_own_password(actor, current_password)
    with service(actor, "user.change_password", entity="user", entity_id=actor.user_id) as tx:
        user = _get(tx.session, actor.user_id)
        if not user.active:
            raise ValidationError("This account is deactivated.")
        _check_password(new_password, user.username)
        if verify_password(new_password, user.password_hash):
            raise ValidationError("The new password is the current one: choose a different password.")
        user.password_hash = hash_password(new_password, PASSWORD_ROUNDS)
        auth.bump_session_version(user)
        tx.audit(action="user.change_password", after={"password": "changed"})
        return user.session_version


def list_users(actor: Actor) -> list[UserView]:
    with reading(actor, A.USERS_MANAGE, entity="user") as session:
        users = session.scalars(select(User).options(selectinload(User.locations)).order_by(User.username)).all()
        visible = [u for u in users if actor.all_locations or any(actor.in_scope(loc.id) for loc in u.locations)]
        throttled = throttle.account_state(session, [u.username for u in visible])
        return [_view(u, throttled.get(u.username)) for u in visible]


def location_names(actor: Actor) -> list[str]:
    """Locations the actor may hand out."""
    with read_session() as session:
        query = select(Location).where(access.location_filter(actor, Location.id)).order_by(Location.name)
        return [loc.name for loc in session.scalars(query)]


def provider_choices(actor: Actor) -> dict[int, str]:
    with reading(actor, A.USERS_MANAGE, entity="user") as session:
        return {p.id: p.name for p in session.scalars(select(Provider).order_by(Provider.name))}

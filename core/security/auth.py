"""Sign-in: the password check with growing delays counted in the database (core/security/
throttle.py), one answer for every kind of refusal, single sign-on mapping, sign-out and the
session version. No streamlit here: pages/auth_widgets.py does the browser side through
streamlit-authenticator, which calls `begin_attempt` (through the credentials it is given)
just before it checks a password and `finish_attempt` right after.

The cookie (core/security/cookies.py) only names the user. Role, location scope, whether the
account is active and its session version are read from the database on every run."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.base.clock import resolve_now, utcnow
from core.base.db import read_session, unit_of_work
from core.base.errors import ValidationError
from core.base.models import User
from core.security import audit, throttle
from core.security.access import Actor, actor_for, load_actor
from core.security.cookies import (  # noqa: F401 - the sign-in API in one place
    DEMO_KEY_FILE,
    MIN_COOKIE_KEY_BITS,
    MIN_COOKIE_KEY_LENGTH,
    CookieConfig,
    CookieSession,
    StartupError,
    cookie_config,
    cookie_session,
    demo_cookie_key,
    issue_token,
    key_bits,
    signing_key,
    user_id_from_token,
)
from core.security.passwords import hash_password, verify_password

INVALID_CREDENTIALS = "Unknown username or wrong password."
DUMMY_HASH_ROUNDS = 12  # the cost real passwords are hashed at (tests lower both)
SIGN_IN = "auth.sign_in"


@dataclass(frozen=True)
class SignInResult:
    user_id: int | None
    message: str = ""
    retry_at: datetime | None = None  # set when the next attempt must wait
    session_version: int | None = None

    @property
    def ok(self) -> bool:
        return self.user_id is not None


@dataclass(frozen=True)
class Attempt:
    """One password attempt between `begin_attempt` and `finish_attempt`. `check_hash` is what
    the typed password is checked against: the user's own hash, or a dummy of the same cost for
    an unknown, deactivated or single-sign-on-only account (so every answer takes as long)."""

    key: str
    client: str | None
    user_id: int | None
    check_hash: str
    refused_until: datetime | None
    now: datetime
    why: str  # for the audit row: what would make this attempt fail


def dummy_hash() -> str:
    """A hash of a random secret at the cost real passwords use: checked when there is no real
    hash to check, so unknown, deactivated and single-sign-on-only accounts answer as slowly."""
    return _dummy_hash(DUMMY_HASH_ROUNDS)


@cache
def _dummy_hash(rounds: int) -> str:
    return hash_password(secrets.token_hex(16), rounds=rounds)


@cache
def refused_hash() -> str:
    """A cheap hash checked for an attempt refused by a running delay (the refusal is not a
    secret: it is the same whatever the username)."""
    return hash_password(secrets.token_hex(16), rounds=4)


def wait_message(until: datetime, now: datetime) -> str:
    seconds = max(1, int((until - now).total_seconds() + 0.999))
    wait = f"{seconds} seconds" if seconds < 120 else f"{round(seconds / 60)} minutes"
    return f"Too many failed sign-ins: wait {wait}, then try again. An admin can lift this at once."


def _find(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == throttle.account_key(username)))


def _rows(session: Session, key: str, client: str | None, now: datetime) -> list:
    rows = [throttle.locked_row(session, throttle.ACCOUNT, key, now)] if key else []
    if client:
        rows.append(throttle.locked_row(session, throttle.CLIENT, client[: throttle.MAX_KEY], now))
    return rows


def _client_row(rows: list, client: str | None):
    return rows[-1] if client and rows else None


def _deny(session: Session, user: User | None, action: str, reason: str, client: str | None, client_row, now) -> None:
    """One denial row, within the client's per-minute budget (denials past it are counted and
    summarised in the first row of a later minute)."""
    write, skipped = throttle.audit_slot(client_row, now)
    where = f" from {client}" if client else ""
    if skipped:
        audit.record(session, None, action, entity="user", outcome="denied",
                     reason=f"{skipped} more refused attempts{where} in an earlier minute, not recorded one by one")  # fmt: skip
    if write:
        actor = actor_for(user) if user is not None else None
        audit.record(session, actor, action, entity="user", entity_id=user.id if user else None, outcome="denied",
                     reason=reason + where)  # fmt: skip


def begin_attempt(
    username: str, client: str | None = None, *, now: datetime | None = None, action: str = SIGN_IN
) -> Attempt:
    """Claim one password attempt: refused (and audited) while a delay runs, otherwise counted as
    a failure until `finish_attempt` says it succeeded."""
    now = resolve_now(now)
    key = throttle.account_key(username)
    with unit_of_work() as session:
        rows = _rows(session, key, client, now)
        user = _find(session, key) if key else None
        until = throttle.refused_until(rows, now)
        if until is not None:
            _deny(session, user, action, "refused: too many failed attempts, delay running", client,
                  _client_row(rows, client), now)  # fmt: skip
            return Attempt(key, client, user.id if user else None, refused_hash(), until, now, "delay running")
        for row in rows:
            throttle.count_failure(row, now)
        if user is None:
            why, check = "unknown username", dummy_hash()
        elif not user.active:
            why, check = "account deactivated", dummy_hash()
        elif not user.password_hash:
            why, check = "no password (single sign-on only)", dummy_hash()
        else:
            why, check = "wrong password", user.password_hash
        return Attempt(key, client, user.id if user else None, check, None, now, why)


def finish_attempt(attempt: Attempt, password_ok: bool, *, action: str = SIGN_IN) -> SignInResult:
    """Record how the attempt went: success clears the counts and records the sign-in; failure
    is audited (within the client's budget) and answered with one message for every cause."""
    now = attempt.now
    if attempt.refused_until is not None:
        return SignInResult(None, wait_message(attempt.refused_until, now), attempt.refused_until)
    with unit_of_work() as session:
        rows = _rows(session, attempt.key, attempt.client, now)
        user = (
            session.scalar(select(User).where(User.id == attempt.user_id).with_for_update())
            if attempt.user_id
            else None
        )
        if password_ok and user is not None and user.active and attempt.why == "wrong password":
            for row in rows:
                throttle.clear(row)
            if action == SIGN_IN:
                user.last_login_at = now
                audit.record(session, actor_for(user), SIGN_IN, entity="user", entity_id=user.id, reason="password")
            return SignInResult(user.id, session_version=user.session_version)
        failures = rows[0].failures if rows else 0
        _deny(session, user, action, f"{attempt.why} ({failures} in a row)", attempt.client,
              _client_row(rows, attempt.client), now)  # fmt: skip
        until = throttle.refused_until(rows, now)
        return SignInResult(None, wait_message(until, now) if until else INVALID_CREDENTIALS, until)


def authenticate(
    username: str, password: str, *, client: str | None = None, now: datetime | None = None
) -> SignInResult:
    """Check a username and password (the same steps the sign-in form takes around the
    library's check). An unknown username, a wrong password, a deactivated or single-sign-on-only
    account get the same answer after the same work."""
    attempt = begin_attempt(username, client, now=now)
    ok = attempt.refused_until is None and verify_password(password or "", attempt.check_hash)
    return finish_attempt(attempt, ok)


def check_own_password(actor: Actor, password: str, *, now: datetime | None = None) -> None:
    """The current password asked again (Account page): throttled and audited like a sign-in;
    raises ValidationError with the same kind of message when it is wrong or must wait."""
    attempt = begin_attempt(actor.username, None, now=now, action="user.change_password")
    ok = attempt.refused_until is None and verify_password(password or "", attempt.check_hash)
    result = finish_attempt(attempt, ok, action="user.change_password")
    if not result.ok or result.user_id != actor.user_id:
        raise ValidationError(result.message if result.retry_at else "The current password is wrong.")


def sso_user_id(email: str | None, *, email_verified: bool = True) -> int | None:
    """The active user whose email matches a verified single sign-on identity; None otherwise
    (an unknown email gets no access, and no account is created for it)."""
    if not email or not email_verified:
        return None
    with unit_of_work() as session:
        user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
        if user is None or not user.active:
            audit.record(session, actor_for(user) if user else None, SIGN_IN, entity="user",
                         entity_id=user.id if user else None, outcome="denied",
                         reason="single sign-on: " + ("account deactivated" if user else "no user with this email"))  # fmt: skip
            return None
        user.last_login_at = utcnow()
        audit.record(session, actor_for(user), SIGN_IN, entity="user", entity_id=user.id, reason="single sign-on")
        return user.id


def record_sign_out(user_id: int) -> None:
    with unit_of_work() as session:
        user = session.get(User, user_id)
        if user is not None:
            audit.record(session, actor_for(user), "auth.sign_out", entity="user", entity_id=user.id)


# --- the session version ---------------------------------------------------------------------


def bump_session_version(user: User) -> None:
    """End every session and cookie of this user (call inside the transaction that changes them)."""
    user.session_version = (user.session_version or 0) + 1


def sign_out_everywhere(actor: Actor) -> int:
    """The signed-in user ends all their sessions (every browser, copied cookies included);
    returns the new session version, which the caller's own fresh sign-in may use."""
    if actor is None or actor.user_id is None:
        raise ValidationError("Sign in first.")
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.id == actor.user_id).with_for_update())
        if user is None:
            raise ValidationError("Sign in first.")
        before = {"session_version": user.session_version}
        bump_session_version(user)
        audit.record(session, actor_for(user), "auth.sign_out_everywhere", entity="user", entity_id=user.id,
                     before=before, after={"session_version": user.session_version})  # fmt: skip
        return user.session_version


SESSION_ENDED = (
    "Your session has ended: you were signed out everywhere, or your password or role changed. Sign in again."
)
DEACTIVATED = "Your session has ended: your account was deactivated. Ask an admin if this is a mistake."


@dataclass(frozen=True)
class LiveSession:
    actor: Actor | None  # None: the session may not go on
    version: int | None  # the user's current session version
    ended: str | None = None  # why it may not go on, for the sign-in page


def live_session(user_id: int, signed_version: int | None) -> LiveSession:
    """Whether a browser session signed in under `signed_version` may go on, read fresh on every
    run: not after deactivation, nor once the version moved on (sign out everywhere, a password
    or role change). A session that never recorded a version (tests) takes the current one."""
    actor, version = load_session(user_id)
    if actor is None:
        return LiveSession(None, version, DEACTIVATED)
    if signed_version is not None and version != signed_version:
        return LiveSession(None, version, SESSION_ENDED)
    return LiveSession(actor, version)


def client_of(forwarded: str | None, peer: object) -> str:
    """The client an attempt is throttled by: the last hop of the configured forwarding header
    when a proxy sets it, else the connection's own address."""
    last_hop = (forwarded or "").split(",")[-1].strip()
    if last_hop:
        return last_hop
    return peer if isinstance(peer, str) and peer else "localhost"


def load_session(user_id: int) -> tuple[Actor | None, int | None]:
    """The actor (None if unknown or deactivated) and the current session version, read fresh."""
    with read_session() as session:
        actor = load_actor(session, user_id)
        version = session.scalar(select(User.session_version).where(User.id == user_id))
        return actor, version

"""Sign-in: the password check with a lockout counted in the database, the signed sign-in
cookie, single sign-on mapping and the start-up checks. No streamlit here: pages/ui.py does the
browser side (writing the cookie, reading it back through `st.context.cookies`).

The cookie only names the user. Role, location scope and whether the account is active are read
from the database on every run; a password reset invalidates every cookie issued before it."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import jwt
from sqlalchemy import func, select

from core.base.config import KNOWN_DEFAULT_COOKIE_KEYS, ROOT, Settings, get_settings
from core.base.db import read_session, unit_of_work, utcnow
from core.base.errors import DomainError
from core.base.models import User
from core.security import audit
from core.security.access import actor_for
from core.security.passwords import hash_password, verify_password

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=15)
MIN_COOKIE_KEY_LENGTH = 32
DEMO_KEY_FILE = ROOT / "data" / ".demo_cookie_key"
INVALID_CREDENTIALS = "Unknown username or wrong password."


class StartupError(DomainError):
    """The app must not start: the message says what to configure."""


@dataclass(frozen=True)
class CookieConfig:
    name: str
    key: str
    expiry_days: float


@dataclass(frozen=True)
class SignInResult:
    user_id: int | None
    message: str = ""
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.user_id is not None


def _weak(key: str) -> bool:
    return key.strip().lower() in KNOWN_DEFAULT_COOKIE_KEYS


def demo_cookie_key(path: Path = DEMO_KEY_FILE) -> str:
    """A random key made once per installation (demo mode only), kept beside the demo database."""
    if path.is_file():
        key = path.read_text().strip()
        if len(key) >= MIN_COOKIE_KEY_LENGTH:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


def cookie_config(settings: Settings | None = None, demo_key_file: Path = DEMO_KEY_FILE) -> CookieConfig:
    """The sign-in cookie's settings; raises StartupError when the key cannot protect anything."""
    settings = settings or get_settings()
    key = settings.cookie_key.strip()
    how = 'Generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
    if not key or _weak(key) or len(key) < MIN_COOKIE_KEY_LENGTH:
        if settings.demo_mode:
            key = demo_cookie_key(demo_key_file)
        elif not key:
            raise StartupError(
                f"The sign-in cookie key is not set: set AUTH_COOKIE_KEY (or cookie_key in "
                f".streamlit/secrets.toml) to a long random value. {how}"
            )
        elif _weak(key):
            raise StartupError(
                f"The sign-in cookie key is a well-known default ('{key}'): anyone could forge a "
                f"sign-in. Set AUTH_COOKIE_KEY to a long random value. {how}"
            )
        else:
            raise StartupError(
                f"The sign-in cookie key is too short ({len(key)} characters; at least {MIN_COOKIE_KEY_LENGTH}). {how}"
            )
    if settings.cookie_expiry_days <= 0:
        raise StartupError("AUTH_COOKIE_EXPIRY_DAYS must be a positive number of days.")
    return CookieConfig(name=settings.cookie_name, key=key, expiry_days=settings.cookie_expiry_days)


# --- password sign-in with lockout -------------------------------------------------------


@cache
def _dummy_hash() -> str:
    """Checked against when the username is unknown, so both answers take about as long."""
    return hash_password(secrets.token_hex(8))


def _find(session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def _is_locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def _locked_message(until: datetime) -> str:
    return (
        f"Too many failed sign-ins: this account is locked until {until:%H:%M} UTC. "
        "Try again then, or ask an admin to reset your password."
    )


def authenticate(username: str, password: str, *, now: datetime | None = None) -> SignInResult:
    """Check a username and password. Five failures in a row lock the account for 15 minutes
    (counted in the database, so every replica agrees); success clears the count. An unknown
    username and a wrong password get the same answer."""
    now = now or utcnow()
    with read_session() as session:
        user = _find(session, username or "")
        user_id, stored_hash = (user.id, user.password_hash) if user is not None else (None, None)
    if user_id is None:
        verify_password(password or "", _dummy_hash())
        with unit_of_work() as session:
            audit.record(session, None, "auth.sign_in", entity="user", outcome="denied", reason="unknown username")
        return SignInResult(None, INVALID_CREDENTIALS)
    # bcrypt runs outside the write transaction: a slow check must not hold the write lock.
    password_ok = verify_password(password or "", stored_hash)
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.id == user_id).with_for_update())
        actor = actor_for(user)
        if user.locked_until is not None and not _is_locked(user, now):
            user.failed_attempts, user.locked_until = 0, None  # the lock has run out
        if _is_locked(user, now):
            audit.record(session, actor, "auth.sign_in", entity="user", entity_id=user.id, outcome="denied",
                         reason="account locked")  # fmt: skip
            return SignInResult(None, _locked_message(user.locked_until), user.locked_until)
        if not user.active:
            audit.record(session, actor, "auth.sign_in", entity="user", entity_id=user.id, outcome="denied",
                         reason="account deactivated")  # fmt: skip
            return SignInResult(None, INVALID_CREDENTIALS)
        if not password_ok:
            user.failed_attempts += 1
            if user.failed_attempts >= MAX_FAILED_ATTEMPTS:
                user.locked_until = now + LOCKOUT
                audit.record(session, actor, "auth.lock", entity="user", entity_id=user.id,
                             after={"failed_attempts": user.failed_attempts, "locked_until": user.locked_until},
                             reason=f"{MAX_FAILED_ATTEMPTS} failed sign-ins")  # fmt: skip
                return SignInResult(None, _locked_message(user.locked_until), user.locked_until)
            audit.record(session, actor, "auth.sign_in", entity="user", entity_id=user.id, outcome="denied",
                         reason=f"wrong password ({user.failed_attempts} of {MAX_FAILED_ATTEMPTS})")  # fmt: skip
            return SignInResult(None, INVALID_CREDENTIALS)
        user.failed_attempts, user.locked_until, user.last_login_at = 0, None, now
        audit.record(session, actor, "auth.sign_in", entity="user", entity_id=user.id, reason="password")
        return SignInResult(user.id)


def sso_user_id(email: str | None, *, email_verified: bool = True) -> int | None:
    """The active user whose email matches a verified single sign-on identity; None otherwise
    (an unknown email gets no access, and no account is created for it)."""
    if not email or not email_verified:
        return None
    with unit_of_work() as session:
        user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
        if user is None or not user.active:
            audit.record(session, actor_for(user) if user else None, "auth.sign_in", entity="user",
                         entity_id=user.id if user else None, outcome="denied",
                         reason="single sign-on: " + ("account deactivated" if user else "no user with this email"))  # fmt: skip
            return None
        user.last_login_at = utcnow()
        audit.record(
            session, actor_for(user), "auth.sign_in", entity="user", entity_id=user.id, reason="single sign-on"
        )
        return user.id


def record_sign_out(user_id: int) -> None:
    with unit_of_work() as session:
        user = session.get(User, user_id)
        if user is not None:
            audit.record(session, actor_for(user), "auth.sign_out", entity="user", entity_id=user.id)


# --- the sign-in cookie --------------------------------------------------------------------


def _password_version(user: User, key: str) -> str:
    """Changes when the password changes, so a reset signs the user out everywhere."""
    digest = hmac.new(key.encode(), (user.password_hash or "").encode(), hashlib.sha256).hexdigest()
    return digest[:16]


def issue_token(user_id: int, cfg: CookieConfig, *, now: datetime | None = None) -> tuple[str, datetime]:
    """A signed token naming the user (nothing else: role and scope come from the database)."""
    now = now or utcnow()
    expires = now + timedelta(days=cfg.expiry_days)
    with read_session() as session:
        user = session.get(User, user_id)
        if user is None:
            raise DomainError(f"No user with id {user_id}.")
        claims = {
            "sub": user.username,
            "uid": user.id,
            "pwv": _password_version(user, cfg.key),
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
    return jwt.encode(claims, cfg.key, algorithm="HS256"), expires


def user_id_from_token(token: str | None, cfg: CookieConfig, *, now: datetime | None = None) -> int | None:
    """The user a cookie names, if its signature holds, it has not expired, the user is still
    active and the password has not been reset since; None otherwise."""
    if not token:
        return None
    now = now or utcnow()
    try:
        claims = jwt.decode(
            token,
            cfg.key,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_iat": False, "require": ["exp", "uid", "sub"]},
        )
    except jwt.PyJWTError:
        return None
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] <= now.timestamp():
        return None
    with read_session() as session:
        user = session.get(User, claims.get("uid"))
        if user is None or not user.active or user.username != claims["sub"]:
            return None
        if not hmac.compare_digest(str(claims.get("pwv", "")), _password_version(user, cfg.key)):
            return None
        return user.id

"""The sign-in cookie: its key (checked at start-up), and tokens in streamlit-authenticator's own
re-authentication format ({"username", "exp_date"}, HS256), so the library's re-authentication
reads the cookies this module issues.

The library signs every cookie with one key and keeps no server-side state, so a copied cookie
would stay good until it expires. Here each user's cookies are signed with a key derived from the
installation's key and the user's server-side `session_version`: bumping the version (sign out
everywhere, deactivation, password change, role change) makes every earlier cookie fail its
signature check, and reactivating an account does not bring them back. The token itself names
only the user; role, scope and whether the account is active are read on every run."""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets
import stat
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt
from sqlalchemy import func, select

from core.base.clock import resolve_now
from core.base.config import KNOWN_DEFAULT_COOKIE_KEYS, ROOT, Settings, get_settings
from core.base.db import read_session
from core.base.errors import DomainError
from core.base.models import User

MIN_COOKIE_KEY_LENGTH = 32
MIN_COOKIE_KEY_BITS = 96  # estimated from the key's own character frequencies
DEMO_KEY_FILE = ROOT / "data" / ".demo_cookie_key"
HOW = 'Generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'


class StartupError(DomainError):
    """The app must not start: the message says what to configure."""


@dataclass(frozen=True)
class CookieConfig:
    name: str
    key: str
    expiry_days: float


@dataclass(frozen=True)
class CookieSession:
    """What a valid cookie proves: this user, at this session version."""

    user_id: int
    username: str
    session_version: int
    signing_key: str


def _repeats(key: str, longest_block: int = 8) -> bool:
    return any(key == (key[:n] * (len(key) // n + 1))[: len(key)] for n in range(1, min(longest_block, len(key)) + 1))


def key_bits(key: str) -> float:
    """A rough entropy estimate: length times the Shannon entropy of the key's own characters.
    `aaaa...` scores 0, `abab...` 1 bit a character; a random token scores 5-6 bits a character.
    A short block repeated (`abc123abc123...`) scores 0 whatever its characters."""
    if not key or _repeats(key):
        return 0.0
    counts = Counter(key)
    per_char = -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())
    return per_char * len(key)


def _weak(key: str) -> bool:
    return key.strip().lower() in KNOWN_DEFAULT_COOKIE_KEYS


def _owner_only(path: Path) -> None:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        os.chmod(path, 0o600)


def demo_cookie_key(path: Path = DEMO_KEY_FILE) -> str:
    """A random key made once per installation (demo mode only), kept beside the demo database,
    readable by its owner only (an existing file with looser permissions is tightened)."""
    if path.is_file():
        _owner_only(path)
        key = path.read_text().strip()
        if len(key) >= MIN_COOKIE_KEY_LENGTH and key_bits(key) >= MIN_COOKIE_KEY_BITS:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    _owner_only(path)
    return key


def _key_problem(key: str) -> str | None:
    if not key:
        return (
            "The sign-in cookie key is not set: set AUTH_COOKIE_KEY (or cookie_key in "
            f".streamlit/secrets.toml) to a long random value. {HOW}"
        )
    if _weak(key):
        return (
            f"The sign-in cookie key is a well-known default ('{key}'): anyone could forge a "
            f"sign-in. Set AUTH_COOKIE_KEY to a long random value. {HOW}"
        )
    if len(key) < MIN_COOKIE_KEY_LENGTH:
        return f"The sign-in cookie key is too short ({len(key)} characters; at least {MIN_COOKIE_KEY_LENGTH}). {HOW}"
    if key_bits(key) < MIN_COOKIE_KEY_BITS:
        return (
            f"The sign-in cookie key is too predictable (about {key_bits(key):.0f} bits of randomness; at least "
            f"{MIN_COOKIE_KEY_BITS}): it repeats a few characters. {HOW}"
        )
    return None


def cookie_config(settings: Settings | None = None, demo_key_file: Path = DEMO_KEY_FILE) -> CookieConfig:
    """The sign-in cookie's settings; raises StartupError when the key cannot protect anything."""
    settings = settings or get_settings()
    key = settings.cookie_key.strip()
    if (problem := _key_problem(key)) is not None:
        if not settings.demo_mode:
            raise StartupError(problem)
        key = demo_cookie_key(demo_key_file)
    if settings.cookie_expiry_days <= 0:
        raise StartupError("AUTH_COOKIE_EXPIRY_DAYS must be a positive number of days.")
    return CookieConfig(name=settings.cookie_name, key=key, expiry_days=settings.cookie_expiry_days)


def signing_key(user: User, cfg: CookieConfig) -> str:
    """The key this user's cookies are signed with: changes whenever their session version does."""
    message = f"session:{user.id}:{user.username}:{user.session_version}".encode()
    return hmac.new(cfg.key.encode(), message, hashlib.sha256).hexdigest()


def issue_token(user_id: int, cfg: CookieConfig, *, now: datetime | None = None) -> tuple[str, datetime]:
    """A cookie value for this user, in the library's format, signed with the user's session key."""
    now = resolve_now(now)
    expires = now + timedelta(days=cfg.expiry_days)
    with read_session() as session:
        user = session.get(User, user_id)
        if user is None:
            raise DomainError(f"No user with id {user_id}.")
        token = jwt.encode(
            {"username": user.username, "exp_date": expires.timestamp()}, signing_key(user, cfg), "HS256"
        )
    return token, expires


def cookie_session(token: str | None, cfg: CookieConfig, *, now: datetime | None = None) -> CookieSession | None:
    """What a cookie proves, if its signature holds under the user's current session key, it has
    not expired and the account is active; None otherwise (never an exception)."""
    if not token or len(token) > 4096:
        return None
    now = resolve_now(now)
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    username = unverified.get("username")
    if not isinstance(username, str) or not username:
        return None
    with read_session() as session:
        user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if user is None or not user.active or user.username != username:
            return None
        key = signing_key(user, cfg)
        try:
            claims = jwt.decode(token, key, algorithms=["HS256"], options={"verify_exp": False})
        except jwt.PyJWTError:
            return None
        expires = claims.get("exp_date")
        if not isinstance(expires, int | float) or expires <= now.timestamp():
            return None
        return CookieSession(user.id, user.username, user.session_version, key)


def user_id_from_token(token: str | None, cfg: CookieConfig, *, now: datetime | None = None) -> int | None:
    found = cookie_session(token, cfg, now=now)
    return found.user_id if found else None

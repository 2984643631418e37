"""Signed, expiring links for the customer-facing door (an appointment's intake, an unsubscribe).

A link carries a small JSON payload signed with itsdangerous under a purpose of its own (the
salt), so a token made for one purpose never opens another, and an absolute expiry `exp` that is
checked against the service clock (an intake link lives until its appointment's end, not for a
fixed age). The key is derived from the installation's cookie key, so one secret protects both and
rotating it kills every link. Only the token's own contents are trusted after `read`; services still
load the rows it names and check them."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer

from core.base.clock import resolve_now
from core.base.config import get_settings
from core.base.errors import DomainError

EXPIRED = "This link has expired. Ask the business for a new one."
INVALID = "This link is not valid. Check that it was copied whole, or ask the business for a new one."


class LinkError(DomainError):
    """A link that is expired, tampered with or made for something else: one sentence, nothing written."""


def _serializer(purpose: str, key: str | None = None) -> URLSafeSerializer:
    if key is None:
        from core.security.cookies import cookie_config

        key = cookie_config().key
    derived = hmac.new(key.encode(), b"customer-links", hashlib.sha256).hexdigest()
    return URLSafeSerializer(derived, salt=f"link:{purpose}")


def sign(purpose: str, payload: dict, *, expires_at: datetime, key: str | None = None) -> str:
    """A URL-safe token for `payload` (JSON-able), valid for `purpose` until `expires_at`."""
    return _serializer(purpose, key).dumps({**payload, "exp": int(expires_at.timestamp())})


def read(purpose: str, token: str | None, *, now: datetime | None = None, key: str | None = None) -> dict:
    """The payload of a valid, unexpired token for `purpose`; LinkError otherwise."""
    if not token or len(token) > 2000:
        raise LinkError(INVALID)
    try:
        payload = _serializer(purpose, key).loads(token)
    except BadSignature as exc:
        raise LinkError(INVALID) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
        raise LinkError(INVALID)
    if resolve_now(now).timestamp() >= payload["exp"]:
        raise LinkError(EXPIRED)
    return {k: v for k, v in payload.items() if k != "exp"}


def url(path: str, **params: str) -> str:
    """An absolute customer-facing URL on PUBLIC_BASE_URL, e.g. url("unsubscribe", t=token)."""
    base = get_settings().public_base_url.rstrip("/")
    query = f"?{urlencode(params)}" if params else ""
    return f"{base}/{path.lstrip('/')}{query}"


INTAKE = "intake"  # the purpose of an appointment's intake link
INTAKE_PAGE = "intake"  # its page's URL path (pages/door.py DOOR_PAGES)


def intake_token(appointment_id: int, ends_at: datetime, *, key: str | None = None) -> str:
    """The token of one appointment's intake link: that appointment only, valid until its end."""
    return sign(INTAKE, {"a": int(appointment_id)}, expires_at=ends_at, key=key)


def intake_url(appointment_id: int, ends_at: datetime, *, key: str | None = None) -> str:
    """PUBLIC_BASE_URL/intake?t=... for the confirmation message and the "send the link again" message."""
    return url(INTAKE_PAGE, t=intake_token(appointment_id, ends_at, key=key))


def intake_appointment(token: str | None, *, now: datetime | None = None, key: str | None = None) -> int:
    """The appointment id an intake link names; LinkError (one sentence) when expired or tampered."""
    payload = read(INTAKE, token, now=now, key=key)
    if not isinstance(payload.get("a"), int):
        raise LinkError(INVALID)
    return payload["a"]

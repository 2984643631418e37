"""The service clock: every capability asks it for "now".

Services take `now: datetime | None` so that tests and replays can pin the clock; `resolve_now`
turns that argument into an aware UTC instant (the real time when nobody pinned it).
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.base.errors import ValidationError


def utcnow() -> datetime:
    return datetime.now(UTC)


def require_aware(value: datetime, what: str = "The start time") -> datetime:
    """`value` as aware UTC; a ValidationError a person can act on when it is not an aware datetime."""
    if not isinstance(value, datetime):
        raise ValidationError(f"{what} must be a date and time.")
    if value.tzinfo is None:
        raise ValidationError(f"{what} must carry a time zone (got {value:%Y-%m-%d %H:%M} without one).")
    return value.astimezone(UTC)


def resolve_now(now: datetime | None) -> datetime:
    """The clock services use: `now` when a caller (a test, a replay) pins it, else the real one."""
    return require_aware(now, "`now`") if now is not None else utcnow()

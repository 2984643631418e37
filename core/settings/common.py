"""What the settings services share: input cleaning, scope rules and small formatting helpers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import time
from functools import lru_cache
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.errors import NotFound, ValidationError
from core.base.models import Location
from core.people.users import locations_by_name as locations_by_name
from core.security import access
from core.security.service import Tx, check

NAME_MAX = 120
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def clean_name(value: str | None, what: str, *, limit: int = NAME_MAX) -> str:
    name = " ".join((value or "").split())
    if not name:
        raise ValidationError(f"Give the {what} a name.")
    if len(name) > limit:
        raise ValidationError(f"The {what} name can be at most {limit} characters (this one has {len(name)}).")
    return name


def clean_optional(value: str | None, limit: int, what: str) -> str | None:
    text = (value or "").strip()
    if len(text) > limit:
        raise ValidationError(f"The {what} can be at most {limit} characters.")
    return text or None


def clean_words(values: Iterable[str] | str | None, what: str) -> list[str]:
    """Skills or kinds: lower case, trimmed, unique, sorted (a comma-separated string is fine)."""
    if isinstance(values, str):
        values = values.split(",")
    words = sorted({" ".join(v.split()).lower() for v in values or () if v and v.strip()})
    for w in words:
        if len(w) > 60:
            raise ValidationError(f"The {what} '{w[:20]}...' is too long: at most 60 characters.")
    return words


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def clean_timezone(value: str | None) -> str:
    tz = (value or "").strip()
    if tz not in _zones():
        raise ValidationError(
            f"'{tz}' is not a time zone we know: use an IANA name such as America/New_York or Europe/London."
        )
    return tz


def clean_email(value: str | None) -> str:
    email = (value or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 255:
        raise ValidationError(f"'{value or ''}' is not an email address like name@example.com.")
    return email


def non_negative(value: int, what: str) -> int:
    if value is None or int(value) != value:
        raise ValidationError(f"{what} must be a whole number.")
    if value < 0:
        raise ValidationError(f"{what} cannot be negative.")
    return int(value)


def hhmm(t: time) -> str:
    return f"{t:%H:%M}"


def parse_time(value: str | time, what: str = "time") -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(f"'{value}' is not a {what} like 09:30.") from None


def locations_by_id(session: Session, ids: Iterable[int]) -> list[Location]:
    wanted = sorted(set(ids))
    found = list(session.scalars(select(Location).where(Location.id.in_(wanted)).order_by(Location.name)))
    missing = set(wanted) - {loc.id for loc in found}
    if missing:
        raise NotFound(f"Unknown location #{min(missing)}.")
    return found


def require_each(tx: Tx, location_ids: Iterable[int], *, everywhere_if_empty: bool = False) -> None:
    """The actor may act at every one of these locations (and, when the list is empty and that
    means "every location", everywhere)."""
    ids = sorted(set(location_ids))
    if not ids and everywhere_if_empty:
        tx.require(None)
        if not tx.actor.all_locations:
            access.deny(tx.actor, tx.action, "Only someone who works at every location may change what applies "
                        "at every location: list the locations.", entity=tx.entity, entity_id=tx.entity_id)  # fmt: skip
        return
    for location_id in ids:
        tx.require(location_id)


def require_some(tx: Tx, location_ids: Iterable[int]) -> None:
    """The actor works at one of these locations at least (admins: always)."""
    ids = sorted(set(location_ids))
    mine = [i for i in ids if tx.actor is not None and tx.actor.in_scope(i)]
    if mine:
        tx.require(mine[0])
    elif ids:
        tx.require(ids[0])  # refused, with the usual sentence
    else:
        require_each(tx, [], everywhere_if_empty=True)


def check_some(actor, action: str, location_ids: Iterable[int], *, entity: str, entity_id: object = None) -> None:
    """For reads: the actor may do `action` at one of these locations (recorded when refused)."""
    ids = sorted(set(location_ids))
    mine = [i for i in ids if actor is not None and actor.in_scope(i)]
    target = mine[0] if mine else (ids[0] if ids else None)
    check(actor, action, target, entity=entity, entity_id=entity_id)
    if target is None and not (actor and actor.all_locations):
        access.deny(actor, action, "Only someone who works at every location may see this.", entity=entity,
                    entity_id=entity_id)  # fmt: skip

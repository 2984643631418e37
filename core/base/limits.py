"""How long text may be and which dates make sense: one place, enforced by every service that
takes them, so a 1 MB note never reaches the append-only history and year 9999 never reaches
date arithmetic. Each refusal is a sentence naming the field.

| field                              | at most (characters) |
|------------------------------------|----------------------|
| names (people, locations, types)   | 200                  |
| user names (sign-in)               | 80                   |
| email                              | 255                  |
| phone                              | 40                   |
| note, intake answer                | 2000                 |
| reason (cancel, deactivate, ...)   | 500                  |
| search text                        | 200                  |

Dates: 1900-01-01 to 2200-12-31.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from core.base.clock import utcnow
from core.base.errors import ValidationError

NAME_MAX = 200
USERNAME_MAX = 80
EMAIL_MAX = 255
PHONE_MAX = 40
NOTE_MAX = 2000
REASON_MAX = 500
SEARCH_MAX = 200
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2200, 12, 31)


def text(value: str | None, what: str, max_len: int, *, required: bool = False) -> str | None:
    """`value` stripped; None when empty and not required. Refuses NUL characters (PostgreSQL
    cannot store them) and text over `max_len`."""
    cleaned = (value or "").strip()
    if not cleaned:
        if required:
            raise ValidationError(f"Enter the {what}.")
        return None
    if "\x00" in cleaned:
        raise ValidationError(f"The {what} contains a NUL character; remove it and try again.")
    if len(cleaned) > max_len:
        raise ValidationError(f"The {what} can be at most {max_len} characters (this one has {len(cleaned)}).")
    return cleaned


def day(value: date, what: str = "date") -> date:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValidationError(
            f"The {what} {value.isoformat()} is out of range: use a date from {FIRST_DATE.year} to {LAST_DATE.year}."
        )
    return value


def instant(value: datetime, what: str = "time") -> datetime:
    if not FIRST_DATE <= value.astimezone(UTC).date() <= LAST_DATE:
        raise ValidationError(
            f"The {what} {value.date().isoformat()} is out of range: use a date from {FIRST_DATE.year} to {LAST_DATE.year}."
        )
    return value


def day_in_reach(day: date) -> date:
    """`day` if the date picker can show it (ten years either side of today), else ValueError."""
    today = utcnow().date()  # ten years either way: the UTC date is as good as the local one
    if abs((day - today).days) > 3650:
        raise ValueError(f"{day} is more than ten years away")
    return day

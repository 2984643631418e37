"""Local time helpers: a location's day in its own IANA time zone (23 or 25 hours on DST days)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.base.clock import utcnow


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """UTC instants [start, end) of a local calendar day."""
    z = ZoneInfo(tz)
    start = datetime.combine(day, time.min, tzinfo=z)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=z)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_range_bounds(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """UTC instants [start, end) covering local dates first..last inclusive."""
    return local_day_bounds(first, tz)[0], local_day_bounds(last, tz)[1]


def local_to_utc(day: date, at: time, tz: str) -> datetime:
    """A local wall-clock time as a UTC instant. A time that does not exist (spring forward)
    moves forward by the gap, as clocks do; an ambiguous one (fall back) takes the first."""
    # PEP 495: fold=0 reads a gap time with the offset before the change (so 02:30 on a
    # spring-forward night is 03:30 summer time) and an ambiguous time as its first occurrence.
    return datetime.combine(day, at, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def to_local(instant: datetime, tz: str) -> datetime:
    return instant.astimezone(ZoneInfo(tz))


def today_in(tz: str, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(tz)).date()

"""The snoozes a queue item offers. While the item's appointment (or whatever it is due at) is
still ahead, they count back from it ("Until 2 hours before"), and none ends after it: an item
never sleeps through the visit it is about. Without a time ahead, plain ones ("For 1 day").
lifecycle.snooze refuses any snooze past that time, whoever asks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.base.tz import to_local
from core.scheduling.labels import day_label

BEFORE = (("before_1d", "Until 1 day before", timedelta(days=1)),
          ("before_2h", "Until 2 hours before", timedelta(hours=2)))  # fmt: skip
PLAIN = (("for_1h", "For 1 hour", timedelta(hours=1)), ("for_1d", "For 1 day", timedelta(days=1)))
SHORTEST = timedelta(minutes=15)  # a snooze ending sooner is not worth a click


@dataclass(frozen=True)
class Snooze:
    key: str  # stable, for the page's button keys
    label: str  # "Until 2 hours before"
    until: datetime


def choices(due_at: datetime | None, now: datetime) -> list[Snooze]:
    """The snoozes offered at `now` for an item due at `due_at`, soonest first."""
    if due_at is None or due_at <= now:
        return [Snooze(key, label, now + span) for key, label, span in PLAIN]
    before = [Snooze(key, label, due_at - ahead) for key, label, ahead in BEFORE]
    plain = [Snooze(key, label, now + span) for key, label, span in PLAIN]
    plain = [p for p in plain if all(abs(p.until - b.until) >= SHORTEST for b in before)]  # one button a time
    return sorted((s for s in before + plain if now + SHORTEST <= s.until <= due_at), key=lambda s: s.until)


def latest(due_at: datetime | None, now: datetime) -> datetime | None:
    """The latest a snooze may end: the time the item is due while that is ahead, else None."""
    return due_at if due_at is not None and due_at > now else None


def moment(instant: datetime, timezone: str | None) -> str:
    """'Mon 14 Dec 08:00' in the item's local time."""
    local = to_local(instant, timezone) if timezone else instant
    return f"{day_label(local.date())} {local:%H:%M}"

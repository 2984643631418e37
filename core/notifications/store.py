"""Reading an appointment type's notification settings: its templates (or the defaults) and
when its reminders and follow-up go out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.notifications.models import NotificationSchedule, NotificationTemplate
from core.notifications.templates import Wording, default_wording

DEFAULT_REMINDER_OFFSETS_MIN = (2880, 120)  # 48 h and 2 h before
DEFAULT_FOLLOW_UP_DELAY_MIN = 180


@dataclass(frozen=True)
class Schedule:
    reminder_offsets_min: tuple[int, ...]
    follow_up_delay_min: int
    is_default: bool = True


def schedule_of(session: Session, type_id: int | None) -> Schedule:
    row = session.get(NotificationSchedule, type_id) if type_id is not None else None
    if row is None:
        return Schedule(DEFAULT_REMINDER_OFFSETS_MIN, DEFAULT_FOLLOW_UP_DELAY_MIN)
    offsets = tuple(sorted({int(m) for m in row.reminder_offsets_min or ()}, reverse=True))
    return Schedule(offsets, row.follow_up_delay_min, is_default=False)


def disabled_of(session: Session, type_id: int | None) -> set[tuple[str, str]]:
    """(kind, channel) pairs the type has switched off."""
    if type_id is None:
        return set()
    rows = session.execute(
        select(NotificationTemplate.kind, NotificationTemplate.channel).where(
            NotificationTemplate.type_id == type_id, NotificationTemplate.enabled.is_(False)
        )
    )
    return {(k, c) for k, c in rows}


def wording_of(session: Session, type_id: int | None, kind: str, channel: str) -> Wording:
    row = None
    if type_id is not None:
        row = session.scalar(
            select(NotificationTemplate).where(
                NotificationTemplate.type_id == type_id,
                NotificationTemplate.kind == kind,
                NotificationTemplate.channel == channel,
            )
        )
    if row is None:
        return default_wording(kind, channel)
    return Wording(row.subject if channel == "email" else None, row.body, enabled=row.enabled, is_default=False)

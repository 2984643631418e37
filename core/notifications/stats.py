"""What was sent per appointment, for the metrics: "the no-show rate with and without a
reminder sent". An appointment had a reminder when any reminder for it (any channel, any
offset) reached the `sent` status; a confirmation likewise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from core.base.db import read_session
from core.base.errors import ValidationError
from core.base.models import Appointment, Location, Status
from core.base.tz import local_range_bounds
from core.notifications.models import NotificationOutbox
from core.security import access
from core.security.access import A, Actor
from core.security.service import reading


def sent_exists(appointment_id: ColumnElement, kind: str) -> ColumnElement[bool]:
    """SQL: a message of `kind` was sent for this appointment (for use in other queries)."""
    o = NotificationOutbox
    return exists(select(o.id).where(o.appointment_id == appointment_id, o.kind == kind, o.status == "sent"))


def reminder_sent(appointment_id: ColumnElement) -> ColumnElement[bool]:
    return sent_exists(appointment_id, "reminder")


def confirmation_sent(appointment_id: ColumnElement) -> ColumnElement[bool]:
    return sent_exists(appointment_id, "confirmation")


@dataclass(frozen=True)
class NoShowCounts:
    no_show: int
    completed: int

    @property
    def rate(self) -> float | None:
        """no_show / (completed + no_show); None without a denominator, never 0."""
        total = self.no_show + self.completed
        return self.no_show / total if total else None


@dataclass(frozen=True)
class NoShowByReminder:
    with_reminder: NoShowCounts
    without_reminder: NoShowCounts


def local_windows(
    session: Session, actor: Actor | None, date_from: date, date_to: date, location_id: int | None = None
) -> list[ColumnElement[bool]]:
    """SQL: one condition per location the actor sees: its appointments starting on local dates
    [date_from, date_to] in its own zone (OR them together)."""
    q = select(Location.id, Location.timezone).where(access.location_filter(actor, Location.id))
    if location_id is not None:
        q = q.where(Location.id == location_id)
    windows = []
    for loc_id, tz in session.execute(q):
        start, end = local_range_bounds(date_from, date_to, tz)
        windows.append(
            and_(Appointment.location_id == loc_id, Appointment.start_at >= start, Appointment.start_at < end)
        )
    return windows


def no_show_by_reminder(
    actor: Actor | None, date_from: date, date_to: date, *, location_id: int | None = None
) -> NoShowByReminder:
    """No-shows and completed appointments starting on local dates [date_from, date_to] (each
    location's own zone), within the actor's locations, split by whether a reminder was sent."""
    if date_to < date_from:
        raise ValidationError(f"The window ends ({date_to}) before it starts ({date_from}).")
    with reading(actor, A.METRICS_VIEW, location_id, entity="metrics") as s:
        windows = local_windows(s, actor, date_from, date_to, location_id)
        counts = {(True, Status.NO_SHOW.value): 0, (True, Status.COMPLETED.value): 0,
                  (False, Status.NO_SHOW.value): 0, (False, Status.COMPLETED.value): 0}  # fmt: skip
        if windows:
            had = case((reminder_sent(Appointment.id), True), else_=False).label("had")
            rows = s.execute(
                select(had, Appointment.status, func.count())
                .where(or_(*windows), Appointment.status.in_([Status.NO_SHOW.value, Status.COMPLETED.value]))
                .group_by(had, Appointment.status)
            )
            for had_reminder, status, n in rows:
                counts[(bool(had_reminder), status)] = n
    return NoShowByReminder(
        with_reminder=NoShowCounts(counts[(True, "no_show")], counts[(True, "completed")]),
        without_reminder=NoShowCounts(counts[(False, "no_show")], counts[(False, "completed")]),
    )


def delivery_flags(appointment_ids: list[int]) -> dict[int, tuple[bool, bool]]:
    """{appointment id: (confirmation sent, reminder sent)} for these appointments."""
    if not appointment_ids:
        return {}
    o = NotificationOutbox
    with read_session() as s:
        rows = s.execute(
            select(o.appointment_id, o.kind)
            .where(o.appointment_id.in_(appointment_ids), o.status == "sent", o.kind.in_(("confirmation", "reminder")))
            .distinct()
        ).all()
    sent = {(a, k) for a, k in rows}
    return {a: ((a, "confirmation") in sent, (a, "reminder") in sent) for a in appointment_ids}

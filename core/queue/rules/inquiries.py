"""An inquiry nobody answered: open (no booking, no closing reason, not a held web request) for
longer than its location's inquiry_answer_minutes (default 60) of business hours, the union of
its providers' working hours there (a location with none counts clock minutes). An inquiry that
comes in on Friday evening is due an hour after Monday's opening, not at 9 pm. Resolves itself
once it is booked or closed."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.models import Inquiry, Location, WorkingHours
from core.base.tz import local_to_utc, to_local
from core.queue import kinds
from core.queue.rules.base import Cause, Rule, Scope, scoped

Hours = dict[int, list[tuple[time, time]]]  # weekday -> merged (start, end) ranges


def business_hours(session: Session, location_ids: set[int]) -> dict[int, Hours]:
    """Per location, the union of its working hours, by weekday."""
    ranges: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    rows = session.execute(
        select(WorkingHours.location_id, WorkingHours.weekday, WorkingHours.start_time, WorkingHours.end_time)
        .where(WorkingHours.location_id.in_(sorted(location_ids)))
        .order_by(WorkingHours.location_id, WorkingHours.weekday, WorkingHours.start_time)
    )
    for loc, weekday, start, end in rows:
        day = ranges[loc][weekday]
        if day and start <= day[-1][1]:
            day[-1] = (day[-1][0], max(day[-1][1], end))
        else:
            day.append((start, end))
    return {loc: dict(days) for loc, days in ranges.items()}


def answer_by(received: datetime, hours: Hours, tz: str, minutes: int) -> datetime:
    """The instant `minutes` of business hours after `received` (clock minutes without hours)."""
    left = timedelta(minutes=minutes)
    if not any(hours.values()):
        return received + left
    day = to_local(received, tz).date()
    for _ in range(8 * (minutes // 60 + 1)):  # every week has some hours: enough weeks for `minutes`
        for start, end in hours.get(day.weekday(), []):
            lo, hi = max(local_to_utc(day, start, tz), received), local_to_utc(day, end, tz)
            if hi <= lo:
                continue
            if hi - lo >= left:
                return lo + left
            left -= hi - lo
        day += timedelta(days=1)
    return received + timedelta(minutes=minutes)


class InquiryUnanswered(Rule):
    kind = kinds.INQUIRY_UNANSWERED

    def find(self, session: Session, now: datetime, scope: Scope) -> list[Cause]:
        shortest = timedelta(minutes=kinds.SHORTEST_ANSWER_MINUTES)
        query = select(
            Inquiry.id, Inquiry.location_id, Inquiry.received_at, Inquiry.customer_id, Location.timezone,
            Location.inquiry_answer_minutes,
        ).join(Location, Location.id == Inquiry.location_id).where(
            Inquiry.appointment_id.is_(None), Inquiry.closed_at.is_(None), Inquiry.held_until.is_(None),
            Inquiry.received_at <= now - shortest,  # business time is never shorter than clock time
        )  # fmt: skip
        query = scoped(query, Scope(scope.location_ids, scope.ids), subject=Inquiry.id, location=Inquiry.location_id)
        rows = session.execute(query).all()
        hours = business_hours(session, {r.location_id for r in rows})
        causes = []
        for r in rows:
            due = answer_by(r.received_at, hours.get(r.location_id, {}), r.timezone, r.inquiry_answer_minutes)
            if due <= now:
                causes.append(Cause(self.kind, r.id, r.location_id, due_at=due,
                                    details={"inquiry_id": r.id, "customer_id": r.customer_id}))  # fmt: skip
        return causes

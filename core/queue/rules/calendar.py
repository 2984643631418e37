"""Rules over what calendar sync fills: an appointment overlapping its provider's Google-only
event (busy block), and, clear only, the items calendar sync raises (changed or deleted in
Google: gone once the appointment is no longer ahead and open; connection broken: gone once the
provider's sync state is ok again)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.base.models import Appointment, BusyBlock, CalendarSyncState, provider_locations
from core.queue import kinds
from core.queue.rules.base import Cause, Rule, Scope, ahead, appointment_cause, scoped


class CalendarOverlap(Rule):
    kind = kinds.CALENDAR_OVERLAP

    def find(self, session: Session, now: datetime, scope: Scope) -> list[Cause]:
        query = (
            select(
                Appointment.id,
                Appointment.location_id,
                Appointment.provider_id,
                Appointment.start_at,
                BusyBlock.google_event_id,
                BusyBlock.summary,
                BusyBlock.start_at.label("busy_start"),
                BusyBlock.end_at.label("busy_end"),
            )
            .join(
                BusyBlock,
                (BusyBlock.provider_id == Appointment.provider_id)
                & (BusyBlock.start_at < Appointment.end_at)
                & (BusyBlock.end_at > Appointment.start_at),
            )
            .where(ahead(now))
            .order_by(Appointment.id, BusyBlock.start_at, BusyBlock.google_event_id)
        )
        found: dict[int, Cause] = {}
        for row in session.execute(scoped(query, scope)):
            if row.id not in found:  # the first overlapping event is the one shown
                details = {
                    "event": row.summary or "(busy)",
                    "event_start": row.busy_start.isoformat(),
                    "event_end": row.busy_end.isoformat(),
                }
                found[row.id] = appointment_cause(self.kind, row, details)
        return list(found.values())


class _StillAhead(Rule):
    """Clear only: present while the appointment is open and not over."""

    raises = False

    def find(self, session: Session, now: datetime, scope: Scope) -> list[Cause]:
        if scope.ids is None:
            return []
        query = select(Appointment.id, Appointment.location_id, Appointment.provider_id, Appointment.start_at).where(
            ahead(now)
        )
        return [appointment_cause(self.kind, row) for row in session.execute(scoped(query, scope))]


class CalendarChanged(_StillAhead):
    kind = kinds.CALENDAR_CHANGED


class CalendarDeleted(_StillAhead):
    kind = kinds.CALENDAR_DELETED


class CalendarPushFailed(_StillAhead):
    kind = kinds.CALENDAR_PUSH_FAILED


class CalendarBroken(Rule):
    """Clear only: present while the provider's calendar sync state is not ok."""

    kind = kinds.CALENDAR_BROKEN
    raises = False

    def find(self, session: Session, now: datetime, scope: Scope) -> list[Cause]:
        if scope.ids is None and scope.provider_id is None:
            return []
        first_location = (
            select(func.min(provider_locations.c.location_id))
            .where(provider_locations.c.provider_id == CalendarSyncState.provider_id)
            .scalar_subquery()
        )
        query = select(CalendarSyncState.provider_id, first_location.label("location_id")).where(
            CalendarSyncState.status != "ok"
        )
        if scope.ids is not None:
            query = query.where(CalendarSyncState.provider_id.in_(sorted(scope.ids)))
        if scope.provider_id is not None:
            query = query.where(CalendarSyncState.provider_id == scope.provider_id)
        return [
            Cause(self.kind, row.provider_id, row.location_id, provider_id=row.provider_id)
            for row in session.execute(query)
        ]


def provider_home(session: Session, provider_id: int) -> int | None:
    """The location a provider-wide item is filed under (their first location)."""
    return session.scalar(
        select(func.min(provider_locations.c.location_id)).where(provider_locations.c.provider_id == provider_id)
    )

"""Rules about time and offers: appointments outside working hours or on time off, open
waitlist offers for freed slots, and (clear only) undelivered notifications."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.models import Appointment, Location, NotificationOutbox, WaitlistOffer
from core.queue import kinds
from core.queue.rules.base import Cause, Rule, Scope, ahead, scoped
from core.scheduling.hours import hours_and_absences, why_outside

FAILED_OUTBOX = ("failed", "flagged")


class OutsideHours(Rule):
    """Open appointments from now on that no longer fit their provider's hours or time off, by
    core.scheduling.hours.why_outside (the check settings previews before a change). Hours, time
    off and appointments are read in one query each, whatever the number of providers."""

    kind = kinds.OUTSIDE_HOURS

    def find(self, session: Session, now: datetime, scope: Scope) -> list[Cause]:
        query = (
            select(
                Appointment.id,
                Appointment.location_id,
                Appointment.provider_id,
                Appointment.start_at,
                Appointment.end_at,
                Location.timezone,
            )  # fmt: skip
            .join(Location, Location.id == Appointment.location_id)
            .where(ahead(now))
        )
        rows = session.execute(scoped(query, scope)).all()
        providers = sorted({r.provider_id for r in rows if r.provider_id is not None})
        if not providers:
            return []
        shifts, absences = hours_and_absences(session, providers, now)
        found, memo = [], defaultdict(dict)
        for appt_id, location_id, provider_id, start, end, tz in sorted(rows, key=lambda r: r.start_at):
            if provider_id is None:
                continue
            reason = why_outside(start, end, location_id, tz, shifts[provider_id], absences[provider_id],
                                 memo[provider_id])  # fmt: skip
            if reason:
                found.append(Cause(self.kind, appt_id, location_id, appt_id, provider_id, start, {"reason": reason}))
        return found


class WaitlistOfferOpen(Rule):
    """An open offer of a freed slot that is still ahead: book it or dismiss it."""

    kind = kinds.WAITLIST_OFFER

    def find(self, session: Session, now: datetime, scope: Scope) -> list[Cause]:
        query = select(
            WaitlistOffer.id, WaitlistOffer.location_id, WaitlistOffer.provider_id, WaitlistOffer.start_at,
            WaitlistOffer.entry_id,
        ).where(WaitlistOffer.status == "open", WaitlistOffer.start_at > now)  # fmt: skip
        query = scoped(
            query,
            scope,
            subject=WaitlistOffer.id,
            location=WaitlistOffer.location_id,
            provider=WaitlistOffer.provider_id,
        )
        return [
            Cause(self.kind, row.id, row.location_id, None, row.provider_id, row.start_at, {"entry_id": row.entry_id})
            for row in session.execute(query)
        ]


class NotificationFailed(Rule):
    """Clear only: present while the outbox row is failed (or flagged as never confirmed)."""

    kind = kinds.NOTIFICATION_FAILED
    raises = False

    def find(self, session: Session, now: datetime, scope: Scope) -> list[Cause]:
        if scope.ids is None:
            return []
        query = (
            select(NotificationOutbox.id, Appointment.location_id, Appointment.provider_id, Appointment.start_at)
            .outerjoin(Appointment, Appointment.id == NotificationOutbox.appointment_id)
            .where(NotificationOutbox.status.in_(FAILED_OUTBOX), NotificationOutbox.id.in_(sorted(scope.ids)))
        )
        return [
            Cause(self.kind, row.id, row.location_id, None, row.provider_id, row.start_at)
            for row in session.execute(query)
        ]

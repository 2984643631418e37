"""Rules about time and offers: appointments outside working hours or on time off, open
waitlist offers for freed slots, and (clear only) undelivered notifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.models import Appointment, NotificationOutbox, Provider, WaitlistOffer
from core.queue import kinds
from core.queue.rules.base import Cause, Rule, Scope, scoped
from core.scheduling.hours import appointments_outside_hours

FAILED_OUTBOX = ("failed", "flagged")


class OutsideHours(Rule):
    """Open appointments from now on that no longer fit their provider's hours or time off
    (core.scheduling.hours: the same check settings previews before a change)."""

    kind = kinds.OUTSIDE_HOURS

    def find(self, session: Session, now: datetime, scope: Scope) -> list[Cause]:
        if scope.provider_id is not None:
            providers = [scope.provider_id]
        elif scope.ids is not None:
            query = select(Appointment.provider_id).distinct().where(Appointment.id.in_(sorted(scope.ids)))
            providers = [p for p in session.scalars(query) if p is not None]
        else:
            providers = list(session.scalars(select(Provider.id)))
        found = []
        for provider_id in sorted(providers):
            for hit in appointments_outside_hours(session, provider_id, since=now, appointment_ids=scope.ids):
                if scope.location_ids is None or hit.location_id in scope.location_ids:
                    found.append(
                        Cause(
                            self.kind,
                            hit.appointment_id,
                            hit.location_id,
                            hit.appointment_id,
                            provider_id,
                            hit.start,
                            {"reason": hit.reason},
                        )  # fmt: skip
                    )
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

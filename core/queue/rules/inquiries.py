"""An inquiry nobody answered: open (no booking, no closing reason, not a held web request) for
longer than kinds.DEFAULT_ANSWER_MINUTES. Resolves itself once it is booked or closed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.models import Inquiry
from core.queue import kinds
from core.queue.rules.base import Cause, Rule, Scope, scoped


class InquiryUnanswered(Rule):
    kind = kinds.INQUIRY_UNANSWERED

    def find(self, session: Session, now: datetime, scope: Scope) -> list[Cause]:
        wait = timedelta(minutes=kinds.DEFAULT_ANSWER_MINUTES)
        query = select(Inquiry.id, Inquiry.location_id, Inquiry.received_at, Inquiry.customer_id).where(
            Inquiry.appointment_id.is_(None), Inquiry.closed_at.is_(None), Inquiry.held_until.is_(None),
            Inquiry.received_at <= now - wait,
        )  # fmt: skip
        query = scoped(query, Scope(scope.location_ids, scope.ids), subject=Inquiry.id, location=Inquiry.location_id)
        return [Cause(self.kind, r.id, r.location_id, due_at=r.received_at + wait,
                      details={"inquiry_id": r.id, "customer_id": r.customer_id})
                for r in session.execute(query)]  # fmt: skip

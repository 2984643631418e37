"""What every detection rule shares: the cause it finds, and the scope it is asked about.

A rule answers one question, "which causes of my kind exist now?", over the whole database (a
full pass), over some locations, over a few subjects (`ids`: appointment, offer, provider or
outbox ids, for the incremental pass after a change), or over one provider. The same SQL answers
all four, so the full and the incremental pass can never disagree. A rule that only clears
(`raises = False`) answers for items that another capability raised.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, and_
from sqlalchemy.orm import Session

from core.base.models import OPEN_STATUSES, Appointment
from core.queue import kinds

OPEN = [s.value for s in OPEN_STATUSES]
LONGEST = timedelta(days=1)  # no appointment lasts longer: bounds "not over yet" to an index range


def ahead(now: datetime):
    """Open and not over yet, as a range of the start index."""
    return and_(Appointment.status.in_(OPEN), Appointment.end_at > now, Appointment.start_at > now - LONGEST)


@dataclass(frozen=True)
class Scope:
    location_ids: Collection[int] | None = None  # None: every location
    ids: Collection[int] | None = None  # None: every subject
    provider_id: int | None = None

    @property
    def full(self) -> bool:
        return self.ids is None and self.provider_id is None


@dataclass(frozen=True)
class Cause:
    kind: str
    subject: int
    location_id: int | None
    appointment_id: int | None = None
    provider_id: int | None = None
    due_at: datetime | None = None
    details: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return kinds.key(self.kind, self.subject)


class Rule:
    kind: str
    raises: bool = True

    def find(self, session: Session, now: datetime, scope: Scope) -> Sequence[Cause]:
        raise NotImplementedError


def scoped(query: Select, scope: Scope, *, subject=Appointment.id, location=Appointment.location_id, provider=None):
    """Narrow a rule's query to the scope's locations, subjects and provider."""
    if scope.location_ids is not None:
        query = query.where(location.in_(sorted(scope.location_ids)))
    if scope.ids is not None:
        query = query.where(subject.in_(sorted(scope.ids)))
    if scope.provider_id is not None:
        query = query.where((provider if provider is not None else Appointment.provider_id) == scope.provider_id)
    return query


def appointment_cause(kind: str, row, details: dict | None = None) -> Cause:
    """A cause about an appointment from a row of (id, location_id, provider_id, start_at, ...)."""
    return Cause(kind, row.id, row.location_id, row.id, row.provider_id, row.start_at, details or {})

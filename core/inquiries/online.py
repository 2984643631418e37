"""Which appointment types customers may book online (off by default), instantly or as a request
held for a number of minutes: a manager's setting per type, audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.base.errors import ValidationError
from core.base.models import AppointmentType
from core.security.access import A, Actor
from core.security.service import reading, service

MAX_HOLD_MINUTES = 24 * 60


@dataclass(frozen=True)
class OnlineSetting:
    type_id: int
    name: str
    bookable_online: bool
    instant: bool
    hold_minutes: int


def _view(t: AppointmentType) -> OnlineSetting:
    return OnlineSetting(t.id, t.name, t.bookable_online, t.online_instant, t.online_hold_minutes)


def online_settings(actor: Actor | None) -> list[OnlineSetting]:
    with reading(actor, A.SETTINGS_MANAGE, entity="appointment_type") as session:
        query = select(AppointmentType).where(AppointmentType.active.is_(True)).order_by(AppointmentType.name)
        return [_view(t) for t in session.scalars(query)]


def set_online(actor: Actor | None, type_id: int, *, bookable: bool, instant: bool, hold_minutes: int) -> OnlineSetting:
    """Offer a type on the public request page (or stop), booked at once or held for the desk."""
    if not 1 <= int(hold_minutes) <= MAX_HOLD_MINUTES:
        raise ValidationError(f"Hold a request between 1 and {MAX_HOLD_MINUTES} minutes.")
    with service(actor, A.SETTINGS_MANAGE, entity="appointment_type", entity_id=type_id, location_id=None) as tx:
        t = tx.get(AppointmentType, type_id, what="appointment type")
        before = _view(t).__dict__
        t.bookable_online, t.online_instant, t.online_hold_minutes = bool(bookable), bool(instant), int(hold_minutes)
        after = _view(t).__dict__
        if after != before:
            tx.audit(before=before, after=after, reason="online booking")
        return _view(t)

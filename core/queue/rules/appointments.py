"""Rules about one appointment's own state: missing intake, unconfirmed, no-show to follow up,
late cancellation to review, and (clear only) the rebook call settings raises."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select, true
from sqlalchemy.orm import Session, aliased

from core.base.config import get_settings
from core.base.models import Appointment, NoShowScore, Status
from core.queue import kinds
from core.queue.models import QueueTypeWindow
from core.queue.rules.base import Cause, Rule, Scope, appointment_cause, scoped

COLUMNS = (Appointment.id, Appointment.location_id, Appointment.provider_id, Appointment.start_at, Appointment.type_id)


def type_windows(session: Session) -> dict[int, QueueTypeWindow]:
    return {w.type_id: w for w in session.scalars(select(QueueTypeWindow))}


class _SoonRule(Rule):
    """Appointments starting within the type's window from now, in some statuses, with a flaw."""

    statuses: tuple[str, ...]
    default_hours: int

    def hours(self, window: QueueTypeWindow | None) -> int:
        raise NotImplementedError

    def flaw(self):
        raise NotImplementedError

    def find(self, session: Session, now: datetime, scope: Scope) -> list[Cause]:
        windows = type_windows(session)
        widest = max([self.default_hours, *(self.hours(w) for w in windows.values())])
        query = select(*COLUMNS).where(
            Appointment.start_at > now,
            Appointment.start_at <= now + timedelta(hours=widest),
            Appointment.status.in_(self.statuses),
            self.flaw(),
        )
        found = []
        for row in session.execute(scoped(query, scope)):
            hours = self.hours(windows.get(row.type_id)) if row.type_id in windows else self.default_hours
            if row.start_at <= now + timedelta(hours=hours):
                found.append(appointment_cause(self.kind, row))
        return found


class IntakeMissing(_SoonRule):
    kind = kinds.INTAKE_MISSING
    statuses = (Status.BOOKED.value, Status.CONFIRMED.value)
    default_hours = kinds.DEFAULT_INTAKE_HOURS

    def hours(self, window):
        return window.intake_hours

    def flaw(self):
        return Appointment.intake_complete.is_(False)


class Unconfirmed(_SoonRule):
    kind = kinds.UNCONFIRMED
    statuses = (Status.BOOKED.value,)
    default_hours = kinds.DEFAULT_CONFIRM_HOURS

    def hours(self, window):
        return window.confirm_hours

    def flaw(self):
        return true()


class NoShowRisk(Rule):
    """Booked (not confirmed), starting within NO_SHOW_RISK_HOURS, with a stored no-show risk at
    or above the NO_SHOW_HIGH_RISK setting: the few calls worth making. Confirming clears it."""

    kind = kinds.NO_SHOW_RISK

    def find(self, session: Session, now: datetime, scope: Scope) -> list[Cause]:
        query = (
            select(*COLUMNS, NoShowScore.risk, NoShowScore.reasons)
            .join(NoShowScore, NoShowScore.appointment_id == Appointment.id)
            .where(
                Appointment.start_at > now,
                Appointment.start_at <= now + timedelta(hours=kinds.NO_SHOW_RISK_HOURS),
                Appointment.status == Status.BOOKED.value,
                NoShowScore.risk >= get_settings().no_show_high_risk,
            )
        )
        return [
            appointment_cause(self.kind, row, {"risk": round(row.risk, 2), "reasons": row.reasons})
            for row in session.execute(scoped(query, scope))
        ]


class NoShowFollowUp(Rule):
    """A no-show of the last FOLLOW_UP_DAYS whose customer has booked nothing later since."""

    kind = kinds.NO_SHOW_FOLLOWUP

    def find(self, session: Session, now: datetime, scope: Scope) -> list[Cause]:
        later = aliased(Appointment)
        rebooked = exists().where(
            later.customer_id == Appointment.customer_id,
            later.start_at > Appointment.start_at,
            later.status != Status.CANCELLED.value,
        )
        query = select(*COLUMNS).where(
            Appointment.start_at >= now - timedelta(days=kinds.FOLLOW_UP_DAYS),
            Appointment.start_at <= now,
            Appointment.status == Status.NO_SHOW.value,
            ~rebooked,
        )
        return [appointment_cause(self.kind, row) for row in session.execute(scoped(query, scope))]


class LateCancel(Rule):
    """A late cancellation, to review until LATE_CANCEL_REVIEW_DAYS after its start."""

    kind = kinds.LATE_CANCEL

    def find(self, session: Session, now: datetime, scope: Scope) -> list[Cause]:
        query = select(*COLUMNS, Appointment.cancel_reason).where(
            Appointment.start_at >= now - timedelta(days=kinds.LATE_CANCEL_REVIEW_DAYS),
            Appointment.status == Status.CANCELLED.value,
            Appointment.late_cancel.is_(True),
        )
        return [
            appointment_cause(self.kind, row, {"reason": row.cancel_reason} if row.cancel_reason else None)
            for row in session.execute(scoped(query, scope))
        ]


class RebookCall(Rule):
    """Clear only: a cancelled appointment's customer has booked again since the cancellation."""

    kind = kinds.REBOOK_CALL
    raises = False

    def find(self, session: Session, now: datetime, scope: Scope) -> list[Cause]:
        if scope.ids is None:
            return []
        later = aliased(Appointment)
        rebooked = exists().where(
            later.customer_id == Appointment.customer_id,
            later.id != Appointment.id,
            later.status != Status.CANCELLED.value,
            and_(Appointment.cancelled_at.is_not(None), later.booked_at >= Appointment.cancelled_at),
        )
        query = select(*COLUMNS).where(Appointment.status == Status.CANCELLED.value, ~rebooked)
        return [appointment_cause(self.kind, row) for row in session.execute(scoped(query, scope))]

"""Rules about one appointment's own state: missing intake, unconfirmed, a high no-show risk not
confirmed, no-show to follow up, late cancellation to review, and (clear only) the rebook call
settings raises. Missing intake, unconfirmed and high risk wait while the appointment is outside its
provider's hours (`cannot_take_place`); unconfirmed also waits while the high-risk item says it
(`open_item`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased

from core.base.config import get_settings
from core.base.models import Appointment, ExceptionItem, IntakeAnswers, NoShowScore, Status
from core.queue import kinds
from core.queue.items import OPEN_STATES
from core.queue.models import QueueTypeWindow
from core.queue.rules.base import Cause, Rule, Scope, appointment_cause, scoped

COLUMNS = (Appointment.id, Appointment.location_id, Appointment.provider_id, Appointment.start_at, Appointment.type_id)


def type_windows(session: Session) -> dict[int, QueueTypeWindow]:
    return {w.type_id: w for w in session.scalars(select(QueueTypeWindow))}


def open_item(kind: str):
    """SQL: the appointment has an open item of `kind` (its rule runs earlier in every pass)."""
    return exists().where(
        ExceptionItem.appointment_id == Appointment.id,
        ExceptionItem.kind == kind,
        ExceptionItem.status.in_(OPEN_STATES),
    )


def cannot_take_place():
    """The appointment has an open "outside working hours" item: it cannot take place as booked,
    so the lesser kinds about it (unconfirmed, intake missing) wait until that one is fixed
    (moved, given to another provider, cancelled) or resolved by hand ("keep it"). One
    appointment, one item that says what is really wrong. OutsideHours runs before these rules
    in every pass (core.queue.rules.RULES), so the wait starts in the same pass."""
    return open_item(kinds.OUTSIDE_HOURS)


class _SoonRule(Rule):
    """Appointments starting within the type's window from now, in some statuses, with a flaw."""

    statuses: tuple[str, ...]
    default_hours: int

    def hours(self, window: QueueTypeWindow | None) -> int:
        raise NotImplementedError

    def flaw(self):
        raise NotImplementedError

    def query(self):
        return select(*COLUMNS)

    def details(self, row) -> dict | None:
        return None

    def find(self, session: Session, now: datetime, scope: Scope) -> list[Cause]:
        windows = type_windows(session)
        widest = max([self.default_hours, *(self.hours(w) for w in windows.values())])
        query = self.query().where(
            Appointment.start_at > now,
            Appointment.start_at <= now + timedelta(hours=widest),
            Appointment.status.in_(self.statuses),
            self.flaw(),
            ~cannot_take_place(),
        )
        found = []
        for row in session.execute(scoped(query, scope)):
            hours = self.hours(windows.get(row.type_id)) if row.type_id in windows else self.default_hours
            if row.start_at <= now + timedelta(hours=hours):
                found.append(appointment_cause(self.kind, row, self.details(row)))
        return found


class IntakeMissing(_SoonRule):
    kind = kinds.INTAKE_MISSING
    statuses = (Status.BOOKED.value, Status.CONFIRMED.value)
    default_hours = kinds.DEFAULT_INTAKE_HOURS

    def hours(self, window):
        return window.intake_hours

    def flaw(self):
        return Appointment.intake_complete.is_(False)

    def query(self):
        """With what the intake form still misses, by label (core.intake keeps it)."""
        joined = IntakeAnswers.appointment_id == Appointment.id
        return select(*COLUMNS, IntakeAnswers.missing).outerjoin(IntakeAnswers, joined)

    def details(self, row) -> dict | None:
        return {"missing": list(row.missing)} if row.missing else None


class Unconfirmed(_SoonRule):
    kind = kinds.UNCONFIRMED
    statuses = (Status.BOOKED.value,)
    default_hours = kinds.DEFAULT_CONFIRM_HOURS

    def hours(self, window):
        return window.confirm_hours

    def flaw(self):
        # "High risk, not confirmed" says the same and more: one call prompt per appointment.
        return ~open_item(kinds.NO_SHOW_RISK)


class NoShowRisk(Rule):
    """Booked (not confirmed), starting within NO_SHOW_RISK_HOURS, with a stored no-show risk at
    or above the NO_SHOW_HIGH_RISK setting: the few calls worth making. Confirming clears it. It
    waits while the appointment is outside working hours; Unconfirmed waits while it is open."""

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
                ~cannot_take_place(),
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

"""Booking services: book, confirm, check in, complete, no-show, cancel, reschedule, notes.

Each is one unit of work: permission check, validation (the same `Engine` rules as the free-slot
search, checked inside the write transaction), the change, an AppointmentHistory row and an
audit row. The database's overlap rule is the guarantee against double booking; when it refuses
an insert or update that slipped past the check in code (two writers at once on PostgreSQL),
the IntegrityError becomes a ConflictError naming the appointment that won.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from core import access, audit
from core.access import A, Actor
from core.availability import Engine, Fit, describe_appointment, fmt_day, pick, require_aware, resolve_now
from core.db import constraint_name, read_session, unit_of_work
from core.errors import ConflictError, InvalidTransition, NotFound, ValidationError
from core.models import (
    OPEN_STATUSES,
    Appointment,
    AppointmentHistory,
    Customer,
    Provider,
    Room,
    Status,
    new_key,
)
from core.tz import to_local

PROVIDER_RULE = "ex_appointments_provider_overlap"
ROOM_RULE = "ex_appointments_room_overlap"
RETRY_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure: try again
MAX_ATTEMPTS = 3
NOTE_MAX = 2000
SOURCE_MAX = 30

STATUS_WORDS = {
    Status.BOOKED: "booked",
    Status.CONFIRMED: "confirmed",
    Status.CHECKED_IN: "checked in",
    Status.COMPLETED: "completed",
    Status.NO_SHOW: "marked no-show",
    Status.CANCELLED: "cancelled",
}

T = TypeVar("T")


@dataclass
class BookingResult:
    appointment: Appointment  # detached, loaded (attributes usable after the session closed)
    routing_reason: str | None  # e.g. "Dr. Kim: least booked this week (3 appointments)"
    room_reason: str | None = None  # e.g. "Exam 2: first free exam room"


@dataclass(frozen=True)
class CancelPreview:
    late: bool
    window_hours: int
    message: str  # for the confirmation dialog


@dataclass
class _Attempt:
    """What an insert or update tried to hold, to name the clash if the database refuses it."""

    provider_id: int | None = None
    room_id: int | None = None
    block_start: datetime | None = None
    block_end: datetime | None = None
    group_key: str | None = None
    appointment_id: int | None = None


# -- helpers ---------------------------------------------------------------------------------


def _manual(actor: Actor | None) -> bool:
    """Done by a member of staff (counts as an admin touch), not by the system or a sync."""
    return actor is not None and actor.user_id is not None


def snapshot(appt: Appointment) -> dict:
    return audit.jsonable(
        {
            "status": appt.status,
            "start": appt.start_at,
            "end": appt.end_at,
            "provider_id": appt.provider_id,
            "room_id": appt.room_id,
            "type_id": appt.type_id,
            "customer_id": appt.customer_id,
            "location_id": appt.location_id,
        }
    )


def _history(session: Session, actor: Actor | None, appt: Appointment, kind: str, old, new, now: datetime) -> None:
    session.add(
        AppointmentHistory(
            appointment_id=appt.id,
            at=now,
            actor_id=actor.user_id if actor else None,
            kind=kind,
            old=audit.jsonable(old) if old is not None else None,
            new=audit.jsonable(new) if new is not None else None,
            manual=_manual(actor),
        )
    )


def _loaded(appt: Appointment) -> Appointment:
    """Load what pages read, so the appointment is usable once its session has closed."""
    for rel in (appt.location, appt.provider, appt.room, appt.type, appt.customer):
        _ = rel
    return appt


def _get(session: Session, appointment_id: int) -> Appointment:
    appt = session.get(Appointment, appointment_id)
    if appt is None:
        raise NotFound(f"Unknown appointment #{appointment_id}.")
    return appt


def _when(appt: Appointment) -> str:
    local = to_local(appt.start_at, appt.location.timezone)
    return f"{fmt_day(local.date())} {local:%H:%M}"


def _lock_for_capacity(session: Session, engine: Engine, provider_ids: list[int]) -> None:
    """Group sessions share a group_key, so the overlap rule cannot count their members:
    serialise bookings of a provider's group sessions with a row lock (SQLite's write
    transaction is already exclusive)."""
    if engine.capacity > 1 and provider_ids and session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(Provider.id).where(Provider.id.in_(provider_ids)).order_by(Provider.id).with_for_update()
        )


def _overlap_error(exc: IntegrityError, attempt: _Attempt) -> ConflictError | None:
    """The database refused an overlap: name the appointment that holds the time."""
    rule = constraint_name(exc)
    if rule not in (PROVIDER_RULE, ROOM_RULE) or attempt.block_start is None:
        return None
    with read_session() as s:
        column, value = (
            (Appointment.provider_id, attempt.provider_id)
            if rule == PROVIDER_RULE
            else (Appointment.room_id, attempt.room_id)
        )
        q = select(Appointment.id).where(
            column == value,
            Appointment.status != Status.CANCELLED.value,
            Appointment.group_key != (attempt.group_key or ""),
            Appointment.block_start >= attempt.block_start - timedelta(days=1),
            Appointment.block_start < attempt.block_end,
            Appointment.block_end > attempt.block_start,
        )
        if attempt.appointment_id is not None:
            q = q.where(Appointment.id != attempt.appointment_id)
        clash_id = s.scalar(q.order_by(Appointment.block_start).limit(1))
        if rule == PROVIDER_RULE:
            name = s.get(Provider, attempt.provider_id).name
            if clash_id is None:
                return ConflictError(f"{name} was just booked at that time by someone else; choose another slot.")
            return ConflictError(describe_appointment(s, clash_id, provider_name=name))
        room = s.get(Room, attempt.room_id).name
        if clash_id is None:
            return ConflictError(f"{room} was just taken at that time by someone else; choose another slot.")
        return ConflictError(describe_appointment(s, clash_id, room_name=room))


def _run(fn: Callable[[], T], attempt: _Attempt) -> T:
    """Run one unit of work; translate overlap violations, retry deadlocks."""
    for n in range(MAX_ATTEMPTS):
        try:
            return fn()
        except IntegrityError as exc:
            err = _overlap_error(exc, attempt)
            if err is None:
                raise
            raise err from None
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) in RETRY_SQLSTATES and n < MAX_ATTEMPTS - 1:
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _intake(atype, intake: dict | None) -> tuple[dict, bool]:
    if intake is None:
        intake = {}
    if not isinstance(intake, dict):
        raise ValidationError("Intake answers must be a mapping of field name to answer.")
    answers = {str(k): (v.strip() if isinstance(v, str) else v) for k, v in intake.items()}
    missing = [
        f.get("name")
        for f in (atype.intake_fields or [])
        if f.get("required") and answers.get(f.get("name")) in (None, "", [], {})
    ]
    return answers, not missing


# -- booking ---------------------------------------------------------------------------------


def book_in(
    session: Session,
    actor: Actor | None,
    *,
    type_id: int,
    location_id: int,
    customer_id: int,
    start: datetime,
    now: datetime,
    attempt: _Attempt,
    provider_id: int | None = None,
    room_id: int | None = None,
    intake: dict | None = None,
    source: str = "front_desk",
    notes: str | None = None,
) -> tuple[Appointment, str | None, str | None]:
    """Book inside the caller's transaction (permission already checked). Returns the new
    appointment, the routing reason (when the provider was picked) and the room reason."""
    from core import waitlist

    if session.get(Customer, customer_id) is None:
        raise NotFound(f"Unknown customer #{customer_id}.")
    engine = Engine(session, type_id, location_id, provider_id=provider_id, room_id=room_id)
    _lock_for_capacity(session, engine, [p.id for p in engine.providers])
    routing_reason = None
    if provider_id is None:
        fit, routing_reason = pick(engine, start, now=now)
    else:
        engine.check_time_rules(start, now)
        day = to_local(start, engine.tz).date()
        engine.load(day, day)
        fit = engine.check(provider_id, start, now)
    atype = engine.type
    answers, complete = _intake(atype, intake)
    room_reason = _room_reason(engine, fit, room_id)
    appt = Appointment(
        location_id=location_id,
        provider_id=fit.provider_id,
        room_id=fit.room_id,
        type_id=type_id,
        customer_id=customer_id,
        start_at=fit.start,
        end_at=fit.end,
        block_start=fit.block_start,
        block_end=fit.block_end,
        group_key=fit.group_key or new_key(),
        status=Status.BOOKED.value,
        booked_at=now,
        booked_by=actor.user_id if actor else None,
        source=source,
        intake_answers=answers,
        intake_complete=complete,
        notes=notes,
    )
    attempt.provider_id, attempt.room_id = fit.provider_id, fit.room_id
    attempt.block_start, attempt.block_end, attempt.group_key = fit.block_start, fit.block_end, appt.group_key
    session.add(appt)
    session.flush()
    waitlist.withdraw_offers_taken_by(session, appt)
    after = snapshot(appt) | {"intake_complete": complete, "source": source}
    _history(session, actor, appt, "created", None, after, now)
    audit.record(
        session,
        actor,
        A.APPOINTMENT_BOOK,
        entity="appointment",
        entity_id=appt.id,
        location_id=location_id,
        after=after,
        reason=routing_reason,
    )
    return appt, routing_reason, room_reason


def _room_reason(engine: Engine, fit: Fit, room_id: int | None) -> str | None:
    if fit.room_name is None:
        return None
    if room_id is not None:
        return f"{fit.room_name}: the room asked for"
    if fit.group_key is not None and fit.group_key in engine.sessions:
        return f"{fit.room_name}: the session's room"
    return f"{fit.room_name}: first free {engine.type.room_kind or ''} room".replace("  ", " ")


def book(
    actor: Actor | None,
    *,
    type_id: int,
    location_id: int,
    customer_id: int | None = None,
    start: datetime,
    provider_id: int | None = None,
    room_id: int | None = None,
    intake: dict | None = None,
    source: str = "front_desk",
    notes: str | None = None,
    now: datetime | None = None,
    new_customer: dict | None = None,
) -> BookingResult:
    """Book an appointment. Without a provider, routing picks one and says why; without a
    room, the first free room of the type's kind is taken. Missing required intake answers do
    not stop the booking: the appointment is marked intake incomplete. `new_customer`
    ({name, email, phone}) instead of `customer_id` adds the customer in the same transaction,
    so a refused booking leaves no customer behind."""
    if (customer_id is None) == (new_customer is None):
        raise ValidationError("Choose an existing customer or enter a new one (not both).")
    now = resolve_now(now)
    start = require_aware(start)
    if not source or len(source) > SOURCE_MAX:
        raise ValidationError(f"The booking source must be 1 to {SOURCE_MAX} characters (e.g. 'front_desk').")
    attempt = _Attempt()

    def run() -> BookingResult:
        with unit_of_work() as session:
            access.require(actor, A.APPOINTMENT_BOOK, location_id, provider_id=provider_id, entity="appointment")
            who = customer_id
            if new_customer is not None:
                from core.customers import add_customer_in

                who = add_customer_in(session, actor, location_id=location_id, **new_customer).id
            appt, reason, room_reason = book_in(
                session,
                actor,
                type_id=type_id,
                location_id=location_id,
                customer_id=who,
                start=start,
                now=now,
                attempt=attempt,
                provider_id=provider_id,
                room_id=room_id,
                intake=intake,
                source=source,
                notes=notes,
            )
            _loaded(appt)
        return BookingResult(appt, reason, room_reason)

    return _run(run, attempt)


# -- status changes --------------------------------------------------------------------------


def _change_status(
    actor: Actor | None,
    appointment_id: int,
    *,
    action: str,
    to: Status,
    allowed: tuple[Status, ...],
    refusal: str,
    now: datetime | None,
    check: Callable[[Appointment, datetime], None] | None = None,
) -> Appointment:
    now = resolve_now(now)
    with unit_of_work() as session:
        appt = _get(session, appointment_id)
        access.require(
            actor, action, appt.location_id, provider_id=appt.provider_id, entity="appointment", entity_id=appt.id
        )
        if appt.status not in allowed:
            raise InvalidTransition(f"{refusal}; this one is {STATUS_WORDS[Status(appt.status)]}.")
        if check is not None:
            check(appt, now)
        before = snapshot(appt)
        old = appt.status
        appt.status = to.value
        stamp = {
            Status.CONFIRMED: "confirmed_at",
            Status.CHECKED_IN: "checked_in_at",
            Status.COMPLETED: "completed_at",
        }.get(to)
        if stamp:
            setattr(appt, stamp, now)
        session.flush()
        _history(session, actor, appt, "status", {"status": old}, {"status": to.value}, now)
        audit.record(
            session,
            actor,
            action,
            entity="appointment",
            entity_id=appt.id,
            location_id=appt.location_id,
            before=before,
            after=snapshot(appt),
        )
        _loaded(appt)
    return appt


def confirm(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> Appointment:
    return _change_status(
        actor,
        appointment_id,
        action=A.APPOINTMENT_CONFIRM,
        to=Status.CONFIRMED,
        allowed=(Status.BOOKED,),
        refusal="Only a booked appointment can be confirmed",
        now=now,
    )


def check_in(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> Appointment:
    """Booked or confirmed -> checked in (a customer who never confirmed can still arrive)."""
    return _change_status(
        actor,
        appointment_id,
        action=A.APPOINTMENT_CHECK_IN,
        to=Status.CHECKED_IN,
        allowed=(Status.BOOKED, Status.CONFIRMED),
        refusal="Only a booked or confirmed appointment can be checked in",
        now=now,
    )


def complete(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> Appointment:
    return _change_status(
        actor,
        appointment_id,
        action=A.APPOINTMENT_COMPLETE,
        to=Status.COMPLETED,
        allowed=(Status.CHECKED_IN,),
        refusal="Only a checked-in appointment can be completed",
        now=now,
    )


def _started(appt: Appointment, now: datetime) -> None:
    if now < appt.start_at:
        raise InvalidTransition(
            f"A no-show can be marked only once the appointment has started ({_when(appt)} at {appt.location.name})."
        )


def mark_no_show(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> Appointment:
    return _change_status(
        actor,
        appointment_id,
        action=A.APPOINTMENT_NO_SHOW,
        to=Status.NO_SHOW,
        allowed=(Status.BOOKED, Status.CONFIRMED),
        refusal="Only a booked or confirmed appointment can be marked no-show",
        now=now,
        check=_started,
    )


# -- cancel ----------------------------------------------------------------------------------


def _is_late(appt: Appointment, now: datetime) -> bool:
    return appt.start_at - now < timedelta(hours=appt.type.cancellation_window_hours)


def _not_cancellable(appt: Appointment) -> str:
    return (
        f"This appointment is already {STATUS_WORDS[Status(appt.status)]}; only booked, confirmed "
        "or checked-in appointments can be cancelled."
    )


def cancel_preview(actor: Actor | None, appointment_id: int, *, now: datetime | None = None) -> CancelPreview:
    """Whether cancelling now would be late, with a sentence for the confirmation dialog."""
    now = resolve_now(now)
    with read_session() as session:
        appt = _get(session, appointment_id)
        access.require(
            actor,
            A.APPOINTMENT_CANCEL,
            appt.location_id,
            provider_id=appt.provider_id,
            entity="appointment",
            entity_id=appt.id,
        )
        if appt.status not in OPEN_STATUSES:
            raise InvalidTransition(_not_cancellable(appt))
        hours = appt.type.cancellation_window_hours
        late = _is_late(appt, now)
        when = _when(appt)
        if late:
            message = (
                f"This is a late cancellation: the appointment starts {when}, within the "
                f"{hours}-hour cancellation window of {appt.type.name}."
            )
        else:
            message = f"Not a late cancellation: the appointment starts {when}, more than {hours} hours from now."
    return CancelPreview(late=late, window_hours=hours, message=message)


def cancel(actor: Actor | None, appointment_id: int, *, reason: str, now: datetime | None = None) -> Appointment:
    """Cancel an open appointment (late when inside the type's cancellation window). A freed
    future slot is offered to matching waitlist entries in the same transaction."""
    from core import waitlist

    now = resolve_now(now)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give a reason for the cancellation.")
    with unit_of_work() as session:
        appt = _get(session, appointment_id)
        access.require(
            actor,
            A.APPOINTMENT_CANCEL,
            appt.location_id,
            provider_id=appt.provider_id,
            entity="appointment",
            entity_id=appt.id,
        )
        if appt.status not in OPEN_STATUSES:
            raise InvalidTransition(_not_cancellable(appt))
        before = snapshot(appt)
        late = _is_late(appt, now)
        old = appt.status
        appt.status = Status.CANCELLED.value
        appt.cancelled_at = now
        appt.cancel_reason = reason[:255]
        appt.late_cancel = late
        session.flush()
        _history(
            session,
            actor,
            appt,
            "status",
            {"status": old},
            {"status": Status.CANCELLED.value, "reason": reason, "late": late},
            now,
        )
        audit.record(
            session,
            actor,
            A.APPOINTMENT_CANCEL,
            entity="appointment",
            entity_id=appt.id,
            location_id=appt.location_id,
            before=before,
            after=snapshot(appt) | {"late_cancel": late},
            reason=reason,
        )
        if appt.start_at > now:
            waitlist.create_offers_for_freed_slot(session, appt, now=now)
        _loaded(appt)
    return appt


# -- reschedule ------------------------------------------------------------------------------


def reschedule(
    actor: Actor | None,
    appointment_id: int,
    *,
    new_start: datetime,
    provider_id: int | None = None,
    room_id: int | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Move a booked or confirmed appointment: same appointment, new time (and optionally a
    new provider or room; by default the same provider, and the same room when it is free).
    Refused inside the type's reschedule notice. The old slot is offered to the waitlist."""
    from core import waitlist

    now = resolve_now(now)
    new_start = require_aware(new_start, "The new start time")
    attempt = _Attempt(appointment_id=appointment_id)

    def run() -> Appointment:
        with unit_of_work() as session:
            appt = _get(session, appointment_id)
            access.require(
                actor,
                A.APPOINTMENT_RESCHEDULE,
                appt.location_id,
                provider_id=appt.provider_id,
                entity="appointment",
                entity_id=appt.id,
            )
            if appt.status not in (Status.BOOKED, Status.CONFIRMED):
                raise InvalidTransition(
                    f"Only a booked or confirmed appointment can be rescheduled; this one is "
                    f"{STATUS_WORDS[Status(appt.status)]}."
                )
            atype = appt.type
            if now >= appt.start_at:
                raise InvalidTransition(f"This appointment started {_when(appt)}; it can no longer be rescheduled.")
            notice = atype.reschedule_notice_hours
            if notice and appt.start_at - now < timedelta(hours=notice):
                raise ValidationError(
                    f"{atype.name} can be rescheduled only up to {notice} hours before its start; "
                    f"this one starts {_when(appt)}."
                )
            target = provider_id if provider_id is not None else appt.provider_id
            engine = Engine(session, appt.type_id, appt.location_id, provider_id=target, room_id=room_id)
            _lock_for_capacity(session, engine, [target])
            engine.check_time_rules(new_start, now)
            day = to_local(new_start, engine.tz).date()
            engine.load(day, day, exclude_appointment_id=appt.id)
            fit = engine.check(target, new_start, now, prefer_room_id=appt.room_id)
            if fit.start == appt.start_at and fit.provider_id == appt.provider_id and fit.room_id == appt.room_id:
                raise ValidationError(f"The appointment is already at {_when(appt)}.")
            before = snapshot(appt)
            old = {"start": appt.start_at, "end": appt.end_at, "provider_id": appt.provider_id, "room_id": appt.room_id}
            old_start, old_end, old_provider = appt.start_at, appt.end_at, appt.provider_id
            appt.start_at, appt.end_at = fit.start, fit.end
            appt.block_start, appt.block_end = fit.block_start, fit.block_end
            appt.provider_id, appt.room_id = fit.provider_id, fit.room_id
            if fit.group_key is not None:
                appt.group_key = fit.group_key
            appt.reschedule_count = (appt.reschedule_count or 0) + 1
            attempt.provider_id, attempt.room_id = fit.provider_id, fit.room_id
            attempt.block_start, attempt.block_end, attempt.group_key = fit.block_start, fit.block_end, appt.group_key
            session.flush()
            new = {"start": appt.start_at, "end": appt.end_at, "provider_id": appt.provider_id, "room_id": appt.room_id}
            _history(session, actor, appt, "reschedule", old, new, now)
            audit.record(
                session,
                actor,
                A.APPOINTMENT_RESCHEDULE,
                entity="appointment",
                entity_id=appt.id,
                location_id=appt.location_id,
                before=before,
                after=snapshot(appt) | {"reschedule_count": appt.reschedule_count},
            )
            if old_start > now:
                waitlist.create_offers_for_freed_slot(
                    session, appt, now=now, start=old_start, end=old_end, provider_id=old_provider
                )
            session.expire(appt, ["provider", "room"])
            _loaded(appt)
        return appt

    return _run(run, attempt)


# -- notes -----------------------------------------------------------------------------------


def add_note(actor: Actor | None, appointment_id: int, *, note: str, now: datetime | None = None) -> Appointment:
    """Append a note to the appointment (providers: their own appointments only)."""
    now = resolve_now(now)
    note = (note or "").strip()
    if not note:
        raise ValidationError("The note is empty.")
    if len(note) > NOTE_MAX:
        raise ValidationError(f"A note can be at most {NOTE_MAX} characters (this one has {len(note)}).")
    with unit_of_work() as session:
        appt = _get(session, appointment_id)
        access.require(
            actor,
            A.APPOINTMENT_NOTE,
            appt.location_id,
            provider_id=appt.provider_id,
            entity="appointment",
            entity_id=appt.id,
        )
        old = appt.notes
        appt.notes = f"{old}\n{note}" if old else note
        session.flush()
        _history(session, actor, appt, "note", {"notes": old}, {"note": note}, now)
        audit.record(
            session,
            actor,
            A.APPOINTMENT_NOTE,
            entity="appointment",
            entity_id=appt.id,
            location_id=appt.location_id,
            before={"notes": old},
            after={"notes": appt.notes},
        )
        _loaded(appt)
    return appt

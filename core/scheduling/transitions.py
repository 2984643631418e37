"""The appointment lifecycle in one table: which action applies from which status, when, and
with what label. Services enforce it (`refusal`), pages read it (`available`) to offer buttons.

    booked -> confirmed -> checked_in -> completed
    booked | confirmed -> checked_in     (on its local day, from `check_in_lead()` before the start)
    booked | confirmed -> no_show        (once the appointment has started)
    booked | confirmed | checked_in -> cancelled
    booked | confirmed -> rescheduled    (same status, new time; before it starts)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.base.config import get_settings
from core.base.models import Status
from core.scheduling.labels import day_label
from core.security.access import A

STATUS_WORDS = {
    Status.BOOKED: "booked",
    Status.CONFIRMED: "confirmed",
    Status.CHECKED_IN: "checked in",
    Status.COMPLETED: "completed",
    Status.NO_SHOW: "marked no-show",
    Status.CANCELLED: "cancelled",
}


@dataclass(frozen=True)
class Transition:
    action: str  # the permission, also the audit action
    label: str  # the button
    sources: tuple[Status, ...]
    target: Status | None  # None: the status stays (reschedule, notes)
    refusal: str  # "Only a booked appointment can be confirmed"
    stamp: str | None = None  # the appointment column that records when
    before_start: bool = False  # only until the appointment starts
    after_start: bool = False  # only once it has started
    on_the_day: bool = False  # only on its local day, from `check_in_lead()` before the start


_WAITING = (Status.BOOKED, Status.CONFIRMED)
_OPEN = (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN)

# In the order the buttons are shown.
TRANSITIONS: tuple[Transition, ...] = (
    Transition(A.APPOINTMENT_CONFIRM, "Confirm", (Status.BOOKED,), Status.CONFIRMED,
               "Only a booked appointment can be confirmed", stamp="confirmed_at", before_start=True),
    Transition(A.APPOINTMENT_CHECK_IN, "Check in", _WAITING, Status.CHECKED_IN,
               "Only a booked or confirmed appointment can be checked in", stamp="checked_in_at",
               on_the_day=True),
    Transition(A.APPOINTMENT_COMPLETE, "Complete", (Status.CHECKED_IN,), Status.COMPLETED,
               "Only a checked-in appointment can be completed", stamp="completed_at"),
    Transition(A.APPOINTMENT_NO_SHOW, "No-show", _WAITING, Status.NO_SHOW,
               "Only a booked or confirmed appointment can be marked no-show", after_start=True),
    Transition(A.APPOINTMENT_RESCHEDULE, "Reschedule…", _WAITING, None,
               "Only a booked or confirmed appointment can be rescheduled", before_start=True),
    Transition(A.APPOINTMENT_CANCEL, "Cancel…", _OPEN, Status.CANCELLED,
               "Only booked, confirmed or checked-in appointments can be cancelled"),
    Transition(A.APPOINTMENT_NOTE, "Notes…", tuple(Status), None, "Notes can always be added"),
)  # fmt: skip
BY_ACTION = {t.action: t for t in TRANSITIONS}


def status_refusal(action: str, status: str) -> str | None:
    """Why `action` cannot apply to an appointment in `status`, or None when it can."""
    t = BY_ACTION[action]
    if Status(status) in t.sources:
        return None
    return f"{t.refusal}; this one is {STATUS_WORDS[Status(status)]}."


def check_in_lead() -> timedelta:
    """How long before its start an appointment can be checked in (CHECK_IN_LEAD_MINUTES)."""
    return timedelta(minutes=get_settings().check_in_lead_minutes)


def time_refusal(action: str, start: datetime, now: datetime) -> str | None:
    """Why `action` cannot apply at `now` to an appointment starting at `start`, or None when
    the clock allows it. `start` is aware and in the location's zone: its date is the local day."""
    t = BY_ACTION[action]
    when = f"{day_label(start.date())} {start:%H:%M}"
    if t.before_start and now >= start:
        return f"This appointment started {when}; it is too late to {t.label.rstrip('…').lower()} it."
    if t.after_start and now < start:
        return f"A no-show can be marked only once the appointment has started ({when})."
    if t.on_the_day:
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        if now >= (midnight + timedelta(days=1)).astimezone(UTC):
            return f"This appointment was {when}; a past day cannot be checked in. Mark it no-show or cancel it."
        opens = opens_at(t, start)
        if now < opens:
            return f"Check-in for the appointment {when} opens at {opens.astimezone(start.tzinfo):%H:%M} that day."
    return None


def opens_at(t: Transition, start: datetime) -> datetime | None:
    """When a clock-bound transition first applies to an appointment starting at `start` (aware,
    in the location's zone): check-in `check_in_lead()` before the start (not before its local
    midnight), a no-show at the start; None for the others."""
    if t.on_the_day:
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        return max(start.astimezone(UTC) - check_in_lead(), midnight.astimezone(UTC))
    return start.astimezone(UTC) if t.after_start else None


NOT_YET = {A.APPOINTMENT_CHECK_IN: "Check-in opens", A.APPOINTMENT_NO_SHOW: "No-show from"}


def not_yet(status: str, start: datetime, now: datetime) -> list[tuple[Transition, str]]:
    """The transitions this status allows that the clock does not yet, each with when it opens:
    (Check in, "Check-in opens 12:50"), (No-show, "No-show from 13:00"), with the day when it is
    not `now`'s local day. Permissions aside: ask `can`."""
    out = []
    for t in TRANSITIONS:
        opens = opens_at(t, start) if Status(status) in t.sources else None
        if opens is not None and now < opens:
            local = opens.astimezone(start.tzinfo)
            day = "" if local.date() == now.astimezone(start.tzinfo).date() else f"{day_label(local.date())} "
            out.append((t, f"{NOT_YET.get(t.action, t.label + ' from')} {day}{local:%H:%M}"))
    return out


def applies(t: Transition, status: str, start: datetime, now: datetime) -> bool:
    return Status(status) in t.sources and time_refusal(t.action, start, now) is None


def available(status: str, start: datetime, now: datetime) -> list[Transition]:
    """The transitions that apply now, in button order (permissions aside: ask `can`).
    `start` is aware and in the location's zone (check-in depends on the local day)."""
    return [t for t in TRANSITIONS if applies(t, status, start, now)]

"""Which appointments fall outside their provider's working hours or on their time off.

One check for two callers: settings shows it before a change of hours or time off is confirmed
(passing the proposed hours and time off), and the exceptions queue raises an item for each
appointment it finds with the stored ones. An appointment is inside hours when its whole time
lies within one stretch of working time on its local day (shifts that touch join at their seam)
and no time off overlaps it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.models import OPEN_STATUSES, Appointment, Location, TimeOff, WorkingHours
from core.base.tz import local_to_utc, to_local


@dataclass(frozen=True)
class Shift:
    location_id: int
    weekday: int  # 0 = Monday
    start: time
    end: time


@dataclass(frozen=True)
class Absence:
    start: datetime
    end: datetime
    reason: str | None = None


@dataclass(frozen=True)
class OutsideHours:
    appointment_id: int
    location_id: int
    start: datetime
    end: datetime
    reason: str  # "outside working hours" or "on time off (Vacation)"


def working_stretches(shifts: Iterable[Shift], location_id: int, day: date, tz: str) -> list[tuple[datetime, datetime]]:
    """The provider's working time at a location on a local day, as UTC stretches, with shifts
    that touch or overlap joined."""
    spans = sorted(
        (local_to_utc(day, s.start, tz), local_to_utc(day, s.end, tz))
        for s in shifts
        if s.location_id == location_id and s.weekday == day.weekday()
    )
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def why_outside(
    start: datetime,
    end: datetime,
    location_id: int,
    tz: str,
    shifts: list[Shift],
    absences: list[Absence],
    stretches: dict | None = None,
) -> str | None:
    """Why [start, end) is not bookable working time, or None when it is. `stretches`: a dict
    the caller keeps for one provider's shifts, so checking many appointments computes each
    local day's working time once."""
    for off in absences:
        if off.start < end and off.end > start:
            return f"on time off ({off.reason})" if off.reason else "on time off"
    day = to_local(start, tz).date()
    if stretches is None:
        spans = working_stretches(shifts, location_id, day, tz)
    elif (spans := stretches.get((location_id, day, tz))) is None:
        spans = stretches[(location_id, day, tz)] = working_stretches(shifts, location_id, day, tz)
    if not any(lo <= start and end <= hi for lo, hi in spans):
        return "outside working hours"
    return None


def stored_shifts(session: Session, provider_id: int) -> list[Shift]:
    rows = session.execute(
        select(WorkingHours.location_id, WorkingHours.weekday, WorkingHours.start_time, WorkingHours.end_time).where(
            WorkingHours.provider_id == provider_id
        )
    )
    return [Shift(*row) for row in rows]


def hours_and_absences(
    session: Session, providers: list[int], since: datetime
) -> tuple[dict[int, list[Shift]], dict[int, list[Absence]]]:
    """The providers' weekly shifts and their time off ending after `since`, in two queries
    whatever their number (all providers' rows when there are many: one scan beats a long IN)."""
    shifts: dict[int, list[Shift]] = defaultdict(list)
    absences: dict[int, list[Absence]] = defaultdict(list)
    if not providers:
        return shifts, absences
    hours = select(WorkingHours.provider_id, WorkingHours.location_id, WorkingHours.weekday,
                   WorkingHours.start_time, WorkingHours.end_time)  # fmt: skip
    off = select(TimeOff.provider_id, TimeOff.start_at, TimeOff.end_at, TimeOff.reason).where(TimeOff.end_at > since)
    if len(providers) < 50:
        hours = hours.where(WorkingHours.provider_id.in_(providers))
        off = off.where(TimeOff.provider_id.in_(providers))
    for pid, *shift in session.execute(hours):
        shifts[pid].append(Shift(*shift))
    for pid, *absence in session.execute(off):
        absences[pid].append(Absence(*absence))
    return shifts, absences


def stored_absences(session: Session, provider_id: int, since: datetime) -> list[Absence]:
    rows = session.execute(
        select(TimeOff.start_at, TimeOff.end_at, TimeOff.reason).where(
            TimeOff.provider_id == provider_id, TimeOff.end_at > since
        )
    )
    return [Absence(*row) for row in rows]


def appointments_outside_hours(
    session: Session,
    provider_id: int,
    *,
    since: datetime,
    until: datetime | None = None,
    appointment_ids: Iterable[int] | None = None,
    shifts: list[Shift] | None = None,
    absences: list[Absence] | None = None,
) -> list[OutsideHours]:
    """The provider's open appointments from `since` (to `until`, or only `appointment_ids`)
    that lie outside working hours or on time off: with the stored hours and time off, or with
    proposed ones (`shifts`, `absences`) for a preview."""
    shifts = stored_shifts(session, provider_id) if shifts is None else shifts
    absences = stored_absences(session, provider_id, since) if absences is None else absences
    query = (
        select(Appointment.id, Appointment.location_id, Appointment.start_at, Appointment.end_at, Location.timezone)
        .join(Location, Location.id == Appointment.location_id)
        .where(
            Appointment.provider_id == provider_id,
            Appointment.status.in_([s.value for s in OPEN_STATUSES]),
            Appointment.end_at > since,
            # No appointment holds its provider for two days: this bound lets the (provider,
            # block_start) index skip the provider's history instead of reading all of it.
            Appointment.block_start > since - timedelta(days=2),
        )
        .order_by(Appointment.start_at)
    )
    if until is not None:
        query = query.where(Appointment.start_at < until)
    if appointment_ids is not None:
        query = query.where(Appointment.id.in_(list(appointment_ids)))
    found = []
    for appt_id, location_id, start, end, tz in session.execute(query):
        reason = why_outside(start, end, location_id, tz, shifts, absences)
        if reason:
            found.append(OutsideHours(appt_id, location_id, start, end, reason))
    return found

"""Weekly working hours (per location, local wall-clock time, several ranges a day) and time
off (whole days, ranges of days, part days). A change never silently orphans booked
appointments: `preview_*` lists the appointments the proposed hours or time off would leave
outside working time, and the change itself publishes ProviderScheduleChanged, on which the
exceptions queue raises an item for each that remains."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.base.clock import resolve_now
from core.base.errors import NotFound, ValidationError
from core.base.models import Appointment, Location, Provider, TimeOff, WorkingHours
from core.base.tz import local_to_utc, to_local
from core.scheduling import hours
from core.scheduling.events import ProviderScheduleChanged
from core.scheduling.hours import Absence, Shift
from core.security.access import A, Actor
from core.security.service import Tx, reading, service
from core.settings.common import WEEKDAYS, check_some, clean_optional, hhmm, require_some


@dataclass(frozen=True)
class Affected:
    """An appointment the change would leave outside working time."""

    appointment_id: int
    when: str  # "Mon 2 Mar 10:00-10:30" in the location's time
    location: str
    customer: str
    type: str
    reason: str


@dataclass(frozen=True)
class TimeOffView:
    id: int
    provider_id: int
    start: datetime
    end: datetime
    reason: str | None
    label: str  # in the provider's first location's time


def shifts_text(shifts: list[Shift]) -> str:
    by_day: dict[int, list[str]] = {}
    for s in sorted(shifts, key=lambda s: (s.weekday, s.start)):
        by_day.setdefault(s.weekday, []).append(f"{hhmm(s.start)}-{hhmm(s.end)}")
    return "; ".join(f"{WEEKDAYS[d][:3]} {', '.join(r)}" for d, r in sorted(by_day.items())) or "no hours"


def check_shifts(shifts: list[Shift], where: str) -> list[Shift]:
    """Sorted, valid shifts: each ends after it starts; none overlaps another that day."""
    out = sorted(shifts, key=lambda s: (s.location_id, s.weekday, s.start))
    for i, s in enumerate(out):
        if not 0 <= s.weekday <= 6:
            raise ValidationError(f"Weekday {s.weekday} does not exist: use 0 (Monday) to 6 (Sunday).")
        if s.end <= s.start:
            raise ValidationError(
                f"{WEEKDAYS[s.weekday]} {hhmm(s.start)}-{hhmm(s.end)} at {where} ends before it starts."
            )
        prev = out[i - 1] if i else None
        if prev and (prev.location_id, prev.weekday) == (s.location_id, s.weekday) and s.start < prev.end:
            raise ValidationError(
                f"{WEEKDAYS[s.weekday]} {hhmm(s.start)}-{hhmm(s.end)} overlaps "
                f"{hhmm(prev.start)}-{hhmm(prev.end)} at {where}: join them into one range."
            )
    return out


def describe(session: Session, found: list[hours.OutsideHours]) -> list[Affected]:
    if not found:
        return []
    appts = {
        a.id: a
        for a in session.scalars(select(Appointment).where(Appointment.id.in_([f.appointment_id for f in found])))
    }
    out = []
    for f in found:
        a = appts[f.appointment_id]
        tz = a.location.timezone
        s, e = to_local(a.start_at, tz), to_local(a.end_at, tz)
        when = f"{s:%a} {s.day} {s:%b} {s:%H:%M}-{e:%H:%M}"
        out.append(Affected(a.id, when, a.location.name, a.customer.name, a.type.name, f.reason))
    return out


def _newly_outside(session: Session, provider_id: int, now: datetime, **proposed) -> list[Affected]:
    """Appointments outside working time with the proposed hours / time off that are inside now."""
    already = {f.appointment_id for f in hours.appointments_outside_hours(session, provider_id, since=now)}
    found = hours.appointments_outside_hours(session, provider_id, since=now, **proposed)
    return describe(session, [f for f in found if f.appointment_id not in already])


def _provider(session: Session, provider_id: int) -> Provider:
    p = session.get(Provider, provider_id)
    if p is None:
        raise NotFound(f"Unknown provider #{provider_id}.")
    return p


# -- weekly hours ------------------------------------------------------------------------------


def week_hours(actor: Actor | None, provider_id: int, location_id: int) -> list[Shift]:
    with reading(actor, A.SETTINGS_MANAGE, location_id, entity="provider", entity_id=provider_id) as s:
        return sorted(
            (sh for sh in hours.stored_shifts(s, provider_id) if sh.location_id == location_id),
            key=lambda sh: (sh.weekday, sh.start),
        )


def _proposed(session: Session, provider_id: int, location_id: int, shifts: list[Shift]) -> list[Shift]:
    others = [sh for sh in hours.stored_shifts(session, provider_id) if sh.location_id != location_id]
    return others + [Shift(location_id, sh.weekday, sh.start, sh.end) for sh in shifts]


def _where(session: Session, provider: Provider, location_id: int) -> Location:
    loc = session.get(Location, location_id)
    if loc is None:
        raise NotFound(f"Unknown location #{location_id}.")
    if loc.id not in {x.id for x in provider.locations}:
        raise ValidationError(f"{provider.name} does not work at {loc.name}: add the location to the provider first.")
    return loc


def preview_hours(
    actor: Actor | None, provider_id: int, location_id: int, shifts: list[Shift], *, now: datetime | None = None
) -> list[Affected]:
    """The booked appointments these hours at this location would leave outside working time."""
    now = resolve_now(now)
    with reading(actor, A.SETTINGS_MANAGE, location_id, entity="provider", entity_id=provider_id) as s:
        p = _provider(s, provider_id)
        loc = _where(s, p, location_id)
        shifts = check_shifts(shifts, loc.name)
        return _newly_outside(s, provider_id, now, shifts=_proposed(s, provider_id, location_id, shifts))


def set_hours_in(tx: Tx, provider: Provider, location: Location, shifts: list[Shift], now: datetime) -> bool:
    """Replace the provider's weekly hours at a location; False when nothing changed."""
    s = tx.session
    shifts = check_shifts([Shift(location.id, x.weekday, x.start, x.end) for x in shifts], location.name)
    key = lambda sh: (sh.weekday, sh.start, sh.end)  # noqa: E731
    before = sorted((sh for sh in hours.stored_shifts(s, provider.id) if sh.location_id == location.id), key=key)
    if sorted(map(key, before)) == sorted(map(key, shifts)):
        return False
    s.execute(
        delete(WorkingHours).where(WorkingHours.provider_id == provider.id, WorkingHours.location_id == location.id)
    )
    for sh in shifts:
        s.add(WorkingHours(provider_id=provider.id, location_id=location.id, weekday=sh.weekday, start_time=sh.start,
                           end_time=sh.end))  # fmt: skip
    s.flush()
    tx.audit(
        entity="provider", entity_id=provider.id, location_id=location.id, reason=f"weekly hours at {location.name}",
        before={"hours": shifts_text(before)}, after={"hours": shifts_text(shifts)},
    )  # fmt: skip
    tx.publish(ProviderScheduleChanged(provider_id=provider.id, location_ids=(location.id,), at=now))
    return True


def set_hours(
    actor: Actor | None, provider_id: int, location_id: int, shifts: list[Shift], *, now: datetime | None = None
) -> list[Affected]:
    """Replace the weekly hours; returns the appointments now outside them (the queue gets them)."""
    now = resolve_now(now)
    with service(actor, A.SETTINGS_MANAGE, entity="provider", entity_id=provider_id, location_id=location_id) as tx:
        p = tx.get(Provider, provider_id, what="provider")
        loc = _where(tx.session, p, location_id)
        affected = _newly_outside(
            tx.session, p.id, now, shifts=_proposed(tx.session, p.id, location_id, check_shifts(shifts, loc.name))
        )
        set_hours_in(tx, p, loc, shifts, now)
        return affected


# -- time off ----------------------------------------------------------------------------------


def off_span(
    first_day: date, last_day: date | None, start_time: time | None, end_time: time | None, tz: str
) -> tuple[datetime, datetime]:
    """Local days [first, last], from `start_time` on the first day (default: midnight) to
    `end_time` on the last (default: the end of that day), as UTC instants."""
    last_day = last_day or first_day
    if last_day < first_day:
        raise ValidationError("The time off ends before it starts: the last day is before the first.")
    start = local_to_utc(first_day, start_time or time(0), tz)
    end = local_to_utc(last_day, end_time, tz) if end_time else local_to_utc(last_day + timedelta(days=1), time(0), tz)
    if end <= start:
        raise ValidationError(f"The time off ends ({hhmm(end_time)}) before it starts ({hhmm(start_time or time(0))}).")
    return start, end


def _tz_for(session: Session, p: Provider, location_id: int | None) -> str:
    if location_id is not None:
        return _where(session, p, location_id).timezone
    if not p.locations:
        raise ValidationError(f"{p.name} works at no location yet, so there is no local time for the time off.")
    return p.locations[0].timezone


def preview_time_off(
    actor: Actor | None, provider_id: int, *, first_day: date, last_day: date | None = None,
    start_time: time | None = None, end_time: time | None = None, location_id: int | None = None,
    reason: str | None = None, now: datetime | None = None,
) -> list[Affected]:  # fmt: skip
    """The booked appointments this time off would leave uncovered (none are changed)."""
    now = resolve_now(now)
    with reading(actor, A.SETTINGS_MANAGE, entity="provider", entity_id=provider_id) as s:
        p = _provider(s, provider_id)
        tz = _tz_for(s, p, location_id)
        start, end = off_span(first_day, last_day, start_time, end_time, tz)
        check_some(actor, A.SETTINGS_MANAGE, [x.id for x in p.locations], entity="provider", entity_id=p.id)
        proposed = hours.stored_absences(s, p.id, now) + [Absence(start, end, (reason or "").strip() or "new time off")]
        return _newly_outside(s, p.id, now, absences=proposed)


def add_time_off_in(tx: Tx, p: Provider, start: datetime, end: datetime, reason: str | None, now: datetime) -> TimeOff:
    off = TimeOff(provider_id=p.id, start_at=start, end_at=end, reason=reason)
    tx.session.add(off)
    tx.session.flush()
    tx.audit(entity="time_off", entity_id=off.id, after={"provider": p.name, "start": start, "end": end, "reason": reason},
             reason="time off added")  # fmt: skip
    tx.publish(ProviderScheduleChanged(provider_id=p.id, location_ids=tuple(x.id for x in p.locations), at=now))
    return off


def add_time_off(
    actor: Actor | None, provider_id: int, *, first_day: date, last_day: date | None = None,
    start_time: time | None = None, end_time: time | None = None, reason: str | None = None,
    location_id: int | None = None, now: datetime | None = None,
) -> tuple[int, list[Affected]]:  # fmt: skip
    """Record time off; returns its id and the appointments it leaves uncovered (queued)."""
    now = resolve_now(now)
    reason = clean_optional(reason, 255, "reason")
    with service(actor, A.SETTINGS_MANAGE, entity="time_off") as tx:
        p = tx.get(Provider, provider_id, what="provider")
        require_some(tx, [x.id for x in p.locations])
        start, end = off_span(first_day, last_day, start_time, end_time, _tz_for(tx.session, p, location_id))
        proposed = hours.stored_absences(tx.session, p.id, now) + [Absence(start, end, reason)]
        affected = _newly_outside(tx.session, p.id, now, absences=proposed)
        off = add_time_off_in(tx, p, start, end, reason, now)
        return off.id, affected


def remove_time_off(actor: Actor | None, time_off_id: int, *, now: datetime | None = None) -> None:
    """Time off is not referred to by appointments: removing it deletes it (audited)."""
    now = resolve_now(now)
    with service(actor, A.SETTINGS_MANAGE, entity="time_off", entity_id=time_off_id) as tx:
        off = tx.get(TimeOff, time_off_id, what="time off")
        p = tx.get(Provider, off.provider_id, what="provider")
        require_some(tx, [x.id for x in p.locations])
        before = {"provider": p.name, "start": off.start_at, "end": off.end_at, "reason": off.reason}
        tx.session.delete(off)
        tx.session.flush()
        tx.audit(before=before, reason="time off removed")
        tx.publish(ProviderScheduleChanged(provider_id=p.id, location_ids=tuple(x.id for x in p.locations), at=now))


def list_time_off(actor: Actor | None, provider_id: int, *, now: datetime | None = None) -> list[TimeOffView]:
    """The provider's time off that has not ended yet, soonest first."""
    now = resolve_now(now)
    with reading(actor, A.SETTINGS_MANAGE, entity="provider", entity_id=provider_id) as s:
        p = _provider(s, provider_id)
        check_some(actor, A.SETTINGS_MANAGE, [x.id for x in p.locations], entity="provider", entity_id=p.id)
        tz = p.locations[0].timezone if p.locations else "UTC"
        rows = s.scalars(
            select(TimeOff).where(TimeOff.provider_id == p.id, TimeOff.end_at > now).order_by(TimeOff.start_at)
        )
        return [
            TimeOffView(o.id, p.id, o.start_at, o.end_at, o.reason, off_label(o.start_at, o.end_at, tz)) for o in rows
        ]


def off_label(start: datetime, end: datetime, tz: str) -> str:
    s, e = to_local(start, tz), to_local(end, tz)
    if s.time() == time(0) and e.time() == time(0):
        last = (e - timedelta(days=1)).date()
        return f"{s:%a} {s.day} {s:%b}" + ("" if last == s.date() else f" – {last:%a} {last.day} {last:%b}")
    if s.date() == e.date():
        return f"{s:%a} {s.day} {s:%b} {s:%H:%M}-{e:%H:%M}"
    return f"{s:%a} {s.day} {s:%b} {s:%H:%M} – {e:%a} {e.day} {e:%b} {e:%H:%M}"

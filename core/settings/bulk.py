"""Bulk changes, each previewed and then confirmed: the confirmation carries the previewed plan,
and the change applies exactly that plan in one transaction, or nothing (a reassignment that no
longer fits, or an appointment booked since the preview, refuses the whole change). Each is
audited as one action listing its items, beside the per-appointment rows.

- A provider out sick today: each of their remaining appointments today moves to another
  eligible provider who is free at the same time, or is cancelled with a rebook call queued.
- A location closed for a day: time off for everyone's hours there, every appointment that day
  cancelled with a rebook call queued.
- Copy a provider's week of hours at a location to others (settings.working_time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.base.clock import resolve_now
from core.base.errors import ConflictError, DomainError, NotFound, ValidationError
from core.base.models import Appointment, Location, Provider, Status
from core.base.tz import local_day_bounds, to_local, today_in
from core.queue.items import raise_item
from core.scheduling import hours
from core.scheduling.availability import Engine, route
from core.scheduling.booking import cancel_in, reassign_in
from core.security.access import A, Actor
from core.security.service import Tx, reading, service
from core.settings.common import check_some, require_each, require_some
from core.settings.working_time import Affected, add_time_off_in, describe, set_hours_in

MOVABLE = (Status.BOOKED.value, Status.CONFIRMED.value)


@dataclass(frozen=True)
class PlanItem:
    appointment_id: int
    when: str
    location: str
    customer: str
    type: str
    to_provider_id: int | None  # None: cancel and queue a rebook call
    to_provider: str | None

    @property
    def action(self) -> str:
        return f"Move to {self.to_provider}" if self.to_provider_id else "Cancel, call to rebook"


def _label(appt: Appointment) -> str:
    tz = appt.location.timezone
    s, e = to_local(appt.start_at, tz), to_local(appt.end_at, tz)
    return f"{s:%a} {s.day} {s:%b} {s:%H:%M}-{e:%H:%M}"


def _rest_of_day(session: Session, provider: Provider, now: datetime) -> list[Appointment]:
    """The provider's booked or confirmed appointments from now to the end of today (each
    location's own today)."""
    found = []
    for loc in provider.locations:
        _, day_end = local_day_bounds(today_in(loc.timezone, now), loc.timezone)
        found += session.scalars(
            select(Appointment).where(
                Appointment.provider_id == provider.id, Appointment.location_id == loc.id,
                Appointment.status.in_(MOVABLE), Appointment.start_at >= now, Appointment.start_at < day_end,
            )
        ).all()  # fmt: skip
    return sorted(found, key=lambda a: (a.start_at, a.id))


def _plan(session: Session, provider: Provider, appts: list[Appointment], now: datetime) -> list[PlanItem]:
    """Who takes each appointment: a free eligible provider (by the type's routing), never two
    planned moves on top of each other, or nobody."""
    planned: list[tuple[int | None, int | None, datetime, datetime]] = []  # provider, room, block
    items = []
    for appt in appts:
        engine = Engine(session, appt.type_id, appt.location_id)
        day = to_local(appt.start_at, engine.tz).date()
        engine.load(day, day, exclude_appointment_id=appt.id)
        fits, _ = engine.fits_at(appt.start_at)
        fits = [
            f for f in fits
            if f.provider_id != provider.id and not any(
                (p == f.provider_id or (r is not None and r == f.room_id)) and bs < f.block_end and f.block_start < be
                for p, r, bs, be in planned
            )
        ]  # fmt: skip
        to = route(engine, fits, now=now)[0] if fits else None
        if to is not None:
            planned.append((to.provider_id, to.room_id, to.block_start, to.block_end))
        items.append(
            PlanItem(appt.id, _label(appt), appt.location.name, appt.customer.name, appt.type.name,
                     to.provider_id if to else None, to.provider_name if to else None)
        )  # fmt: skip
    return items


def out_sick_preview(actor: Actor | None, provider_id: int, *, now: datetime | None = None) -> list[PlanItem]:
    now = resolve_now(now)
    with reading(actor, A.SETTINGS_MANAGE, entity="provider", entity_id=provider_id) as s:
        p = s.get(Provider, provider_id)
        if p is None:
            raise NotFound(f"Unknown provider #{provider_id}.")
        check_some(actor, A.SETTINGS_MANAGE, [x.id for x in p.locations], entity="provider", entity_id=p.id)
        return _plan(s, p, _rest_of_day(s, p, now), now)


def _same_appointments(found: list[Appointment], plan: list[PlanItem]) -> None:
    if sorted(a.id for a in found) != sorted(i.appointment_id for i in plan):
        raise ConflictError("Appointments changed since the preview (one was booked, moved or cancelled): "
                            "nothing was changed; preview again.")  # fmt: skip


def _rebook_call(tx: Tx, appt: Appointment, why: str, now: datetime) -> None:
    raise_item(
        tx.session, kind="rebook_call", dedupe_key=f"rebook_call:{appt.id}", now=now, location_id=appt.location_id,
        appointment_id=appt.id, provider_id=appt.provider_id,
        details={"customer": appt.customer.name, "when": _label(appt), "type": appt.type.name, "reason": why},
    )  # fmt: skip


def _run_plan(tx: Tx, appts: list[Appointment], plan: list[PlanItem], why: str, now: datetime) -> None:
    by_id = {a.id: a for a in appts}
    for item in plan:
        appt = by_id[item.appointment_id]
        tx.require(appt.location_id)
        if item.to_provider_id is None:
            cancel_in(tx, appt, now=now, reason=why)
            _rebook_call(tx, appt, why, now)
            continue
        try:
            reassign_in(tx, appt, item.to_provider_id, now=now, reason=why)
        except DomainError as exc:
            raise ConflictError(
                f"Nothing was changed: {item.customer}'s {item.when} could not move to {item.to_provider} ({exc}) "
                "Preview again."
            ) from None


def out_sick(actor: Actor | None, provider_id: int, plan: list[PlanItem], *, now: datetime | None = None) -> int:
    """Apply the previewed plan: time off for the rest of today, moves, cancellations and
    rebook calls, in one transaction. Returns the time off's id."""
    now = resolve_now(now)
    with service(actor, A.SETTINGS_MANAGE, entity="provider", entity_id=provider_id) as tx:
        p = tx.get(Provider, provider_id, what="provider")
        require_some(tx, [x.id for x in p.locations])
        if not p.locations:
            raise ValidationError(f"{p.name} works at no location.")
        appts = _rest_of_day(tx.session, p, now)
        _same_appointments(appts, plan)
        why = f"{p.name} is out sick"
        _run_plan(tx, appts, plan, why, now)
        tz = p.locations[0].timezone
        off = add_time_off_in(tx, p, now, local_day_bounds(today_in(tz, now), tz)[1], "Out sick", now)
        tx.audit(
            entity="bulk_change", entity_id=p.id, reason=why, location_id=p.locations[0].id,
            after={"kind": "provider_out_sick", "provider": p.name, "time_off_id": off.id,
                   "items": [{"appointment_id": i.appointment_id, "action": i.action} for i in plan]},
        )  # fmt: skip
        return off.id


# -- a location closed for a day ----------------------------------------------------------------


@dataclass(frozen=True)
class ClosurePreview:
    location: str
    day: date
    appointments: list[PlanItem]  # all cancelled, each with a rebook call
    providers: list[str]  # whose hours there that day become time off


def _day_appointments(session: Session, loc: Location, day: date, now: datetime) -> list[Appointment]:
    start, end = local_day_bounds(day, loc.timezone)
    return session.scalars(
        select(Appointment)
        .where(Appointment.location_id == loc.id, Appointment.status.in_(MOVABLE),
               Appointment.start_at >= max(start, now), Appointment.start_at < end)
        .order_by(Appointment.start_at, Appointment.id)
    ).all()  # fmt: skip


def _working_there(session: Session, loc: Location, day: date) -> list[tuple[Provider, list]]:
    out = []
    providers = session.scalars(
        select(Provider).where(Provider.active.is_(True), Provider.locations.any(id=loc.id)).order_by(Provider.name)
    )
    for p in providers:
        stretches = hours.working_stretches(hours.stored_shifts(session, p.id), loc.id, day, loc.timezone)
        if stretches:
            out.append((p, stretches))
    return out


def close_location_preview(
    actor: Actor | None, location_id: int, day: date, *, now: datetime | None = None
) -> ClosurePreview:
    now = resolve_now(now)
    with reading(actor, A.SETTINGS_MANAGE, location_id, entity="location", entity_id=location_id) as s:
        loc = s.get(Location, location_id)
        if loc is None:
            raise NotFound(f"Unknown location #{location_id}.")
        items = [
            PlanItem(a.id, _label(a), loc.name, a.customer.name, a.type.name, None, None)
            for a in _day_appointments(s, loc, day, now)
        ]
        return ClosurePreview(loc.name, day, items, [p.name for p, _ in _working_there(s, loc, day)])


def close_location(
    actor: Actor | None, location_id: int, day: date, *, reason: str, preview: ClosurePreview,
    now: datetime | None = None,
) -> None:  # fmt: skip
    now = resolve_now(now)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("Say why the location is closed (e.g. 'Public holiday').")
    with service(actor, A.SETTINGS_MANAGE, entity="location", entity_id=location_id, location_id=location_id) as tx:
        loc = tx.get(Location, location_id, what="location")
        if day < today_in(loc.timezone, now):
            raise ValidationError(f"{day:%a} {day.day} {day:%b %Y} is in the past.")
        appts = _day_appointments(tx.session, loc, day, now)
        _same_appointments(appts, preview.appointments)
        why = f"{loc.name} closed on {day:%a} {day.day} {day:%b}: {reason}"
        _run_plan(tx, appts, preview.appointments, why, now)
        for p, stretches in _working_there(tx.session, loc, day):
            for start, end in stretches:
                add_time_off_in(tx, p, start, end, f"{loc.name} closed: {reason}"[:255], now)
        tx.audit(
            entity="bulk_change", entity_id=loc.id, reason=why,
            after={"kind": "location_closed", "location": loc.name, "day": day, "providers": preview.providers,
                   "items": [{"appointment_id": i.appointment_id, "action": i.action} for i in preview.appointments]},
        )  # fmt: skip


# -- copy a week of hours -------------------------------------------------------------------------


def _copy_targets(session: Session, source_id: int, location_id: int, target_ids: list[int]):
    loc = session.get(Location, location_id)
    if loc is None:
        raise NotFound(f"Unknown location #{location_id}.")
    shifts = [sh for sh in hours.stored_shifts(session, source_id) if sh.location_id == location_id]
    targets = []
    for pid in sorted(set(target_ids) - {source_id}):
        p = session.get(Provider, pid)
        if p is None:
            raise NotFound(f"Unknown provider #{pid}.")
        if loc.id not in {x.id for x in p.locations}:
            raise ValidationError(f"{p.name} does not work at {loc.name}: add the location to them first.")
        targets.append(p)
    if not targets:
        raise ValidationError("Choose at least one other provider to copy the hours to.")
    return loc, shifts, targets


def copy_hours_preview(
    actor: Actor | None, source_id: int, location_id: int, target_ids: list[int], *, now: datetime | None = None
) -> dict[str, list[Affected]]:
    """For each target provider (by name), the appointments the copied hours would leave outside."""
    now = resolve_now(now)
    with reading(actor, A.SETTINGS_MANAGE, location_id, entity="provider", entity_id=source_id) as s:
        loc, shifts, targets = _copy_targets(s, source_id, location_id, target_ids)
        out = {}
        for p in targets:
            others = [sh for sh in hours.stored_shifts(s, p.id) if sh.location_id != loc.id]
            already = {f.appointment_id for f in hours.appointments_outside_hours(s, p.id, since=now)}
            found = hours.appointments_outside_hours(s, p.id, since=now, shifts=others + shifts)
            out[p.name] = describe(s, [f for f in found if f.appointment_id not in already])
        return out


def copy_hours(
    actor: Actor | None, source_id: int, location_id: int, target_ids: list[int], *, now: datetime | None = None
) -> list[str]:
    """Give each target the source's weekly hours at the location; returns the names changed."""
    now = resolve_now(now)
    with service(actor, A.SETTINGS_MANAGE, entity="provider", entity_id=source_id, location_id=location_id) as tx:
        loc, shifts, targets = _copy_targets(tx.session, source_id, location_id, target_ids)
        require_each(tx, [loc.id])
        changed = [p.name for p in targets if set_hours_in(tx, p, loc, shifts, now)]
        source = tx.session.get(Provider, source_id)
        if changed:
            tx.audit(
                entity="bulk_change", entity_id=source_id, location_id=loc.id,
                reason=f"{source.name}'s hours at {loc.name} copied",
                after={"kind": "copy_hours", "from": source.name, "to": changed},
            )  # fmt: skip
        return changed

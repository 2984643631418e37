"""Routing: which of the providers free at a start takes the booking, by the type's policy, and why."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from core.base.errors import ConflictError, ValidationError
from core.base.models import Appointment, Status
from core.base.tz import local_range_bounds, to_local
from core.scheduling.availability.engine import Engine
from core.scheduling.availability.messages import fmt_day, skills_text
from core.scheduling.availability.rules import ROUND_ROBIN_LOOKBACK, Fit, Routing


def route(engine: Engine, fits: list[Fit], *, now: datetime) -> tuple[Fit, str]:
    """Pick one of the providers free at a start by the type's routing policy; say why."""
    if not fits:
        raise ValidationError("No provider is free at that time.")
    s, atype = engine.session, engine.type
    start = fits[0].start
    # A group session that already has members is joined before a new one is opened.
    joinable = [f for f in fits if f.group_key is not None and f.group_key in engine.sessions]
    if joinable:
        f = joinable[0]
        return f, f"{f.provider_name}: joins the existing {atype.name} session ({f.seats_left} places left)"
    if len(fits) == 1:
        f = fits[0]
        return f, f"{f.provider_name}: the only eligible provider free at that time"
    ids = [f.provider_id for f in fits]
    if atype.routing_policy == "least_booked":
        day = to_local(start, engine.tz).date()
        monday = day - timedelta(days=day.weekday())
        ws, we = local_range_bounds(monday, monday + timedelta(days=6), engine.tz)
        counts = dict(
            s.execute(
                select(Appointment.provider_id, func.count())
                .where(
                    Appointment.provider_id.in_(ids),
                    Appointment.block_start >= ws - timedelta(days=1),
                    Appointment.block_start < we,
                    Appointment.start_at >= ws,
                    Appointment.start_at < we,
                    Appointment.status != Status.CANCELLED.value,
                )
                .group_by(Appointment.provider_id)
            ).all()
        )
        best = min(fits, key=lambda f: (counts.get(f.provider_id, 0), f.provider_name, f.provider_id))
        n = counts.get(best.provider_id, 0)
        return best, f"{best.provider_name}: least booked this week ({n} appointment{'s' if n != 1 else ''})"
    last = dict(
        s.execute(
            select(Appointment.provider_id, func.max(Appointment.id))
            .where(
                Appointment.provider_id.in_(ids),
                Appointment.block_start >= now - ROUND_ROBIN_LOOKBACK,
                Appointment.type_id == atype.id,
                Appointment.location_id == engine.location.id,
            )
            .group_by(Appointment.provider_id)
        ).all()
    )
    best = min(fits, key=lambda f: (last.get(f.provider_id, 0), f.provider_name, f.provider_id))
    if best.provider_id not in last:
        why = f"round robin, next in turn (no recent {atype.name} here yet)"
    else:
        why = f"round robin, next in turn (longest since their last {atype.name} here)"
    return best, f"{best.provider_name}: {why}"


def pick(
    engine: Engine, start: datetime, *, now: datetime, exclude_appointment_id: int | None = None
) -> tuple[Fit, str]:
    """Check the time rules, find every provider free at `start`, pick one by policy."""
    if not engine.providers:
        raise ValidationError(
            f"No provider at {engine.location.name} has the skills {engine.type.name} requires "
            f"({skills_text(engine.required_skills)})."
        )
    engine.check_time_rules(start, now)
    day = to_local(start, engine.tz).date()
    engine.load(day, day, exclude_appointment_id=exclude_appointment_id)
    fits, problems = engine.fits_at(start)
    if not fits:
        if len(problems) == 1:
            raise problems[0].error()
        kind = ConflictError if all(p.kind is ConflictError for p in problems) else ValidationError
        local = to_local(start, engine.tz)
        reasons = "; ".join(p.message.rstrip(".") for p in problems)
        raise kind(
            f"No provider is free for {engine.type.name} at {local:%H:%M} on {fmt_day(local.date())} "
            f"at {engine.location.name}: {reasons}."
        )
    return route(engine, fits, now=now)


def routing_for(
    engine: Engine, start: datetime, *, now: datetime, exclude_appointment_id: int | None = None
) -> Routing:
    fit, reason = pick(engine, start, now=now, exclude_appointment_id=exclude_appointment_id)
    if fit.room_name:
        reason += f"; room {fit.room_name}"
    return Routing(
        fit.provider_id, fit.provider_name, fit.room_id, fit.room_name, reason, fit.group_key, fit.seats_left
    )

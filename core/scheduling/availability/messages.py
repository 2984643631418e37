"""The sentences availability's refusals are made of, in the location's local time."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from core.base.models import Appointment, Location, Provider
from core.base.tz import to_local
from core.scheduling.labels import day_label


def fmt_day(day: date) -> str:
    """'Tue 3 Mar 2026': the desk's way of saying a date, with its year."""
    return f"{day_label(day)} {day.year}"


def fmt_span(start: datetime, end: datetime, tz: str) -> str:
    return f"{to_local(start, tz):%H:%M}–{to_local(end, tz):%H:%M}"


def skills_text(skills: list[str]) -> str:
    return ", ".join(f"'{s}'" for s in skills)


def span_text(s: datetime, e: datetime, tz: str) -> str:
    ls, le = to_local(s, tz), to_local(e, tz)
    if ls.date() == le.date():
        return f"{ls:%H:%M}–{le:%H:%M} on {fmt_day(ls.date())}"
    return f"from {fmt_day(ls.date())} {ls:%H:%M} to {fmt_day(le.date())} {le:%H:%M}"


def describe_appointment(
    session: Session, appointment_id: int, *, provider_name: str | None = None, room_name: str | None = None
) -> str:
    """'Dr. Rao is already booked 10:00–10:30 at Downtown' (or 'Exam 1 is already in use ...'),
    in the conflicting appointment's own location time."""
    appt = session.get(Appointment, appointment_id)
    if appt is None:
        who = provider_name or room_name or "That provider"
        return f"{who} was just booked at that time; choose another slot."
    location = session.get(Location, appt.location_id)
    span = fmt_span(appt.start_at, appt.end_at, location.timezone)
    if room_name is not None:
        return f"{room_name} is already in use {span} at {location.name}"
    name = provider_name or session.get(Provider, appt.provider_id).name
    return f"{name} is already booked {span} at {location.name}"


def describe_clash(session: Session, tz: str, provider_name: str, clash: tuple) -> str:
    """What holds the provider's time: an appointment, time off, or a calendar busy block."""
    payload = clash[3]
    if isinstance(payload, int):  # an appointment's id
        return describe_appointment(session, payload, provider_name=provider_name)
    kind = payload[0]
    if kind == "time_off":
        _, s, e, reason = payload
        why = f" ({reason})" if reason else ""
        return f"{provider_name} is off {span_text(s, e, tz)}{why}."
    _, s, e, all_day = payload
    if all_day is not None:
        return f"{provider_name} is busy all day on {fmt_day(all_day)} in their calendar."
    return f"{provider_name} is busy {span_text(s, e, tz)} in their calendar."


def describe_room_clash(session: Session, room_name: str, clash: tuple) -> str:
    return describe_appointment(session, clash[3], room_name=room_name)

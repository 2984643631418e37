"""Templates and schedules per appointment type, and previews against a real appointment.
Types are shared by every location, so changing them needs SETTINGS_MANAGE (managers, admins)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.base.errors import NotFound, ValidationError
from core.base.models import Appointment, AppointmentType, Customer, Location
from core.base.tz import to_local
from core.notifications.models import CHANNELS, KINDS, NotificationSchedule, NotificationTemplate
from core.notifications.store import Schedule, schedule_of, wording_of
from core.notifications.templates import Wording, context
from core.notifications.templates import check as check_template
from core.scheduling.labels import day_label
from core.security import access
from core.security.access import A, Actor
from core.security.service import check, reading, service

MAX_REMINDERS = 4
MAX_OFFSET_HOURS = 24 * 30


@dataclass(frozen=True)
class Preview:
    subject: str | None
    body: str
    appointment_label: str


def _known(session, type_id: int, kind: str, channel: str) -> AppointmentType:
    if kind not in KINDS:
        raise ValidationError(f"Unknown message kind '{kind}'.")
    if channel not in CHANNELS:
        raise ValidationError(f"Unknown channel '{channel}': choose email or sms.")
    atype = session.get(AppointmentType, type_id)
    if atype is None:
        raise NotFound(f"Unknown appointment type #{type_id}.")
    return atype


def wording(actor: Actor | None, type_id: int, kind: str, channel: str) -> Wording:
    """The type's own template, or the default (is_default True)."""
    with reading(actor, A.SETTINGS_MANAGE, None, entity="notification_template") as s:
        _known(s, type_id, kind, channel)
        return wording_of(s, type_id, kind, channel)


def save_template(
    actor: Actor | None, type_id: int, kind: str, channel: str, *, subject: str | None, body: str, enabled: bool = True
) -> Wording:
    """Check the template (a mistake is refused with a sentence saying what to fix) and save it."""
    with service(actor, A.SETTINGS_MANAGE, entity="notification_template", location_id=None) as tx:
        atype = _known(tx.session, type_id, kind, channel)
        check_template(channel, subject, body)
        row = tx.session.scalar(
            select(NotificationTemplate).where(
                NotificationTemplate.type_id == type_id,
                NotificationTemplate.kind == kind,
                NotificationTemplate.channel == channel,
            )
        )
        before = None if row is None else {"subject": row.subject, "body": row.body, "enabled": row.enabled}
        if row is None:
            row = NotificationTemplate(type_id=type_id, kind=kind, channel=channel)
            tx.session.add(row)
        row.subject = subject.strip() if channel == "email" and subject else None
        row.body, row.enabled = body.strip(), enabled
        row.updated_by = actor.user_id if actor else None
        tx.session.flush()
        after = {"subject": row.subject, "body": row.body, "enabled": row.enabled}
        if after != before:
            tx.audit(
                entity_id=row.id, before=before, after=after | {"type": atype.name, "kind": kind, "channel": channel}
            )
    return Wording(row.subject, row.body, enabled=row.enabled, is_default=False)


def reset_template(actor: Actor | None, type_id: int, kind: str, channel: str) -> bool:
    """Back to the default wording (True if the type had its own)."""
    with service(actor, A.SETTINGS_MANAGE, entity="notification_template", location_id=None) as tx:
        atype = _known(tx.session, type_id, kind, channel)
        row = tx.session.scalar(
            select(NotificationTemplate).where(
                NotificationTemplate.type_id == type_id,
                NotificationTemplate.kind == kind,
                NotificationTemplate.channel == channel,
            )
        )
        if row is None:
            return False
        before = {"subject": row.subject, "body": row.body, "enabled": row.enabled, "type": atype.name,
                  "kind": kind, "channel": channel}  # fmt: skip
        tx.session.delete(row)
        tx.session.flush()
        tx.audit(entity_id=row.id, before=before, after=None, reason="back to the default wording")
    return True


def schedule(actor: Actor | None, type_id: int) -> Schedule:
    with reading(actor, A.SETTINGS_MANAGE, None, entity="notification_schedule") as s:
        if s.get(AppointmentType, type_id) is None:
            raise NotFound(f"Unknown appointment type #{type_id}.")
        return schedule_of(s, type_id)


def save_schedule(
    actor: Actor | None, type_id: int, *, reminder_hours: list[float], follow_up_hours: float
) -> Schedule:
    """Reminders at these hours before the start (applies to bookings from now on; messages
    already queued keep their time) and the follow-up this many hours after completion."""
    offsets = sorted({round(float(h) * 60) for h in reminder_hours}, reverse=True)
    if any(m <= 0 for m in offsets):
        raise ValidationError("Reminders go out before the start: give hours above 0.")
    if any(m > MAX_OFFSET_HOURS * 60 for m in offsets):
        raise ValidationError(f"A reminder can go out at most {MAX_OFFSET_HOURS // 24} days before the start.")
    if len(offsets) > MAX_REMINDERS:
        raise ValidationError(f"At most {MAX_REMINDERS} reminders per appointment (got {len(offsets)}).")
    if not 0 <= follow_up_hours <= 24 * 14:
        raise ValidationError("The follow-up goes out between 0 hours and 14 days after the visit.")
    with service(actor, A.SETTINGS_MANAGE, entity="notification_schedule", location_id=None) as tx:
        atype = tx.session.get(AppointmentType, type_id)
        if atype is None:
            raise NotFound(f"Unknown appointment type #{type_id}.")
        current = schedule_of(tx.session, type_id)
        row = tx.session.get(NotificationSchedule, type_id)
        if row is None:
            row = NotificationSchedule(type_id=type_id)
            tx.session.add(row)
        row.reminder_offsets_min, row.follow_up_delay_min = offsets, round(follow_up_hours * 60)
        tx.session.flush()
        tx.audit(
            entity_id=type_id,
            before={"reminder_offsets_min": list(current.reminder_offsets_min),
                    "follow_up_delay_min": current.follow_up_delay_min},
            after={"reminder_offsets_min": offsets, "follow_up_delay_min": row.follow_up_delay_min,
                   "type": atype.name},
        )  # fmt: skip
        return schedule_of(tx.session, type_id)


def preview_appointments(actor: Actor | None, type_id: int, *, limit: int = 30) -> list[tuple[int, str]]:
    """Recent and upcoming appointments of the type in the actor's locations, to preview with."""
    with reading(actor, A.SETTINGS_MANAGE, None, entity="notification_template") as s:
        rows = s.execute(
            select(Appointment.id, Appointment.start_at, Customer.name, Location.timezone)
            .join(Customer, Customer.id == Appointment.customer_id)
            .join(Location, Location.id == Appointment.location_id)
            .where(Appointment.type_id == type_id, access.location_filter(actor, Appointment.location_id))
            .order_by(Appointment.start_at.desc())
            .limit(limit)
        ).all()
    return [
        (i, f"{day_label(to_local(start, tz))} {start.year} {to_local(start, tz):%H:%M} · {name}")
        for i, start, name, tz in rows
    ]


def preview(
    actor: Actor | None, appointment_id: int, kind: str, channel: str, *, subject: str | None, body: str,
    offset_min: int | None = 120, now: datetime | None = None,
) -> Preview:  # fmt: skip
    """The template rendered for a real appointment (times in its location's zone), or a
    ValidationError saying what is wrong with it."""
    unknown = f"Unknown appointment #{appointment_id}."
    with reading(actor, A.SETTINGS_MANAGE, entity="appointment", entity_id=appointment_id) as s:
        appt = s.get(Appointment, appointment_id)
        if appt is None:
            raise NotFound(unknown)
        # Another location's appointment is answered like a missing one (ids reveal nothing).
        check(
            actor, A.SETTINGS_MANAGE, appt.location_id, entity="appointment", entity_id=appointment_id, unknown=unknown
        )
        _known(s, appt.type_id, kind, channel)
        loc = appt.location
        values = context(
            customer_name=appt.customer.name, type_name=appt.type.name, provider_name=appt.provider.name,
            location_name=loc.name, address=loc.address, tz=loc.timezone, start=appt.start_at, end=appt.end_at,
            offset_min=offset_min if kind == "reminder" else None,
        )  # fmt: skip
        rendered_subject, rendered_body = check_template(channel, subject, body, values)
        label = f"{appt.customer.name}, {values['when']} at {loc.name}"
    return Preview(rendered_subject, rendered_body, label)

"""Appointment export: one query with the actor's scope in its WHERE clause, streamed as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.base.errors import NotFound, ValidationError
from core.base.models import Appointment, AppointmentType, Customer, Location, Provider
from core.base.tz import local_day_bounds
from core.security import access
from core.security.access import A, Actor
from core.security.service import check, service

COLUMNS = [
    "appointment_id", "external_id", "location", "provider", "provider_email", "appointment_type",
    "customer", "customer_email", "customer_phone", "start_utc", "end_utc", "start_local", "status",
    "booked_at_utc", "cancelled_at_utc", "late_cancel", "reschedule_count", "intake_complete", "source",
    "calendar_event_id",
]  # fmt: skip


def _iso(value) -> str:
    return value.isoformat() if value is not None else ""


def export_query(
    session: Session,
    actor: Actor,
    *,
    date_from: date | None,
    date_to: date | None,
    location: str | None,
) -> Select:
    if date_from and date_to and date_to < date_from:
        raise ValidationError(f"The end date {date_to} is before the start date {date_from}.")
    loc = None
    if location:
        loc = session.scalar(select(Location).where(Location.name == location))
        if loc is None:
            names = ", ".join(session.scalars(select(Location.name).order_by(Location.name)))
            raise NotFound(f"No location named '{location}'. Known locations: {names}.")
    check(actor, A.EXPORT_APPOINTMENTS, loc.id if loc else None, entity="appointment")
    query = (
        select(
            Appointment.id,
            Appointment.external_id,
            Location.name.label("location"),
            Location.timezone,
            Provider.name.label("provider"),
            Provider.email.label("provider_email"),
            AppointmentType.name.label("appointment_type"),
            Customer.name.label("customer"),
            Customer.email.label("customer_email"),
            Customer.phone.label("customer_phone"),
            Appointment.start_at,
            Appointment.end_at,
            Appointment.status,
            Appointment.booked_at,
            Appointment.cancelled_at,
            Appointment.late_cancel,
            Appointment.reschedule_count,
            Appointment.intake_complete,
            Appointment.source,
            Appointment.calendar_event_id,
        )  # fmt: skip
        .join(Location, Appointment.location_id == Location.id)
        .join(Provider, Appointment.provider_id == Provider.id)
        .join(AppointmentType, Appointment.type_id == AppointmentType.id)
        .join(Customer, Appointment.customer_id == Customer.id)
        .where(access.location_filter(actor, Appointment.location_id))
        .where(access.provider_filter(actor, Appointment.provider_id))
        .order_by(Appointment.start_at, Appointment.id)
    )
    if loc is not None:
        query = query.where(Appointment.location_id == loc.id)
    # Window in each location's local dates: bound loosely in UTC (+-14 h covers every zone),
    # then exactly per row below.
    if date_from:
        query = query.where(Appointment.start_at >= local_day_bounds(date_from, "Etc/GMT-14")[0])
    if date_to:
        query = query.where(Appointment.start_at < local_day_bounds(date_to, "Etc/GMT+12")[1])
    return query


def iter_rows(
    session: Session,
    actor: Actor,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    location: str | None = None,
) -> Iterator[dict]:
    query = export_query(session, actor, date_from=date_from, date_to=date_to, location=location)
    contacts = access.can(actor, A.EXPORT_CONTACTS) or access.can(actor, A.CONTACTS_VIEW)
    zones: dict[str, ZoneInfo] = {}
    # Plain rows, not ORM objects: an export touches every row once and keeps none.
    for r in session.execute(query.execution_options(yield_per=10_000)):
        zone = zones.get(r.timezone) or zones.setdefault(r.timezone, ZoneInfo(r.timezone))
        local = r.start_at.astimezone(zone)
        if (date_from and local.date() < date_from) or (date_to and local.date() > date_to):
            continue
        yield {
            "appointment_id": r.id,
            "external_id": r.external_id or "",
            "location": r.location,
            "provider": r.provider,
            "provider_email": r.provider_email,
            "appointment_type": r.appointment_type,
            "customer": r.customer,
            "customer_email": (r.customer_email if contacts else access.mask_email(r.customer_email)) or "",
            "customer_phone": (r.customer_phone if contacts else access.mask_phone(r.customer_phone)) or "",
            "start_utc": _iso(r.start_at),
            "end_utc": _iso(r.end_at),
            "start_local": local.isoformat(),
            "status": r.status,
            "booked_at_utc": _iso(r.booked_at),
            "cancelled_at_utc": _iso(r.cancelled_at),
            "late_cancel": int(r.late_cancel),
            "reschedule_count": r.reschedule_count,
            "intake_complete": int(r.intake_complete),
            "source": r.source,
            "calendar_event_id": r.calendar_event_id or "",
        }


def write_csv(out, rows: Iterator[dict]) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
    return n


def export_csv(session: Session, actor: Actor, **filters) -> tuple[str, int]:
    """The CSV text and its row count, for a download button; the export itself is audited."""
    buf = io.StringIO()
    n = write_csv(buf, iter_rows(session, actor, **filters))
    record_export(actor, n, filters)
    return buf.getvalue(), n


def record_export(actor: Actor, rows: int, filters: dict) -> None:
    with service(actor, A.EXPORT_APPOINTMENTS, entity="appointment") as tx:
        tx.audit(
            action="export.appointments",
            after={"rows": rows, **filters},
        )
